/**
 * The sandbox's public API, for the CLI, tests, the demo and the shadow database: start a real
 * topology in a directory, inspect it, restart a node, take it down.
 *
 * Light on purpose: `migrate check` reads the shadow server's directory, state and secret through
 * this file on every run, and the sandbox and shadow commands register from it at CLI start. So it
 * re-exports the driver-free modules (types, option parsing, rendering, state, secrets, the shadow
 * directory) and reaches the providers (local binaries, Docker, the database clients) through the
 * functions at the bottom, which load them on their first call.
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
export { SHADOW_TOPOLOGIES, TOPOLOGY_NAMES } from './contract.ts';
export { parseServersState, runtimeCommand } from './haproxy.ts';
export {
  DEFAULT_DIR_NAME,
  DEFAULT_REPLICAS,
  defaultReplicas,
  MAX_REPLICAS,
  parseFormat,
  parseProvider,
  parseReplicas,
  parseTopology,
  parseUpFlags,
  resolveRequest,
  resolveSandboxDir,
  type OutputFormat,
  type ProviderChoice,
  type RawUpFlags,
  type UpFlags,
} from './options.ts';
export { renderDownText, renderStatusText, renderUpText, upJson } from './render.ts';
export { newPassword, readSecret, SECRETS_DIR, secretPath, writeSecret } from './secrets.ts';
export {
  defaultShadowBase,
  foreignDirProblem,
  MIN_SHM_FREE_BYTES,
  SHADOW_DIR_ENV,
  SHADOW_NODE,
  SHM_DIR,
  shadowBase,
  shadowDirName,
  shadowServerDir,
  shadowTopology,
} from './shadow-dir.ts';
export { renderShadowDownText, renderShadowStatusText, renderShadowUpText } from './shadow-render.ts';
export { acquireLock, claimDir, isSandboxDir, MARKER_FILE, readState, removeDir, STATE_FILE, statePath, writeState } from './state.ts';
export type { DownOutcome, UpOptions, UpOutcome } from './service.ts';
export type { ShadowStatus, ShadowUpOutcome } from './shadow-server.ts';

type Service = typeof import('./service.ts');
type ShadowServer = typeof import('./shadow-server.ts');
const service = (): Promise<Service> => import('./service.ts');
const shadowServer = (): Promise<ShadowServer> => import('./shadow-server.ts');

export const sandboxUp: Service['sandboxUp'] = async (...a) => (await service()).sandboxUp(...a);
export const sandboxStatus: Service['sandboxStatus'] = async (...a) => (await service()).sandboxStatus(...a);
export const sandboxRestartNode: Service['sandboxRestartNode'] = async (...a) => (await service()).sandboxRestartNode(...a);
export const sandboxDown: Service['sandboxDown'] = async (...a) => (await service()).sandboxDown(...a);
export const shadowUp: ShadowServer['shadowUp'] = async (...a) => (await shadowServer()).shadowUp(...a);
export const shadowStatus: ShadowServer['shadowStatus'] = async (...a) => (await shadowServer()).shadowStatus(...a);
export const shadowDown: ShadowServer['shadowDown'] = async (...a) => (await shadowServer()).shadowDown(...a);
/** Whether a Docker daemon answers (docker.ts loads the MySQL client, hence the detour). */
export const isDockerReachable: typeof import('./docker.ts').isDockerReachable = async (...a) => (await import('./docker.ts')).isDockerReachable(...a);
