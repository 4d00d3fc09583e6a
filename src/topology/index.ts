/** Public API of src/topology: other stages import from this file only (docs/architecture.md). */
export { detectFlavor } from './detect-flavor.ts';
export {
  configMismatch,
  connectionProblem,
  findConfigProblems,
  findProblems,
  inspectCluster,
  inspectNode,
  readState,
  type InspectOptions,
  type NodeState,
  type TopologyReport,
} from './inspect.ts';
export {
  closeNow,
  endWithin,
  isConnectionLoss,
  isReadOnly,
  lossReason,
  NODE_ANSWER_MS,
  NodeSilentError,
  onNodeIfReachable,
  openNode,
  queryOne,
  queryOneWithin,
  queryRows,
  queryRowsWithin,
  socketFdOf,
  type NodeConnection,
} from './node-connection.ts';
export { saveRoles, stateDir, swappedRoles, withRecordedRoles } from './roles-state.ts';
export {
  haproxyPoolMembers,
  haproxyRuntime,
  parseServerStates,
  parseSessions,
  readPoolPlanNotes,
  readPoolStates,
  type ReadPoolMember,
  type ReadPoolServerState,
} from './read-pool-state.ts';
