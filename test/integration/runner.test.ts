import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { Dialect, ProjectConfig } from '../../src/config/types.ts';
import { MigrateError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/logger.ts';
import { loadMigrations } from '../../src/migrations/discover.ts';
import { acquireRunLock } from '../../src/migrations/lock.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { statusJson } from '../../src/migrations/status.ts';
import { copyFixture, freshDatabase, type FreshDatabase } from '../helpers/databases.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES: Record<Dialect, string> = {
  mysql: join(ROOT, 'test/fixtures/migrations-mysql'),
  postgres: join(ROOT, 'test/fixtures/migrations-pg'),
};

interface Captured extends Logger {
  lines: string[];
}

function captureLogger(): Captured {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), error: (m) => lines.push(m), out: (m) => lines.push(m) };
}

function runnerFor(fresh: FreshDatabase, dir: string, extra: Partial<ProjectConfig> = {}): { runner: Runner; config: ProjectConfig; db: Knex; log: Captured } {
  const config = fresh.projectConfig(dir, extra);
  const db = fresh.knex();
  const log = captureLogger();
  return { runner: new Runner({ config, db, logger: log }), config, db, log };
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

async function tables(db: Knex, dialect: Dialect): Promise<string[]> {
  const rows =
    dialect === 'mysql'
      ? ((await db('information_schema.tables').select({ t: 'table_name' }).whereRaw('table_schema = database()')) as Array<{ t: string }>)
      : ((await db('information_schema.tables').select({ t: 'table_name' }).where({ table_schema: 'public' })) as Array<{ t: string }>);
  return rows.map((r) => r.t).sort();
}

async function ledgerIds(db: Knex): Promise<string[]> {
  if (!(await db.schema.hasTable('migrate_ledger'))) return [];
  return ((await db('migrate_ledger').select('id').orderBy('id')) as Array<{ id: string }>).map((r) => r.id);
}

function statesOf(list: Array<{ id: string; state: string }>): Record<string, string> {
  return Object.fromEntries(list.map((s) => [s.id, s.state]));
}

/** A temporary migrations directory holding exactly these files. */
function mkTmp(files: Record<string, string>): { dir: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'migrate-case-'));
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

const TS_TABLE = (name: string): string => `import type { Knex } from 'knex';
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('${name}', (t) => { t.increments('id'); });
}
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('${name}');
}
`;

/** A fresh database and a private copy of the dialect's fixture for one describe block, removed after it. */
function freshFixture(dialect: Dialect): { readonly fresh: FreshDatabase; readonly dir: string } {
  let fresh: FreshDatabase | undefined;
  let fx: { dir: string; remove(): void } | undefined;
  beforeAll(async () => {
    fresh = await freshDatabase(dialect);
    fx = copyFixture(FIXTURES[dialect]);
  });
  afterAll(async () => {
    await fresh?.drop();
    fx?.remove();
  });
  return {
    get fresh() {
      if (!fresh) throw new Error('freshFixture: used outside its describe block');
      return fresh;
    },
    get dir() {
      if (!fx) throw new Error('freshFixture: used outside its describe block');
      return fx.dir;
    },
  };
}

describe.each(['mysql', 'postgres'] as const)('runner on %s', (dialect) => {
  describe('up, down, status, drift', () => {
    let fresh: FreshDatabase;
    let fx: { dir: string; remove(): void };
    let r: ReturnType<typeof runnerFor>;
    beforeAll(async () => {
      fresh = await freshDatabase(dialect);
      fx = copyFixture(FIXTURES[dialect]);
      r = runnerFor(fresh, fx.dir);
    });
    afterAll(async () => {
      await fresh?.drop();
      fx?.remove();
    });

    test('status before anything: all pending, no ledger table created', async () => {
      const s = await r.runner.status();
      expect(statesOf(s.migrations)).toEqual({
        '0001_create_accounts': 'pending',
        '0002_add_accounts_email': 'pending',
        [dialect === 'mysql' ? '0003_create_audit' : '0003_index_concurrently']: 'pending',
        '0004_accounts_name_index': 'pending',
      });
      expect(s.migrations[0]?.phase).toBe('pre-deploy');
      expect(s.migrations[3]?.phase).toBe('post-deploy');
      expect(await r.db.schema.hasTable('migrate_ledger')).toBe(false);
    });

    test('up --to an unknown id is a usage error and changes nothing', async () => {
      const e = await failure(r.runner.up({ to: '0009_nope' }));
      expect(e.kind).toBe('usage');
      expect(e.exitCode).toBe(2);
      expect(e.problem).toContain('0009_nope');
      expect(await r.db.schema.hasTable('migrate_ledger')).toBe(false);
    });

    test('up --to applies up to and including the target (TS and SQL)', async () => {
      const res = await r.runner.up({ to: '0002_add_accounts_email' });
      expect(res.ids).toEqual(['0001_create_accounts', '0002_add_accounts_email']);
      expect(await ledgerIds(r.db)).toEqual(['0001_create_accounts', '0002_add_accounts_email']);
      expect(await r.db.schema.hasColumn('accounts', 'email')).toBe(true);
      // The statement with quotes, backslashes and "?" ran as written.
      if (dialect === 'mysql') {
        const row = (await r.db('accounts').first('name', 'email')) as { name: string; email: string };
        expect(row).toEqual({ name: 'it\'s; a "test"', email: "a'b@example.com?" });
      } else {
        const v = (await r.db.raw(`select accounts_has_pref('{"x":1}'::jsonb, 'x') as ok`)) as { rows: Array<{ ok: boolean }> };
        expect(v.rows[0]?.ok).toBe(true);
      }
      expect(r.log.lines.some((l) => l.startsWith('applied 0002_add_accounts_email'))).toBe(true);
    });

    test('up applies the rest; the ledger records who, where, how long', async () => {
      const res = await r.runner.up();
      expect(res.ids).toHaveLength(2);
      const s = await r.runner.status();
      expect(s.migrations.every((m) => m.state === 'applied')).toBe(true);
      const json = statusJson(s.migrations).migrations;
      const first = json[0] ?? {};
      expect(first['appliedBy']).toMatch(/\(os: .+\)/);
      expect(typeof first['host']).toBe('string');
      expect(String(first['appliedAt'])).toMatch(/^\d{4}-\d\d-\d\dT/);
      // Stored in UTC: within a minute of now.
      expect(Math.abs(Date.parse(String(first['appliedAt'])) - Date.now())).toBeLessThan(60_000);
      expect(first['checksum']).toMatch(/^[0-9a-f]{64}$/);
      if (dialect === 'mysql') {
        await r.db('accounts').insert({ name: 'bob', email: 'bob@example.com' });
        const audit = (await r.db('account_audit').select('note')) as Array<{ note: string }>;
        expect(audit.map((a) => a.note)).toEqual(['email: bob@example.com']);
      } else {
        const idx = (await r.db.raw(`select indexname from pg_indexes where indexname = 'accounts_email_idx'`)) as { rows: unknown[] };
        expect(idx.rows).toHaveLength(1);
        const e = (await r.db.raw(`select enum_range(null::account_state)::text as r`)) as { rows: Array<{ r: string }> };
        expect(e.rows[0]?.r).toBe('{active,closed}');
      }
      const again = await r.runner.up();
      expect(again.ids).toEqual([]);
    });

    test('down reverts one step by default, --step N more, --to down to and including', async () => {
      expect((await r.runner.down()).ids).toEqual(['0004_accounts_name_index']);
      expect((await r.runner.down({ step: 2 })).ids).toEqual([
        dialect === 'mysql' ? '0003_create_audit' : '0003_index_concurrently',
        '0002_add_accounts_email',
      ]);
      expect(await r.db.schema.hasColumn('accounts', 'email')).toBe(false);
      const pending = await failure(r.runner.down({ to: '0004_accounts_name_index' }));
      expect(pending.kind).toBe('usage');
      expect((await r.runner.down({ to: '0001_create_accounts' })).ids).toEqual(['0001_create_accounts']);
      expect(await ledgerIds(r.db)).toEqual([]);
      // The ledger and its companion (migrations in flight): nothing else is left.
      expect(await tables(r.db, dialect)).toEqual(['migrate_ledger', 'migrate_ledger_progress']);
      expect((await r.runner.down()).ids).toEqual([]);
      await r.runner.up();
      expect(await ledgerIds(r.db)).toHaveLength(4);
    });

    test('drift: detected, refused for up and down, acknowledged', async () => {
      const file = join(fx.dir, '0002_add_accounts_email.up.sql');
      const original = readFileSync(file, 'utf8');
      appendFileSync(file, '\n-- edited after it was applied\n');
      const s = await r.runner.status();
      expect(statesOf(s.migrations)['0002_add_accounts_email']).toBe('drift');
      const up = await failure(r.runner.up());
      expect(up.kind).toBe('drift');
      expect(up.exitCode).toBe(1);
      expect(up.problem).toContain('0002_add_accounts_email');
      expect(up.fix).toContain('migrate ack-drift 0002_add_accounts_email');
      const down = await failure(r.runner.down());
      expect(down.kind).toBe('drift');
      expect(await ledgerIds(r.db)).toHaveLength(4);

      const notDrifted = await failure(r.runner.ackDrift(['0001_create_accounts']));
      expect(notDrifted.kind).toBe('usage');
      const acks = await r.runner.ackDrift(['0002_add_accounts_email']);
      expect(acks[0]?.by).toMatch(/\(os: /);
      const row = (await r.db('migrate_ledger').where({ id: '0002_add_accounts_email' }).first()) as Record<string, unknown>;
      expect(row['drift_acked_by']).toMatch(/\(os: /);
      expect(row['previous_checksum']).toBe(acks[0]?.previousChecksum);
      expect(statesOf((await r.runner.status()).migrations)['0002_add_accounts_email']).toBe('applied');
      // Restoring the original is a change too: drift again, then accepted again.
      writeFileSync(file, original);
      expect(statesOf((await r.runner.status()).migrations)['0002_add_accounts_email']).toBe('drift');
      await r.runner.ackDrift(['0002_add_accounts_email']);
    });

    test('a ledger entry whose file is gone is "missing file"; down refuses to skip over it', async () => {
      const from = join(fx.dir, '0004_accounts_name_index.ts');
      const to = join(fx.dir, '..', 'parked.ts');
      renameSync(from, to);
      try {
        const s = await r.runner.status();
        expect(statesOf(s.migrations)['0004_accounts_name_index']).toBe('missing-file');
        const e = await failure(r.runner.down());
        expect(e.problem).toContain('0004_accounts_name_index');
        expect(e.problem).toContain('file is gone');
        expect(await ledgerIds(r.db)).toHaveLength(4);
      } finally {
        renameSync(to, from);
      }
    });

    test('the lock: a second runner fails naming the holder', async () => {
      const held = await acquireRunLock(r.config);
      try {
        const e = await failure(r.runner.down());
        expect(e.kind).toBe('lock');
        expect(e.exitCode).toBe(1);
        if (dialect === 'mysql') {
          expect(e.problem).toMatch(/held by connection \d+, user root from/);
          expect(e.fix).toMatch(/KILL \d+;/);
        } else {
          expect(e.problem).toMatch(/held by pid \d+, user postgres from .*application_name "migrate"/);
          expect(e.fix).toMatch(/pg_terminate_backend\(\d+\)/);
        }
        expect(await ledgerIds(r.db)).toHaveLength(4);
      } finally {
        await held.release();
      }
      expect((await r.runner.down()).ids).toEqual(['0004_accounts_name_index']);
    });
  });

  describe('up({ only }): one migration, whatever is pending before it', () => {
    const p = freshFixture(dialect);

    // The coordinator runs its plan one step at a time: a pending migration sorted before the
    // step (a contract a failed hand-off left behind) must not run with it, as `to` would run it.
    test('runs exactly the named migration and leaves an earlier pending one pending', async () => {
      const r = runnerFor(p.fresh, p.dir);
      const third = '0004_accounts_name_index';
      expect((await r.runner.up({ only: '0001_create_accounts' })).ids).toEqual(['0001_create_accounts']);
      expect((await r.runner.up({ only: third })).ids).toEqual([third]);
      expect(await ledgerIds(r.db)).toEqual(['0001_create_accounts', third]);
      expect(await r.db.schema.hasColumn('accounts', 'email')).toBe(false);
      expect((await r.runner.up({ only: third })).ids).toEqual([]);
      expect(await ledgerIds(r.db)).toEqual(['0001_create_accounts', third]);
    });
  });

  describe('failures', () => {
    // Each case gets its own database: a failing case must not leave state for the next one.
    let fresh: FreshDatabase;
    const cleanups: Array<() => void> = [];
    beforeEach(async () => {
      fresh = await freshDatabase(dialect);
    });
    afterEach(async () => {
      await fresh?.drop();
      cleanups.splice(0).forEach((c) => c());
    });

    test('a SQL syntax error names the file, the line and the server message; the ledger is unchanged', async () => {
      const tmp = mkTmp({
        '0001_ok.ts': TS_TABLE('ok_one'),
        '0002_broken.up.sql': [
          '-- a comment line',
          'CREATE TABLE broken_first (id int);',
          '',
          'CREATE TABLE broken_second (',
          '  id int,',
          "  name varchar(10) NOT NULL DEFAULTT 'x'",
          ');',
          '',
        ].join('\n'),
        '0002_broken.down.sql': 'DROP TABLE broken_first;\n',
      });
      cleanups.push(tmp.remove);
      const { runner, db } = runnerFor(fresh, tmp.dir);
      const e = await failure(runner.up());
      expect(e.kind).toBe('work');
      expect(e.exitCode).toBe(1);
      expect(e.problem).toContain('0002_broken');
      expect(e.problem).toContain('0002_broken.up.sql line 6');
      expect(e.problem).toContain('statement 2 of 2');
      expect(e.problem).toContain('Applied in this run before the failure (kept): 0001_ok');
      expect(await ledgerIds(db)).toEqual(['0001_ok']);
      const fixed = [
        '-- a comment line',
        'CREATE TABLE broken_first (id int);',
        '',
        'CREATE TABLE broken_second (',
        '  id int,',
        "  name varchar(10) NOT NULL DEFAULT 'x'",
        ');',
        '',
      ].join('\n');
      if (dialect === 'mysql') {
        expect(e.problem).toMatch(/You have an error in your SQL syntax/);
        expect(e.problem).toContain('Statements #1 (line 2) of 2 had already run');
        expect(e.problem).toContain('the ledger records 0002_broken as partially applied: 1 of 2 statements ran (0002_broken.up.sql:2)');
        expect(e.fix).toContain('"migrate repair 0002_broken --continue" (runs statement 2; correct statement 2 first)');
        expect(await tables(db, dialect)).toContain('broken_first');
        // Statement 1 ran: up refuses to run anything on top of it until told how to go on.
        const refused = await failure(runner.up());
        expect(refused.problem).toContain('0002_broken is partially applied: 1 of 2 statements ran');
        expect(refused.problem).toContain('Nothing was run');
        // Fix statement 2 only; the run continues where it stopped, statement 1 is not repeated.
        writeFileSync(join(tmp.dir, '0002_broken.up.sql'), fixed);
        const repaired = await runner.repair('0002_broken', 'continue');
        expect(repaired.ran).toEqual([2]);
      } else {
        expect(e.problem).toMatch(/syntax error at or near/);
        expect(e.problem).toContain('rolled back');
        expect(await tables(db, dialect)).not.toContain('broken_first');
        // Nothing of it stays: fix the file, run up again.
        writeFileSync(join(tmp.dir, '0002_broken.up.sql'), fixed);
        await runner.up();
      }
      expect(await ledgerIds(db)).toEqual(['0001_ok', '0002_broken']);
      expect(await tables(db, dialect)).toEqual(expect.arrayContaining(['broken_first', 'broken_second']));
    });

    test('a missing .down.sql or down() is reported by status and refused before anything runs', async () => {
      const tmp = mkTmp({
        '0001_first.ts': TS_TABLE('first_t'),
        '0002_sql_only_up.up.sql': 'CREATE TABLE only_up (id int);\n',
        '0003_ts_without_down.ts':
          "import type { Knex } from 'knex';\nexport async function up(knex: Knex): Promise<void> {\n  await knex.schema.createTable('no_down', (t) => { t.increments('id'); });\n}\n",
      });
      cleanups.push(tmp.remove);
      const { runner, db } = runnerFor(fresh, tmp.dir, { ledgerTable: 'migrate_ledger' });
      const s = await runner.status();
      const byId = Object.fromEntries(s.migrations.map((m) => [m.id, m]));
      expect(byId['0002_sql_only_up']?.problems.join(' ')).toContain('0002_sql_only_up.down.sql does not exist');
      expect(byId['0003_ts_without_down']?.problems.join(' ')).toContain('exports no down()');
      await runner.up();
      const e = await failure(runner.down({ step: 2 }));
      expect(e.problem).toContain('0003_ts_without_down.ts exports no down()');
      expect(e.problem).toContain('0002_sql_only_up.down.sql does not exist');
      expect(e.problem).toContain('Nothing was reverted');
      expect(e.fix).toContain(join(tmp.dir, '0002_sql_only_up.down.sql'));
      expect(await ledgerIds(db)).toEqual(['0001_first', '0002_sql_only_up', '0003_ts_without_down']);
    });

    test('a TypeScript syntax error names the file and the compiler message; nothing runs', async () => {
      const tmp = mkTmp({
        '0001_fine.ts': TS_TABLE('fine_t'),
        '0002_typo.ts':
          "import type { Knex } from 'knex';\nexport async function up(knex: Knex): Promise<void> {\n  await knex.schema.createTable('x', (t) => { t.increments('id') }\n}\n",
      });
      cleanups.push(tmp.remove);
      const { runner, db } = runnerFor(fresh, tmp.dir);
      const s = await runner.status();
      expect(s.migrations.find((m) => m.id === '0002_typo')?.problems[0]).toMatch(/Cannot load migration 0002_typo\.ts: .*0002_typo\.ts:\d+:\d+: ERROR: /);
      const e = await failure(runner.up());
      expect(e.kind).toBe('work');
      expect(e.problem).toContain('0002_typo.ts');
      expect(await ledgerIds(db)).toEqual([]);
    });

    test('a broken file that is not being reverted does not block a rollback', async () => {
      const tmp = mkTmp({ '0001_fine.ts': TS_TABLE('fine_t') });
      cleanups.push(tmp.remove);
      const { runner, db, log } = runnerFor(fresh, tmp.dir);
      await runner.up();
      writeFileSync(join(tmp.dir, '0002_typo.ts'), 'export const = ;\n');
      expect((await failure(runner.up())).problem).toContain('Cannot load migration 0002_typo.ts');
      expect((await runner.down()).ids).toEqual(['0001_fine']);
      expect(log.lines.some((l) => l.startsWith('warning: Cannot load migration 0002_typo.ts'))).toBe(true);
      expect(await ledgerIds(db)).toEqual([]);
    });
  });

  describe('adopting knex history', () => {
    const p = freshFixture(dialect);

    test('knex_migrations rows show as applied, and are imported on the next up', async () => {
      const db = p.fresh.knex();
      // What knex would have left behind: the schema of the first two and its own table.
      const all = await loadMigrations(p.dir, dialect);
      for (const m of all.slice(0, 2)) await m.up(db);
      await db.schema.createTable('knex_migrations', (t) => {
        t.increments('id');
        t.string('name');
        t.integer('batch');
        t.timestamp('migration_time');
      });
      await db('knex_migrations').insert([
        { name: '0000_gone_long_ago.js', batch: 1, migration_time: new Date('2024-01-01T10:00:00Z') },
        { name: '0001_create_accounts.js', batch: 1, migration_time: new Date('2024-01-02T10:00:00Z') },
        { name: '0002_add_accounts_email.ts', batch: 2, migration_time: new Date('2024-01-03T10:00:00Z') },
      ]);
      const { runner, log } = runnerFor(p.fresh, p.dir, { adoptKnexTable: 'knex_migrations' });
      const s = await runner.status();
      expect(s.fromKnex).toBe(true);
      expect(statesOf(s.migrations)).toMatchObject({
        '0000_gone_long_ago': 'missing-file',
        '0001_create_accounts': 'applied',
        '0002_add_accounts_email': 'applied',
        '0004_accounts_name_index': 'pending',
      });
      expect(s.migrations.find((m) => m.id === '0001_create_accounts')?.appliedBy).toBe('knex (knex_migrations)');
      expect(await db.schema.hasTable('migrate_ledger')).toBe(false);

      const res = await runner.up();
      expect(res.adopted).toBe(3);
      expect(res.ids).toEqual([dialect === 'mysql' ? '0003_create_audit' : '0003_index_concurrently', '0004_accounts_name_index']);
      expect(log.lines.some((l) => l.includes('adopted 3 applied migrations from knex_migrations'))).toBe(true);
      const rows = (await db('migrate_ledger').select('id', 'applied_by').orderBy('id')) as Array<{ id: string; applied_by: string }>;
      expect(rows.map((x) => x.id)).toEqual([
        '0000_gone_long_ago',
        '0001_create_accounts',
        '0002_add_accounts_email',
        `0003_${dialect === 'mysql' ? 'create_audit' : 'index_concurrently'}`,
        '0004_accounts_name_index',
      ]);
      expect(rows[1]?.applied_by).toContain('adopting knex_migrations');
      const after = await runner.status();
      expect(after.fromKnex).toBe(false);
      expect(after.migrations.find((m) => m.id === '0001_create_accounts')?.appliedAt?.toISOString()).toBe('2024-01-02T10:00:00.000Z');
    });
  });
});

describe('the CLI end to end (node bin/migrate)', () => {
  let fresh: FreshDatabase;
  let fx: { dir: string; remove(): void };
  let cfg: string;
  beforeAll(async () => {
    fresh = await freshDatabase('mysql');
    fx = copyFixture(FIXTURES.mysql);
    cfg = join(fx.dir, '..', 'migrate.config.json');
    const c = fresh.connection;
    writeFileSync(
      cfg,
      JSON.stringify(
        { dialect: 'mysql', connection: { host: c.host, port: c.port, user: c.user, database: c.database }, migrations: { directory: 'migrations' } },
        null,
        2,
      ),
    );
  });
  afterAll(async () => {
    await fresh?.drop();
    fx?.remove();
  });

  function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((res) => {
      execFile(
        process.execPath,
        [join(ROOT, 'bin/migrate'), ...args],
        { cwd: dirname(cfg), env: { ...process.env, ...env }, timeout: 120_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          res({ code, stdout, stderr });
        },
      );
    });
  }

  test('status --format json, up, up --to unknown, syntax error, lock, bad connection', async () => {
    const st = await cli(['--config', cfg, 'status', '--format', 'json']);
    expect(st.stderr).toBe('');
    expect(st.code).toBe(0);
    const parsed = JSON.parse(st.stdout) as { migrations: Array<Record<string, unknown>> };
    expect(parsed.migrations.map((m) => m['state'])).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(Object.keys(parsed.migrations[0] ?? {})).toEqual(expect.arrayContaining(['id', 'state', 'checksum', 'appliedAt', 'appliedBy', 'host', 'phase']));

    const unknown = await cli(['--config', cfg, 'up', '--to', '0042_nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: No migration has the id "0042_nope"');
    expect(unknown.stderr).toContain('fix: ');

    const up = await cli(['--config', cfg, 'up', '--to', '0002_add_accounts_email']);
    expect(up.code).toBe(0);
    expect(up.stderr).toContain('applied 0001_create_accounts');
    expect(up.stderr).toContain('Applied 2 migrations.');

    const text = await cli(['--config', cfg, 'status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/0001_create_accounts\s+applied\s+pre-deploy/);
    expect(text.stdout).toContain('2 applied, 2 pending, 0 drift, 0 missing file');

    // The lock, held by this process: the CLI names us and exits 1.
    const held = await acquireRunLock(fresh.projectConfig(fx.dir));
    try {
      const locked = await cli(['--config', cfg, 'up']);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toMatch(/error: Another migrate run is working on database "mt_[^"]+" .*held by connection \d+/);
      expect(locked.stderr).toMatch(/fix: Wait for that run to finish.*KILL \d+;/);
    } finally {
      await held.release();
    }

    writeFileSync(join(fx.dir, '0005_bad.up.sql'), 'CREATE TABLE t5 (id int);\nCREATE TABLEX t6 (id int);\n');
    writeFileSync(join(fx.dir, '0005_bad.down.sql'), 'DROP TABLE t5;\n');
    const bad = await cli(['--config', cfg, 'up']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: Migration 0005_bad failed (up) at 0005_bad.up.sql line 2 (statement 2 of 2)');
    expect(bad.stderr).toContain('Applied in this run before the failure (kept): 0003_create_audit, 0004_accounts_name_index');

    const unreachable = join(dirname(cfg), 'unreachable.json');
    writeFileSync(unreachable, JSON.stringify({ dialect: 'mysql', connection: { host: '127.0.0.1', port: 1, user: 'root', database: 'x' } }));
    const conn = await cli(['--config', unreachable, 'status']);
    expect(conn.code).toBe(2);
    expect(conn.stderr).toContain('error: Cannot reach the MySQL/MariaDB server at 127.0.0.1:1');

    const usage = await cli(['--config', cfg, 'down', '--step', 'two']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--step must be a whole number');
  });

  test('make numbers and names the file; adopt prints a config without the password', async () => {
    const made = await cli(['--config', cfg, 'make', 'Add Invoice Totals', '--sql']);
    expect(made.code).toBe(0);
    const names = made.stdout
      .trim()
      .split('\n')
      .map((p) => p.replace(/.*\//, ''));
    expect(names).toEqual([expect.stringMatching(/^000[56]_add_invoice_totals\.up\.sql$/), expect.stringMatching(/^000[56]_add_invoice_totals\.down\.sql$/)]);
    const escape = await cli(['--config', cfg, 'make', '../../etc/evil']);
    expect(escape.code).toBe(2);
    expect(escape.stderr).toContain('looks like a path');

    const knexfile = join(dirname(cfg), 'knexfile.cjs');
    writeFileSync(
      knexfile,
      `module.exports = {
  development: { client: 'mysql2', connection: { host: 'db.internal', port: 3307, user: 'app', password: process.env.APP_DB_PASS, database: 'shop' }, migrations: { directory: './db/migrations', tableName: 'knex_history' } },
  production: { client: 'pg', connection: 'postgres://app:Sup3rSecret!@pg.internal:5432/shop' },
};
`,
    );
    // Without --env, like knex: NODE_ENV, else development.
    const dev = await cli(['adopt', '--knexfile', knexfile], { APP_DB_PASS: 'dev-Pa55word', NODE_ENV: '' });
    expect(dev.stderr).not.toContain('error');
    expect(dev.code).toBe(0);
    expect(JSON.parse(dev.stdout)).toEqual({
      dialect: 'mysql',
      connection: { host: 'db.internal', port: 3307, user: 'app', database: 'shop', passwordEnv: 'APP_DB_PASS' },
      migrations: { directory: './db/migrations', table: 'migrate_ledger' },
      adoptKnex: 'knex_history',
    });
    expect(dev.stdout + dev.stderr).not.toContain('dev-Pa55word');
    const prod = await cli(['adopt', '--knexfile', knexfile, '--env', 'production']);
    expect(prod.code).toBe(0);
    expect(prod.stdout + prod.stderr).not.toContain('Sup3rSecret');
    expect(JSON.parse(prod.stdout)).toMatchObject({
      dialect: 'postgres',
      connection: { host: 'pg.internal', user: 'app', passwordEnv: 'MIGRATE_DB_PASSWORD' },
      adoptKnex: true,
    });
    expect(prod.stderr).toContain('Export it as MIGRATE_DB_PASSWORD');
    const noEnv = await cli(['adopt', '--knexfile', knexfile, '--env', 'staging']);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toContain('has no environment "staging" (it has: development, production)');
  });
});
