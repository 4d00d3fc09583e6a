import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import type { Dialect } from '../../src/config/types.ts';
import { runCli, type CliRun } from '../helpers/cli.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';

/**
 * Taking over the history of golang-migrate, goose, dbmate and Flyway: each tool's table is
 * written here in the shape the tool writes it (rows made up for the test), the schema the
 * "applied" migrations made is created by hand, and then `migrate status` / `migrate up` run
 * through the CLI. A migration run twice would fail (its CREATE TABLE exists already), a skipped
 * one would leave its table or column missing: the asserts read both the schema and the ledger.
 *
 * The files use our .up.sql/.down.sql pairs with the tools' ids (the tools' own layouts are read
 * by the layout loaders, tested elsewhere): the ledger side is what is tested here.
 */

interface Step {
  name: string;
  up: string;
  down: string;
}

const STEPS: Step[] = [
  { name: 'create_users', up: 'CREATE TABLE users (id int PRIMARY KEY, name varchar(50))', down: 'DROP TABLE users' },
  { name: 'add_email', up: 'ALTER TABLE users ADD COLUMN email varchar(100)', down: 'ALTER TABLE users DROP COLUMN email' },
  { name: 'create_orders', up: 'CREATE TABLE orders (id int PRIMARY KEY, user_id int)', down: 'DROP TABLE orders' },
];

interface Project {
  fresh: FreshDatabase;
  db: Knex;
  root: string;
  ids: string[];
  cli(...args: string[]): Promise<CliRun>;
  status(): Promise<{ states: Record<string, string>; problems: string[]; rows: Array<Record<string, unknown>> }>;
  /** Runs the up of migrations `k` (0-based) by hand, as the old tool did. */
  applyByHand(...k: number[]): Promise<void>;
  ledger(): Promise<Array<{ id: string; applied_by: string }>>;
  hasColumn(table: string, column: string): Promise<boolean>;
}

async function project(dialect: Dialect, prefixes: readonly string[], adopt: Record<string, unknown>, extra: Record<string, string> = {}): Promise<Project> {
  const fresh = await freshDatabase(dialect);
  const db = fresh.knex();
  const root = mkdtempSync(join(tmpdir(), 'migrate-adopt-'));
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  const ids = STEPS.map((s, k) => `${prefixes[k]}${s.name}`);
  // Each tool's own file layout, as the loader reads it (a project moving over keeps its files).
  for (const [k, s] of STEPS.entries()) {
    const id = ids[k]!;
    if (adopt['tool'] === 'goose') writeFileSync(join(dir, `${id}.sql`), `-- +goose Up\n${s.up};\n\n-- +goose Down\n${s.down};\n`);
    else if (adopt['tool'] === 'dbmate') writeFileSync(join(dir, `${id}.sql`), `-- migrate:up\n${s.up};\n\n-- migrate:down\n${s.down};\n`);
    else if (adopt['tool'] === 'flyway') {
      writeFileSync(join(dir, `${id}.sql`), `${s.up};\n`);
      writeFileSync(join(dir, `${id.replace(/^V/, 'U')}.sql`), `${s.down};\n`);
    } else {
      writeFileSync(join(dir, `${id}.up.sql`), `${s.up};\n`);
      writeFileSync(join(dir, `${id}.down.sql`), `${s.down};\n`);
    }
  }
  for (const [name, body] of Object.entries(extra)) writeFileSync(join(dir, name), body);
  const c = fresh.connection;
  writeFileSync(
    join(root, 'migrate.config.json'),
    JSON.stringify({ dialect, connection: { host: c.host, port: c.port, user: c.user, database: c.database }, migrations: { directory: 'migrations' }, adopt }),
  );
  const cli = (...args: string[]): Promise<CliRun> => runCli(args, { cwd: root, env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 120_000 });
  return {
    fresh,
    db,
    root,
    ids,
    cli,
    status: async () => {
      const r = await cli('status', '--format', 'json');
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { migrations: Array<Record<string, unknown>>; problems: string[] };
      return { states: Object.fromEntries(j.migrations.map((m) => [String(m['id']), String(m['state'])])), problems: j.problems, rows: j.migrations };
    },
    applyByHand: async (...k) => {
      for (const i of k) await db.raw(STEPS[i]?.up ?? '');
    },
    ledger: async () =>
      (await db.schema.hasTable('migrate_ledger'))
        ? ((await db('migrate_ledger').select('id', 'applied_by').orderBy('id')) as Array<{ id: string; applied_by: string }>)
        : [],
    hasColumn: (table, column) => db.schema.hasColumn(table, column),
  };
}

async function dispose(p: Project | undefined): Promise<void> {
  if (!p) return;
  await p.fresh.drop();
  rmSync(p.root, { recursive: true, force: true });
}

describe.each(['mysql', 'postgres'] as const)('adopting other tools’ ledgers on %s', (dialect) => {
  let p: Project | undefined;
  afterEach(async () => {
    await dispose(p);
    p = undefined;
  });
  afterAll(async () => {
    await dispose(p);
  });

  describe('golang-migrate', () => {
    const prefixes = ['000001_', '000002_', '000003_'];
    const table = async (db: Knex, version: number, dirty: boolean): Promise<void> => {
      await db.schema.createTable('schema_migrations', (t) => {
        t.bigInteger('version').notNullable().primary();
        t.boolean('dirty').notNullable();
      });
      await db('schema_migrations').insert({ version, dirty });
    };

    test('clean: versions up to the recorded one are applied, up runs only the rest', async () => {
      p = await project(dialect, prefixes, { tool: 'golang-migrate' });
      await p.applyByHand(0, 1);
      await table(p.db, 2, false);
      const s = await p.status();
      expect(s.states).toEqual({ '000001_create_users': 'applied', '000002_add_email': 'applied', '000003_create_orders': 'pending' });
      expect(s.rows[0]?.['appliedBy']).toBe('golang-migrate (schema_migrations)');
      const text = await p.cli('status');
      expect(text.stderr).toContain(
        'The applied migrations come from schema_migrations (golang-migrate); the next "migrate up" adopts them into migrate_ledger.',
      );

      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('adopted 2 applied migrations from schema_migrations into migrate_ledger');
      expect(up.stderr).toContain('Applied 1 migration.');
      expect(await p.db.schema.hasTable('orders')).toBe(true);
      const ledger = await p.ledger();
      expect(ledger.map((r) => r.id)).toEqual(p.ids);
      expect(ledger[0]?.applied_by).toContain('adopting schema_migrations');
      // golang-migrate's own table is left as it was.
      expect(await p.db('schema_migrations').select('version', 'dirty')).toEqual([{ version: expect.anything(), dirty: expect.anything() }]);
      expect(Number((await p.db('schema_migrations').first('version'))?.version)).toBe(2);
      // Once adopted, the old table is no longer what migrate reads, and the preview says so.
      const preview = await p.cli('adopt', '--from', 'golang-migrate');
      expect(preview.code, preview.stderr).toBe(0);
      expect(preview.stderr).toContain(
        'warning: migrate_ledger already exists (3 rows): migrate reads its own ledger, so this history would not be taken over.',
      );
    });

    test('dirty: the migration is partial, up refuses with the repair commands, --mark-applied settles it', async () => {
      p = await project(dialect, prefixes, { tool: 'golang-migrate' });
      // Version 2 was interrupted after its ALTER took effect.
      await p.applyByHand(0, 1);
      await table(p.db, 2, true);
      const s = await p.status();
      expect(s.states).toEqual({ '000001_create_users': 'applied', '000002_add_email': 'partial', '000003_create_orders': 'pending' });
      const text = await p.cli('status');
      expect(text.stdout).toContain('golang-migrate marked version 2 dirty in schema_migrations');
      expect(text.stdout).toContain('"migrate repair 000002_add_email --mark-applied"');

      const up = await p.cli('up');
      expect(up.code).toBe(1);
      expect(up.stderr).toContain('error: golang-migrate left a migration unfinished (read from schema_migrations): 000002_add_email');
      expect(up.stderr).toContain('Nothing was run or adopted.');
      expect(up.stderr).toContain(
        'fix: Check which of 000002_add_email\'s changes are in the database. If all are (finished by hand): "migrate repair 000002_add_email --mark-applied". If none are (undone by hand): "migrate repair 000002_add_email --forget". Then "migrate up".',
      );
      expect(await p.db.schema.hasTable('orders')).toBe(false);
      expect(await p.db.schema.hasTable('migrate_ledger')).toBe(false);
      const down = await p.cli('down');
      expect(down.code).toBe(1);
      expect(await p.db.schema.hasTable('users')).toBe(true);

      const cont = await p.cli('repair', '000002_add_email', '--continue');
      expect(cont.code).toBe(1);
      expect(cont.stderr).toContain('golang-migrate does not record which of its statements ran, so --continue cannot tell where to go on from');
      expect(await p.db.schema.hasTable('migrate_ledger')).toBe(false);

      expect(await p.hasColumn('users', 'email')).toBe(true);
      const mark = await p.cli('repair', '000002_add_email', '--mark-applied');
      expect(mark.code, mark.stderr).toBe(0);
      expect(mark.stderr).toContain('adopted 1 applied migration from schema_migrations into migrate_ledger');
      expect(mark.stderr).toContain('000002_add_email is recorded as applied (golang-migrate had left it unfinished); no statement ran');
      const again = await p.cli('up');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain('Applied 1 migration.');
      expect(await p.db.schema.hasTable('orders')).toBe(true);
      expect((await p.ledger()).map((r) => r.id)).toEqual(p.ids);
    });

    test('the recorded version has no file: named as missing, the files under it applied', async () => {
      p = await project(dialect, prefixes, { tool: 'golang-migrate' });
      await p.applyByHand(0, 1, 2);
      await table(p.db, 4, false);
      const s = await p.status();
      expect(s.states).toEqual({ '000001_create_users': 'applied', '000002_add_email': 'applied', '000003_create_orders': 'applied', '4': 'missing-file' });
      expect(s.problems).toContain(
        `schema_migrations (golang-migrate) records version 4 as applied, but no file in ${join(p.root, 'migrations')} has it: shown as missing-file 4.`,
      );
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('warning: 4 is recorded as applied but its file is gone');
      expect((await p.ledger()).map((r) => r.id)).toEqual(['000001_create_users', '000002_add_email', '000003_create_orders', '4']);
    });

    test('a dbmate table named as golang-migrate is a config error naming the right tool', async () => {
      p = await project(dialect, prefixes, { tool: 'golang-migrate' });
      await p.db.schema.createTable('schema_migrations', (t) => {
        t.string('version', 128).primary();
      });
      const st = await p.cli('status');
      expect(st.code).toBe(2);
      expect(st.stderr).toContain("error: The table schema_migrations has no column dirty, so it is not golang-migrate's history");
      expect(st.stderr).toContain('"adopt": {"tool": "dbmate"}');
      const asDbmate = await p.cli('adopt', '--from', 'dbmate');
      expect(asDbmate.code, asDbmate.stderr).toBe(0);
      expect(asDbmate.stdout).toMatch(/000001_create_users\s+pending/);
      expect(asDbmate.stderr).toContain('"adopt": {"tool":"dbmate"}; then "migrate status" and "migrate up" continue where dbmate stopped.');
    });
  });

  describe('goose', () => {
    const prefixes = ['20240101120000_', '20240102120000_', '20240103120000_'];

    test('the latest row of each version decides, version 0 is goose’s own; a version with no file is named', async () => {
      p = await project(dialect, prefixes, { tool: 'goose' });
      await p.applyByHand(0, 1);
      const db = p.db;
      await db.schema.createTable('goose_db_version', (t) => {
        t.increments('id');
        t.bigInteger('version_id').notNullable();
        t.boolean('is_applied').notNullable();
        t.timestamp('tstamp').defaultTo(db.fn.now());
      });
      await p.db('goose_db_version').insert([
        { version_id: 0, is_applied: true },
        { version_id: 20240101120000, is_applied: true, tstamp: new Date('2024-01-01T12:00:00Z') },
        { version_id: 20231231000000, is_applied: true },
        { version_id: 20240102120000, is_applied: true },
        // Orders was applied, then rolled back: pending again.
        { version_id: 20240103120000, is_applied: true },
        { version_id: 20240103120000, is_applied: false },
      ]);
      const s = await p.status();
      expect(s.states).toEqual({
        '20231231000000': 'missing-file',
        '20240101120000_create_users': 'applied',
        '20240102120000_add_email': 'applied',
        '20240103120000_create_orders': 'pending',
      });
      expect(s.problems.some((x) => x.includes('goose_db_version (goose) records version 20231231000000 as applied, but no file'))).toBe(true);

      const preview = await p.cli('adopt', '--from', 'goose');
      expect(preview.code, preview.stderr).toBe(0);
      expect(preview.stdout).toMatch(/20240103120000_create_orders\s+pending/);
      expect(preview.stderr).toContain('Read from goose_db_version (goose): 2 applied, 1 pending, 0 unfinished, 1 with no file. Nothing was written.');
      const wrong = await p.cli('adopt', '--from', 'flyway');
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('There is no table flyway_schema_history');
      expect(await p.db.schema.hasTable('migrate_ledger')).toBe(false);

      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('adopted 3 applied migrations from goose_db_version into migrate_ledger');
      expect(up.stderr).toContain('Applied 1 migration.');
      expect(await p.db.schema.hasTable('orders')).toBe(true);
      expect((await p.ledger()).map((r) => r.id)).toEqual(['20231231000000', ...p.ids]);
    });
  });

  describe('dbmate', () => {
    const prefixes = ['20240101120000_', '20240102120000_', '20240103120000_'];

    test('one row per applied version; up runs the others', async () => {
      p = await project(dialect, prefixes, { tool: 'dbmate' });
      await p.applyByHand(0, 2);
      await p.db.schema.createTable('schema_migrations', (t) => {
        t.string('version', 128).primary();
      });
      // Applied out of order: 1 and 3, not 2.
      await p.db('schema_migrations').insert([{ version: '20240101120000' }, { version: '20240103120000' }]);
      const s = await p.status();
      expect(s.states).toEqual({
        '20240101120000_create_users': 'applied',
        '20240102120000_add_email': 'pending',
        '20240103120000_create_orders': 'applied',
      });
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('20240102120000_add_email sort before the already applied 20240103120000_create_orders and will run out of order');
      expect(up.stderr).toContain('Applied 1 migration.');
      expect(await p.hasColumn('users', 'email')).toBe(true);
      expect((await p.ledger()).map((r) => r.id)).toEqual(p.ids);

      // Reverting everything empties our ledger; dbmate's rows (still there) must not come back
      // as applied, or the next up would skip migrations whose tables are gone.
      const down = await p.cli('down', '--to', p.ids[0] ?? '');
      expect(down.code, down.stderr).toBe(0);
      expect(await p.db.schema.hasTable('users')).toBe(false);
      expect(Number((await p.db('schema_migrations').count({ n: '*' }))[0]?.['n'])).toBe(2);
      expect(Object.values((await p.status()).states)).toEqual(['pending', 'pending', 'pending']);
      const again = await p.cli('up');
      expect(again.code, again.stderr).toBe(0);
      expect(await p.db.schema.hasTable('orders')).toBe(true);
    });
  });

  describe('pop', () => {
    const prefixes = ['20240101120000_', '20240102120000_', '20240103120000_'];

    test('schema_migration holds one row per applied version, as pop writes it; up runs the rest once', async () => {
      p = await project(dialect, prefixes, { tool: 'pop' });
      await p.applyByHand(0, 1);
      await p.db.schema.createTable('schema_migration', (t) => {
        t.string('version', 14).notNullable().unique();
      });
      await p.db('schema_migration').insert([{ version: '20240101120000' }, { version: '20240102120000' }]);
      const s = await p.status();
      expect(s.states).toEqual({
        '20240101120000_create_users': 'applied',
        '20240102120000_add_email': 'applied',
        '20240103120000_create_orders': 'pending',
      });
      expect(s.rows[0]?.['appliedBy']).toBe('pop (schema_migration)');
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('Applied 1 migration.');
      expect(await p.db.schema.hasTable('orders')).toBe(true);
      expect((await p.ledger()).map((r) => r.id)).toEqual(p.ids);
    });
  });

  describe('a configured table that is not there', () => {
    test('everything is pending, and status and up say which table was looked for', async () => {
      p = await project(dialect, ['20240101120000_', '20240102120000_', '20240103120000_'], { tool: 'dbmate', table: 'dbmate_history' });
      const s = await p.status();
      expect(Object.values(s.states)).toEqual(['pending', 'pending', 'pending']);
      expect(s.problems).toEqual([
        expect.stringContaining(
          `The config adopts the history of dbmate from dbmate_history, but database "${p.fresh.connection.database}" has no table dbmate_history`,
        ),
      ]);
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('warning: The config adopts the history of dbmate from dbmate_history');
      expect((await p.ledger()).map((r) => r.id)).toEqual(p.ids);
    });
  });

  describe('Flyway', () => {
    const prefixes = ['V1__', 'V2__', 'V3__'];
    const history = async (
      db: Knex,
      rows: Array<[number, string | null, string, string, boolean, number?]>,
      table = 'flyway_schema_history',
    ): Promise<void> => {
      await db.schema.createTable(table, (t) => {
        t.integer('installed_rank').primary();
        t.string('version', 50).nullable();
        t.string('description', 200).notNullable();
        t.string('type', 20).notNullable();
        t.string('script', 1000).notNullable();
        t.integer('checksum').nullable();
        t.string('installed_by', 100).notNullable();
        t.timestamp('installed_on').notNullable().defaultTo(db.fn.now());
        t.integer('execution_time').notNullable();
        t.boolean('success').notNullable();
      });
      await db(table).insert(
        rows.map(([rank, version, type, script, success, checksum]) => ({
          installed_rank: rank,
          version,
          description: script.replace(/^.*__|\.sql$/g, ''),
          type,
          script,
          checksum: checksum ?? null,
          installed_by: 'flyway',
          execution_time: 12,
          success,
        })),
      );
    };

    test("a file edited after Flyway ran it is named (Flyway's own CRC-32 compared), and still adopted as it is now", async () => {
      p = await project(dialect, prefixes, { tool: 'flyway' });
      await p.applyByHand(0, 1);
      // The checksums Flyway records, computed independently with Java's CRC32 and BufferedReader
      // (Flyway's ChecksumCalculator): V1 as written by project(); V2 as it was before an edit
      // ("varchar(100)" was "varchar(50)" when Flyway ran it): 1894922605 is the edited text's.
      await history(p.db, [
        [1, '1', 'SQL', 'V1__create_users.sql', true, -1141033612],
        [2, '2', 'SQL', 'V2__add_email.sql', true, 1894922605 + 1],
      ]);
      const s = await p.status();
      expect(s.states).toEqual({ V1__create_users: 'applied', V2__add_email: 'applied', V3__create_orders: 'pending' });
      expect(s.problems).toEqual([
        expect.stringMatching(
          /^flyway_schema_history \(flyway\): V2__add_email\.sql changed after flyway ran it \(checksum 1894922606 recorded, 1894922605 now; flyway validate refuses this too\)/,
        ),
      ]);
    });

    test('an undone version is pending, a failed one refuses up until --forget, then up runs both; a repeatable matches by script', async () => {
      p = await project(dialect, prefixes, { tool: 'flyway' }, { 'R__one_view.sql': 'CREATE VIEW one_view AS SELECT 1 AS x;\n' });
      await p.applyByHand(0);
      await p.db.raw('CREATE VIEW one_view AS SELECT 1 AS x');
      await history(p.db, [
        [1, '1', 'SQL', 'V1__create_users.sql', true],
        [2, '2', 'SQL', 'V2__add_email.sql', true],
        [3, null, 'SQL', 'R__one_view.sql', true],
        [4, '2', 'UNDO_SQL', 'U2__add_email.sql', true],
        [5, '3', 'SQL', 'V3__create_orders.sql', false],
      ]);
      const s = await p.status();
      expect(s.states).toEqual({ R__one_view: 'applied', V1__create_users: 'applied', V2__add_email: 'pending', V3__create_orders: 'partial' });
      const v3 = s.rows.find((r) => r['id'] === 'V3__create_orders');
      expect(v3?.['run']).toMatchObject({ state: 'partial', adoptedFrom: 'flyway', table: 'flyway_schema_history' });
      expect(String((v3?.['problems'] as string[])[0])).toContain('Flyway recorded in flyway_schema_history (installed_rank 5');

      const up = await p.cli('up');
      expect(up.code).toBe(1);
      expect(up.stderr).toContain('error: flyway left a migration unfinished (read from flyway_schema_history): V3__create_orders');
      expect(up.stderr).toContain('"migrate repair V3__create_orders --forget"');
      expect(await p.hasColumn('users', 'email')).toBe(false);
      expect(await p.db.schema.hasTable('migrate_ledger')).toBe(false);

      // Nothing of V3 is in place (no orders table): it is forgotten, and runs again.
      const forget = await p.cli('repair', 'V3__create_orders', '--forget');
      expect(forget.code, forget.stderr).toBe(0);
      expect(forget.stderr).toContain('adopted 2 applied migrations from flyway_schema_history into migrate_ledger');
      const st = await p.status();
      expect(st.states).toEqual({ R__one_view: 'applied', V1__create_users: 'applied', V2__add_email: 'pending', V3__create_orders: 'pending' });
      const again = await p.cli('up');
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain('Applied 2 migrations.');
      expect(await p.hasColumn('users', 'email')).toBe(true);
      expect(await p.db.schema.hasTable('orders')).toBe(true);
      expect((await p.ledger()).map((r) => r.id)).toEqual(['R__one_view', ...p.ids]);
    });

    test('a baseline covers the versions under it; Flyway’s schema row is ignored; a table of another name', async () => {
      p = await project(dialect, prefixes, { tool: 'flyway', table: 'fw_history' });
      await p.applyByHand(0, 1);
      await history(
        p.db,
        [
          [0, null, 'SCHEMA', '"public"', true],
          [1, '2', 'BASELINE', '<< Flyway Baseline >>', true],
        ],
        'fw_history',
      );
      const preview = await p.cli('adopt', '--from', 'flyway', '--table', 'fw_history');
      expect(preview.code, preview.stderr).toBe(0);
      expect(preview.stderr).toContain('Read from fw_history (flyway): 2 applied, 1 pending, 0 unfinished, 0 with no file. Nothing was written.');
      expect(preview.stderr).toContain('adopts this history already: "migrate up" copies it into migrate_ledger');
      const s = await p.status();
      expect(s.states).toEqual({ V1__create_users: 'applied', V2__add_email: 'applied', V3__create_orders: 'pending' });
      expect(s.problems).toEqual([]);
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toContain('adopted 2 applied migrations from fw_history into migrate_ledger');
      expect(await p.db.schema.hasTable('orders')).toBe(true);
    });
  });
});
