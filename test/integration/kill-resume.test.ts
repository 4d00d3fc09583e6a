/**
 * The coordinator is SIGKILLed at each step of a replica-first run in turn, the steps taken from
 * the journal of a real run made first (so a new step is killed without editing this file); after
 * `migrate resume` (even steps) or `migrate abort` (odd steps) the invariants must hold: one
 * writable node, every other replicating without error, one schema everywhere, the endpoint on
 * the writer, and no acknowledged write lost: neither the app probe's nor that of the clients
 * connected as root through the endpoint (a load and a probe), which write through read_only and
 * would fork the data if a dead coordinator's read lock let their queued writes commit on the old
 * primary. Fault a of the fault suite: each boundary's outcome is recorded for docs/reliability.md
 * (test/faults/record.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriteProbe } from '../../src/load/write-probe.ts';
import type { WriteLoad } from '../../src/load/txn-load.ts';
import { privilegedClients } from '../faults/cluster.ts';
import { lastJournal } from '../faults/harness.ts';
import { readInvariants, violations } from '../faults/invariants.ts';
import { recordKills, type KillRecord } from '../faults/record.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const BIN = resolve('bin/migrate');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, NO_COLOR: '1' }, timeout: 120_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number; signal?: string }) | null;
      res({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

async function q<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

/** A kill point: a `<step>:<phase>` boundary, with `<id>` where the run's migration id goes. */
const ID = '<id>';

/**
 * The kill points, from the journal of a real uninterrupted run (`refId` its migration): every
 * distinct step name once, so a step added to the run is killed too without editing this file.
 * Killing at both boundaries of every step (59 distinct ones) would take twice the CI time; instead
 * both boundaries of every step inside the write block (block-writes .. unlock, where a kill risks
 * two writable nodes or a fork) and, outside it, one phase alternating begin/end along the run (a
 * step journaled with one phase only, such as the `plan:end` marker, is killed there). MIGRATE_KILL_EVERY_BOUNDARY=1 kills at all of them (a
 * nightly or pre-release run). The migration id in a step name (`ledger:<id>`) becomes `<id>`.
 */
function killPoints(journal: { step: string; phase: string }[], refId: string): string[] {
  const phases = new Map<string, string[]>();
  for (const e of journal) {
    if (e.phase !== 'begin' && e.phase !== 'end') continue;
    const step = e.step.replaceAll(refId, ID);
    const seen = phases.get(step) ?? [];
    if (!seen.includes(e.phase)) phases.set(step, [...seen, e.phase]);
  }
  const every = process.env['MIGRATE_KILL_EVERY_BOUNDARY'] === '1';
  const steps = [...phases.keys()];
  const [from, to] = [steps.indexOf('block-writes'), steps.indexOf('unlock')];
  // Inside the write block a kill can leave two writable nodes or a fork: both boundaries of each step there.
  const inBlock = (i: number): boolean => from >= 0 && to >= from && i >= from && i <= to;
  return [...phases].flatMap(([step, ph], i) => {
    if (every || inBlock(i)) return ph.map((p) => `${step}:${p}`);
    const want = i % 2 === 0 ? 'begin' : 'end';
    return [`${step}:${ph.includes(want) ? want : ph[0]!}`];
  });
}

const stepOf = (boundary: string): string => boundary.slice(0, boundary.lastIndexOf(':'));

describe('coordinator killed at every step boundary', () => {
  let sb: RunningSandbox;
  let migDir: string;
  let probe: WriteProbe;
  let root: { probe: WriteProbe; load: WriteLoad } | undefined;
  const outcomes: KillRecord[] = [];
  let probeSummary: { acknowledged: number; failed: number; longestGapMs: number; lost: number } | undefined;
  /** Step names the reference run journaled, and the kill points taken from them. */
  let refSteps: string[] = [];
  let boundaries: string[] = [];
  /** The run's last journal entry: killed after it, the run had finished and there is nothing to recover. */
  let finalBoundary = '';
  beforeAll(async () => {
    migDir = mkdtempSync(join(tmpdir(), 'mig-kill-'));
    writeFileSync(join(migDir, '0001_create_items.up.sql'), "CREATE TABLE items (id INT PRIMARY KEY, c CHAR(100) NOT NULL DEFAULT '');\n");
    writeFileSync(join(migDir, '0001_create_items.down.sql'), 'DROP TABLE items;\n');
    sb = await startSandbox({ topology: 'primary-replica', replicas: 1, proxy: true, migrationsDir: migDir });
    const up = await run(['--config', sb.configPath, 'up']);
    expect(up.code, up.stderr).toBe(0);
    const w = await sb.mysqlWriter();
    await w.query("INSERT INTO items (id, c) SELECT seq, 'x' FROM seq_1_to_20000");
    await w.query("CREATE TABLE load_root (id INT PRIMARY KEY, k INT NOT NULL DEFAULT 0, c VARCHAR(120) NOT NULL DEFAULT '')");
    await w.query("INSERT INTO load_root (id, k, c) SELECT seq, seq, 'x' FROM seq_1_to_2000");
    await w.end();
    await WriteProbe.prepare(sb.app);
    probe = new WriteProbe(sb.app, 'probe', 20);
    probe.begin();
    root = await privilegedClients(sb, 2000, 2, 40);
    // The reference: the same kind of migration as every kill below, run to the end, whose journal
    // names the boundaries to kill at.
    const refId = '0002_widen_c_101';
    writeFileSync(join(migDir, `${refId}.up.sql`), "ALTER TABLE items MODIFY c CHAR(101) NOT NULL DEFAULT '';\n");
    writeFileSync(join(migDir, `${refId}.down.sql`), "ALTER TABLE items MODIFY c CHAR(100) NOT NULL DEFAULT '';\n");
    const ref = await run(['--config', sb.configPath, 'apply', '--strategy', 'replica-first', '--max-write-block', '3000']);
    expect(ref.code, ref.stderr).toBe(0);
    const journal = lastJournal(sb);
    refSteps = [...new Set(journal.filter((e) => e.phase === 'begin' || e.phase === 'end').map((e) => e.step.replaceAll(refId, ID)))];
    boundaries = killPoints(journal, refId);
    const last = journal.at(-1);
    finalBoundary = last ? `${last.step.replaceAll(refId, ID)}:${last.phase}` : '';
    console.log(`[kill] ${journal.length} journal entries, ${refSteps.length} steps; killing at ${boundaries.length}: ${boundaries.join(' ')}`);
  }, 180_000);
  afterAll(async () => {
    // The outcome of every boundary that ran, for docs/reliability.md (npm run docs:reliability).
    if (outcomes.length) recordKills(outcomes, probeSummary ? { probe: probeSummary } : {});
    await probe?.stop().catch(() => undefined);
    await Promise.all([root?.probe.stop(), root?.load.stop()]).catch(() => undefined);
    await sb?.stop();
    rmSync(migDir, { recursive: true, force: true });
  });

  it("kills at every step the reference run journaled, the switchover's included", () => {
    expect([...new Set(boundaries.map(stepOf))]).toEqual(refSteps);
    // The journal is the run's, not an empty or partial one: the steps a replica-first run cannot skip.
    for (const step of [
      'alter:replica1',
      'alter:primary',
      'switchover',
      'block-writes',
      'promote',
      'move-endpoint',
      'repoint-replicas',
      'unlock',
      `ledger:${ID}`,
    ])
      expect(refSteps).toContain(step);
  });

  /** One kill and its recovery; throws (a failed expectation) when something did not hold. */
  async function killAndRecover(b: string, i: number, mode: 'resume' | 'abort'): Promise<void> {
    const t0 = Date.now();
    const width = 102 + i;
    const id = `${String(i + 3).padStart(4, '0')}_widen_c_${width}`;
    writeFileSync(join(migDir, `${id}.up.sql`), `ALTER TABLE items MODIFY c CHAR(${width}) NOT NULL DEFAULT '';\n`);
    writeFileSync(join(migDir, `${id}.down.sql`), `ALTER TABLE items MODIFY c CHAR(${width - 1}) NOT NULL DEFAULT '';\n`);
    const boundary = b.replace(ID, id);
    // Recorded whatever happens below; a failed expectation leaves it marked as not held.
    const row: KillRecord = {
      boundary,
      recovery: mode === 'resume' ? 'resume' : 'abort',
      killed: false,
      recoveryExit: null,
      writer: null,
      invariantsHeld: false,
      detail: 'the test stopped before the invariants were read',
      ms: 0,
    };
    outcomes.push(row);
    const killed = await run(['--config', sb.configPath, 'apply', '--strategy', 'replica-first', '--max-write-block', '3000'], {
      MIGRATE_FAULT_KILL_AFTER: boundary,
    });
    row.killed = killed.signal === 'SIGKILL';
    row.ms = Date.now() - t0;
    expect(killed.signal, `apply should have been killed at ${boundary}: ${killed.stderr}`).toBe('SIGKILL');

    const rec = await run(['--config', sb.configPath, mode, ...(mode === 'resume' ? ['--strategy', 'replica-first'] : [])]);
    row.recoveryExit = rec.code;
    row.ms = Date.now() - t0;
    let out = `${rec.stdout}\n${rec.stderr}`;
    let expectedWidth = width;
    if (b === finalBoundary) {
      // Killed after the run finished: the operator is told there is nothing to resume or abort.
      row.recovery = 'none';
      expect(rec.code, out).toBe(2);
      expect(out).toMatch(/There is no interrupted run/);
    } else expect(rec.code, out).toBe(0);
    if (mode === 'abort' && b !== finalBoundary) {
      if (/cannot be undone by abort/.test(out)) {
        row.recovery = 'abort, then resume';
        const res = await run(['--config', sb.configPath, 'resume', '--strategy', 'replica-first']);
        out += res.stderr;
        expect(res.code, res.stderr).toBe(0);
      } else {
        // Aborted and undone: the migration never happened; withdraw it so the next run does not apply it.
        expectedWidth = width - 1;
        rmSync(join(migDir, `${id}.up.sql`));
        rmSync(join(migDir, `${id}.down.sql`));
        // Re-number: the next iteration continues from the previous width.
        writeFileSync(join(migDir, `${id}.up.sql`), `ALTER TABLE items MODIFY c CHAR(${width}) NOT NULL DEFAULT '';\n`);
        writeFileSync(join(migDir, `${id}.down.sql`), `ALTER TABLE items MODIFY c CHAR(${width - 1}) NOT NULL DEFAULT '';\n`);
        const again = await run(['--config', sb.configPath, 'apply', '--strategy', 'replica-first']);
        expect(again.code, again.stderr).toBe(0);
        expectedWidth = width;
      }
    }

    // Invariants: the operator's checks (test/faults/invariants.ts), then the topology command and the ledger.
    const inv = await readInvariants(sb, { probe: probe.snapshot(), schema: `char(${expectedWidth})` });
    const topo = await run(['--config', sb.configPath, 'topology', '--format', 'json']);
    const status = await run(['--config', sb.configPath, 'status', '--format', 'json']);
    const pending = (JSON.parse(status.stdout) as { migrations: { id: string; state: string }[] }).migrations.filter((m) => m.state !== 'applied');
    const bad = [
      ...violations(inv),
      ...(topo.code === 0 ? [] : [`topology exit ${topo.code}`]),
      ...(pending.length ? [`ledger: ${pending.map((m) => m.id).join(', ')} not applied`] : []),
    ];
    Object.assign(row, { writer: inv.writable.length === 1 ? inv.writable[0]! : null, invariantsHeld: bad.length === 0, ms: Date.now() - t0 });
    if (bad.length) row.detail = bad.join('; ');
    else delete row.detail;
    expect(bad, `${boundary} ${mode}: ${out}`).toEqual([]);
  }

  // One test for all the kill points: they are only known once the reference run has journaled
  // them (beforeAll), after vitest has collected the tests. Every point runs even when one fails;
  // the failures are reported together, each under its boundary.
  it('killed at each boundary, then resume (even) or abort (odd): the invariants hold after each', async () => {
    const failures: string[] = [];
    for (const [i, b] of boundaries.entries()) {
      const mode = i % 2 === 0 ? 'resume' : 'abort';
      await killAndRecover(b, i, mode).catch((e: unknown) => failures.push(`killed after ${b}, then ${mode}: ${e instanceof Error ? e.message : String(e)}`));
    }
    expect(failures).toEqual([]);
  }, 900_000);

  it("lost no acknowledged write across all the kills, the app's nor root's", async () => {
    const report = await probe.stop();
    const rootReport = await root!.probe.stop();
    const w = await sb.mysqlWriter();
    const ids = new Set((await q<{ id: number }>(w, 'SELECT id FROM probe')).map((r) => Number(r.id)));
    const rootIds = new Set((await q<{ id: number }>(w, 'SELECT id FROM probe_root')).map((r) => Number(r.id)));
    await w.end();
    const lost = report.acknowledged.filter((x) => !ids.has(x));
    const rootLost = rootReport.acknowledged.filter((x) => !rootIds.has(x));
    probeSummary = { acknowledged: report.acknowledged.length, failed: report.failed, longestGapMs: report.longestGapMs, lost: lost.length };
    console.log(
      `[kill] probe: ${report.acknowledged.length} acknowledged, ${report.failed} failed, longest gap ${report.longestGapMs} ms; root probe: ${rootReport.acknowledged.length} acknowledged, ${rootReport.failed} failed, ${rootLost.length} lost`,
    );
    expect(report.acknowledged.length).toBeGreaterThan(100);
    expect(lost).toEqual([]);
    expect(rootReport.acknowledged.length).toBeGreaterThan(100);
    expect(rootLost).toEqual([]);
  });
});
