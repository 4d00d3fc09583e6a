/**
 * CONCURRENTLY statements on a real PostgreSQL: they run outside a transaction, the migration is
 * recorded only when all of it is done, and the INVALID index a failed or killed build leaves
 * behind is found and dropped before the next try builds it again.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/logger.ts';
import type { LockSafety } from '../../src/config/index.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Captured extends Logger {
  lines: string[];
}

function captureLogger(): Captured {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), error: (m) => lines.push(m), out: (m) => lines.push(m) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function failure(p: Promise<unknown>): Promise<MigrateError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MigrateError) return e;
    throw e;
  }
  throw new Error('expected a MigrateError, but the call succeeded');
}

async function rows<T>(db: Knex, sql: string, bindings: Knex.Value[] = []): Promise<T[]> {
  return ((await db.raw(sql, bindings)) as { rows: T[] }).rows;
}

/** Every index of that name with its validity (an INVALID one is what a failed build leaves). */
async function indexState(db: Knex, name: string): Promise<Array<{ valid: boolean }>> {
  return rows(db, 'SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ?', [name]);
}

async function ledgerIds(db: Knex): Promise<string[]> {
  return ((await db('migrate_ledger').select('id').orderBy('id')) as Array<{ id: string }>).map((r) => r.id);
}

describe('PostgreSQL: CONCURRENTLY builds that fail or are killed are cleaned up and completed on the next run', () => {
  let fresh: FreshDatabase;
  let db: Knex;
  let root: string;
  let dir: string;
  const safety: Partial<LockSafety> = { lockTimeoutMs: 300, attempts: 30, retryBaseMs: 150, retryMaxMs: 500 };
  const runner = (log: Logger, s: Partial<LockSafety> = safety): Runner => new Runner({ config: fresh.projectConfig(dir), db, logger: log, lockSafety: s });
  const add = (name: string, body: string): void => writeFileSync(join(dir, name), body);

  beforeAll(async () => {
    fresh = await freshDatabase('postgres');
    db = fresh.knex();
    root = mkdtempSync(join(tmpdir(), 'migrate-pgcic-'));
    dir = join(root, 'migrations');
    mkdirSync(dir);
    // slow_key() sleeps per row while slow_ctl has a row: a build that takes seconds on 3000 rows.
    add(
      '0001_tables.up.sql',
      `
CREATE TABLE slow_ctl (on_ boolean);
INSERT INTO slow_ctl VALUES (true);
CREATE FUNCTION slow_key(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM slow_ctl) THEN PERFORM pg_sleep(0.002); END IF;
  RETURN k;
END $$;
CREATE TABLE big (id serial PRIMARY KEY, payload text NOT NULL);
INSERT INTO big (payload) SELECT md5(g::text) FROM generate_series(1, 3000) g;
CREATE TABLE people (id serial PRIMARY KEY, email text NOT NULL);
INSERT INTO people (email) VALUES ('a@example.com'), ('b@example.com'), ('a@example.com');
`,
    );
    add('0001_tables.down.sql', 'DROP TABLE people;\nDROP TABLE big;\nDROP FUNCTION slow_key(int);\nDROP TABLE slow_ctl;\n');
    await runner(captureLogger()).up();
  });
  afterAll(async () => {
    await fresh?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('(b) a build cancelled half-way leaves an INVALID index; the next run drops it and builds the index', async () => {
    add(
      '0002_big_index.up.sql',
      [
        'CREATE TABLE big_notes (id serial PRIMARY KEY, note text);',
        'CREATE INDEX CONCURRENTLY big_slow_idx ON big (slow_key(id));',
        'ALTER TABLE big_notes ADD COLUMN big_id int;',
        '',
      ].join('\n'),
    );
    add('0002_big_index.down.sql', 'DROP INDEX CONCURRENTLY big_slow_idx;\nDROP TABLE big_notes;\n');
    const log = captureLogger();
    const t0 = Date.now();
    const run = failure(runner(log).up());
    // Wait until the build is under way, then cancel it (an operator's pg_cancel_backend, or a deploy timeout).
    let builder: number | undefined;
    let phase = '';
    for (let i = 0; i < 200 && builder === undefined; i++) {
      const p = await rows<{ pid: number; phase: string; done: string; total: string }>(
        db,
        `SELECT pid, phase, blocks_done::text AS done, blocks_total::text AS total FROM pg_stat_progress_create_index WHERE relid = 'big'::regclass`,
      );
      const b = p[0];
      // (Right after the catalog entry is made the view still shows the previous scan's counts.)
      if (b?.phase.startsWith('building index') && Number(b.done) >= 3 && Number(b.done) < Number(b.total)) {
        builder = b.pid;
        phase = `${b.phase}, block ${b.done} of ${b.total}`;
      } else await sleep(50);
    }
    expect(builder, 'the build was never seen in progress').toBeDefined();
    const cancelledAfter = Date.now() - t0;
    await db.raw('SELECT pg_cancel_backend(?)', [builder ?? 0]);
    const e = await run;
    expect(e.problem).toContain('0002_big_index.up.sql line 2 (statement 2 of 3)');
    expect(e.problem).toContain('canceling statement due to user request');
    // Statement 1 ran in its own transaction and stays; the ledger records it as partially applied.
    expect(e.problem).toContain('Statements #1 (line 1) of 3 had already run');
    expect(e.problem).toContain('the ledger records 0002_big_index as partially applied: 1 of 3 statements ran (0002_big_index.up.sql:1)');
    expect(e.fix).toContain('"migrate repair 0002_big_index --continue" (runs statements 2-3');
    expect(await indexState(db, 'big_slow_idx')).toEqual([{ valid: false }]);
    expect(await ledgerIds(db)).toEqual(['0001_tables']);
    // A plain re-run would repeat statement 1: up refuses until told how to go on.
    const refused = await failure(runner(captureLogger()).up());
    expect(refused.problem).toContain('0002_big_index is partially applied: 1 of 3 statements ran');

    // The build is fast again; the run goes on from statement 2, statement 1 unchanged.
    await db.raw('DELETE FROM slow_ctl');
    const again = captureLogger();
    expect((await runner(again).repair('0002_big_index', 'continue')).ran).toEqual([2, 3]);
    expect(again.lines).toContain(
      'warning: 0002_big_index (statement 2, line 2): found INVALID index "public"."big_slow_idx" on big, left by an earlier failed CONCURRENTLY build; dropping it before building again (DROP INDEX CONCURRENTLY IF EXISTS "public"."big_slow_idx")',
    );
    expect(await indexState(db, 'big_slow_idx')).toEqual([{ valid: true }]);
    expect(await ledgerIds(db)).toEqual(['0001_tables', '0002_big_index']);
    expect(await db.schema.hasColumn('big_notes', 'big_id')).toBe(true);
    process.stderr.write(
      `\n[pg-concurrent-index] cancelled the build of big_slow_idx ${cancelledAfter} ms into the run, at "${phase}"; repair --continue dropped the INVALID index and rebuilt it\n`,
    );
  });

  test('a REINDEX CONCURRENTLY cancelled half-way leaves an INVALID <index>_ccnew; the next run drops it first', async () => {
    await db.raw('INSERT INTO slow_ctl VALUES (true)');
    add('0002b_reindex.up.sql', 'REINDEX INDEX CONCURRENTLY big_slow_idx;\n');
    add('0002b_reindex.down.sql', 'SELECT 1;\n');
    const run = failure(runner(captureLogger()).up());
    let builder: number | undefined;
    for (let i = 0; i < 200 && builder === undefined; i++) {
      const p = await rows<{ pid: number; phase: string; done: string; total: string }>(
        db,
        `SELECT pid, phase, blocks_done::text AS done, blocks_total::text AS total FROM pg_stat_progress_create_index WHERE relid = 'big'::regclass`,
      );
      const b = p[0];
      if (b?.phase.startsWith('building index') && Number(b.done) >= 3 && Number(b.done) < Number(b.total)) builder = b.pid;
      else await sleep(50);
    }
    expect(builder, 'the reindex was never seen in progress').toBeDefined();
    await db.raw('SELECT pg_cancel_backend(?)', [builder ?? 0]);
    expect((await run).problem).toContain('canceling statement due to user request');
    expect(await indexState(db, 'big_slow_idx_ccnew')).toEqual([{ valid: false }]);
    await db.raw('DELETE FROM slow_ctl');
    const log = captureLogger();
    await runner(log).up();
    expect(log.lines.some((l) => l.includes('found INVALID index "public"."big_slow_idx_ccnew" on big'))).toBe(true);
    expect(await indexState(db, 'big_slow_idx_ccnew')).toEqual([]);
    expect(await indexState(db, 'big_slow_idx')).toEqual([{ valid: true }]);
  });

  test('(b) a unique build that failed on duplicates: with IF NOT EXISTS it would silently keep the INVALID index; the runner drops it first', async () => {
    add('0003_people_email.up.sql', 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS people_email_key ON people (email);\n');
    add('0003_people_email.down.sql', 'DROP INDEX CONCURRENTLY IF EXISTS people_email_key;\n');
    const e = await failure(runner(captureLogger()).up());
    expect(e.problem).toMatch(/could not create unique index "people_email_key"/);
    expect(await indexState(db, 'people_email_key')).toEqual([{ valid: false }]);
    expect(await ledgerIds(db)).not.toContain('0003_people_email');
    // Without the cleanup the re-run would be a no-op ("already exists, skipping") leaving it INVALID.
    await db.raw(`DELETE FROM people WHERE id = 3`);
    const log = captureLogger();
    await runner(log).up();
    expect(log.lines.some((l) => l.includes('found INVALID index "public"."people_email_key"'))).toBe(true);
    expect(await indexState(db, 'people_email_key')).toEqual([{ valid: true }]);
    expect(await ledgerIds(db)).toContain('0003_people_email');
    await expect(db.raw(`INSERT INTO people (email) VALUES ('a@example.com')`)).rejects.toThrow(
      /duplicate key value violates unique constraint "people_email_key"/,
    );
  });

  test('runConcurrently() in a TypeScript migration drops the INVALID leftover of a failed manual build first', async () => {
    await db.raw(`INSERT INTO people (email) VALUES ('C@example.com'), ('c@example.com')`);
    await expect(db.raw('CREATE UNIQUE INDEX CONCURRENTLY people_lower_email_key ON people (lower(email))')).rejects.toThrow(/could not create unique index/);
    expect(await indexState(db, 'people_lower_email_key')).toEqual([{ valid: false }]);
    await db.raw(`DELETE FROM people WHERE email = 'C@example.com'`);
    writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    add(
      '0004_people_lower_email.ts',
      `import type { Knex } from 'knex';
import { runConcurrently } from ${JSON.stringify(join(ROOT, 'src/migrations/run-concurrently.ts'))};
export const transaction = false;
export async function up(knex: Knex): Promise<void> {
  await runConcurrently(knex, 'CREATE UNIQUE INDEX CONCURRENTLY people_lower_email_key ON people (lower(email))');
}
export async function down(knex: Knex): Promise<void> {
  await runConcurrently(knex, 'DROP INDEX CONCURRENTLY IF EXISTS people_lower_email_key');
}
`,
    );
    const log = captureLogger();
    await runner(log).up();
    expect(log.lines.some((l) => l.startsWith('warning: 0004_people_lower_email: found INVALID index "public"."people_lower_email_key"'))).toBe(true);
    expect(await indexState(db, 'people_lower_email_key')).toEqual([{ valid: true }]);
  });

  test('a CONCURRENTLY build waiting for an old writer times out, is retried (cleaning up its INVALID index each time), and completes', async () => {
    add('0005_big_payload.up.sql', 'CREATE INDEX CONCURRENTLY big_payload_idx ON big (payload);\n');
    add('0005_big_payload.down.sql', 'DROP INDEX CONCURRENTLY big_payload_idx;\n');
    const writer = new pg.Client({ ...fresh.connection, password: fresh.connection.password ?? '', application_name: 'slow-writer' });
    await writer.connect();
    try {
      const pid = Number(((await writer.query('SELECT pg_backend_pid() AS p')).rows[0] as { p: number }).p);
      await writer.query('BEGIN');
      await writer.query(`UPDATE big SET payload = payload WHERE id = 1`);
      const log = captureLogger();
      const up = runner(log).up();
      for (let i = 0; i < 400 && log.lines.filter((l) => l.includes('waiting for')).length < 2; i++) await sleep(50);
      await writer.query('COMMIT');
      await up;
      const waits = log.lines.filter((l) => l.startsWith('warning: 0005_big_payload (statement 1, line 1): waiting for'));
      expect(waits.length).toBeGreaterThanOrEqual(2);
      expect(
        waits.some((l) => l.includes(`pid ${pid} (user postgres, application "slow-writer"`)),
        waits.join('\n'),
      ).toBe(true);
      expect(log.lines.some((l) => l.includes('found INVALID index "public"."big_payload_idx"'))).toBe(true);
      expect(await indexState(db, 'big_payload_idx')).toEqual([{ valid: true }]);
      expect(await ledgerIds(db)).toContain('0005_big_payload');
    } finally {
      await writer.end();
    }
  });
});
