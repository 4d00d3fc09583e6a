/**
 * A replica behind an earlier in-place change when a replica-first ALTER reaches it: the table the
 * ALTER needs was created on the primary (`migrate up`) and is still queued in the replica's relay
 * log, its SQL thread held by a table lock. The coordinator must wait for the replica to apply what
 * the primary had before the migration (bounded by --catch-up-timeout) instead of running the ALTER
 * against an older schema ("table doesn't exist"), and say what to do when the bound runs out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultCluster, type FaultCluster } from './cluster.ts';
import { lastJournal, show, sleep } from './harness.ts';
import { readInvariants, violations } from './invariants.ts';

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

describe('a replica behind an earlier in-place migration when its replica-first ALTER comes', () => {
  let fc: FaultCluster;
  beforeAll(async () => {
    fc = await faultCluster(2);
  });
  afterAll(async () => {
    await fc?.stop();
  });

  /** Writes a CREATE TABLE migration (run in place by `migrate up`) and a widening of it to run replica-first. */
  function migrations(table: string, create: string, widen: string): string {
    const created = `${create}_create_${table}`;
    writeFileSync(join(fc.mig.dir, `${created}.up.sql`), `CREATE TABLE ${table} (id INT PRIMARY KEY, body CHAR(50) NOT NULL DEFAULT '');\n`);
    writeFileSync(join(fc.mig.dir, `${created}.down.sql`), `DROP TABLE ${table};\n`);
    writeFileSync(join(fc.mig.dir, `${widen}_widen_${table}.up.sql`), `ALTER TABLE ${table} MODIFY body CHAR(60) NOT NULL DEFAULT '';\n`);
    writeFileSync(join(fc.mig.dir, `${widen}_widen_${table}.down.sql`), `ALTER TABLE ${table} MODIFY body CHAR(50) NOT NULL DEFAULT '';\n`);
    return created;
  }

  /** Holds `node`'s SQL thread: a table lock there, then a row event for that table from the primary. */
  async function holdSqlThread(node: string, mark: string): Promise<mysql.Connection> {
    const holder = await fc.sb.mysql(node);
    await holder.query('LOCK TABLES app.items WRITE');
    const w = await fc.sb.mysqlWriter();
    // A value the row does not hold yet: an UPDATE that changes nothing logs no row event.
    await w.query('UPDATE items SET c = ? WHERE id = 1', [`queued behind the lock: ${mark}`]);
    await w.end();
    return holder;
  }

  async function bodyType(node: string, table: string): Promise<string | undefined> {
    const c = await fc.sb.mysql(node);
    try {
      const r = await rows<{ t: string }>(
        c,
        `SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = '${table}' AND COLUMN_NAME = 'body'`,
      );
      return r[0]?.t;
    } finally {
      await c.end();
    }
  }

  it('waits until the replica has the table, then alters it: exit 0, every node char(60)', async () => {
    const { candidate, replicas } = await fc.roles();
    const behind = replicas.at(-1)!;
    const created = migrations('notes', '0002', '0003');
    const holder = await holdSqlThread(behind, 'notes');
    let r;
    try {
      const up = await fc.migrate(['up', '--to', created]);
      expect(up.code, show(up)).toBe(0);
      expect(await bodyType(behind, 'notes'), 'the CREATE TABLE is still queued on the held replica').toBeUndefined();
      const run = fc.start(['apply', '--strategy', 'replica-first', '--catch-up-timeout', '60']);
      // The candidate is altered first; the held replica's turn comes right after. Without the
      // wait, its ALTER ran then and failed on the missing table.
      const until = Date.now() + 60_000;
      while (!lastJournal(fc.sb).some((e) => e.step === `alter:${candidate}` && e.phase === 'end')) {
        if (Date.now() > until) throw new Error(`the run did not alter ${candidate} within 60 s`);
        await sleep(100);
      }
      await sleep(2_000);
      expect(
        lastJournal(fc.sb).some((e) => e.step === `alter:${behind}`),
        'the held replica is not altered before it caught up',
      ).toBe(false);
      await holder.query('UNLOCK TABLES');
      r = await run.done;
    } finally {
      await holder.query('UNLOCK TABLES').catch(() => undefined);
      await holder.end();
    }
    expect(r.code, show(r)).toBe(0);
    const altered = lastJournal(fc.sb).find((e) => e.step === `alter:${behind}` && e.phase === 'end');
    expect(altered, 'the held replica was altered by the run').toBeDefined();
    for (const n of fc.sb.nodes) expect(await bodyType(n.name, 'notes'), n.name).toBe('char(60)');
    const after = await readInvariants(fc.sb);
    expect(violations(after), JSON.stringify(after)).toEqual([]);
  });

  it('a replica still behind when --catch-up-timeout runs out: exit 1 naming it, its ALTER not run; resume finishes once it caught up', async () => {
    const { primary, replicas } = await fc.roles();
    const behind = replicas.at(-1)!;
    // They sort after the first case's 0002/0003, which are applied.
    const created = migrations('memos', '0004', '0005');
    const holder = await holdSqlThread(behind, 'memos');
    let r;
    try {
      const up = await fc.migrate(['up', '--to', created]);
      expect(up.code, show(up)).toBe(0);
      expect(await bodyType(behind, 'memos'), 'the CREATE TABLE is still queued on the held replica').toBeUndefined();
      r = await fc.migrate(['apply', '--strategy', 'replica-first', '--catch-up-timeout', '3']);
      expect(await bodyType(behind, 'memos'), 'nothing ran on the held replica').toBeUndefined();
    } finally {
      await holder.query('UNLOCK TABLES').catch(() => undefined);
      await holder.end();
    }
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(new RegExp(`Replica ${behind} has not applied what the primary had executed before this migration .* within 3 s`));
    expect(r.fix).toMatch(/migrate resume/);
    await fc.caughtUp(behind, primary);
    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    expect(res.code, show(res)).toBe(0);
    for (const n of fc.sb.nodes) expect(await bodyType(n.name, 'memos'), n.name).toBe('char(60)');
    const after = await readInvariants(fc.sb);
    expect(violations(after), JSON.stringify(after)).toEqual([]);
  });
});
