/**
 * `migrate shadow up|status|down`: one throwaway database server per user and dialect on tmpfs,
 * with durability off, for the shadow databases of `check` and `plan` (docs/shadow.md). It is a
 * sandbox of the `mariadb-shadow` / `postgres-shadow` topology: same state.json, secrets, lock
 * and cleanup as `migrate sandbox`, in the directory src/sandbox/shadow-dir.ts names.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import { MigrateError } from '../errors.ts';
import type { SandboxNode, SandboxState, SandboxStatus, ShadowObject, ShadowObjectLister } from './contract.ts';
import { sandboxDown, sandboxStatus, sandboxUp, type DownOutcome, type UpOptions, type UpOutcome } from './service.ts';
import { foreignDirProblem, SHADOW_DIR_ENV, SHADOW_NODE, shadowTopology } from './shadow-dir.ts';
import { readState } from './state.ts';
import { readSecret } from './secrets.ts';

function refuseForeign(dir: string): void {
  const problem = foreignDirProblem(dir);
  if (problem) {
    throw new MigrateError(
      'sandbox',
      `${problem}; not using it for the shadow server.`,
      `Remove it, or pass --dir (or set ${SHADOW_DIR_ENV}) to a directory of your own.`,
    );
  }
}

function shadowNode(state: SandboxState): SandboxNode | undefined {
  return state.nodes.find((n) => n.name === SHADOW_NODE) ?? state.nodes[0];
}

/**
 * Creates the server's directory itself, not through a recursive mkdir: /dev/shm is shared by every
 * user, and a directory or symlink someone else put at our predictable name must be refused, not
 * adopted. Once it is ours, the sticky bit of /dev/shm and /tmp keeps others from replacing it.
 */
function ownDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  refuseForeign(dir);
}

/** The server's URL without its password (that stays in the 0600 file next to it). */
export function shadowUrl(dialect: Dialect, node: { host: string; port: number; user: string }): string {
  return `${dialect}://${encodeURIComponent(node.user)}@${node.host}:${node.port}`;
}

export interface ShadowUpOutcome extends UpOutcome {
  dialect: Dialect;
  dir: string;
  url: string;
  passwordFile: string;
}

/** Starts the shadow server in `dir`, or reports the healthy one already there. */
export async function shadowUp(dialect: Dialect, dir: string, opts: Omit<UpOptions, 'provider'> = {}): Promise<ShadowUpOutcome> {
  ownDir(dir);
  const existing = existsSync(dir) ? readState(dir) : undefined;
  if (existing && existing.topology !== shadowTopology(dialect)) {
    throw new MigrateError(
      'sandbox',
      `${dir} holds a \`migrate sandbox\` ${existing.topology} topology, not a ${dialect} shadow server.`,
      `Take it down with \`migrate sandbox down --dir ${dir}\`, or pass --dir to use another directory for the shadow server.`,
    );
  }
  // Only the local binaries: the Docker provider starts MySQL 8 with its defaults (durable), which
  // is exactly what a shadow server is meant to avoid.
  const outcome = await sandboxUp(
    { topology: shadowTopology(dialect), proxy: false, dir, migrationsDir: resolve('migrations') },
    { ...opts, provider: 'local' },
  );
  const node = shadowNode(outcome.state);
  if (!node)
    throw new MigrateError(
      'sandbox',
      `The shadow server in ${dir} started without a node in its state.`,
      `Run \`migrate shadow down\` with the same --dialect/--dir and start it again.`,
    );
  return { ...outcome, dialect, dir, url: shadowUrl(dialect, node), passwordFile: node.passwordFile };
}

export interface ShadowStatus {
  dialect: Dialect;
  dir: string;
  /** False: nothing in the directory (never started, or taken down). */
  present: boolean;
  /** The state file's phase: starting, ready, or failed (a failed `up` leaves its logs to read). */
  phase?: SandboxState['status'];
  healthy: boolean;
  url?: string;
  passwordFile?: string;
  serverVersion?: string;
  pid?: number;
  createdAt?: string;
  status?: SandboxStatus;
  /**
   * The migrate_shadow_* databases and accounts on it: those of analyses still running, and those
   * a killed run left (`leftover` says why; the next check, plan or apply removes them).
   */
  objects?: ShadowObject[];
}

export async function shadowStatus(dialect: Dialect, dir: string, listShadowObjects: ShadowObjectLister): Promise<ShadowStatus> {
  refuseForeign(dir);
  if (!existsSync(dir) || !readState(dir)) return { dialect, dir, present: false, healthy: false };
  const { state, status } = await sandboxStatus(dir);
  const node = shadowNode(state);
  if (!node) return { dialect, dir, present: true, healthy: false, phase: state.status, status };
  const out: ShadowStatus = {
    dialect,
    dir,
    present: true,
    healthy: status.healthy,
    phase: state.status,
    url: shadowUrl(dialect, node),
    passwordFile: node.passwordFile,
    status,
  };
  if (state.serverVersion) out.serverVersion = state.serverVersion;
  if (node.pid) out.pid = node.pid;
  out.createdAt = state.createdAt;
  if (status.healthy) {
    const server = engineFor(dialect).adminConnection({
      host: node.host,
      port: node.port,
      user: node.user,
      password: readSecret(node.passwordFile),
      database: '',
    });
    out.objects = await listShadowObjects(dialect, server).catch(() => undefined);
  }
  return out;
}

export async function shadowDown(dialect: Dialect, dir: string): Promise<DownOutcome & { dialect: Dialect }> {
  refuseForeign(dir);
  return { ...(await sandboxDown(dir)), dialect };
}
