/**
 * Replica-first ALTER and the read-lock switchover on real MariaDB topologies behind HAProxy,
 * under a continuous write load: what an operator checks afterwards is what these assert.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { ClusterConfig, ProjectConfig } from '../../src/config/types.ts';
import { createKnex } from '../../src/db/connect.ts';
import { apply } from '../../src/execution/apply.ts';
import { Journal, readJournal } from '../../src/execution/journal.ts';
import { switchover } from '../../src/execution/switchover.ts';
import { HaproxyWriter } from '../../src/execution/writer/haproxy.ts';
import { UpdateLoad, WriteProbe, type ProbeReport } from '../../src/load/write-probe.ts';
import type { Logger } from '../../src/log/logger.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { flavorFor } from '../../src/engines/index.ts';
import { withRecordedRoles } from '../../src/topology/roles-state.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';
import { lastJournal } from '../faults/harness.ts';
import {
  type Baseline,
  baselineWindow,
  expectProbeAcross,
  expectSwitchoverFailures,
  journaledBlock,
  probeAcross,
  readOnlyWindowMs,
  SWITCHOVER_MARGIN_MS,
  undoneBoundMs,
} from '../helpers/probe-gaps.ts';

const ROWS = 200_000;
const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, out: () => undefined };

function migrationsDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mig-switch-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '0001_create_items.up.sql'), "CREATE TABLE items (id INT PRIMARY KEY, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '');\n");
  writeFileSync(join(dir, '0001_create_items.down.sql'), 'DROP TABLE items;\n');
  // CHAR -> VARCHAR is ALGORITHM=COPY on MariaDB 10.11: writes to the table stop for the whole ALTER in place.
  writeFileSync(join(dir, '0002_widen_items_c.up.sql'), "ALTER TABLE items MODIFY c VARCHAR(200) NOT NULL DEFAULT '';\n");
  writeFileSync(join(dir, '0002_widen_items_c.down.sql'), "ALTER TABLE items MODIFY c CHAR(120) NOT NULL DEFAULT '';\n");
  return dir;
}

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

/** Applies 0001 in place and seeds the table, so 0002 runs against a table with real rows. */
async function prepare(sb: RunningSandbox): Promise<ProjectConfig> {
  const config = await loadConfig({ configPath: sb.configPath });
  const db = createKnex(config.dialect, config.connection);
  try {
    await new Runner({ config, db, logger: quiet }).up({ to: '0001_create_items' });
  } finally {
    await db.destroy();
  }
  const w = await sb.mysqlWriter();
  await w.query(`INSERT INTO items (id, k, c) SELECT seq, seq % 100, REPEAT('x', 100) FROM seq_1_to_${ROWS}`);
  await w.end();
  await WriteProbe.prepare(sb.app);
  return config;
}

async function underLoad<T>(
  sb: RunningSandbox,
  fn: () => Promise<T>,
): Promise<{ result: T; probe: ProbeReport; baseline: Baseline; load: { ok: number; failed: number } }> {
  const probe = new WriteProbe(sb.app);
  const load = new UpdateLoad(sb.app, 'items', ROWS, 4, 10);
  probe.begin();
  load.begin();
  // The probe's gaps under this load with nothing migrating: the baseline its gap at the switchover is judged against.
  const baseline = await baselineWindow(sb.app, 2000);
  try {
    const result = await fn();
    await new Promise((r) => setTimeout(r, 500));
    return { result, probe: await probe.stop(), baseline, load: await load.stop() };
  } catch (e) {
    await probe.stop();
    await load.stop();
    throw e;
  }
}

/** Every invariant of the issue: nothing lost, one schema, one writer, replication healthy. */
async function assertConsistent(sb: RunningSandbox, cluster: ClusterConfig, probe: ProbeReport): Promise<void> {
  const writer = cluster.nodes.find((n) => n.role === 'primary' || n.role === 'active');
  expect(writer).toBeDefined();
  const w = await sb.mysql(writer!.name);
  const [pos] = await rows<{ pos: string }>(w, 'SELECT @@gtid_binlog_pos AS pos');
  await w.end();
  const creates = new Set<string>();
  let writable = 0;
  for (const n of sb.nodes) {
    const c = await sb.mysql(n.name);
    try {
      const [ro] = await rows<{ ro: number }>(c, 'SELECT @@read_only AS ro');
      if (Number(ro?.ro) === 0) writable++;
      if (n.name !== writer!.name || cluster.topology === 'master-master') {
        const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
        expect(st?.['Slave_IO_Running'], `${n.name} IO thread`).toBe('Yes');
        expect(st?.['Slave_SQL_Running'], `${n.name} SQL thread`).toBe('Yes');
        expect(st?.['Last_SQL_Error'], `${n.name} SQL error`).toBe('');
        const [waited] = await rows<{ r: number }>(c, `SELECT MASTER_GTID_WAIT('${pos!.pos}', 20) AS r`);
        expect(Number(waited?.r), `${n.name} caught up`).toBe(0);
      }
      const [create] = await rows<Record<string, string>>(c, 'SHOW CREATE TABLE app.items');
      creates.add(create!['Create Table']!);
      const ids = new Set((await rows<{ id: number }>(c, 'SELECT id FROM app.probe')).map((r) => Number(r.id)));
      const missing = probe.acknowledged.filter((id) => !ids.has(id));
      expect(missing, `acknowledged writes missing on ${n.name}`).toEqual([]);
    } finally {
      await c.end();
    }
  }
  expect(writable, 'writable nodes').toBe(1);
  expect(creates.size, 'schemas differ between nodes').toBe(1);
  expect([...creates][0]).toMatch(/`c` varchar\(200\)/);
}

describe.each([
  { topology: 'primary-replica' as const, replicas: 2 },
  { topology: 'master-master' as const, replicas: undefined },
])('replica-first ALTER + switchover on $topology under write load', ({ topology, replicas }) => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await startSandbox({ topology, replicas, proxy: true, migrationsDir: migrationsDir() });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it('changes the column type with a short write block and loses no acknowledged write', async () => {
    const config = await prepare(sb);
    const before = withRecordedRoles(config)[0]!;
    const { result, probe, baseline, load } = await underLoad(sb, () =>
      apply({
        config,
        cluster: before,
        shadow: { host: '127.0.0.1', port: 3306, user: 'root', database: '' },
        dryRun: false,
        maxWriteBlockMs: 2000,
        catchUpTimeoutMs: 120_000,
        phases: 'all',
        hold: false,
        logger: quiet,
      }),
    );
    const step = result.steps.find((s) => s.id === '0002_widen_items_c');
    expect(step?.strategy).toBe('replica-first');
    expect(step?.ran).toBe(true);
    console.log(
      `[${topology}] write block ${step?.writeBlockMs} ms; probe: ${probe.acknowledged.length} acknowledged, longest gap ${probe.longestGapMs} ms, ${probe.failed} failed (${JSON.stringify(probe.errors)}); update load: ${load.ok} ok, ${load.failed} failed`,
    );
    expect(probe.acknowledged.length).toBeGreaterThan(50);
    expect(step?.writeBlockMs).toBeLessThan(2000);
    // The probe (its own clock) over the block the journal records: it saw the block the tool
    // reports, and no more than that block + its baseline + SWITCHOVER_MARGIN_MS.
    const entries = lastJournal(sb);
    const block = journaledBlock(entries, 'move-endpoint');
    expect(block, 'the block is journaled').toBeDefined();
    const seen = probeAcross(probe, baseline, block!);
    expectProbeAcross(seen, { label: topology, blockMs: step!.writeBlockMs!, limitMs: step!.writeBlockMs!, reconnect: true, lockedMs: block!.lockedMs });
    // Its statement in flight at the endpoint's move, and any refused by read_only just before it.
    expectSwitchoverFailures(probe, topology, { readOnlyWindowMs: readOnlyWindowMs(entries), intervalMs: 10 });
    const after = withRecordedRoles(config)[0]!;
    expect(after.nodes.find((n) => n.role === 'primary' || n.role === 'active')?.name).toBe(step?.newPrimary);
    await assertConsistent(sb, after, probe);
    // The journal is also on the servers, replicated: readable on any node.
    const r = await sb.mysql(sb.nodes.at(-1)!.name);
    const journal = await rows<{ step: string; phase: string }>(r, `SELECT step, phase FROM app.migrate_journal WHERE run = '${result.planId}' ORDER BY seq`);
    await r.end();
    expect(journal.some((e) => e.step === 'switchover' && e.phase === 'end')).toBe(true);
    expect(journal.some((e) => e.step === `alter:${step?.newPrimary}` && e.phase === 'end')).toBe(true);
  });
});

describe('switchover bound', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await startSandbox({ topology: 'primary-replica', replicas: 1, proxy: true });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it(`aborts within --max-write-block + baseline + ${SWITCHOVER_MARGIN_MS} ms (tool and probe) when the candidate cannot catch up, leaving the old primary writable`, async () => {
    const config = await loadConfig({ configPath: sb.configPath });
    const cluster = config.clusters[0]!;
    await WriteProbe.prepare(sb.app);
    // The candidate's SQL thread stalls on a table lock: it stays connected, but cannot apply.
    const blocker = await sb.mysql('replica1');
    // The probe table was just created on the primary: wait for it to reach the replica (a busy
    // machine can take a while) before locking it there.
    for (let until = Date.now() + 20_000; ; ) {
      const [t] = await rows<{ n: number }>(blocker, "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'probe'");
      if (Number(t?.n) > 0) break;
      if (Date.now() > until) throw new Error('the probe table did not reach replica1 within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await blocker.query('LOCK TABLES app.probe WRITE');
    const probe = new WriteProbe(sb.app);
    probe.begin();
    const baseline = await baselineWindow(sb.app, 2000);
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    const journal = Journal.open(dir, 'bound');
    const primary = cluster.nodes.find((n) => n.role === 'primary')!;
    const candidate = cluster.nodes.find((n) => n.role === 'replica')!;
    const maxWriteBlockMs = 300;
    await expect(
      switchover({
        flavor: flavorFor('mariadb'),
        primary,
        candidate,
        replicas: [],
        writer: new HaproxyWriter(cluster.writer!.socket!, cluster.writer!.backend!),
        replicationUser: { user: candidate.user, password: candidate.password ?? '' },
        maxWriteBlockMs,
        maxLagBeforeBlockMs: 5000,
        catchUpTimeoutMs: 5000,
        masterMaster: false,
        journal,
        log: () => undefined,
      }),
    ).rejects.toMatchObject({ kind: 'work', problem: expect.stringMatching(/did not execute the old primary's position/) });
    journal.close();
    await blocker.query('UNLOCK TABLES');
    await blocker.end();
    // Writes flow again on the old primary: let the probe show it before stopping it.
    await new Promise((r) => setTimeout(r, 300));
    const report = await probe.stop();
    const entries = readJournal(join(dir, 'bound.jsonl'));
    const block = journaledBlock(entries, 'undo');
    expect(block, 'the block and its undo are journaled').toBeDefined();
    // The tool's own journal and the probe's clock both hold the bound within the one margin.
    const seen = probeAcross(report, baseline, block!);
    expect(block!.spanMs, 'the undone block on the journal').toBeLessThanOrEqual(undoneBoundMs(maxWriteBlockMs, seen));
    expectProbeAcross(seen, { label: 'bound (undone)', blockMs: block!.spanMs, limitMs: maxWriteBlockMs, reconnect: false, lockedMs: block!.lockedMs });
    // The undo leaves the probe's connection alone: its write waits for UNLOCK and commits.
    expect(report.failed, JSON.stringify(report.errors)).toBe(0);
    const p = await sb.mysql('primary');
    const [ro] = await rows<{ ro: number }>(p, 'SELECT @@read_only AS ro');
    await p.end();
    expect(Number(ro?.ro)).toBe(0);
    const r = await sb.mysql('replica1');
    const [st] = await rows<Record<string, unknown>>(r, 'SHOW SLAVE STATUS');
    const [rro] = await rows<{ ro: number }>(r, 'SELECT @@read_only AS ro');
    await r.end();
    expect(st?.['Slave_SQL_Running']).toBe('Yes');
    expect(Number(rro?.ro)).toBe(1);
    // The writes queued behind the lock were not lost: they ran on the old primary after the undo.
    const w = await sb.mysqlWriter();
    const ids = new Set((await rows<{ id: number }>(w, 'SELECT id FROM probe')).map((x) => Number(x.id)));
    await w.end();
    expect(report.acknowledged.filter((id) => !ids.has(id))).toEqual([]);
  });
  it("names an application user that writes through read_only, ends its sessions with everyone else's, and switches over", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-priv-'));
    writeFileSync(join(dir, '0001_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL);\n');
    writeFileSync(join(dir, '0001_t.down.sql'), 'DROP TABLE t;\n');
    writeFileSync(join(dir, '0002_n.up.sql'), 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n');
    writeFileSync(join(dir, '0002_n.down.sql'), 'ALTER TABLE t MODIFY n INT NOT NULL;\n');
    const base = await loadConfig({ configPath: sb.configPath });
    const config = { ...base, migrationsDir: dir };
    const db = createKnex(config.dialect, config.connection);
    await new Runner({ config, db, logger: quiet }).up({ to: '0001_t' });
    await db.destroy();
    const cluster = withRecordedRoles(config)[0]!;
    const primary = cluster.nodes.find((n) => n.role === 'primary')!.name;
    const candidate = cluster.nodes.find((n) => n.role === 'replica')!.name;
    const root = await sb.mysql(primary);
    await root.query("GRANT READ_ONLY ADMIN ON *.* TO 'app'@'127.0.0.1'");
    // An application session that stays connected to the primary itself through the switchover.
    const appSession = await sb.mysql(primary, 'app');
    const warnings: string[] = [];
    let report;
    try {
      report = await apply({
        config,
        cluster,
        shadow: { host: '127.0.0.1', port: 3306, user: 'root', database: '' },
        dryRun: false,
        maxWriteBlockMs: 2000,
        catchUpTimeoutMs: 10_000,
        phases: 'all',
        hold: false,
        logger: { ...quiet, warn: (m) => warnings.push(m) },
        strategy: 'replica-first',
      });
    } finally {
      // On whichever node is the writer now (the test's own session on the old primary was ended too).
      root.destroy();
      const w = await sb.mysql(withRecordedRoles(config)[0]!.nodes.find((n) => n.role === 'primary')!.name);
      await w.query("REVOKE READ_ONLY ADMIN ON *.* FROM 'app'@'127.0.0.1'");
      await w.end();
    }
    expect(warnings.join('\n')).toMatch(
      new RegExp(
        `users that write through read_only on ${primary}: app \\(an application user of the config\\): \\d+ sessions?, READ_ONLY ADMIN[;.].* At the switchover every session on ${primary} but the coordinator's and replication's is ended, theirs too`,
      ),
    );
    expect(report.steps.find((s) => s.id === '0002_n')?.newPrimary).toBe(candidate);
    // Its session on the old primary was ended (it could have written through read_only).
    await expect(appSession.query('SELECT 1')).rejects.toThrow(/closed state|Connection lost|killed/i);
    appSession.destroy();
    for (const n of [primary, candidate]) {
      const c = await sb.mysql(n);
      const [cols] = await c.query("SELECT DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='t' AND COLUMN_NAME='n'");
      const [ro] = await rows<{ ro: number }>(c, 'SELECT @@read_only AS ro');
      await c.end();
      expect((cols as { t: string }[])[0]?.t, `${n} altered`).toBe('bigint');
      expect(Number(ro?.ro), `${n} read_only`).toBe(n === candidate ? 0 : 1);
    }
  });
});
