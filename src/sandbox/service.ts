import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MigrateError } from '../errors.ts';
import { INSTALL_HINT } from './binaries.ts';
import { writeSandboxConfig } from './config-file.ts';
import {
  SHADOW_TOPOLOGIES,
  type DownReport,
  type ProviderKind,
  type SandboxProvider,
  type SandboxState,
  type SandboxStatus,
  type UpRequest,
} from './contract.ts';
import { DockerProvider, isDockerReachable } from './docker.ts';
import { LocalProvider } from './local.ts';
import { resolveRequest, type ProviderChoice, type UpFlags } from './options.ts';
import { serverProcessesReferencing, stopProcess } from './process.ts';
import { acquireLock, claimDir, isSandboxDir, MARKER_FILE, readState, removeDir, writeState } from './state.ts';
import { planTopology } from './topologies.ts';

export function providerFor(kind: ProviderKind): SandboxProvider {
  return kind === 'docker' ? new DockerProvider() : new LocalProvider();
}

/** Local binaries when they can serve the request (fast, real replication), else Docker, else a clear error. */
export async function chooseProvider(req: UpRequest, choice: ProviderChoice): Promise<SandboxProvider> {
  const local = new LocalProvider();
  const docker = new DockerProvider();
  const localWhyNot = local.unsupported(req);
  if (choice === 'local' || (choice === 'auto' && !localWhyNot)) {
    if (localWhyNot) throw new MigrateError('sandbox', localWhyNot, INSTALL_HINT);
    return local;
  }
  const dockerUp = await isDockerReachable();
  const dockerWhyNot = dockerUp ? docker.unsupported(req) : 'No Docker engine is reachable (no DOCKER_HOST, no responding /var/run/docker.sock).';
  if (!dockerWhyNot) return docker;
  if (choice === 'docker')
    throw new MigrateError(
      'sandbox',
      dockerWhyNot,
      dockerUp
        ? 'Use --topology single with --provider docker, or install the server binaries.'
        : 'Start a Docker engine (or set DOCKER_HOST), or use the local server binaries: --provider local.',
    );
  throw new MigrateError('sandbox', `Cannot start a ${req.topology} sandbox: ${localWhyNot} ${dockerWhyNot}`, INSTALL_HINT);
}

export interface UpOutcome {
  state: SandboxState;
  /** True when a healthy sandbox of the same shape was already running: nothing was started. */
  reused: boolean;
  elapsedMs: number;
}

export interface UpOptions {
  provider?: ProviderChoice;
  progress?: (msg: string) => void;
}

/** Topologies whose description names the replica count (postgres only when it has replicas). */
const COUNTS_REPLICAS: Partial<Record<string, (replicas: number) => boolean>> = { 'primary-replica': () => true, postgres: (n) => n > 0 };

function describe(s: { topology: string; replicas: number; proxy: boolean }): string {
  const reps = COUNTS_REPLICAS[s.topology]?.(s.replicas) ? `, ${s.replicas} replica${s.replicas === 1 ? '' : 's'}` : '';
  return `${s.topology}${reps}${s.proxy ? ', behind HAProxy' : ''}`;
}

const sameShape = (a: UpRequest, b: SandboxState): boolean => a.topology === b.topology && a.replicas === b.replicas && a.proxy === b.proxy;

/** Removes everything but our marker and lock: leftovers of a failed or interrupted `up`. */
function clearDir(dir: string): void {
  for (const e of readdirSync(dir)) {
    if (e === MARKER_FILE || e === '.lock') continue;
    rmSync(join(dir, e), { recursive: true, force: true });
  }
}

async function stopStrays(dir: string): Promise<void> {
  for (const p of serverProcessesReferencing(dir)) {
    await stopProcess(p.pid, dir, p.cmdline.includes('postgres') ? 'SIGINT' : 'SIGTERM', 30_000);
  }
}

/**
 * `sandbox up`: idempotent. A healthy sandbox of the requested shape is reported, not restarted;
 * one of another shape is an error (the user decides to take it down); a dead one (reboot,
 * killed processes, failed `up`) is cleaned away and started fresh.
 */
export async function sandboxUp(flags: UpFlags, opts: UpOptions = {}): Promise<UpOutcome> {
  const t0 = performance.now();
  const progress = opts.progress ?? (() => undefined);
  const dir = flags.dir;
  const existedBefore = existsSync(dir);
  claimDir(dir);
  const release = acquireLock(dir);
  try {
    const existing = readState(dir);
    const req = resolveRequest(flags, existing?.status === 'ready' ? existing : undefined);
    if (existing) {
      const provider = providerFor(existing.provider);
      const st = await provider.status(existing);
      const anyAlive = st.nodes.some((n) => n.up) || st.writer.up;
      if (existing.status === 'ready' && anyAlive) {
        if (!sameShape(req, existing)) {
          throw new MigrateError(
            'sandbox',
            `A sandbox (${describe(existing)}) is already running in ${dir}; you asked for ${describe(req)}.`,
            `Run \`migrate sandbox down${dirFlag(dir)}\` first, or pass --dir to start a second sandbox elsewhere.`,
          );
        }
        if (st.healthy) return { state: existing, reused: true, elapsedMs: performance.now() - t0 };
        const bad = st.nodes
          .filter((n) => !n.up || n.ioRunning === false || n.sqlRunning === false)
          .map((n) => `${n.name}: ${n.error ?? n.replicationError ?? 'replication stopped'}`);
        throw new MigrateError(
          'sandbox',
          `The sandbox (${describe(existing)}) in ${dir} is running but not healthy${bad.length ? ` (${bad.join('; ')})` : ''}.`,
          `Inspect it with \`migrate sandbox status${dirFlag(dir)}\`, or start over: \`migrate sandbox down${dirFlag(dir)}\` then \`migrate sandbox up${dirFlag(dir)}\`.`,
        );
      }
      progress(`removing the stale ${existing.status === 'ready' ? 'stopped' : existing.status} sandbox in ${dir}`);
      await provider.down(existing);
    }
    await stopStrays(dir);
    clearDir(dir);

    let provider: SandboxProvider;
    try {
      provider = await chooseProvider(req, opts.provider ?? 'auto');
    } catch (e) {
      // Nothing was started: leave no empty sandbox directory behind.
      if (!existedBefore) removeDir(dir);
      throw e;
    }
    let partial: SandboxState | undefined;
    const record = (s: SandboxState): void => {
      partial = s;
      writeState(s);
    };
    let state: SandboxState;
    try {
      state = await provider.up(req, record, progress);
    } catch (e) {
      if (partial) {
        await provider.down(partial).catch(() => undefined);
        writeState({ ...partial, status: 'failed' });
      }
      await stopStrays(dir);
      throw e;
    }
    // A shadow server is shared by every project: no config pointing at one project's migrations.
    if (!SHADOW_TOPOLOGIES.includes(state.topology)) writeSandboxConfig(state, planTopology(state.topology, state.replicas), req.migrationsDir);
    state.status = 'ready';
    state.readyInMs = Math.round(performance.now() - t0);
    writeState(state);
    return { state, reused: false, elapsedMs: performance.now() - t0 };
  } finally {
    release();
  }
}

const dirFlag = (dir: string): string => (dir === join(process.cwd(), '.sandbox') ? '' : ` --dir ${dir}`);

function requireState(dir: string): SandboxState {
  const state = readState(dir);
  if (!state) {
    throw new MigrateError(
      'sandbox',
      `There is no sandbox in ${dir}.`,
      `Start one with \`migrate sandbox up${dirFlag(dir)}\` (or pass the --dir it was started with).`,
    );
  }
  return state;
}

export async function sandboxStatus(dir: string): Promise<{ state: SandboxState; status: SandboxStatus }> {
  const state = requireState(dir);
  return { state, status: await providerFor(state.provider).status(state) };
}

/**
 * Restarts one node (tests of crash/restart behaviour). The new pid is recorded in state.json.
 * A restarted MariaDB node comes back with read_only=ON, as production nodes should.
 */
export async function sandboxRestartNode(dir: string, name: string): Promise<number> {
  const release = acquireLock(dir);
  try {
    const state = requireState(dir);
    const provider = providerFor(state.provider);
    if (!provider.restartNode)
      throw new MigrateError('sandbox', `The ${state.provider} provider cannot restart a single node.`, 'Run `migrate sandbox down` and `up` instead.');
    const pid = await provider.restartNode(state, name);
    writeState(state);
    return pid;
  } finally {
    release();
  }
}

export interface DownOutcome extends DownReport {
  dir: string;
  /** False when there was nothing to take down. */
  existed: boolean;
}

/**
 * The state `down` works from; none when state.json cannot be read. readState's error sends the
 * user to `down`, so `down` must not fail on it too: the servers are then found by their command
 * lines, which name the directory, as after an interrupted `up`.
 */
function stateForDown(dir: string): SandboxState | undefined {
  try {
    return readState(dir);
  } catch (e) {
    if (e instanceof MigrateError) return undefined;
    throw e;
  }
}

/** `sandbox down`: stops what state.json names (and strays), then removes the directory. */
export async function sandboxDown(dir: string): Promise<DownOutcome> {
  if (!existsSync(dir)) return { dir, existed: false, stopped: [] };
  if (!isSandboxDir(dir)) removeDir(dir); // throws: not ours
  const release = acquireLock(dir);
  try {
    const state = stateForDown(dir);
    const report: DownReport = state ? await providerFor(state.provider).down(state) : { stopped: [] };
    for (const p of serverProcessesReferencing(dir)) {
      const how = await stopProcess(p.pid, dir, p.cmdline.includes('postgres') ? 'SIGINT' : 'SIGTERM', 30_000);
      report.stopped.push({ what: `unrecorded ${p.cmdline.split(' ')[0]}`, pid: p.pid, how });
    }
    removeDir(dir);
    return { dir, existed: true, stopped: report.stopped };
  } finally {
    release();
  }
}
