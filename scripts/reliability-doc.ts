/**
 * Renders docs/reliability.md from the fault suite's results: every fault test writes its
 * outcome as JSON into .ci-out/faults (MIGRATE_FAULT_RESULTS overrides), see test/faults/record.ts.
 * Run the suites, then `npm run docs:reliability`:
 *
 *   npx vitest run test/faults test/integration/kill-resume.test.ts test/integration/bad-topology.test.ts
 *   npm run docs:reliability
 *
 * The "runner" section comes from test/integration/runner-recovery.test.ts (same results dir);
 * `--only runner` rewrites just that section of the existing file, so it can be refreshed
 * without rerunning the switchover suites:
 *
 *   MIGRATE_FAULT_RESULTS=.ci-out/faults npx vitest run test/integration/runner-recovery.test.ts
 *   npm run docs:reliability -- --only runner
 *
 * The "Timing margins" section comes from bench/results/timing-margins.json (committed) through
 * scripts/reliability-margins.ts, which can also rewrite that section alone (`--write`).
 *
 * Rendering docs/reliability.md from another directory also keeps a copy of the results it used
 * in bench/results/faults/ (committed, with machine.json: the core count of the machine that ran
 * them), so the doc can be rendered again from them and test/unit/reliability-doc.test.ts checks
 * that it is; `--only runner` updates only the runner results there, and only in a full copy.
 * `--keep DIR` keeps the copy elsewhere (the test uses it).
 *
 *   npm run docs:reliability -- --results bench/results/faults     # the doc again from the committed copy
 *
 * Usage: node --import tsx scripts/reliability-doc.ts [--results DIR] [--out FILE] [--only runner] [--keep DIR]
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_ANSWER_MS } from '../src/topology/node-connection.ts';
import type { FaultRecord, InvariantSummary, KillRecord, RunnerRecord } from '../test/faults/record.ts';
import { readTimingMargins, timingMarginsSection } from './reliability-margins.ts';

interface KillFile {
  id: string;
  rows: KillRecord[];
  probe?: { acknowledged: number; failed: number; longestGapMs: number; lost: number };
  at: string;
}

/** Every fault the suite covers, in the order of the issue; a missing result is reported, not hidden. */
const EXPECTED: { id: string; title: string }[] = [
  { id: 'a-coordinator-killed', title: 'a. coordinator killed at every step boundary' },
  { id: 'b1-replica-stopped-catch-up', title: 'b. replica stopped (SIGSTOP) during catch-up' },
  { id: 'b2-replica-stopped-write-block', title: 'b. replica stopped (SIGSTOP) during the write block' },
  { id: 'b3-replica-lagging-catch-up', title: 'b. another replica lagging before the write block' },
  { id: 'c-candidate-killed-promotion', title: 'c. candidate killed (SIGKILL) during promotion' },
  { id: 'd1-replication-sql-thread-stopped', title: 'd. replication broken before the run: SQL thread stopped' },
  { id: 'd2-replication-duplicate-key', title: 'd. replication broken before the run: duplicate-key error' },
  { id: 'e-old-primary-killed-after-promotion', title: 'e. old primary killed (SIGKILL) after promotion' },
  { id: 'a3-coordinator-killed-after-promotion', title: 'a3. coordinator killed inside the write block, right after the promotion (endpoint not moved yet)' },
  {
    id: 'h-coordinator-killed-read-only',
    title: 'a2. coordinator killed inside the write block, right after read_only on the old primary (before the promotion)',
  },
  { id: 'f-haproxy-socket-missing', title: "f. HAProxy's runtime socket missing" },
  { id: 'g-second-coordinator', title: 'g. second coordinator while one runs' },
  { id: 'h1-config-node-independent-server', title: 'bad input: a replica entry naming an independent server' },
  { id: 'h2-config-node-is-the-primary', title: 'bad input: a replica entry naming the primary itself' },
];

const RUNNER_BEGIN = '<!-- runner:begin (generated: `npm run docs:reliability -- --only runner`) -->';
const RUNNER_END = '<!-- runner:end -->';
const RUNNER_EXPECTED: { id: string; title: string }[] = [
  { id: 'r1-killed-mid-statement-mysql', title: 'r1. `up` SIGKILLed during a statement, after an INSERT' },
  { id: 'r1-killed-mid-statement-postgres', title: 'r1. `up` SIGKILLed during a statement, after an INSERT' },
  { id: 'r2-server-restarted-mysql', title: 'r2. the server restarted during `up`' },
  { id: 'r2-server-restarted-postgres', title: 'r2. the server restarted during `up`' },
  { id: 'r6-concurrently-killed-postgres', title: 'r6. a file with CONCURRENTLY segments killed in segment 3' },
  { id: 'r3-sigint-mysql', title: 'r3. Ctrl-C (SIGINT) during a long statement' },
  { id: 'r3-sigint-postgres', title: 'r3. Ctrl-C (SIGINT) during a long statement, an application read waiting on its lock' },
  { id: 'r4-never-settles-mysql', title: 'r4. a TypeScript migration whose promise never settles' },
  { id: 'r4-never-settles-postgres', title: 'r4. a TypeScript migration whose promise never settles' },
  { id: 'r5-ledger-dropped-mysql', title: 'r5. the ledger table dropped by hand' },
  { id: 'r5-ledger-dropped-postgres', title: 'r5. the ledger table dropped by hand' },
  { id: 'r7-deploy-command-pre-only-mysql', title: 'r7. `apply --deploy-command` with only pre-deploy migrations pending' },
];
const RUNNER_TIMING_LABELS: Record<string, string> = {
  exitAfterSignalMs: 'exited after the signal',
  applicationReadMs: 'application read returned after',
  timeoutRunMs: '`up --migration-timeout 3s` took',
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const resultsDir = resolve(arg('--results') ?? process.env['MIGRATE_FAULT_RESULTS'] ?? join('.ci-out', 'faults'));
const out = resolve(arg('--out') ?? join('docs', 'reliability.md'));
/** The committed copy of the results the doc was rendered from. */
const COMMITTED = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results', 'faults');
const MACHINE = 'machine.json';
const keepDir = arg('--keep') ?? (out === resolve(join('docs', 'reliability.md')) && resultsDir !== COMMITTED ? COMMITTED : undefined);

if (!existsSync(resultsDir)) {
  process.stderr.write(
    `error: no fault results in ${resultsDir}\nfix: run the fault suite first: npx vitest run test/faults test/integration/kill-resume.test.ts test/integration/bad-topology.test.ts\n`,
  );
  process.exit(1);
}

const files = readdirSync(resultsDir).filter((f) => f.endsWith('.json') && f !== MACHINE);
/** The machine the results were measured on: from a kept copy, else this one (the suite just ran here). */
const machine = existsSync(join(resultsDir, MACHINE))
  ? (JSON.parse(readFileSync(join(resultsDir, MACHINE), 'utf8')) as { cores: number })
  : { cores: cpus().length };
const isRunnerResult = (data: object): boolean => 'dialect' in data && 'runs' in data;
const records = new Map<string, FaultRecord>();
const runnerRecords = new Map<string, RunnerRecord>();
let kills: KillFile | undefined;
for (const f of files) {
  const data = JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as { id: string };
  if (data.id === 'a-coordinator-killed') kills = data as KillFile;
  else if (isRunnerResult(data)) runnerRecords.set(data.id, data as RunnerRecord);
  else records.set(data.id, data as FaultRecord);
}
const only = arg('--only');
if (only !== undefined && only !== 'runner') {
  process.stderr.write(
    `error: --only ${only} is not a section of the reliability doc\nfix: Use --only runner, or leave --only out to render the whole file.\n`,
  );
  process.exit(1);
}
if (records.size === 0 && !kills && only !== 'runner') {
  process.stderr.write(`error: ${resultsDir} holds no fault results\nfix: run the fault suite first (see the header of scripts/reliability-doc.ts)\n`);
  process.exit(1);
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
const mark = (ok: boolean): string => (ok ? 'yes' : '**NO**');
const ms = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`;

if (only === 'runner') {
  if (runnerRecords.size === 0) {
    process.stderr.write(
      `error: ${resultsDir} holds no runner results\nfix: run the runner suite first: MIGRATE_FAULT_RESULTS=${resultsDir} npx vitest run test/integration/runner-recovery.test.ts\n`,
    );
    process.exit(1);
  }
  const current = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const section = runnerSection().join('\n');
  const begin = current.indexOf(RUNNER_BEGIN);
  const end = current.indexOf(RUNNER_END);
  let next: string;
  if (begin >= 0 && end > begin) next = current.slice(0, begin) + section + current.slice(end + RUNNER_END.length);
  else {
    // First time: before "## Known limits" (which is about the switchover), else at the end.
    const at = current.indexOf('\n## Known limits');
    next = at >= 0 ? `${current.slice(0, at + 1)}${section}\n\n${current.slice(at + 1)}` : `${current.replace(/\n*$/, '\n\n')}${section}\n`;
  }
  writeFileSync(out, next);
  process.stdout.write(`wrote the runner section of ${out} from ${runnerRecords.size} result file(s) in ${resultsDir}\n`);
  keepResults('runner');
  const missingRunner = RUNNER_EXPECTED.filter((e) => !runnerRecords.has(e.id));
  if (missingRunner.length) process.stderr.write(`warning: no result for ${missingRunner.map((m) => m.id).join(', ')}\n`);
  process.exit(0);
}

const TIMING_LABELS: Record<string, string> = {
  coordinatorExitAfterStopMs: 'coordinator exited after the stop',
  oldPrimaryWritableAgainAfterKillMs: 'old primary writable again after the kill (watchdog)',
  endpointOnNewPrimaryAfterKillMs: 'endpoint on the new primary after the kill (watchdog)',
  writeBlockUntilUndoMs: 'write block until undone',
  boundMs: 'bound (--max-write-block)',
  writeBlockMs: 'write block',
  coordinatorMs: 'coordinator run',
  refusedAfterMs: 'refused after',
  secondRefusedAfterMs: 'second coordinator refused after',
  firstRunMs: 'first coordinator run',
  applyRefusedAfterMs: '`apply` refused after',
  topologyMs: '`topology` answered after',
  longestProbeGapMs: 'longest gap between acknowledged probe writes',
  probeFailedWrites: 'probe writes that failed (retried)',
};

function timings(r: FaultRecord): string {
  return (
    Object.entries(r.timings)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${TIMING_LABELS[k] ?? k}: ${k === 'probeFailedWrites' ? String(v) : ms(v)}`)
      .join('; ') || '-'
  );
}

function invariants(s: InvariantSummary): string {
  const bad = s.checks.filter((c) => !c.held);
  const skipped = s.skipped.length ? ` (${s.skipped.join(', ')} out: the fault)` : '';
  const writes = s.acknowledgedWrites ? `; ${s.lostWrites} of ${s.acknowledgedWrites} acknowledged writes lost` : '';
  if (bad.length === 0) return `all held${skipped}; writer ${s.writer ?? '-'}${writes}`;
  return `NOT held: ${bad.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join('; ')}${skipped}`;
}

function exit(c: FaultRecord['coordinator']): string {
  return c.signal ? `killed (${c.signal})` : String(c.exitCode);
}

const lines: string[] = [];
const push = (...l: string[]): void => {
  lines.push(...l);
};
const all = [...records.values()];
const dates = [...all.map((r) => r.at), ...(kills ? [kills.at] : [])].sort();

push(
  '# Reliability: faults and what the coordinator does about them',
  '',
  "<!-- Generated by `npm run docs:reliability` from the fault suite's results (.ci-out/faults/*.json, written by test/faults/*.test.ts, test/integration/kill-resume.test.ts and test/integration/bad-topology.test.ts); edit scripts/reliability-doc.ts, not this file. -->",
  '',
  `Measured on real servers (a local MariaDB primary with two replicas behind HAProxy per suite, started by the sandbox; no mocks), ${dates[0]?.slice(0, 10) ?? '?'}, on a ${machine.cores}-core machine shared with other work. Each fault is injected at an exact point of a \`migrate apply --strategy replica-first\` run (a column widening) while a probe commits a row through the HAProxy endpoint every 20 ms, and (in test/faults and the kill-resume suite) a second probe and a 2-thread transaction load commit through it connected as root, which writes through read_only: their acknowledged writes are checked the same way; the coordinator runs as \`bin/migrate\` in its own process, so its exit code and message are what an operator sees. Reproduce:`,
  '',
  '```sh',
  'npx vitest run test/faults test/integration/kill-resume.test.ts test/integration/bad-topology.test.ts',
  'npm run docs:reliability',
  '```',
  '',
  "After every fault, and again after the recovery the message asks for, the suite checks what an operator would: **one writable node**; **the endpoint on it** (the node that answers through HAProxy, and the one server HAProxy's runtime API shows taking traffic); **writes accepted** (a write through the endpoint commits: nothing was left read-only by mistake); **replication healthy** (every other node replicates from the writer, both threads running, and reaches its position); **no acknowledged write lost** (every probe write the client was told was committed is on every node); after the recovery also **one schema** (the migration on every node). A node the fault took out (stopped, killed) is left out until it is back.",
  '',
  'Fault injection: `MIGRATE_FAULT_KILL_AFTER=<step>:<begin|end>` (the coordinator SIGKILLs itself there) and `MIGRATE_FAULT_PAUSE_AT=<step>:<begin|end>` with `MIGRATE_FAULT_PAUSE_DIR` (it waits there until the test has stopped or killed a server); both environment-only and inert unless set (src/execution/journal.ts).',
  '',
  '## Summary',
  '',
  '| fault | what the coordinator must do | exit | right after the fault | measured | recovery | held |',
  '|---|---|---|---|---|---|---|',
);
/** Kills after the run's last journal entry leave nothing to recover: `resume`/`abort` say so (exit 2), as they should. */
function finished(rows: KillRecord[]): string {
  const none = rows.filter((r) => r.recovery === 'none');
  return none.length
    ? `; after the last entry (${none.map((r) => `\`${r.boundary}\``).join(', ')}) nothing to recover, exit ${none.map((r) => r.recoveryExit ?? '-').join(', ')} ("no interrupted run")`
    : '';
}
for (const e of EXPECTED) {
  if (e.id === 'a-coordinator-killed') {
    if (!kills) {
      push(`| ${e.title} | | | **no result in this run** | | | |`);
      continue;
    }
    const ok = kills.rows.filter((r) => r.invariantsHeld).length;
    const p = kills.probe;
    push(
      `| ${e.title} (${kills.rows.length} boundaries, table below) | after \`migrate resume\` or \`migrate abort\`: one writer, every other node replicating from it, one schema, ledger agrees, endpoint on the writer | 137 (SIGKILL) | - | ${p ? `probe over all kills: ${p.acknowledged} acknowledged, ${p.lost} lost, longest gap ${ms(p.longestGapMs)}` : '-'} | \`migrate resume\` / \`migrate abort\`: exit 0 in ${kills.rows.filter((r) => r.recoveryExit === 0).length} of ${kills.rows.filter((r) => r.recovery !== 'none').length}${finished(kills.rows)} | ${mark(ok === kills.rows.length && (p?.lost ?? 0) === 0)} (${ok}/${kills.rows.length}) |`,
    );
    continue;
  }
  const r = records.get(e.id);
  if (!r) {
    push(`| ${e.title} | | | **no result in this run** | | | |`);
    continue;
  }
  const rec = r.recovery ? `${r.recovery.steps}${r.recovery.command ? ` (exit ${exit(r.recovery.command)})` : ''}: ${invariants(r.recovery.after)}` : '-';
  push(
    `| ${cell(e.title)} | ${cell(r.expected)} | ${exit(r.coordinator)} | ${cell(invariants(r.after))} | ${cell(timings(r))} | ${cell(rec)} | ${mark(r.held)} |`,
  );
}
for (const r of all)
  if (!EXPECTED.some((e) => e.id === r.id))
    push(`| ${cell(r.fault)} | ${cell(r.expected)} | ${exit(r.coordinator)} | ${cell(invariants(r.after))} | ${cell(timings(r))} | - | ${mark(r.held)} |`);

push('', '## What the coordinator said', '');
push(
  "The `error:` and `fix:` lines of each run, verbatim (node names are the sandbox's: `primary`, `replica1`, `replica2`; roles move between them as the suite switches over).",
  '',
);
for (const e of EXPECTED) {
  const r = records.get(e.id);
  if (!r) continue;
  push(`### ${e.title}`, '', `Fault: ${r.fault}.`, '');
  for (const c of [r.coordinator, ...(r.also ?? [])]) {
    push(`\`${c.command}\` exited ${exit(c)} after ${ms(c.ms)}:`, '');
    if (c.error || c.fix) push('```', ...(c.error ? [`error: ${c.error}`] : []), ...(c.fix ? [`fix: ${c.fix}`] : []), '```', '');
    else push('(no error)', '');
  }
  const checks = (s: InvariantSummary): string =>
    s.checks.map((c) => `${c.name}: ${c.held ? 'held' : '**NOT held**'}${c.detail ? ` (${c.detail})` : ''}`).join('; ');
  push(`Right after it${r.after.skipped.length ? ` (${r.after.skipped.join(', ')} left out)` : ''}: ${checks(r.after)}.`, '');
  if (r.recovery)
    push(
      `Recovery: ${r.recovery.steps}${r.recovery.command ? `; \`${r.recovery.command.command}\` exited ${exit(r.recovery.command)} after ${ms(r.recovery.command.ms)}` : ''}. Then: ${checks(r.recovery.after)}.`,
      '',
    );
  push(`Measured: ${timings(r)}.`, '');
}

if (kills) {
  push(
    '## a. The coordinator SIGKILLed at every step boundary',
    '',
    "test/integration/kill-resume.test.ts: a primary with one replica behind HAProxy, one widening per boundary; the coordinator kills itself right after journaling the boundary (`MIGRATE_FAULT_KILL_AFTER`), then `migrate resume` (even rows) or `migrate abort` (odd rows) converges the cluster; where the switchover had already happened, abort cannot undo and resume finishes instead. After each: the invariants above, the schema on every node, and the ledger agreeing with it. Node names stay while roles alternate (each finished run swaps primary and replica1), so a boundary named after a node is the candidate's step in one row and the old primary's in another (an `alter:replica1` row recovered by \"abort, then resume\" is the old primary's ALTER, after the switchover).",
    '',
    '| # | killed after | recovery | recovery exit | writer after | invariants held | took |',
    '|---|---|---|---|---|---|---|',
  );
  kills.rows.forEach((r, i) => {
    push(
      `| ${i + 1} | \`${r.boundary}\` | ${r.recovery} | ${r.recoveryExit ?? '-'} | ${r.writer ?? '-'} | ${mark(r.invariantsHeld)}${r.detail ? ` (${cell(r.detail)})` : ''} | ${ms(r.ms)} |`,
    );
  });
  push('');
}

push(...runnerSection(), '');

push(
  ...timingMarginsSection(readTimingMargins()),
  '## Known limits',
  '',
  '- The old primary killed or stopped *before* the promotion (inside the write block) is not covered here: the switchover is undone, which needs the old primary; the run stops and `migrate resume` needs it back.',
  `- A node that does not answer is given ${NODE_ANSWER_MS / 1000} s per statement (status reads, the lock, re-pointing) before it counts as stopped; inside the write block the GTID wait and the promotion are bounded by the write-block budget instead.`,
  '',
);

writeFileSync(out, lines.join('\n'));
process.stdout.write(`wrote ${out} from ${files.length} result file(s) in ${resultsDir}\n`);
keepResults('all');
const missing = EXPECTED.filter((e) => (e.id === 'a-coordinator-killed' ? !kills : !records.has(e.id)));
if (missing.length) process.stderr.write(`warning: no result for ${missing.map((m) => m.id).join(', ')}\n`);

/** The runner cases, in the order of issue 13's "What was found"; a missing result is reported, not hidden. */
function runnerExpected(): { id: string; title: string }[] {
  return RUNNER_EXPECTED;
}

function runnerSection(): string[] {
  const l: string[] = [RUNNER_BEGIN, '## Runner: `migrate up` after a kill, a restart, a signal or a timeout', ''];
  const rs = [...runnerRecords.values()];
  const first = rs.map((r) => r.at).sort()[0];
  l.push(
    `test/integration/runner-recovery.test.ts, ${first?.slice(0, 10) ?? '?'}: \`bin/migrate\` in its own process (real signals) against a sandbox MariaDB and a sandbox PostgreSQL (so one can be restarted for real). Each case asserts the exit code, the message, what the ledger and its progress table record, and that no statement ran twice or was claimed wrongly (rows counted, objects looked up on the server). Reproduce:`,
    '',
    '```sh',
    'MIGRATE_FAULT_RESULTS=.ci-out/faults npx vitest run test/integration/runner-recovery.test.ts',
    'npm run docs:reliability -- --only runner',
    '```',
    '',
    '| case | server | what the runner must do | exit | afterwards | held |',
    '|---|---|---|---|---|---|',
  );
  const exits = (r: RunnerRecord): string => r.runs.map((c) => `${c.command}: ${c.signal ? `killed (${c.signal})` : String(c.exitCode)}`).join('; ');
  const server = (d: RunnerRecord['dialect']): string => (d === 'mysql' ? 'MariaDB' : 'PostgreSQL');
  for (const e of runnerExpected()) {
    const r = runnerRecords.get(e.id);
    if (!r) {
      l.push(`| ${cell(e.title)} | ${e.id.endsWith('-mysql') ? 'MariaDB' : 'PostgreSQL'} | | | **no result in this run** | |`);
      continue;
    }
    l.push(`| ${cell(e.title)} | ${server(r.dialect)} | ${cell(r.expected)} | ${cell(exits(r))} | ${cell(r.after)} | ${mark(r.held)} |`);
  }
  for (const r of rs)
    if (!runnerExpected().some((e) => e.id === r.id))
      l.push(`| ${cell(r.fault)} | ${server(r.dialect)} | ${cell(r.expected)} | ${cell(exits(r))} | ${cell(r.after)} | ${mark(r.held)} |`);
  l.push('', '### What the runner said', '', "The `error:` and `fix:` lines of each run, verbatim (database names are the suite's random ones).", '');
  for (const e of runnerExpected()) {
    const r = runnerRecords.get(e.id);
    if (!r) continue;
    l.push(`#### ${e.title} (${server(r.dialect)})`, '', `Fault: ${r.fault}.`, '');
    for (const c of r.runs) {
      l.push(`\`${c.command}\` exited ${c.signal ? `killed (${c.signal})` : String(c.exitCode)} after ${ms(c.ms)}:`, '');
      if (c.error || c.fix) l.push('```', ...(c.error ? [`error: ${c.error}`] : []), ...(c.fix ? [`fix: ${c.fix}`] : []), '```', '');
      else l.push('(no error)', '');
    }
    const measured = Object.entries(r.timings ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${RUNNER_TIMING_LABELS[k] ?? k}: ${ms(v)}`);
    if (measured.length) l.push(`Measured: ${measured.join('; ')}.`, '');
  }
  l.push('A case whose assertions fail writes no result, so it shows here as "no result in this run" rather than as held.', RUNNER_END);
  return l;
}

/**
 * Copies the results just rendered into keepDir (bench/results/faults by default), replacing the
 * ones there: all of them, or only the runner results, and those only into a full copy (one with
 * machine.json), since the rest of the doc came from results that may not be there.
 */
function keepResults(what: 'all' | 'runner'): void {
  if (keepDir === undefined || resolve(keepDir) === resultsDir) return;
  if (what === 'runner' && !existsSync(join(keepDir, MACHINE))) {
    process.stderr.write(`note: ${keepDir} holds no full copy of the fault results; the runner results were not kept there\n`);
    return;
  }
  const picked = (dir: string, f: string): boolean => what === 'all' || isRunnerResult(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object);
  mkdirSync(keepDir, { recursive: true });
  for (const f of readdirSync(keepDir).filter((x) => x.endsWith('.json') && x !== MACHINE)) if (picked(keepDir, f)) rmSync(join(keepDir, f));
  const kept = files.filter((f) => picked(resultsDir, f));
  for (const f of kept) copyFileSync(join(resultsDir, f), join(keepDir, f));
  if (what === 'all') writeFileSync(join(keepDir, MACHINE), `${JSON.stringify(machine, null, 2)}\n`);
  process.stdout.write(`kept ${kept.length} result file(s) in ${keepDir}\n`);
}
