/**
 * The batched backfill helper on real servers: a backfill killed half-way (SIGKILL of the
 * `migrate up` process) resumes on the next run from the last committed range and finishes
 * with every row updated exactly once, even with a non-idempotent SET.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Dialect } from '../../src/config/types.ts';
import { MigrateError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/logger.ts';
import { BACKFILL_STATE_TABLE } from '../../src/migrations/backfill.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BACKFILL_MODULE = join(ROOT, 'src/migrations/backfill.ts');
const ROWS = 20_000;
const BATCH = 500;

interface Captured extends Logger {
  lines: string[];
}

function captureLogger(): Captured {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), error: (m) => lines.push(m), out: (m) => lines.push(m) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function createTable(dialect: Dialect): string {
  return dialect === 'postgres'
    ? `CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL, email_lower text, touched int NOT NULL DEFAULT 0);
INSERT INTO accounts (email) SELECT 'User' || g || '@Example.COM' FROM generate_series(1, ${ROWS}) g;
`
    : `CREATE TABLE accounts (id int AUTO_INCREMENT PRIMARY KEY, email varchar(100) NOT NULL, email_lower varchar(100) NULL, touched int NOT NULL DEFAULT 0);
CREATE TABLE digits (d int);
INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);
INSERT INTO accounts (email)
  SELECT CONCAT('User', n, '@Example.COM') FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 1 AS n FROM digits a, digits b, digits c, digits e, digits f) g
   WHERE n <= ${ROWS} ORDER BY n;
DROP TABLE digits;
`;
}

/** The expand -> backfill migration: non-idempotent on purpose (touched = touched + 1). */
const BACKFILL_MIGRATION = `import type { Knex } from 'knex';
import { backfill } from ${JSON.stringify(BACKFILL_MODULE)};

export const transaction = false;

export async function up(knex: Knex): Promise<void> {
  await backfill(knex, {
    table: 'accounts',
    set: 'email_lower = lower(email), touched = touched + 1',
    batchSize: ${BATCH},
    pauseMs: 25,
    logEveryMs: 0,
    onProgress: (p) => {
      if (process.env['BACKFILL_ECHO']) process.stderr.write(\`BATCH \${p.batch} \${p.lastKey} \${p.rowsUpdated}\\n\`);
      if (process.env['BACKFILL_FAIL_AT'] && p.batch === Number(process.env['BACKFILL_FAIL_AT'])) throw new Error('simulated crash after batch ' + p.batch);
    },
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex('accounts').update({ email_lower: null });
}
`;

/** esm: a "type": "module" project; otherwise CommonJS, where the migration require()s the helper. */
function project(dialect: Dialect, esm: boolean): { dir: string; root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'migrate-backfill-'));
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  writeFileSync(join(root, 'package.json'), JSON.stringify(esm ? { type: 'module', private: true } : { private: true }));
  writeFileSync(join(dir, '0001_accounts.up.sql'), createTable(dialect));
  writeFileSync(join(dir, '0001_accounts.down.sql'), 'DROP TABLE accounts;\n');
  writeFileSync(join(dir, '0002_backfill_email_lower.ts'), BACKFILL_MIGRATION);
  return { dir, root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

async function counts(db: Knex): Promise<{ zero: number; one: number; more: number; wrong: number }> {
  const r = (await db('accounts')
    .select(
      db.raw('sum(case when touched = 0 then 1 else 0 end) as zero'),
      db.raw('sum(case when touched = 1 then 1 else 0 end) as one'),
      db.raw('sum(case when touched > 1 then 1 else 0 end) as more'),
      db.raw('sum(case when touched = 1 and (email_lower is null or email_lower <> lower(email)) then 1 else 0 end) as wrong'),
    )
    .first()) as Record<string, unknown>;
  return { zero: Number(r['zero']), one: Number(r['one']), more: Number(r['more']), wrong: Number(r['wrong']) };
}

async function state(db: Knex): Promise<Array<{ migration_id: string; step: string; last_key: string; rows_done: number }>> {
  if (!(await db.schema.hasTable(BACKFILL_STATE_TABLE))) return [];
  return (
    (await db(BACKFILL_STATE_TABLE).select('migration_id', 'step', 'last_key', 'rows_done')) as Array<{
      migration_id: string;
      step: string;
      last_key: string;
      rows_done: number | string;
    }>
  ).map((r) => ({ ...r, rows_done: Number(r.rows_done) }));
}

async function ledgerIds(db: Knex): Promise<string[]> {
  return ((await db('migrate_ledger').select('id').orderBy('id')) as Array<{ id: string }>).map((r) => r.id);
}

async function failure(p: Promise<unknown>): Promise<MigrateError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MigrateError) return e;
    throw e;
  }
  throw new Error('expected a MigrateError, but the call succeeded');
}

describe('PostgreSQL: a backfill killed half-way resumes', () => {
  let fresh: FreshDatabase;
  let db: Knex;
  let p: ReturnType<typeof project>;
  let cfg: string;

  beforeAll(async () => {
    fresh = await freshDatabase('postgres');
    db = fresh.knex();
    p = project('postgres', true);
    cfg = join(p.root, 'migrate.config.json');
    const c = fresh.connection;
    writeFileSync(
      cfg,
      JSON.stringify({
        dialect: 'postgres',
        connection: { host: c.host, port: c.port, user: c.user, database: c.database },
        migrations: { directory: 'migrations' },
      }),
    );
    await new Runner({ config: fresh.projectConfig(p.dir), db, logger: captureLogger() }).up({ to: '0001_accounts' });
  });
  afterAll(async () => {
    await fresh?.drop();
    p?.remove();
  });

  /** Runs `migrate up`; with killAtBatch, SIGKILLs it as soon as that batch is reported. */
  function migrateUp(killAtBatch?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; lastBatch: number }> {
    return new Promise((res, rej) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/migrate'), '--config', cfg, 'up', '--lock-timeout', '1s', '--lock-retries', '5'], {
        cwd: p.root,
        env: { ...process.env, NO_COLOR: '1', BACKFILL_ECHO: '1' },
      });
      let stderr = '';
      let lastBatch = 0;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        for (const m of stderr.matchAll(/^BATCH (\d+) /gm)) lastBatch = Math.max(lastBatch, Number(m[1]));
        if (killAtBatch !== undefined && lastBatch >= killAtBatch && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('error', rej);
      child.on('close', (code, signal) => res({ code, signal, stderr, lastBatch }));
    });
  }

  test('(c) SIGKILL after a few batches, then the next run continues from the last committed key; every row updated exactly once', async () => {
    const killed = await migrateUp(6);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.lastBatch).toBeGreaterThanOrEqual(6);
    expect(killed.lastBatch).toBeLessThan(ROWS / BATCH);
    // What the crash left: a committed prefix of ranges, its key saved, the migration unrecorded.
    const saved = await state(db);
    expect(saved).toHaveLength(1);
    const lastKey = Number(saved[0]?.last_key);
    expect(lastKey % BATCH).toBe(0);
    expect(lastKey).toBeGreaterThanOrEqual(6 * BATCH);
    const mid = await counts(db);
    expect(mid).toEqual({ zero: ROWS - lastKey, one: lastKey, more: 0, wrong: 0 });
    expect(saved[0]?.rows_done).toBe(lastKey);
    expect(await ledgerIds(db)).toEqual(['0001_accounts']);

    // The killed process's session (and its run lock) goes away with its socket.
    for (let i = 0; i < 100; i++) {
      const held = (await db.raw(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      )) as { rows: Array<{ n: number }> };
      if (held.rows[0]?.n === 0) break;
      await sleep(50);
    }
    const resumed = await migrateUp();
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(
      `0002_backfill_email_lower: backfill accounts: resuming after key ${lastKey} (${lastKey} rows were updated by an interrupted earlier run)`,
    );
    expect(resumed.stderr).toMatch(/applied 0002_backfill_email_lower/);
    const firstResumed = /^BATCH 1 (\d+) (\d+)$/m.exec(resumed.stderr);
    expect(Number(firstResumed?.[1])).toBe(lastKey + BATCH);
    expect(await counts(db)).toEqual({ zero: 0, one: ROWS, more: 0, wrong: 0 });
    // The state is cleared once the migration is recorded.
    expect(await state(db)).toEqual([]);
    expect(await ledgerIds(db)).toEqual(['0001_accounts', '0002_backfill_email_lower']);
    process.stderr.write(
      `\n[pg-backfill] SIGKILLed after batch ${killed.lastBatch} (key ${lastKey} committed); the next run resumed at key ${lastKey + 1}: ${ROWS} rows, each updated exactly once\n`,
    );
  });

  test('a batch waiting on a row lock gives up after lock_timeout, names the holder, and is retried', async () => {
    writeFileSync(
      join(p.dir, '0003_backfill_again.ts'),
      `import type { Knex } from 'knex';
import { backfill } from ${JSON.stringify(BACKFILL_MODULE)};
export const transaction = false;
export async function up(knex: Knex): Promise<void> {
  await backfill(knex, { table: 'accounts', set: 'touched = touched + 10', batchSize: 2000, pauseMs: 0, name: 'second pass' });
}
export async function down(): Promise<void> {}
`,
    );
    const holder = new pg.Client({ ...fresh.connection, password: fresh.connection.password ?? '', application_name: 'row-locker' });
    await holder.connect();
    try {
      const pid = Number(((await holder.query('SELECT pg_backend_pid() AS p')).rows[0] as { p: number }).p);
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM accounts WHERE id = 5000 FOR UPDATE');
      const log = captureLogger();
      const up = new Runner({
        config: fresh.projectConfig(p.dir),
        db,
        logger: log,
        lockSafety: { lockTimeoutMs: 300, attempts: 30, retryBaseMs: 100, retryMaxMs: 400 },
      }).up();
      const isWait = (l: string): boolean =>
        l.startsWith('warning: 0003_backfill_again: backfill accounts (second pass): waiting for lock on a row of table accounts held by');
      // Keep the row locked until the backfill has given up on it twice.
      for (let i = 0; i < 400 && log.lines.filter(isWait).length < 2; i++) await sleep(50);
      await holder.query('COMMIT');
      await up;
      const waits = log.lines.filter(isWait);
      expect(waits.length, log.lines.join('\n')).toBeGreaterThanOrEqual(2);
      expect(waits[0]).toContain(`pid ${pid} (user postgres, application "row-locker", idle in transaction`);
      expect(waits[0]).toMatch(/gave up after lock_timeout 300 ms, attempt \d+\/30, retrying in/);
      const r = (await db('accounts').select(db.raw('min(touched) AS lo, max(touched) AS hi')).first()) as { lo: number; hi: number };
      expect(r).toEqual({ lo: 11, hi: 11 });
      expect(await state(db)).toEqual([]);
    } finally {
      await holder.end();
    }
  });

  test('backfill() inside the migration transaction is refused with the fix', async () => {
    writeFileSync(
      join(p.dir, '0004_backfill_in_tx.ts'),
      `import type { Knex } from 'knex';
import { backfill } from ${JSON.stringify(BACKFILL_MODULE)};
export async function up(knex: Knex): Promise<void> {
  await backfill(knex, { table: 'accounts', set: 'touched = 5' });
}
export async function down(): Promise<void> {}
`,
    );
    const e = await failure(new Runner({ config: fresh.projectConfig(p.dir), db, logger: captureLogger() }).up());
    expect(e.problem).toContain('backfill() was called inside a transaction');
    // Its own fix is the fix shown (first), not folded into the problem.
    expect(e.fix).toMatch(/^.*export const transaction = false/);
    expect(e.problem).not.toContain('Fix:');
    expect((await db('accounts').max({ hi: 'touched' }).first()) as { hi: number }).toEqual({ hi: 11 });
    rmSync(join(p.dir, '0004_backfill_in_tx.ts'));
  });
});

describe('MySQL/MariaDB (a CommonJS project): a backfill interrupted by an error resumes', () => {
  let fresh: FreshDatabase;
  let db: Knex;
  let p: ReturnType<typeof project>;

  beforeAll(async () => {
    fresh = await freshDatabase('mysql');
    db = fresh.knex();
    p = project('mysql', false);
  });
  afterAll(async () => {
    delete process.env['BACKFILL_FAIL_AT'];
    await fresh?.drop();
    p?.remove();
  });

  test('a failure after batch 4 keeps 4 batches; the next run does the rest, each row exactly once', async () => {
    process.env['BACKFILL_FAIL_AT'] = '4';
    const e = await failure(new Runner({ config: fresh.projectConfig(p.dir), db, logger: captureLogger() }).up());
    expect(e.problem).toContain('simulated crash after batch 4');
    expect(await counts(db)).toEqual({ zero: ROWS - 4 * BATCH, one: 4 * BATCH, more: 0, wrong: 0 });
    expect((await state(db)).map((s) => Number(s.last_key))).toEqual([4 * BATCH]);
    delete process.env['BACKFILL_FAIL_AT'];
    const log = captureLogger();
    await new Runner({ config: fresh.projectConfig(p.dir), db, logger: log }).up();
    expect(log.lines).toContain(
      `0002_backfill_email_lower: backfill accounts: resuming after key ${4 * BATCH} (${4 * BATCH} rows were updated by an interrupted earlier run)`,
    );
    expect(await counts(db)).toEqual({ zero: 0, one: ROWS, more: 0, wrong: 0 });
    expect(await state(db)).toEqual([]);
    expect(await ledgerIds(db)).toEqual(['0001_accounts', '0002_backfill_email_lower']);
  });
});

describe('PostgreSQL: the expand -> backfill -> contract recipe of docs/postgres.md runs as written', () => {
  let fresh: FreshDatabase;
  let db: Knex;
  let root: string;

  beforeAll(async () => {
    fresh = await freshDatabase('postgres');
    db = fresh.knex();
  });
  afterAll(async () => {
    await fresh?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('up through all migrations of the recipe, then down again', async () => {
    const doc = readFileSync(join(ROOT, 'docs/postgres.md'), 'utf8');
    root = mkdtempSync(join(tmpdir(), 'migrate-recipe-'));
    const dir = join(root, 'migrations');
    mkdirSync(dir);
    writeFileSync(join(root, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    writeFileSync(
      join(dir, '0009_accounts.up.sql'),
      `CREATE TABLE accounts (id bigserial PRIMARY KEY, email text NOT NULL);
INSERT INTO accounts (email) SELECT 'Someone' || g || '@Example.com' FROM generate_series(1, 5000) g;
`,
    );
    writeFileSync(join(dir, '0009_accounts.down.sql'), 'DROP TABLE accounts;\n');
    const files: string[] = [];
    for (const m of doc.matchAll(/```(?:sql|ts)\n(?:--|\/\/) migrations\/([0-9]{4}_[a-z_]+\.(?:up\.sql|down\.sql|ts))\n([\s\S]*?)```/g)) {
      const name = m[1] ?? '';
      const body = (m[2] ?? '').replace("'../src/migrations/backfill.ts'", JSON.stringify(BACKFILL_MODULE));
      writeFileSync(join(dir, name), body);
      files.push(name);
    }
    expect(files).toEqual([
      '0010_accounts_email_lower.up.sql',
      '0010_accounts_email_lower.down.sql',
      '0011_backfill_accounts_email_lower.ts',
      '0012_accounts_email_lower_check.up.sql',
      '0012_accounts_email_lower_check.down.sql',
      '0013_accounts_email_lower_not_null.up.sql',
      '0013_accounts_email_lower_not_null.down.sql',
    ]);
    const log = captureLogger();
    const runner = new Runner({ config: fresh.projectConfig(dir), db, logger: log });
    const res = await runner.up();
    expect(res.ids).toEqual([
      '0009_accounts',
      '0010_accounts_email_lower',
      '0011_backfill_accounts_email_lower',
      '0012_accounts_email_lower_check',
      '0013_accounts_email_lower_not_null',
    ]);
    const col = (await db.raw(`SELECT is_nullable FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = 'email_lower'`)) as {
      rows: Array<{ is_nullable: string }>;
    };
    expect(col.rows[0]?.is_nullable).toBe('NO');
    const wrong = (await db('accounts').whereRaw('email_lower IS DISTINCT FROM lower(email)').count({ n: '*' }).first()) as { n: string };
    expect(Number(wrong.n)).toBe(0);
    expect(log.lines.some((l) => l.startsWith('0011_backfill_accounts_email_lower: backfill accounts: done, 5000 rows updated in 3 batches'))).toBe(true);
    expect((await runner.down({ to: '0010_accounts_email_lower' })).ids).toHaveLength(4);
    expect(await db.schema.hasColumn('accounts', 'email_lower')).toBe(false);
  });
});
