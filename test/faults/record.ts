/**
 * Each fault test writes what happened as JSON into the results directory (.ci-out/faults, or
 * MIGRATE_FAULT_RESULTS): `npm run docs:reliability` renders docs/reliability.md from these files,
 * so the reliability table is always what a real run measured. Written before the assertions,
 * with `held` false for anything that did not hold, so a failing run is documented as failing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CliResult } from './harness.ts';
import type { Invariants } from './invariants.ts';

export function resultsDir(): string {
  return resolve(process.env['MIGRATE_FAULT_RESULTS'] ?? join('.ci-out', 'faults'));
}

export interface CoordinatorOutcome {
  /** The command as the operator typed it (without --config). */
  command: string;
  exitCode: number | null;
  signal: string | null;
  error: string;
  fix: string;
  ms: number;
}

export interface InvariantSummary {
  /** What was checked, as the operator would say it. */
  checks: { name: string; held: boolean; detail?: string }[];
  /** Nodes left out because the fault took them out at that moment. */
  skipped: string[];
  writer: string | null;
  acknowledgedWrites: number;
  lostWrites: number;
}

export interface FaultRecord {
  /** File name and sort key, e.g. "b1-replica-stopped-catch-up". */
  id: string;
  /** The fault, in one line. */
  fault: string;
  /** What the coordinator must do about it. */
  expected: string;
  coordinator: CoordinatorOutcome;
  /** Other commands run against the same fault (e.g. `migrate topology` beside `migrate apply`). */
  also?: CoordinatorOutcome[];
  /** The invariants right after the coordinator exited. */
  after: InvariantSummary;
  /** What the operator runs next (SIGCONT, restart, `migrate resume`...) and the invariants after it. */
  recovery?: { steps: string; command?: CoordinatorOutcome; after: InvariantSummary };
  /** Measured times, ms (e.g. the write block, time to detect). */
  timings: Record<string, number | undefined>;
  held: boolean;
  at: string;
}

export function coordinator(command: string, r: CliResult): CoordinatorOutcome {
  return { command, exitCode: r.code, signal: r.signal, error: r.error, fix: r.fix, ms: r.ms };
}

export function summarize(i: Invariants, o: { skipped?: string[]; allowReplicationProblems?: boolean } = {}): InvariantSummary {
  const lost = Object.values(i.lost).reduce((a, b) => a + b, 0);
  const writer = i.writable.length === 1 ? (i.writable[0] ?? null) : null;
  const endpointHeld = writer !== null && i.endpoint === writer && (i.haproxyReady === null || (i.haproxyReady.length === 1 && i.haproxyReady[0] === writer));
  const checks: InvariantSummary['checks'] = [
    { name: 'one writable node', held: i.writable.length === 1, detail: i.writable.join(', ') || 'none' },
    {
      name: 'endpoint on the writer',
      held: endpointHeld,
      detail: `${i.endpoint ?? 'nothing'} answers through it; HAProxy runtime API: ${i.haproxyReady?.join(', ') || 'n/a'}`,
    },
    { name: 'writes accepted', held: i.writeThroughEndpoint },
    {
      name: 'replication healthy',
      held: o.allowReplicationProblems === true || i.replicationProblems.length === 0,
      ...(i.replicationProblems.length ? { detail: i.replicationProblems.join('; ') } : {}),
    },
    { name: 'no acknowledged write lost', held: lost === 0, detail: `${i.acknowledged} acknowledged, ${lost} missing` },
  ];
  if (i.schemaChecked)
    checks.push({ name: 'one schema', held: i.schemaProblems.length === 0, ...(i.schemaProblems.length ? { detail: i.schemaProblems.join('; ') } : {}) });
  return { checks, skipped: o.skipped ?? [], writer, acknowledgedWrites: i.acknowledged, lostWrites: lost };
}

export function allHeld(s: InvariantSummary): boolean {
  return s.checks.every((c) => c.held);
}

/**
 * A fault the coordinator must refuse before changing anything: held when it exited 1, nothing
 * changed and the invariants hold once the fault is repaired.
 */
export function recordRefusal(r: {
  id: string;
  fault: string;
  expected: string;
  command: string;
  result: CliResult;
  unchanged: boolean;
  after: Invariants;
}): FaultRecord {
  const after = summarize(r.after);
  return recordFault({
    id: r.id,
    fault: r.fault,
    expected: r.expected,
    coordinator: coordinator(r.command, r.result),
    after,
    timings: { refusedAfterMs: r.result.ms },
    held: r.result.code === 1 && r.unchanged && allHeld(after),
  });
}

export function recordFault(r: Omit<FaultRecord, 'at'>): FaultRecord {
  const full: FaultRecord = { ...r, at: new Date().toISOString() };
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${r.id}.json`), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

/** The kill-at-every-step suite writes one file with a row per step boundary. */
export interface KillRecord {
  boundary: string;
  /** 'none': the kill came after the run's last journal entry, so there was nothing to recover. */
  recovery: 'resume' | 'abort' | 'abort, then resume' | 'none';
  killed: boolean;
  recoveryExit: number | null;
  writer: string | null;
  invariantsHeld: boolean;
  detail?: string;
  ms: number;
}

export function recordKills(rows: KillRecord[], extra: Record<string, unknown>): void {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'a-coordinator-killed.json'),
    `${JSON.stringify({ id: 'a-coordinator-killed', rows, ...extra, at: new Date().toISOString() }, null, 2)}\n`,
  );
}

/** One case of the runner suite (test/integration/runner-recovery.test.ts): the "runner" table of docs/reliability.md. */
export interface RunnerRecord {
  /** File name and sort key, e.g. "r1-killed-mid-statement-mysql". */
  id: string;
  dialect: 'mysql' | 'postgres';
  fault: string;
  expected: string;
  runs: CoordinatorOutcome[];
  /** What the ledger and the database showed afterwards (and after the recovery the message named). */
  after: string;
  timings?: Record<string, number | undefined>;
  held: boolean;
  at: string;
}

export function recordRunnerCase(r: Omit<RunnerRecord, 'at' | 'runs'> & { runs: { command: string; result: CliResult }[] }): RunnerRecord {
  const full: RunnerRecord = { ...r, runs: r.runs.map((x) => coordinator(x.command, x.result)), at: new Date().toISOString() };
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${r.id}.json`), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}
