/**
 * The coordinator is SIGKILLed at every step boundary of a replica-first run in turn; after
 * `migrate resume` (even steps) or `migrate abort` (odd steps) the invariants must hold: one
 * writable node, every other replicating without error, one schema everywhere, the endpoint on
 * the writer, and no acknowledged write lost.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriteProbe } from '../../src/load/write-probe.ts';
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

// Every boundary a replica-first run journals, in order (primary + one replica, with type conversions).
const BOUNDARIES = [
  'preflight-endpoint:begin',
  'preflight-nodes:begin',
  'type-conversions:replica1:begin',
  'alter:replica1:begin',
  'alter:replica1:end',
  'type-conversions:primary:begin',
  'switchover:begin',
  'catch-up:begin',
  'preflight-long-queries:begin',
  'block-writes:begin',
  'record-position:begin',
  'wait-candidate:begin',
  'promote:begin',
  'promote:end',
  'move-endpoint:begin',
  'end-client-sessions:begin',
  'verify-frozen:begin',
  'repoint-old-primary:begin',
  'unlock:begin',
  'verify:begin',
  'alter:primary:begin',
  'restore-type-conversions:replica1:begin',
  'LEDGER:end',
];

describe('coordinator killed at every step boundary', () => {
  let sb: RunningSandbox;
  let migDir: string;
  let probe: WriteProbe;
  beforeAll(async () => {
    migDir = mkdtempSync(join(tmpdir(), 'mig-kill-'));
    writeFileSync(join(migDir, '0001_create_items.up.sql'), "CREATE TABLE items (id INT PRIMARY KEY, c CHAR(100) NOT NULL DEFAULT '');\n");
    writeFileSync(join(migDir, '0001_create_items.down.sql'), 'DROP TABLE items;\n');
    sb = await startSandbox({ topology: 'primary-replica', replicas: 1, proxy: true, migrationsDir: migDir });
    const up = await run(['--config', sb.configPath, 'up']);
    expect(up.code, up.stderr).toBe(0);
    const w = await sb.mysqlWriter();
    await w.query("INSERT INTO items (id, c) SELECT seq, 'x' FROM seq_1_to_20000");
    await w.end();
    await WriteProbe.prepare(sb.app);
    probe = new WriteProbe(sb.app, 'probe', 20);
    probe.begin();
  });
  afterAll(async () => {
    await probe?.stop().catch(() => undefined);
    await sb?.stop();
    rmSync(migDir, { recursive: true, force: true });
  });

  it.each(BOUNDARIES.map((b, i) => ({ b, i, mode: i % 2 === 0 ? 'resume' : 'abort' })))('killed after $b, then $mode', async ({ b, i, mode }) => {
    const width = 101 + i;
    const id = `${String(i + 2).padStart(4, '0')}_widen_c_${width}`;
    writeFileSync(join(migDir, `${id}.up.sql`), `ALTER TABLE items MODIFY c CHAR(${width}) NOT NULL DEFAULT '';\n`);
    writeFileSync(join(migDir, `${id}.down.sql`), `ALTER TABLE items MODIFY c CHAR(${width - 1}) NOT NULL DEFAULT '';\n`);
    const boundary = b.replace('LEDGER', `ledger:${id}`);
    const killed = await run(['--config', sb.configPath, 'apply', '--strategy', 'replica-first', '--max-write-block', '3000'], { MIGRATE_FAULT_KILL_AFTER: boundary });
    expect(killed.signal, `apply should have been killed at ${boundary}: ${killed.stderr}`).toBe('SIGKILL');

    const rec = await run(['--config', sb.configPath, mode, ...(mode === 'resume' ? ['--strategy', 'replica-first'] : [])]);
    let out = `${rec.stdout}\n${rec.stderr}`;
    expect(rec.code, out).toBe(0);
    let expectedWidth = width;
    if (mode === 'abort') {
      if (/cannot be undone by abort/.test(out)) {
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

    // Invariants.
    const topo = await run(['--config', sb.configPath, 'topology', '--format', 'json']);
    expect(topo.code, `${boundary} ${mode}: ${topo.stdout}${topo.stderr}`).toBe(0);
    const nodes = (JSON.parse(topo.stdout) as { clusters: { nodes: { name: string; readOnly: boolean }[] }[] }).clusters[0]!.nodes;
    const writers = nodes.filter((n) => !n.readOnly);
    expect(writers.length).toBe(1);
    const writerName = writers[0]!.name;
    const wc = await sb.mysql(writerName);
    const [pos] = await q<{ p: string; sid: number }>(wc, 'SELECT @@gtid_binlog_pos AS p, @@server_id AS sid');
    await wc.end();
    const schemas = new Set<string>();
    for (const n of sb.nodes) {
      const c = await sb.mysql(n.name);
      if (n.name !== writerName) {
        const [w] = await q<{ r: number }>(c, `SELECT MASTER_GTID_WAIT('${pos!.p}', 20) AS r`);
        expect(Number(w?.r), `${n.name} caught up`).toBe(0);
        const [st] = await q<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
        expect(st?.['Slave_SQL_Running']).toBe('Yes');
        expect(st?.['Last_SQL_Error']).toBe('');
      }
      const [cr] = await q<Record<string, string>>(c, 'SHOW CREATE TABLE app.items');
      schemas.add(cr!['Create Table']!);
      await c.end();
    }
    expect(schemas.size, 'one schema on every node').toBe(1);
    expect([...schemas][0]).toContain(`char(${expectedWidth})`);
    const viaEndpoint = await sb.mysqlWriter();
    const [sid] = await q<{ sid: number }>(viaEndpoint, 'SELECT @@server_id AS sid');
    await viaEndpoint.end();
    expect(Number(sid?.sid), 'the endpoint reaches the writer').toBe(Number(pos!.sid));
    const status = await run(['--config', sb.configPath, 'status', '--format', 'json']);
    const pending = (JSON.parse(status.stdout) as { migrations: { id: string; state: string }[] }).migrations.filter((m) => m.state !== 'applied');
    expect(pending, 'ledger agrees with the schema').toEqual([]);
  }, 180_000);

  it('lost no acknowledged write across all the kills', async () => {
    const report = await probe.stop();
    const w = await sb.mysqlWriter();
    const ids = new Set((await q<{ id: number }>(w, 'SELECT id FROM probe')).map((r) => Number(r.id)));
    await w.end();
    console.log(`[kill] probe: ${report.acknowledged.length} acknowledged, ${report.failed} failed, longest gap ${report.longestGapMs} ms`);
    expect(report.acknowledged.length).toBeGreaterThan(100);
    expect(report.acknowledged.filter((x) => !ids.has(x))).toEqual([]);
  });
});
