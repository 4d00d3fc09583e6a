/**
 * Faults the coordinator must refuse before it changes anything: d, replication already broken
 * (SQL thread stopped; a duplicate-key error on a replica); f, HAProxy's runtime socket missing;
 * g, a second coordinator started while one runs (the cluster lock). Each asserts the exit code,
 * the message (the problem and its fix), that nothing changed (no run journaled, schema, ledger,
 * read_only and endpoint as before), and the invariants once the fault is repaired.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultCluster, type FaultCluster, type Probe } from './cluster.ts';
import { runCount, show, sleep } from './harness.ts';
import { readInvariants, violations, type Invariants } from './invariants.ts';
import { allHeld, coordinator, recordFault, recordRefusal, summarize } from './record.ts';

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

describe('faults d, f, g: refused before anything changes', () => {
  let fc: FaultCluster;
  let pending: { id: string; width: number };
  beforeAll(async () => {
    fc = await faultCluster(2);
    // One replica-first migration stays pending through the refusals; g finally applies it.
    pending = fc.mig.next();
  });
  afterAll(async () => {
    await fc?.stop();
  });

  /** What "nothing changed" means to an operator: same schema, ledger, read_only flags and endpoint. */
  async function snapshot(): Promise<string> {
    const out: string[] = [];
    for (const n of fc.sb.nodes) {
      const c = await fc.sb.mysql(n.name);
      try {
        const [ro] = await rows<{ ro: number }>(c, 'SELECT @@GLOBAL.read_only AS ro');
        const [cr] = await rows<Record<string, string>>(c, 'SHOW CREATE TABLE app.items');
        const tables = (
          await rows<{ t: string }>(
            c,
            "SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME NOT LIKE 'probe%' AND TABLE_NAME <> 'fault_canary' ORDER BY 1",
          )
        ).map((r) => r.t);
        const ledger = (await rows<{ id: string }>(c, 'SELECT id FROM app.migrate_ledger ORDER BY id')).map((r) => r.id);
        out.push(`${n.name}: ro=${ro?.ro} ${cr?.['Create Table']?.match(/`c` [^,]+/)?.[0]} tables=${tables.join(',')} ledger=${ledger.join(',')}`);
      } finally {
        await c.end();
      }
    }
    return out.join('\n');
  }

  /** What changed since `before` (schema, ledger, read_only, journaled runs); '' when nothing did. */
  async function changedSince(before: string, runsBefore: number): Promise<string> {
    const now = await snapshot();
    const runs = runCount(fc.sb);
    const lines: string[] = [];
    if (now !== before) lines.push(`before:\n${before}\nafter:\n${now}`);
    if (runs !== runsBefore) lines.push(`runs journaled: ${runsBefore} before, ${runs} after`);
    return lines.join('\n');
  }

  async function repairedInvariants(p: Probe): Promise<Invariants> {
    const report = await p.probe.stop();
    return readInvariants(fc.sb, { probe: report, probeTable: p.table });
  }

  async function waitSqlError(node: string, timeoutMs = 30_000): Promise<string> {
    const c = await fc.sb.mysql(node);
    try {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
        if (st?.['Slave_SQL_Running'] === 'No') return String(st['Last_SQL_Error'] ?? '');
        if (Date.now() > until) throw new Error(`${node}: replication did not stop`);
        await sleep(100);
      }
    } finally {
      await c.end();
    }
  }

  it('d1: a replica whose SQL thread is stopped: exit 1 naming it and START SLAVE, nothing changed', async () => {
    const { replicas } = await fc.roles();
    const broken = replicas.at(-1)!;
    const p = await fc.probe('d1');
    const c = await fc.sb.mysql(broken);
    await c.query('STOP SLAVE SQL_THREAD');
    const before = await snapshot();
    const runsBefore = runCount(fc.sb);
    const r = await fc.migrate(['apply', '--strategy', 'replica-first']);
    const changed = await changedSince(before, runsBefore);
    const unchanged = changed === '';
    await c.query('START SLAVE SQL_THREAD');
    await c.end();
    const after = await repairedInvariants(p);
    const rec = recordRefusal({
      id: 'd1-replication-sql-thread-stopped',
      fault: `replication already broken before the run: the SQL thread of ${broken} stopped`,
      expected: 'preflight refuses with exit 1, naming the node and START SLAVE; nothing changed',
      command: 'migrate apply --strategy replica-first',
      result: r,
      unchanged,
      after,
    });
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(new RegExp(`not healthy: ${broken}: replication stopped \\(IO running, SQL stopped\\)`));
    expect(r.fix).toMatch(new RegExp(`On ${broken} run START SLAVE`));
    expect(r.fix).toMatch(/Nothing was changed/);
    expect(changed, 'schema, ledger, read_only and runs unchanged').toBe('');
    expect(violations(after), JSON.stringify(after)).toEqual([]);
    expect(rec.held).toBe(true);
  });

  it('d2: a replica stopped on a duplicate-key error: exit 1 quoting the error and how to repair it, nothing changed', async () => {
    const { replicas } = await fc.roles();
    const broken = replicas.at(-1)!;
    const p = await fc.probe('d2');
    // A row written on the replica directly (as root, binlog off), then the same row through the
    // endpoint: the replica's SQL thread stops on the duplicate.
    const c = await fc.sb.mysql(broken);
    await c.query('SET SESSION sql_log_bin=0');
    await c.query("INSERT INTO app.items (id, c) VALUES (900001, 'written on the replica')");
    const w = await fc.sb.mysqlWriter();
    await w.query("INSERT INTO items (id, c) VALUES (900001, 'written through the endpoint')");
    await w.end();
    const sqlError = await waitSqlError(broken);
    const before = await snapshot();
    const runsBefore = runCount(fc.sb);
    const r = await fc.migrate(['apply', '--strategy', 'replica-first']);
    const changed = await changedSince(before, runsBefore);
    const unchanged = changed === '';
    // The repair the message asks for: drop the replica's copy, let replication apply the primary's.
    await c.query('DELETE FROM app.items WHERE id = 900001');
    await c.query('START SLAVE');
    await c.end();
    const after = await repairedInvariants(p);
    const rec = recordRefusal({
      id: 'd2-replication-duplicate-key',
      fault: `replication already broken before the run: ${broken} stopped on a duplicate-key error (a row written on the replica directly)`,
      expected: 'preflight refuses with exit 1, quoting the replication error and how to repair it; nothing changed',
      command: 'migrate apply --strategy replica-first',
      result: r,
      unchanged,
      after,
    });
    expect(sqlError).toMatch(/Duplicate entry '900001'/);
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(new RegExp(`${broken}: replication stopped \\(IO running, SQL stopped\\): .*Duplicate entry '900001'`));
    expect(r.fix).toMatch(new RegExp(`On ${broken} the row the primary wrote was already there .*delete the replica's copy.*START SLAVE`));
    expect(r.fix).toMatch(/Nothing was changed/);
    expect(changed, 'schema, ledger, read_only and runs unchanged').toBe('');
    expect(violations(after), JSON.stringify(after)).toEqual([]);
    expect(rec.held).toBe(true);
  });

  it('f: HAProxy runtime socket missing: refused in preflight before any migration runs (even an in-place one first in the plan)', async () => {
    if (fc.sb.writer.type !== 'haproxy') throw new Error('the fault cluster has HAProxy');
    const socket = fc.sb.writer.socket;
    const p = await fc.probe('f');
    // An in-place migration ahead of the replica-first one: it must not run either.
    const inPlaceId = `${pending.id.slice(0, 4)}a_create_notes`;
    writeFileSync(join(fc.mig.dir, `${inPlaceId}.up.sql`), 'CREATE TABLE notes (id INT PRIMARY KEY);\n');
    writeFileSync(join(fc.mig.dir, `${inPlaceId}.down.sql`), 'DROP TABLE notes;\n');
    const before = await snapshot();
    const runsBefore = runCount(fc.sb);
    renameSync(socket, `${socket}.hidden`);
    let r;
    try {
      r = await fc.migrate(['apply']);
    } finally {
      renameSync(`${socket}.hidden`, socket);
    }
    const changed = await changedSince(before, runsBefore);
    const unchanged = changed === '';
    rmSync(join(fc.mig.dir, `${inPlaceId}.up.sql`));
    rmSync(join(fc.mig.dir, `${inPlaceId}.down.sql`));
    const after = await repairedInvariants(p);
    const rec = recordRefusal({
      id: 'f-haproxy-socket-missing',
      fault: "HAProxy's runtime API socket missing (moved away) when `migrate apply` starts; the plan has an in-place migration before the replica-first one",
      expected: 'preflight refuses with exit 1 naming the socket and the fix before any migration runs; nothing changed',
      command: 'migrate apply',
      result: r,
      unchanged,
      after,
    });
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toBe(`HAProxy's runtime socket ${socket} does not exist.`);
    expect(r.fix).toMatch(/stats socket <path> level admin.*writer\.socket.*Nothing was changed/);
    expect(changed, 'the in-place migration did not run; nothing else changed').toBe('');
    expect(violations(after), JSON.stringify(after)).toEqual([]);
    expect(rec.held).toBe(true);
  });

  it('g: a second coordinator while one runs: it exits 1 naming the holder and changes nothing; the first finishes', async () => {
    const p = await fc.probe('g');
    const first = fc.start(['apply', '--strategy', 'replica-first'], fc.pause.env('catch-up:begin'));
    await fc.pause.reached(first);
    const runsBefore = runCount(fc.sb);
    const before = await snapshot();
    const second = await fc.migrate(['apply', '--strategy', 'replica-first']);
    const changed = await changedSince(before, runsBefore);
    const unchanged = changed === '';
    fc.pause.release();
    const r1 = await first.done;
    if (r1.code === 0) fc.mig.applied(pending.width);
    const report = await p.probe.stop();
    const after = await readInvariants(fc.sb, { probe: report, probeTable: p.table, schema: `char(${pending.width})` });
    const rec = recordFault({
      id: 'g-second-coordinator',
      fault: 'a second `migrate apply` started while the first one runs (held at catch-up, cluster lock taken)',
      expected: 'the second exits 1 naming the lock holder and changes nothing; the first finishes (exit 0)',
      coordinator: coordinator('migrate apply --strategy replica-first (the second one)', second),
      after: summarize(after),
      recovery: {
        steps: 'none: the first coordinator continues',
        command: coordinator('migrate apply --strategy replica-first (the first one)', r1),
        after: summarize(after),
      },
      timings: { secondRefusedAfterMs: second.ms, firstRunMs: r1.ms, longestProbeGapMs: report.longestGapMs },
      held: second.code === 1 && unchanged && r1.code === 0 && allHeld(summarize(after)),
    });
    expect(second.code, show(second)).toBe(1);
    expect(second.error).toMatch(/Another coordinator is running on cluster sandbox: node \S+ has the lock held by connection \d+ \(root@127\.0\.0\.1/);
    expect(second.error).toMatch(/journal shows run \d{8}T\d{6}-[0-9a-f]+ .*last step catch-up/);
    expect(second.error).toMatch(/Nothing was changed/);
    expect(second.fix).toMatch(/Wait for it to finish/);
    expect(changed, 'the second coordinator journaled no run and changed nothing').toBe('');
    expect(r1.code, show(r1)).toBe(0);
    expect(violations(after), JSON.stringify(after)).toEqual([]);
    expect(rec.held).toBe(true);
  });
});
