/**
 * What the fault tests share besides the invariants: the coordinator run as the operator runs it
 * (bin/migrate in its own process, so its exit code, stderr and death are real), a way to hold
 * it at a step boundary (MIGRATE_FAULT_PAUSE_AT, see src/execution/journal.ts), signals to the
 * sandbox's servers, and the replica-first migrations each fault runs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunningSandbox } from '../helpers/sandbox.ts';
import { listRuns } from '../../src/execution/journal.ts';

const BIN = resolve('bin/migrate');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time of the process. */
  ms: number;
  /** The `error:` and `fix:` lines the CLI prints for a MigrateError. */
  error: string;
  fix: string;
}

export interface RunningCli {
  pid: number;
  done: Promise<CliResult>;
}

/** Starts `migrate ...`; past `timeoutMs` it is SIGKILLed (and the result says so). */
export function startCli(args: string[], env: Record<string, string> = {}, timeoutMs = 180_000): RunningCli {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    stderr += `\n[fault harness] killed after ${timeoutMs} ms\n`;
    child.kill('SIGKILL');
  }, timeoutMs);
  const done = new Promise<CliResult>((res) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = (prefix: string) =>
        stderr
          .split('\n')
          .filter((l) => l.startsWith(prefix))
          .map((l) => l.slice(prefix.length).trim())
          .at(-1) ?? '';
      res({ code, signal, stdout, stderr, ms: Math.round(performance.now() - t0), error: line('error:'), fix: line('fix:') });
    });
  });
  return { pid: child.pid ?? -1, done };
}

export const cli = (args: string[], env: Record<string, string> = {}, timeoutMs?: number): Promise<CliResult> => startCli(args, env, timeoutMs).done;

/** Everything a failed assertion should show about a coordinator run. */
export const show = (r: CliResult): string =>
  `exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/**
 * Holds a coordinator at one step boundary: pass `env(boundary)` to it, `await reached()`, do
 * the damage, then `release()`.
 */
export class Pause {
  readonly dir = mkdtempSync(join(tmpdir(), 'fault-pause-'));
  env(boundary: string): Record<string, string> {
    rmSync(join(this.dir, 'paused'), { force: true });
    rmSync(join(this.dir, 'continue'), { force: true });
    return { MIGRATE_FAULT_PAUSE_AT: boundary, MIGRATE_FAULT_PAUSE_DIR: this.dir, MIGRATE_FAULT_PAUSE_MAX_MS: '90000' };
  }
  /** Resolves once the coordinator waits at the boundary; fails with its output if it exits first. */
  async reached(run: RunningCli, timeoutMs = 120_000): Promise<void> {
    let exited: CliResult | undefined;
    void run.done.then((r) => (exited = r));
    const until = Date.now() + timeoutMs;
    while (!existsSync(join(this.dir, 'paused'))) {
      if (exited) throw new Error(`the coordinator exited before the pause point:\n${show(exited)}`);
      if (Date.now() > until) throw new Error(`the coordinator did not reach the pause point within ${timeoutMs} ms`);
      await sleep(10);
    }
  }
  release(): void {
    writeFileSync(join(this.dir, 'continue'), '');
  }
  cleanup(): void {
    this.release();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The live pid of a sandbox node's mariadbd (from its pid file: current after a restart). */
export function nodePid(sb: RunningSandbox, name: string): number {
  const n = sb.node(name);
  const pid = Number(readFileSync(n.pidFile!, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid for ${name}`);
  return pid;
}

export function signalNode(sb: RunningSandbox, name: string, signal: NodeJS.Signals): number {
  const pid = nodePid(sb, name);
  process.kill(pid, signal);
  return pid;
}

/** Resumes a SIGSTOPped node in a test's `finally`: never leave a stopped server behind, whatever failed (a node already gone is fine). */
export function resumeNode(sb: RunningSandbox, name: string): void {
  try {
    signalNode(sb, name, 'SIGCONT');
  } catch {
    /* gone */
  }
}

/** Waits until a SIGKILLed server is really gone (its port free for the restart). */
export async function waitDead(pid: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    if (/\) [ZX] /.test(stat)) return;
    if (Date.now() > until) throw new Error(`pid ${pid} still alive after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * The replica-first migrations the faults run: a table of rows, then one CHAR widening per
 * fault (a type change: ALGORITHM=COPY in place, so the gate would choose replica-first anyway).
 */
export class Migrations {
  readonly dir = mkdtempSync(join(tmpdir(), 'fault-mig-'));
  width = 100;
  private seq = 1;
  constructor() {
    writeFileSync(join(this.dir, '0001_create_items.up.sql'), "CREATE TABLE items (id INT PRIMARY KEY, c CHAR(100) NOT NULL DEFAULT '');\n");
    writeFileSync(join(this.dir, '0001_create_items.down.sql'), 'DROP TABLE items;\n');
  }
  /** Adds the next widening; `width` is what every node must show once it is applied. */
  next(): { id: string; width: number } {
    this.seq++;
    const width = this.width + 1;
    const id = `${String(this.seq).padStart(4, '0')}_widen_c_${width}`;
    writeFileSync(join(this.dir, `${id}.up.sql`), `ALTER TABLE items MODIFY c CHAR(${width}) NOT NULL DEFAULT '';\n`);
    writeFileSync(join(this.dir, `${id}.down.sql`), `ALTER TABLE items MODIFY c CHAR(${width - 1}) NOT NULL DEFAULT '';\n`);
    return { id, width };
  }
  /** Marks the last widening applied everywhere. */
  applied(width: number): void {
    this.width = width;
  }
  /** Takes a migration back out (it was refused and is not meant to run later). */
  withdraw(id: string): void {
    for (const f of readdirSync(this.dir)) if (f.startsWith(id)) rmSync(join(this.dir, f));
    this.seq--;
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Path of the newest run's journal in the sandbox's .migrate/runs, if any. */
export function lastJournalPath(sb: RunningSandbox): string | undefined {
  const dir = join(sb.dir, '.migrate', 'runs');
  if (!existsSync(dir)) return undefined;
  // In the order the runs started, as the tool reads them (two runs of one second included).
  const last = listRuns(dir).at(-1);
  return last ? join(dir, `${last}.jsonl`) : undefined;
}

/** Journal entries of the newest run in the sandbox's .migrate/runs. */
export function lastJournal(sb: RunningSandbox): { step: string; phase: string; ts: string; data?: Record<string, unknown> }[] {
  const path = lastJournalPath(sb);
  if (!path) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { step: string; phase: string; ts: string; data?: Record<string, unknown> });
}

export function runCount(sb: RunningSandbox): number {
  const dir = join(sb.dir, '.migrate', 'runs');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl')).length : 0;
}

/** ms between two journal entries (first match of each). */
export function journalSpan(entries: { step: string; phase: string; ts: string }[], from: [string, string], to: [string, string]): number | undefined {
  const a = entries.find((e) => e.step === from[0] && e.phase === from[1]);
  const b = entries.find((e) => e.step === to[0] && e.phase === to[1]);
  return a && b ? Date.parse(b.ts) - Date.parse(a.ts) : undefined;
}

export function ensureDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
