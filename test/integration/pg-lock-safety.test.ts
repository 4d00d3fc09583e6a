/**
 * Lock-safe execution on a real PostgreSQL: a long transaction holding a lock on a table makes a
 * migration's ALTER wait (at most lock_timeout), roll back, back off and retry, while a
 * concurrent client keeps reading and writing the table. The point is measured: no read or write
 * of the concurrent client waits longer than the lock timeout (plus a small margin), whereas
 * without lock_timeout they wait for the whole life of the long transaction.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/logger.ts';
import { concurrentTarget } from '../../src/engines/postgres/lock-safe/invalid-index.ts';
import { loadPgParser } from '../../src/engines/postgres/parser.ts';
import { backoffMs } from '../../src/engines/postgres/lock-safe/retry.ts';
import { lockSafetyFromConfig, parseDurationMs, resolveLockSafety, type LockSafety } from '../../src/config/index.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';

interface Captured extends Logger {
  lines: string[];
}

function captureLogger(): Captured {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), error: (m) => lines.push(m), out: (m) => lines.push(m) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function client(fresh: FreshDatabase, app: string): Promise<pg.Client> {
  const c = new pg.Client({ ...fresh.connection, password: fresh.connection.password ?? '', application_name: app });
  await c.connect();
  return c;
}

/** Reads and writes the table in a loop, timing each operation, until stopped. */
class Workload {
  readonly latencies: Array<{ at: number; ms: number; op: string }> = [];
  errors = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  constructor(private readonly c: pg.Client) {}

  start(): void {
    this.loop = (async () => {
      for (let i = 0; !this.stopped; i++) {
        const id = 1 + (i % 500);
        const op = i % 3 === 0 ? 'select' : i % 3 === 1 ? 'update' : 'insert';
        const t0 = performance.now();
        try {
          if (op === 'select') await this.c.query('SELECT v FROM items WHERE id = $1', [id]);
          else if (op === 'update') await this.c.query('UPDATE items SET v = v + 1 WHERE id = $1', [id]);
          else await this.c.query('INSERT INTO items (v) VALUES (1)');
        } catch {
          this.errors++;
        }
        this.latencies.push({ at: Date.now(), ms: performance.now() - t0, op });
        await sleep(5);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  max(from = 0): number {
    return Math.max(0, ...this.latencies.filter((l) => l.at >= from).map((l) => l.ms));
  }

  count(from = 0): number {
    return this.latencies.filter((l) => l.at >= from).length;
  }
}

function tmpMigrations(files: Record<string, string>): { dir: string; add(name: string, body: string): void; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'migrate-pglock-'));
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  const add = (name: string, body: string): void => writeFileSync(join(dir, name), body);
  for (const [n, b] of Object.entries(files)) add(n, b);
  return { dir, add, remove: () => rmSync(root, { recursive: true, force: true }) };
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

describe('lock-safe settings (no database)', () => {
  test('durations, precedence flag > env > config > default, backoff with jitter', () => {
    expect(parseDurationMs('2s')).toBe(2000);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('250')).toBe(250);
    expect(parseDurationMs('5min')).toBe(300_000);
    expect(parseDurationMs('fast')).toBeUndefined();
    const env = { MIGRATE_LOCK_TIMEOUT: '3s', MIGRATE_LOCK_RETRIES: '4' };
    expect(resolveLockSafety(undefined, undefined, {}).lockTimeoutMs).toBe(2000);
    expect(resolveLockSafety(undefined, { lockTimeoutMs: 900, attempts: 7 }, env)).toMatchObject({ lockTimeoutMs: 3000, attempts: 4 });
    expect(resolveLockSafety({ lockTimeoutMs: 100 }, { lockTimeoutMs: 900 }, env)).toMatchObject({ lockTimeoutMs: 100, attempts: 4 });
    expect(() => resolveLockSafety(undefined, undefined, { MIGRATE_LOCK_RETRIES: 'many' })).toThrow(/MIGRATE_LOCK_RETRIES/);
    expect(lockSafetyFromConfig({ lockTimeout: '1.5s', retries: 4, retryBase: 200, statementTimeout: '10min' }, 'migrate.config.json')).toEqual({
      lockTimeoutMs: 1500,
      attempts: 4,
      retryBaseMs: 200,
      statementTimeoutMs: 600_000,
    });
    expect(() => lockSafetyFromConfig({ lockTimeut: '2s' }, 'migrate.config.json')).toThrow(/Unknown key "lockSafety.lockTimeut"/);
    expect(() => lockSafetyFromConfig({ retries: 0 }, 'migrate.config.json')).toThrow(/"lockSafety.retries" in migrate.config.json is 0/);
    const s = { retryBaseMs: 500, retryMaxMs: 4000 };
    expect(backoffMs(1, s, () => 0)).toBe(250);
    expect(backoffMs(1, s, () => 1)).toBe(500);
    expect(backoffMs(3, s, () => 1)).toBe(2000);
    expect(backoffMs(9, s, () => 1)).toBe(4000);
  });

  test('what a CONCURRENTLY statement builds', async () => {
    // Read from PostgreSQL's parse tree: the parser loads on first use (dropLeftoverIndexes awaits it).
    await loadPgParser();
    expect(concurrentTarget('CREATE INDEX CONCURRENTLY accounts_email_idx ON accounts (email)')).toEqual({
      kind: 'create-index',
      index: 'accounts_email_idx',
      table: { name: 'accounts' },
    });
    expect(concurrentTarget('create unique index concurrently if not exists "Odd ""Name""" on only app."Users" using btree (lower(email))')).toEqual({
      kind: 'create-index',
      index: 'Odd "Name"',
      table: { schema: 'app', name: 'Users' },
    });
    expect(concurrentTarget('CREATE INDEX CONCURRENTLY ON t (a)')).toEqual({ kind: 'create-index', index: undefined, table: { name: 't' } });
    expect(concurrentTarget('REINDEX INDEX CONCURRENTLY public.t_a_idx')).toEqual({ kind: 'reindex-index', index: { schema: 'public', name: 't_a_idx' } });
    expect(concurrentTarget('REINDEX (VERBOSE, CONCURRENTLY) TABLE t')).toEqual({ kind: 'reindex-table', table: { name: 't' } });
    expect(concurrentTarget('CREATE INDEX t_a_idx ON t (a)')).toBeUndefined();
    expect(concurrentTarget('REINDEX TABLE t')).toBeUndefined();
  });
});

describe('PostgreSQL: a migration waiting for a lock does not block other sessions', () => {
  let fresh: FreshDatabase;
  let mig: ReturnType<typeof tmpMigrations>;
  let db: Knex;
  const opened: pg.Client[] = [];
  const LOCK_TIMEOUT = 400;
  const MARGIN = 250;
  const safety: Partial<LockSafety> = { lockTimeoutMs: LOCK_TIMEOUT, attempts: 30, retryBaseMs: 150, retryMaxMs: 600 };
  const figures: string[] = [];

  beforeAll(async () => {
    fresh = await freshDatabase('postgres');
    db = fresh.knex();
    mig = tmpMigrations({
      '0001_items.up.sql':
        'CREATE TABLE items (id serial PRIMARY KEY, v int NOT NULL DEFAULT 0);\nINSERT INTO items (v) SELECT 0 FROM generate_series(1, 1000);\n',
      '0001_items.down.sql': 'DROP TABLE items;\n',
    });
    await new Runner({ config: fresh.projectConfig(mig.dir), db, logger: captureLogger() }).up();
  });
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.end().catch(() => undefined)));
    await fresh?.drop();
    mig?.remove();
    if (figures.length) process.stderr.write(`\n[pg-lock-safety] ${figures.join('\n[pg-lock-safety] ')}\n`);
  });

  /** Runs `up` while a holder keeps ACCESS SHARE on items for holdMs, under a read/write workload. */
  /** Keeps the holder at least holdMs, and (when minWaits) until the migration has reported that many waits. */
  async function contended(
    id: string,
    alter: string,
    holdMs: number,
    settings: Partial<LockSafety>,
    minWaits = 0,
  ): Promise<{ log: Captured; holderPid: number; maxMs: number; ops: number; elapsedMs: number; workErrors: number; baselineMs: number }> {
    mig.add(`${id}.up.sql`, `${alter};\n`);
    mig.add(`${id}.down.sql`, 'SELECT 1;\n');
    const holder = await client(fresh, 'long-report');
    const worker = await client(fresh, 'app');
    opened.push(holder, worker);
    const holderPid = Number(((await holder.query('SELECT pg_backend_pid() AS p')).rows[0] as { p: number }).p);
    // A long-running report: an open transaction that has read the table.
    await holder.query('BEGIN');
    await holder.query('SELECT count(*) FROM items');
    const load = new Workload(worker);
    load.start();
    await sleep(600);
    // Uncontended latency: the noise floor on this machine (it may be busy).
    const baselineMs = load.max();
    const log = captureLogger();
    const t0 = Date.now();
    const up = new Runner({ config: fresh.projectConfig(mig.dir), db, logger: log, lockSafety: settings }).up();
    const release = (async () => {
      // The hold counts from the moment the ALTER queues for its lock (the run takes a moment to start).
      for (let i = 0; i < 400; i++) {
        const q = await db.raw(`SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'items'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted`);
        if ((q as { rows: Array<{ n: number }> }).rows[0]?.n) break;
        await sleep(20);
      }
      await sleep(holdMs);
      for (let i = 0; i < 400 && log.lines.filter((l) => l.includes('waiting for lock')).length < minWaits; i++) await sleep(50);
      await holder.query('COMMIT');
    })();
    await Promise.all([up, release]);
    const elapsedMs = Date.now() - t0;
    await sleep(200);
    await load.stop();
    return { log, holderPid, maxMs: load.max(t0), ops: load.count(t0), elapsedMs, workErrors: load.errors, baselineMs };
  }

  test('(a) the ALTER waits at most lock_timeout per try, retries with backoff, names the holder, then succeeds', async () => {
    const HOLD = 3000;
    const r = await contended('0002_add_flag', 'ALTER TABLE items ADD COLUMN flag boolean NOT NULL DEFAULT false', HOLD, safety, 2);
    const waits = r.log.lines.filter((l) => l.includes('waiting for lock on table items'));
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits[0]).toContain(`held by pid ${r.holderPid} (user postgres, application "long-report", idle in transaction`);
    expect(waits[0]).toContain('last query: SELECT count(*) FROM items');
    expect(waits[0]).toMatch(/gave up after lock_timeout 400 ms, attempt \d+\/30, retrying in \d+ ms/);
    expect(r.log.lines.some((l) => /attempt 2\/30, retrying in \d+ ms$/.test(l))).toBe(true);
    expect(r.log.lines.some((l) => l.startsWith('applied 0002_add_flag'))).toBe(true);
    expect(await db.schema.hasColumn('items', 'flag')).toBe(true);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(HOLD);
    expect(r.workErrors).toBe(0);
    expect(r.ops).toBeGreaterThan(20);
    // The measured point of lock_timeout: no read or write waited much longer than it (the
    // margin grows with the machine's own noise, measured before the holder arrived).
    const margin = Math.max(MARGIN, 2 * r.baselineMs);
    expect(r.maxMs).toBeLessThan(LOCK_TIMEOUT + margin);
    figures.push(
      `with lock_timeout ${LOCK_TIMEOUT} ms: holder kept the table ${HOLD} ms, ${waits.length} retries, ${r.ops} concurrent reads/writes, longest ${r.maxMs.toFixed(0)} ms (bound ${LOCK_TIMEOUT}+${margin.toFixed(0)} ms; uncontended max ${r.baselineMs.toFixed(0)} ms); migration took ${r.elapsedMs} ms`,
    );
  });

  test('(a, control) without lock_timeout the queued ALTER blocks every read and write for as long as the holder lives', async () => {
    const HOLD = 2000;
    const r = await contended('0003_add_flag2', 'ALTER TABLE items ADD COLUMN flag2 boolean NOT NULL DEFAULT false', HOLD, { lockTimeoutMs: 0 });
    expect(r.log.lines.some((l) => l.includes('waiting for lock'))).toBe(false);
    expect(r.maxMs).toBeGreaterThan(HOLD - 400);
    figures.push(
      `control, lock_timeout off: holder kept the table ${HOLD} ms, longest concurrent read/write ${r.maxMs.toFixed(0)} ms (uncontended max ${r.baselineMs.toFixed(0)} ms)`,
    );
  });

  test('all tries used up: the error names the holder and how to end it; nothing applied, ledger unchanged', async () => {
    mig.add('0004_add_flag3.up.sql', 'ALTER TABLE items ADD COLUMN flag3 int;\nALTER TABLE items ADD COLUMN flag4 int;\n');
    mig.add('0004_add_flag3.down.sql', 'ALTER TABLE items DROP COLUMN flag4;\nALTER TABLE items DROP COLUMN flag3;\n');
    const holder = await client(fresh, 'stuck-job');
    opened.push(holder);
    const pid = Number(((await holder.query('SELECT pg_backend_pid() AS p')).rows[0] as { p: number }).p);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE items IN ACCESS SHARE MODE');
    try {
      const log = captureLogger();
      const e = await failure(
        new Runner({
          config: fresh.projectConfig(mig.dir),
          db,
          logger: log,
          lockSafety: { lockTimeoutMs: 400, attempts: 3, retryBaseMs: 50, retryMaxMs: 100 },
        }).up(),
      );
      expect(e.kind).toBe('work');
      expect(e.problem).toContain('Migration 0004_add_flag3 failed (up) at 0004_add_flag3.up.sql line 1 (statement 1 of 2)');
      expect(e.problem).toContain('could not get its lock within lock_timeout 400 ms in 3 attempts');
      expect(e.problem).toContain(`lock on table items held by pid ${pid} (user postgres, application "stuck-job"`);
      expect(e.problem).toContain('Nothing of it was applied (rolled back)');
      expect(e.fix).toContain(`SELECT pg_terminate_backend(${pid});`);
      expect(e.fix).toContain('--lock-timeout');
      expect(log.lines.filter((l) => l.includes('retrying in'))).toHaveLength(2);
      expect(await db.schema.hasColumn('items', 'flag3')).toBe(false);
      expect((await db('migrate_ledger').where({ id: '0004_add_flag3' })).length).toBe(0);
    } finally {
      await holder.query('ROLLBACK');
    }
    // Once the holder is gone the same run succeeds, and down takes the same care.
    const log = captureLogger();
    await new Runner({ config: fresh.projectConfig(mig.dir), db, logger: log, lockSafety: safety }).up();
    expect(await db.schema.hasColumn('items', 'flag4')).toBe(true);
    await new Runner({ config: fresh.projectConfig(mig.dir), db, logger: log, lockSafety: safety }).down();
    expect(await db.schema.hasColumn('items', 'flag3')).toBe(false);
  });

  test('a TypeScript migration in a transaction is retried as a whole; the statement_timeout guard is not retried', async () => {
    mig.add(
      '0005_ts_alter.ts',
      `import type { Knex } from 'knex';
let tries = 0;
export async function up(knex: Knex): Promise<void> {
  tries++;
  await knex.raw('CREATE TABLE IF NOT EXISTS ts_side (n int)');
  await knex('ts_side').insert({ n: tries });
  await knex.schema.alterTable('items', (t) => { t.integer('ts_col'); });
}
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('items', (t) => { t.dropColumn('ts_col'); });
  await knex.schema.dropTable('ts_side');
}
`,
    );
    await new Runner({ config: fresh.projectConfig(mig.dir), db, logger: captureLogger(), lockSafety: safety }).up({ to: '0004_add_flag3' });
    const holder = await client(fresh, 'holder-ts');
    opened.push(holder);
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM items LIMIT 1');
    const log = captureLogger();
    const up = new Runner({ config: fresh.projectConfig(mig.dir), db, logger: log, lockSafety: safety }).up({ to: '0005_ts_alter' });
    for (let i = 0; i < 400 && !log.lines.some((l) => l.includes('waiting for lock')); i++) await sleep(50);
    await holder.query('COMMIT');
    await up;
    expect(
      log.lines.filter((l) => l.startsWith('warning: 0005_ts_alter: waiting for lock on table items')).length,
      log.lines.join('\n'),
    ).toBeGreaterThanOrEqual(1);
    // Every failed try was rolled back: the side table holds only the last try's row.
    const side = (await db('ts_side').select('n')) as Array<{ n: number }>;
    expect(side).toHaveLength(1);
    expect(side[0]?.n).toBeGreaterThan(1);

    mig.add('0006_slow.up.sql', 'ALTER TABLE items ADD COLUMN slow int;\nSELECT pg_sleep(2);\n');
    mig.add('0006_slow.down.sql', 'ALTER TABLE items DROP COLUMN slow;\n');
    const slowLog = captureLogger();
    const t0 = Date.now();
    const e = await failure(new Runner({ config: fresh.projectConfig(mig.dir), db, logger: slowLog, lockSafety: { ...safety, statementTimeoutMs: 300 } }).up());
    expect(Date.now() - t0).toBeLessThan(1800);
    expect(e.problem).toContain('canceling statement due to statement timeout');
    expect(e.problem).toContain('0006_slow.up.sql line 2');
    expect(e.fix).toContain('--statement-timeout');
    expect(slowLog.lines.some((l) => l.includes('retrying'))).toBe(false);
    expect(await db.schema.hasColumn('items', 'slow')).toBe(false);
  });
});
