import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { redactValue } from '../log/index.ts';

export type JournalPhase = 'begin' | 'end' | 'fail';

export interface JournalEntry {
  ts: string;
  run: string;
  step: string;
  phase: JournalPhase;
  data?: Record<string, unknown>;
}

/**
 * Append-only, fsynced JSON-lines journal: a step is written before it runs and after it ends,
 * so whoever picks up after a crash knows the last step that may have half-happened.
 */
export class Journal {
  private readonly fd: number;
  /** Inside the write block: entries are written at once, their fsync runs beside the block. */
  private deferred = false;
  private syncing = false;
  private dirty = false;
  constructor(
    readonly path: string,
    readonly run: string,
  ) {
    mkdirSync(join(path, '..'), { recursive: true });
    this.fd = openSync(path, 'a');
  }

  static open(dir: string, run: string): Journal {
    return new Journal(join(dir, `${run}.jsonl`), run);
  }

  write(step: string, phase: JournalPhase, data?: Record<string, unknown>): void {
    const entry: JournalEntry = { ts: new Date().toISOString(), run: this.run, step, phase, ...(data ? { data: redactValue(data) } : {}) };
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    if (this.deferred) this.syncSoon();
    else fsyncSync(this.fd);
    // Fault injection for the kill tests: die right after journaling the named step boundary,
    // exactly as a SIGKILL from outside would land there.
    const killAt = process.env['MIGRATE_FAULT_KILL_AFTER'];
    if (killAt && killAt === `${step}:${phase}`) process.kill(process.pid, 'SIGKILL');
    pauseIfAsked(`${step}:${phase}`);
  }

  /**
   * While clients wait on the write block, a synchronous fsync per entry cost 0.3-5 ms each under
   * load here (14 entries: up to 35 ms of a 50 ms block). Deferred, each entry is still written
   * before its step runs (in the page cache: a killed coordinator's journal keeps it) and fsynced
   * beside the block in the thread pool; `deferSync(false)` fsyncs everything before returning.
   * Only a machine crash inside the block could lose an entry, and recovery then decides from the
   * servers' own state (which node is writable) first.
   */
  deferSync(on: boolean): void {
    this.deferred = on;
    if (!on) fsyncSync(this.fd);
  }

  private syncSoon(): void {
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    this.syncing = true;
    this.dirty = false;
    fsync(this.fd, () => {
      this.syncing = false;
      if (this.dirty) this.syncSoon();
    });
  }

  /** Journals begin/end (or fail) around fn. */
  async step<T>(step: string, fn: () => Promise<T>, data?: Record<string, unknown>): Promise<T> {
    this.write(step, 'begin', data);
    try {
      const out = await fn();
      this.write(step, 'end');
      return out;
    } catch (e) {
      this.write(step, 'fail', { error: e instanceof Error ? e.message : String(e) });
      throw e;
    }
  }

  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/**
 * Fault injection for the fault suite (test/faults), inert unless both variables are set:
 * MIGRATE_FAULT_PAUSE_AT=<step>:<begin|end> and MIGRATE_FAULT_PAUSE_DIR=<dir>. At that boundary
 * the coordinator writes <dir>/paused (naming the boundary) and stops until <dir>/continue
 * exists, so a test can stop or kill a server at an exact point of the run. The wait blocks the
 * whole process, as a coordinator descheduled at that point would be; it gives up after
 * MIGRATE_FAULT_PAUSE_MAX_MS (default 120 s) so a broken test cannot leave it hanging.
 */
function pauseIfAsked(boundary: string): void {
  const at = process.env['MIGRATE_FAULT_PAUSE_AT'];
  const dir = process.env['MIGRATE_FAULT_PAUSE_DIR'];
  if (!at || !dir || at !== boundary) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'paused'), `${boundary}\n`);
  const maxMs = Number(process.env['MIGRATE_FAULT_PAUSE_MAX_MS'] ?? 120_000);
  const until = Date.now() + maxMs;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(join(dir, 'continue')) && Date.now() < until) Atomics.wait(cell, 0, 0, 5);
}

export function readJournal(path: string): JournalEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as JournalEntry];
      } catch {
        // A line torn by a crash mid-write is ignored; the step before it is the last known one.
        return [];
      }
    });
}

export function listRuns(dir: string): string[] {
  if (!existsSync(dir)) return [];
  // In the order they started: a run id holds its start to the second only, and two runs of one
  // second (an apply, then at once its continue) would otherwise be ordered by their random suffix.
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => ({ run: f.replace(/\.jsonl$/, ''), started: startedAt(join(dir, f)) }))
    .sort((a, b) =>
      a.run.slice(0, 15) === b.run.slice(0, 15) && a.started !== b.started ? (a.started < b.started ? -1 : 1) : a.run < b.run ? -1 : a.run > b.run ? 1 : 0,
    )
    .map((r) => r.run);
}

/** The time of a journal's first entry (to the millisecond), or '' when it has none readable. */
function startedAt(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(512);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const ts = /"ts":"([^"]+)"/.exec(buf.subarray(0, n).toString('utf8'))?.[1];
    return ts ?? '';
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The last step that began and did not end: where a dead run stopped. */
export function openStep(entries: JournalEntry[]): string | undefined {
  const open = new Set<string>();
  for (const e of entries) {
    if (e.phase === 'begin') open.add(e.step);
    else open.delete(e.step);
  }
  return [...open].pop();
}
