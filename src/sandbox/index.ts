/**
 * The sandbox's public API, for the CLI, tests, the demo and the shadow database: start a real
 * topology in a directory, inspect it, restart a node, take it down.
 */
export type {
  DownReport,
  NodeStatus,
  ProviderKind,
  SandboxFlavor,
  SandboxNode,
  SandboxProvider,
  SandboxRole,
  SandboxState,
  SandboxStatus,
  SandboxWriter,
  ShadowObject,
  ShadowObjectLister,
  TopologyName,
  UpRequest,
  WriterStatus,
} from './contract.ts';
export { isDockerReachable } from './docker.ts';
export { parseServersState, runtimeCommand } from './haproxy.ts';
export { parseUpFlags, resolveSandboxDir, type ProviderChoice, type UpFlags } from './options.ts';
export { readSecret } from './secrets.ts';
export { sandboxDown, sandboxRestartNode, sandboxStatus, sandboxUp, type DownOutcome, type UpOptions, type UpOutcome } from './service.ts';
export { readState } from './state.ts';
export { DEFAULT_DIR_NAME, DEFAULT_REPLICAS, MAX_REPLICAS, defaultReplicas, parseFormat, parseProvider, parseReplicas, parseTopology, resolveRequest } from './options.ts';
export type { OutputFormat, RawUpFlags } from './options.ts';
export { SECRETS_DIR, newPassword, secretPath, writeSecret } from './secrets.ts';
export { MIN_SHM_FREE_BYTES, SHADOW_DIR_ENV, SHADOW_NODE, SHM_DIR, defaultShadowBase, foreignDirProblem, shadowBase, shadowDirName, shadowServerDir, shadowTopology } from './shadow-dir.ts';
export { MARKER_FILE, STATE_FILE, acquireLock, claimDir, isSandboxDir, removeDir, statePath, writeState } from './state.ts';
