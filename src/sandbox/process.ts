import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { MigrateError } from '../errors.ts';
import { redact } from '../log/index.ts';

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

export const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** uid/gid of a local account, or undefined if it does not exist. */
export function lookupUser(name: string): OsUser | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

export interface RunOptions {
  /** Run as this account (we must be root); libuv drops supplementary groups with it. */
  as?: OsUser;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What the step is, for the error message ("initialising the MariaDB data directory"). */
  what: string;
  /** Where the full output went, for the error message. */
  logHint?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** The error lines first (install tools print them early, then pages of advice), then the end. */
const tail = (s: string, lines = 15): string => {
  const all = s.trim().split('\n');
  const errors = all.filter((l) => /\bERROR\b/.test(l)).slice(0, 5);
  const end = all.slice(-lines).filter((l) => !errors.includes(l));
  return [...errors, ...(errors.length && end.length ? ['...'] : []), ...end].join('\n');
};

/** Runs a command to completion; a non-zero exit or timeout becomes a MigrateError with the output tail. */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      ...(opts.as ? { uid: opts.as.uid, gid: opts.as.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(
        new MigrateError(
          'sandbox',
          `Could not run ${cmd} while ${opts.what}: ${e.message}.`,
          'Check that the server binaries are installed (apt-get install mariadb-server postgresql haproxy).',
          { cause: e },
        ),
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const why = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (timeout)' : ''}` : `exited with code ${code}`;
      reject(
        new MigrateError(
          'sandbox',
          redact(`${basename(cmd)} ${why} while ${opts.what}:\n${tail(`${stderr}\n${stdout}`)}`),
          opts.logHint ? `See ${opts.logHint} for the full log.` : 'Fix the cause shown above and run the command again.',
        ),
      );
    });
  });
}

/**
 * Starts a long-running server in its own session, output appended to logFile, and lets this
 * process exit while it keeps running (`sandbox up` returns; the servers stay).
 */
export function spawnDaemon(cmd: string, args: string[], opts: { logFile: string; as?: OsUser; env?: NodeJS.ProcessEnv }): ChildProcess {
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      ...(opts.as ? { uid: opts.as.uid, gid: opts.as.gid } : {}),
    });
    child.unref();
    // Spawn failures (ENOENT) surface through the exit watcher of the caller, not as a crash.
    child.on('error', () => undefined);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** The command line of a process, '' if it is gone. */
/** A process's arguments, split as it was given them (/proc), or at spaces where only ps can tell. */
export function processArgs(pid: number): string[] {
  if (existsSync('/proc/self/cmdline')) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      return [];
    }
  }
  return processCmdline(pid).split(' ').filter(Boolean);
}

export function processCmdline(pid: number): string {
  const proc = `/proc/${pid}/cmdline`;
  if (existsSync('/proc/self/cmdline')) {
    try {
      return readFileSync(proc, 'utf8').split('\0').join(' ').trim();
    } catch {
      return '';
    }
  }
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Alive and not a zombie (a zombie still answers kill 0 but holds no port or file). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!existsSync('/proc/self')) return true;
  try {
    const state = procState(`/proc/${pid}/stat`);
    if (state !== 'Z') return state !== '' && state !== 'X';
    // A zombie thread-group leader whose other threads still run (mariadbd's main thread ends
    // before its shutdown is done) still holds the port and the datadir: alive until they end.
    return readdirSync(`/proc/${pid}/task`).some((t) => {
      const st = procState(`/proc/${pid}/task/${t}/stat`);
      return st !== '' && st !== 'Z' && st !== 'X';
    });
  } catch {
    return false;
  }
}

function procState(statFile: string): string {
  try {
    const stat = readFileSync(statFile, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return '';
  }
}

/**
 * A pid file can outlive its process and the pid be reused by anything: only a live process whose
 * command line names our own datadir / config file is ours to signal.
 */
export function isOurProcess(pid: number, marker: string): boolean {
  return isAlive(pid) && namesPath(processArgs(pid), marker);
}

/**
 * Whether a command line names `path` or something under it as one of its arguments (`-D path`,
 * `--datadir=path/data`): a whole argument, not a substring, so the sandbox /tmp/sb never claims
 * the servers of /var/tmp/sb or /tmp/sb2.
 */
export function namesPath(args: readonly string[], path: string): boolean {
  const p = path.replace(/\/+$/, '');
  return args.map((arg) => (arg.startsWith('-') && arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : arg)).some((v) => v === p || v.startsWith(`${p}/`));
}

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]?.trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

export type StopOutcome = 'signal' | 'already-gone' | 'not-ours';

/** Stops our process: `signal`, then SIGKILL after `graceMs` if it is still there. */
export async function stopProcess(pid: number, marker: string, signal: NodeJS.Signals, graceMs: number): Promise<StopOutcome> {
  if (!isAlive(pid)) return 'already-gone';
  if (!isOurProcess(pid, marker)) return 'not-ours';
  try {
    process.kill(pid, signal);
    // A server stopped with SIGSTOP (the fault tests do that) only acts on the signal once it
    // runs again; without this it would sit out the whole grace period before SIGKILL.
    process.kill(pid, 'SIGCONT');
  } catch {
    return 'already-gone';
  }
  if (await waitGone(pid, graceMs)) return 'signal';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone meanwhile */
  }
  await waitGone(pid, 5_000);
  return 'signal';
}

const SERVER_PROGRAMS = new Set(['mariadbd', 'mysqld', 'postgres', 'postmaster', 'haproxy']);

/**
 * Server processes whose command line names `dir`: the safety net of `down` for a process that
 * an interrupted `up` started but never recorded. Only server programs count, so the shell or
 * CLI that was given `--dir` is never matched.
 */
export function serverProcessesReferencing(dir: string): { pid: number; cmdline: string }[] {
  if (!existsSync('/proc/self/cmdline')) return [];
  const out: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const cmdline = processCmdline(pid);
    const prog = basename(cmdline.split(' ')[0] ?? '');
    if (SERVER_PROGRAMS.has(prog) && namesPath(processArgs(pid), dir)) {
      out.push({ pid, cmdline });
    }
  }
  return out;
}

/**
 * Stops a server by its pid file and by the pid recorded at start: they differ when the server
 * was restarted by hand or by a test, and either may name a live process of ours. Returns the
 * pid that was stopped (or the first candidate) and the outcome.
 */
export async function stopServer(
  pidFile: string | undefined,
  recordedPid: number | undefined,
  marker: string,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<{ pid?: number; how: StopOutcome }> {
  const candidates = [...new Set([pidFile ? readPidFile(pidFile) : undefined, recordedPid].filter((p): p is number => p !== undefined))];
  let result: { pid?: number; how: StopOutcome } = { pid: candidates[0], how: 'already-gone' };
  for (const pid of candidates) {
    const how = await stopProcess(pid, marker, signal, graceMs);
    if (how === 'signal' || result.how === 'already-gone') result = { pid, how };
  }
  return result;
}

/** The live pid of our server: from its pid file (current after a restart), else the one recorded at start. */
export function liveServerPid(pidFile: string | undefined, recordedPid: number | undefined, marker: string): number | undefined {
  for (const pid of [pidFile ? readPidFile(pidFile) : undefined, recordedPid]) {
    if (pid !== undefined && isOurProcess(pid, marker)) return pid;
  }
  return undefined;
}
