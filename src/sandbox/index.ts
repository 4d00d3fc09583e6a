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
