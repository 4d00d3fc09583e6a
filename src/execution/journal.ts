import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { redactValue } from '../log/redact.ts';

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
    writeSync(this.fd, JSON.stringify(entry) + '\n');
    fsyncSync(this.fd);
    // Fault injection for the kill tests: die right after journaling the named step boundary,
    // exactly as a SIGKILL from outside would land there.
    const killAt = process.env['MIGRATE_FAULT_KILL_AFTER'];
    if (killAt && killAt === `${step}:${phase}`) process.kill(process.pid, 'SIGKILL');
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
    closeSync(this.fd);
  }
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
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => f.replace(/\.jsonl$/, ''))
    .sort();
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
