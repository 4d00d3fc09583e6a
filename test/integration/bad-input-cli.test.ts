/**
 * Bad input through the real CLI (`node bin/migrate ...` in a temp project) on the machine's
 * MariaDB and PostgreSQL, each case on a fresh database dropped at the end: checksum drift, a
 * failing down, a missing down, hostile names (migration files, config names), and a failed
 * first `up`. Every refusal is checked the way a user would: exit code, the error/fix paragraph,
 * and the database as before (tables, columns, row counts, ledger rows).
 *
 * cli-bad-input.test.ts covers the rest of the issue (config syntax, credentials, unreachable
 * servers, syntax errors) against sandboxes with generated passwords.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, describe, expect, test } from 'vitest';
import { COMMAND_MODULE, buildProgram, commandWord } from '../../src/cli/main.ts';
import type { Dialect, ProjectConfig } from '../../src/config/types.ts';
import { createKnex } from '../../src/db/connect.ts';
import { isMigrateError, type MigrateError } from '../../src/errors.ts';
import type { Logger } from '../../src/log/logger.ts';
import { acquireRunLock } from '../../src/migrations/lock.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { freshDatabase } from '../helpers/databases.ts';
import { cli, EMPTY, expectError, expectOk, projects, snapshotOf, TS_TABLE, type Project } from '../fixtures/bad-input/harness.ts';

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, out: () => undefined };

const DIALECTS: Dialect[] = ['mysql', 'postgres'];

interface StatusJson {
  migrations: Array<{ id: string; state: string; checksum: string | null }>;
}

async function statusOf(p: Project): Promise<StatusJson['migrations']> {
  const r = await cli(['status', '--format', 'json'], p.dir);
  expectOk(r);
  return (JSON.parse(r.stdout) as StatusJson).migrations;
}

async function canary(db: Knex): Promise<void> {
  await db.schema.createTable('canary', (t) => {
    t.integer('id');
  });
  await db('canary').insert([{ id: 1 }, { id: 2 }]);
}

async function canaryRows(db: Knex): Promise<number> {
  if (!(await db.schema.hasTable('canary'))) return -1;
  return Number((await db('canary').count({ n: '*' }).first())?.['n']);
}

describe.each(DIALECTS)('%s', (dialect) => {
  const pool = projects();
  afterAll(() => pool.cleanup());
  const mysql = dialect === 'mysql';

  describe.concurrent('checksum drift', () => {
    test('an applied file edited afterwards: up and down refuse and name ack-drift; after ack-drift, up proceeds', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_drift_a.up.sql': 'CREATE TABLE drift_a (id int);\n',
        '0001_drift_a.down.sql': 'DROP TABLE drift_a;\n',
      });
      expectOk(await cli(['up'], p.dir));
      const upFile = join(p.migrations, '0001_drift_a.up.sql');
      writeFileSync(upFile, `${readFileSync(upFile, 'utf8')}-- reviewed: add an index later\n`);
      p.write('0002_drift_b.up.sql', 'CREATE TABLE drift_b (id int);\n');
      p.write('0002_drift_b.down.sql', 'DROP TABLE drift_b;\n');
      const before = await p.snapshot();
      expect(before.ledger).toHaveLength(1);

      const status = await cli(['status'], p.dir);
      expectOk(status);
      expect(status.stdout).toMatch(/0001_drift_a\s+drift/);
      expect(status.stdout).toContain('migrate ack-drift');

      const up = await cli(['up'], p.dir);
      expectError(up, 1, ['0001_drift_a', 'changed after being applied', 'nothing was run'], ['migrate ack-drift 0001_drift_a', 'Restore the applied version']);
      const down = await cli(['down'], p.dir);
      expectError(down, 1, ['0001_drift_a', 'changed after being applied', 'nothing was run'], ['migrate ack-drift 0001_drift_a']);
      // Refused before anything ran: 0002 not applied, 0001 not reverted.
      expect(await p.snapshot()).toEqual(before);

      // Acknowledging the wrong migration is refused and writes nothing.
      expectError(await cli(['ack-drift', '0002_drift_b'], p.dir), 2, ['0002_drift_b has not drifted (it is pending)'], ['"migrate status"']);
      expect(await p.snapshot()).toEqual(before);

      const ack = await cli(['ack-drift', '0001_drift_a'], p.dir);
      expectOk(ack);
      expect(ack.stderr).toContain('accepted the current file of 0001_drift_a');
      const acked = await statusOf(p);
      expect(acked.map((m) => `${m.id} ${m.state}`)).toEqual(['0001_drift_a applied', '0002_drift_b pending']);

      expectOk(await cli(['up'], p.dir));
      const after = await p.snapshot();
      expect(after.ledger?.map((l) => l.split(' ')[0])).toEqual(['0001_drift_a', '0002_drift_b']);
      // The ledger now holds the edited file's checksum.
      expect(after.ledger?.[0]).toBe(`0001_drift_a ${acked[0]?.checksum}`);
      expect(await p.tables()).toEqual(expect.arrayContaining(['drift_a', 'drift_b']));
    });

    test('a TypeScript migration edited after it was applied is drift too, and `down --to` refuses it', async ({ expect }) => {
      const p = await pool.create(dialect, { '0001_ts_a.ts': TS_TABLE('ts_drift_a'), '0002_ts_b.ts': TS_TABLE('ts_drift_b') });
      expectOk(await cli(['up'], p.dir));
      p.write('0001_ts_a.ts', TS_TABLE('ts_drift_a').replace("t.increments('id');", "t.increments('id'); t.string('note');"));
      const before = await p.snapshot();
      const down = await cli(['down', '--to', '0001_ts_a'], p.dir);
      expectError(down, 1, ['0001_ts_a (ledger ', 'changed after being applied'], ['migrate ack-drift 0001_ts_a']);
      expect(await p.snapshot()).toEqual(before);
    });
  });

  describe.concurrent('a failing down', () => {
    test('SQL: the error names the migration, the statement and the fix, and says what state the down left', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_two.up.sql': 'CREATE TABLE fd_one (id int);\nCREATE TABLE fd_two (id int);\n',
        '0001_two.down.sql': 'DROP TABLE fd_two;\n\nDROP TABLE fd_missing;\n',
      });
      expectOk(await cli(['up'], p.dir));
      const before = await p.snapshot();
      const downFile = join(p.migrations, '0001_two.down.sql');

      const r = await cli(['down'], p.dir);
      const e = expectError(
        r,
        1,
        [
          'Migration 0001_two failed (down) at 0001_two.down.sql line 3 (statement 2 of 2) "DROP TABLE fd_missing"',
          mysql ? /Unknown table '.*fd_missing'/ : 'table "fd_missing" does not exist',
          'the ledger still lists it as applied',
        ],
        mysql
          ? ['"migrate repair 0001_two --continue" (runs statement 2; correct statement 2 first)', '"migrate repair 0001_two --revert"']
          : [`${downFile}:3`, 'migrate ack-drift 0001_two', 'then run "migrate down" again'],
      );
      const after = await p.snapshot();
      // Whatever happened to the schema, the ledger still says applied: `up` will not re-run it.
      expect(after.ledger).toEqual(before.ledger);
      if (mysql) {
        // DDL is not transactional on MariaDB: statement 1 ran and stays, and the ledger says which.
        expect(e.problem).toContain(
          'Statements #1 (line 1) of 2 had already run (MySQL/MariaDB commits DDL implicitly, so they were not rolled back); the ledger still lists it as applied and records it as partially reverted: 1 of 2 down statements ran (0001_two.down.sql:1)',
        );
        expect(await p.tables()).toEqual(['fd_one', 'migrate_ledger', 'migrate_ledger_progress']);
        // down refuses to go on over a half-done revert; the fix the message gives works:
        // correct statement 2 only, and the revert continues there (statement 1 is not repeated).
        expectError(
          await cli(['down'], p.dir),
          1,
          ['0001_two is partially reverted: 1 of 2 down statements ran', 'Nothing was run'],
          ['migrate repair 0001_two --continue'],
        );
        writeFileSync(downFile, 'DROP TABLE fd_two;\n\nDROP TABLE fd_one;\n');
        const repaired = await cli(['repair', '0001_two', '--continue'], p.dir);
        expectOk(repaired);
        expect(repaired.stderr).toContain('0001_two is reverted: ran statement 2 of 0001_two.down.sql');
      } else {
        expect(e.problem).toContain('Nothing of it was reverted (rolled back)');
        expect(after).toEqual(before);
        // The fix the message gives works: correct the statement, accept the edited file, revert.
        writeFileSync(downFile, 'DROP TABLE fd_two;\n\nDROP TABLE fd_one;\n');
        expectError(await cli(['down'], p.dir), 1, ['0001_two', 'changed after being applied'], ['migrate ack-drift 0001_two']);
        expectOk(await cli(['ack-drift', '0001_two'], p.dir));
        expectOk(await cli(['down'], p.dir));
      }
      expect((await p.snapshot()).ledger).toEqual([]);
      expect(await p.tables()).toEqual(['migrate_ledger', 'migrate_ledger_progress']);
    });

    test('TypeScript: the failing statement is named, and on MariaDB the statements that already ran', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_keep.ts': TS_TABLE('fd_keep'),
        '0002_pair.ts': `import type { Knex } from 'knex';
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fd_ts_a', (t) => { t.increments('id'); });
  await knex.schema.createTable('fd_ts_b', (t) => { t.increments('id'); });
}
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('fd_ts_b');
  await knex.schema.dropTable('fd_ts_nope');
}
`,
      });
      expectOk(await cli(['up'], p.dir));
      const before = await p.snapshot();
      const r = await cli(['down', '--step', '2'], p.dir);
      const e = expectError(
        r,
        1,
        ['Migration 0002_pair failed (down) in 0002_pair.ts', /drop table [`"]fd_ts_nope[`"]/, 'the ledger still lists it as applied'],
        [
          `Fix down() in ${join(p.migrations, '0002_pair.ts')}`,
          ...(mysql ? ['migrate repair 0002_pair --continue'] : ['migrate ack-drift 0002_pair', 'then run "migrate down" again']),
        ],
      );
      // 0001 was not reached: a failure stops the run.
      expect(e.problem).not.toContain('Reverted in this run');
      const after = await p.snapshot();
      expect(after.ledger).toEqual(before.ledger);
      if (mysql) {
        expect(e.problem).toContain(
          'MySQL/MariaDB commits DDL implicitly: schema changes it made before failing remain (statements it had completed: 1) drop table `fd_ts_b`)',
        );
        expect(e.fix).toContain('so that it can run again after its partial changes');
        expect(e.problem).toContain('The ledger records 0002_pair as interrupted');
        expect(await p.tables()).toEqual(['fd_keep', 'fd_ts_a', 'migrate_ledger', 'migrate_ledger_progress']);
      } else {
        expect(e.problem).toContain('Its transaction was rolled back, nothing of it was reverted');
        expect(after).toEqual(before);
      }
    });

    test('the newer migration reverted before the failing one is reported as kept', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_bad_down.up.sql': 'CREATE TABLE kd_one (id int);\n',
        '0001_bad_down.down.sql': 'DROP TABLE kd_nope;\n',
        '0002_fine.up.sql': 'CREATE TABLE kd_two (id int);\n',
        '0002_fine.down.sql': 'DROP TABLE kd_two;\n',
      });
      expectOk(await cli(['up'], p.dir));
      const r = await cli(['down', '--step', '2'], p.dir);
      expectError(
        r,
        1,
        [
          'Migration 0001_bad_down failed (down) at 0001_bad_down.down.sql line 1 (statement 1 of 1)',
          'Reverted in this run before the failure (kept): 0002_fine',
        ],
        ['0001_bad_down.down.sql:1'],
      );
      const after = await p.snapshot();
      expect(after.ledger?.map((l) => l.split(' ')[0])).toEqual(['0001_bad_down']);
      expect(await p.tables()).toEqual(['kd_one', 'migrate_ledger', 'migrate_ledger_progress']);
    });
  });

  describe.concurrent('a missing down', () => {
    test('TypeScript without down(): down refuses, names the file and the fix, reverts nothing', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_no_down.ts':
          "import type { Knex } from 'knex';\nexport async function up(knex: Knex): Promise<void> {\n  await knex.schema.createTable('nd_ts', (t) => { t.increments('id'); });\n}\n",
      });
      expectOk(await cli(['up'], p.dir));
      const before = await p.snapshot();
      const r = await cli(['down'], p.dir);
      expectError(
        r,
        1,
        ['Cannot revert 0001_no_down', '0001_no_down.ts exports no down() function, so it cannot be reverted', 'Nothing was reverted'],
        ['export async function down(knex: Knex)', join(p.migrations, '0001_no_down.ts')],
      );
      expect(await p.snapshot()).toEqual(before);
    });

    test('down --to over a migration without a .down.sql refuses before reverting the newer ones', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_only_up.up.sql': 'CREATE TABLE nd_one (id int);\n',
        '0002_has_down.up.sql': 'CREATE TABLE nd_two (id int);\n',
        '0002_has_down.down.sql': 'DROP TABLE nd_two;\n',
      });
      expectOk(await cli(['up'], p.dir));
      const before = await p.snapshot();
      const r = await cli(['down', '--to', '0001_only_up'], p.dir);
      expectError(
        r,
        1,
        ['Cannot revert 0002_has_down, 0001_only_up', '0001_only_up.down.sql does not exist', 'Nothing was reverted'],
        [join(p.migrations, '0001_only_up.down.sql')],
      );
      expect(await p.snapshot()).toEqual(before);
    });
  });

  describe.concurrent('hostile names', () => {
    test('migration file names with quotes, backticks and semicolons are data: applied, recorded and reverted exactly', async ({ expect }) => {
      const sqlId = `0001_o'neil"dq\`bt;DROP TABLE canary;--`;
      const tsId = "0002_x'); DROP TABLE canary; --";
      const p = await pool.create(dialect, {
        [`${sqlId}.up.sql`]: 'CREATE TABLE hn_sql (id int);\n',
        [`${sqlId}.down.sql`]: 'DROP TABLE hn_sql;\n',
        [`${tsId}.ts`]: TS_TABLE('hn_ts'),
      });
      await canary(p.db);
      expectOk(await cli(['up'], p.dir));
      const applied = await p.snapshot();
      expect(applied.ledger?.map((l) => l.slice(0, l.lastIndexOf(' ')))).toEqual([sqlId, tsId]);
      expect(await canaryRows(p.db)).toBe(2);
      expect(await p.tables()).toEqual(['canary', 'hn_sql', 'hn_ts', 'migrate_ledger', 'migrate_ledger_progress']);
      expect((await statusOf(p)).map((m) => `${m.id} ${m.state}`)).toEqual([`${sqlId} applied`, `${tsId} applied`]);

      const down = await cli(['down', '--to', sqlId], p.dir);
      expectOk(down);
      expect((await p.snapshot()).ledger).toEqual([]);
      expect(await p.tables()).toEqual(['canary', 'migrate_ledger', 'migrate_ledger_progress']);
      expect(await canaryRows(p.db)).toBe(2);
    });

    test('a file name with a line break cannot forge output: refused before anything runs', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_fine.up.sql': 'CREATE TABLE lb_fine (id int);\n',
        '0001_fine.down.sql': 'DROP TABLE lb_fine;\n',
        '0002_evil\nfix: run DROP TABLE canary.up.sql': 'CREATE TABLE lb_evil (id int);\n',
        '0002_evil\nfix: run DROP TABLE canary.down.sql': 'DROP TABLE lb_evil;\n',
      });
      await canary(p.db);
      const before = await p.snapshot();
      const r = await cli(['up'], p.dir);
      // expectError also checks there is exactly one "fix: " line.
      expectError(r, 1, ['The migration file name "0002_evil\\nfix: run DROP TABLE canary.up.sql" contains a control character'], ['Rename it', p.migrations]);
      expect(await p.snapshot()).toEqual(before);
      // status shows the file (that is how the user finds it) but writes the line break as \u000a.
      const st = await cli(['status'], p.dir);
      expect(st.stdout).toContain('0002_evil\\u000afix: run DROP TABLE canary');
      expect(st.stdout.split('\n').some((l) => l.startsWith('fix: run DROP TABLE canary'))).toBe(false);
    });

    test('config names with SQL in them are refused by validation (exit 2) and nothing runs', async ({ expect }) => {
      const p = await pool.create(dialect, { '0001_t.ts': TS_TABLE('cfg_t') });
      await canary(p.db);
      const before = await p.snapshot();
      const variant = (name: string, change: (c: Project['configObject']) => Record<string, unknown>): string => {
        const f = join(p.dir, name);
        writeFileSync(f, JSON.stringify(change(structuredClone(p.configObject))));
        return f;
      };
      const inject = '"; DROP TABLE canary; --';
      const node = (name: string): Record<string, unknown> => ({
        name,
        role: name === 'db1' ? 'primary' : 'replica',
        host: '127.0.0.1',
        port: 3306,
        user: 'migrate',
      });
      const cluster = { name: 'main', flavor: mysql ? 'mariadb' : 'postgres', topology: 'primary-replica' };
      const c = p.fresh.connection;
      const [database, url, table, knexTable, nodeName, backend, clusterName] = await Promise.all([
        cli(['--config', variant('database.json', (o) => ({ ...o, connection: { ...o.connection, database: `x${inject}` } })), 'up'], p.dir),
        cli(['up'], join(p.dir, 'migrations'), {
          DATABASE_URL: `${mysql ? 'mysql' : 'postgres'}://${c.user}@${c.host}:${c.port}/${encodeURIComponent(`x${inject}`)}`,
        }),
        cli(['--config', variant('table.json', (o) => ({ ...o, migrations: { directory: 'migrations', table: `ledger${inject}` } })), 'up'], p.dir),
        cli(['--config', variant('knex.json', (o) => ({ ...o, adoptKnex: `knex_migrations${inject}` })), 'up'], p.dir),
        cli(
          [
            '--config',
            variant('node.json', (o) => ({ ...o, clusters: [{ ...cluster, nodes: [node('db1'), node('db2; set server writer/db1 state maint')] }] })),
            'status',
          ],
          p.dir,
        ),
        cli(
          [
            '--config',
            variant('backend.json', (o) => ({
              ...o,
              clusters: [
                {
                  ...cluster,
                  nodes: [node('db1'), node('db2')],
                  writer: { type: 'haproxy', socket: 'h.sock', backend: 'writer; shutdown sessions server writer/db1' },
                },
              ],
            })),
            'status',
          ],
          p.dir,
        ),
        cli(['--config', variant('cluster.json', (o) => ({ ...o, clusters: [{ ...cluster, name: '../../etc/x', nodes: [node('db1')] }] })), 'status'], p.dir),
      ]);
      expectError(
        database,
        2,
        [`"connection.database" in ${join(p.dir, 'database.json')} is "x\\"; DROP TABLE canary; --", which is not a plain database name`],
        ['letters, digits', 'no quotes, spaces or semicolons'],
      );
      expectError(url, 2, ['The database named in DATABASE_URL is', 'not a plain database name'], ['letters, digits']);
      expectError(table, 2, ['"migrations.table"', 'not a plain table name'], ['letters, digits and underscores']);
      expectError(knexTable, 2, ['"adoptKnex"', 'not a plain table name'], ['letters, digits and underscores']);
      expectError(
        nodeName,
        2,
        ['clusters[0].nodes[1].name in ', '"db2; set server writer/db1 state maint", which is not a plain name'],
        ['no spaces, quotes or semicolons'],
      );
      expectError(backend, 2, ['clusters[0].writer.backend in ', 'not a plain name'], ['no spaces, quotes or semicolons']);
      expectError(clusterName, 2, ['clusters[0].name in ', '"../../etc/x", which is not a plain name'], ['letters, digits']);
      expect(await p.snapshot()).toEqual(before);
      expect(await canaryRows(p.db)).toBe(2);
    });

    test('the lock, the ledger and the runner quote a hostile database name (defence behind the config check)', async ({ expect }) => {
      // The CLI refuses such a name (previous test); the engine must still be safe when called
      // with one, e.g. from code that builds its ProjectConfig itself.
      const fresh = await freshDatabase(dialect);
      const admin = fresh.knex();
      const hostile = `mt_${Math.random().toString(36).slice(2, 8)}'"\`; DROP TABLE canary; --`;
      await admin.raw('CREATE DATABASE ??', [hostile]);
      const config: ProjectConfig = {
        dialect,
        connection: { ...fresh.connection, database: hostile },
        migrationsDir: pool.tmp('hostile-db'),
        ledgerTable: 'migrate_ledger',
        clusters: [],
        source: 'test',
      };
      writeFileSync(join(config.migrationsDir, '0001_t.up.sql'), 'CREATE TABLE hd_t (id int);\n');
      writeFileSync(join(config.migrationsDir, '0001_t.down.sql'), 'DROP TABLE hd_t;\n');
      const db = createKnex(dialect, config.connection);
      try {
        await canary(admin);
        await canary(db);
        const runner = new Runner({ config, db, logger: silent });
        expect((await runner.up()).ids).toEqual(['0001_t']);
        // While one run holds the lock a second is refused, naming the database as it is.
        const held = await acquireRunLock(config);
        let second: unknown;
        try {
          second = await runner.down().catch((e: unknown) => e);
        } finally {
          await held.release();
        }
        expect(isMigrateError(second) && second.kind, String(second)).toBe('lock');
        expect((second as MigrateError).problem).toContain(`database "${hostile}"`);
        expect((await runner.down()).ids).toEqual(['0001_t']);
        const snap = await snapshotOf(db, dialect);
        expect(snap.ledger).toEqual([]);
        expect(Object.keys(snap.counts).sort()).toEqual(['canary', 'migrate_ledger', 'migrate_ledger_progress']);
        expect(await canaryRows(db)).toBe(2);
        expect(await canaryRows(admin)).toBe(2);
      } finally {
        await db.destroy();
        await admin.raw(mysql ? 'DROP DATABASE IF EXISTS ??' : 'DROP DATABASE IF EXISTS ?? WITH (FORCE)', [hostile]);
        await fresh.drop();
      }
    });
  });

  describe.concurrent('a failed first up leaves nothing behind', () => {
    test('the first migration fails: no ledger table, no tables at all', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_broken.up.sql': 'CREATE TABLEX broken (id int);\n',
        '0001_broken.down.sql': 'DROP TABLE broken;\n',
      });
      const r = await cli(['up'], p.dir);
      expectError(
        r,
        1,
        ['Migration 0001_broken failed (up) at 0001_broken.up.sql line 1', 'the ledger records nothing for it'],
        [`${join(p.migrations, '0001_broken.up.sql')}:1`],
      );
      expect(await p.snapshot()).toEqual(EMPTY);
      // And the next run, with the file fixed, creates the ledger and applies it.
      p.write('0001_broken.up.sql', 'CREATE TABLE broken (id int);\n');
      expectOk(await cli(['up'], p.dir));
      expect((await p.snapshot()).ledger?.map((l) => l.split(' ')[0])).toEqual(['0001_broken']);
    });

    test('a TypeScript first migration throwing: no ledger table', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_throws.ts':
          "import type { Knex } from 'knex';\nexport async function up(knex: Knex): Promise<void> {\n  await knex.raw('select 1');\n  throw new Error('the data is not what this migration expects');\n}\nexport async function down(): Promise<void> {}\n",
      });
      const r = await cli(['up'], p.dir);
      expectError(r, 1, ['Migration 0001_throws failed (up) in 0001_throws.ts', 'the data is not what this migration expects'], ['Fix up()']);
      expect(await p.snapshot()).toEqual(EMPTY);
    });

    test('the second migration fails: the ledger stays, with the first', async ({ expect }) => {
      const p = await pool.create(dialect, {
        '0001_ok.up.sql': 'CREATE TABLE ff_ok (id int);\n',
        '0001_ok.down.sql': 'DROP TABLE ff_ok;\n',
        '0002_broken.up.sql': 'CREATE TABLEX ff_broken (id int);\n',
        '0002_broken.down.sql': 'DROP TABLE ff_broken;\n',
      });
      const r = await cli(['up'], p.dir);
      expectError(r, 1, ['Migration 0002_broken failed (up)', 'Applied in this run before the failure (kept): 0001_ok'], []);
      expect((await p.snapshot()).ledger?.map((l) => l.split(' ')[0])).toEqual(['0001_ok']);
      expect(await p.tables()).toEqual(['ff_ok', 'migrate_ledger', 'migrate_ledger_progress']);
    });
  });
});

describe('command dispatch (start-up loads one command module)', () => {
  test('every registered command is in COMMAND_MODULE, and loading only its module registers it', async () => {
    const all = await buildProgram();
    const names = all.commands.map((c) => c.name()).sort();
    expect(Object.keys(COMMAND_MODULE).sort()).toEqual(names);
    for (const name of names) {
      const one = await buildProgram(['node', 'migrate', '--config', 'x.json', name, '--help']);
      expect(
        one.commands.map((c) => c.name()),
        name,
      ).toContain(name);
      expect(one.commands.length, name).toBeLessThan(names.length);
    }
  });

  test('the command word skips global options and their values', () => {
    expect(commandWord(['node', 'migrate', '-c', 'up', 'status'])).toBe('status');
    expect(commandWord(['node', 'migrate', '--config=a.json', 'down', '--step', '2'])).toBe('down');
    expect(commandWord(['node', 'migrate', '--help'])).toBeUndefined();
    expect(commandWord(['node', 'migrate', 'help', 'up'])).toBe('help');
  });
});

describe('apply takes the lock-wait flags of up/down', () => {
  test('apply, continue and resume list --lock-timeout, --lock-retries and --statement-timeout; a bad value exits 2 before anything connects', async () => {
    for (const name of ['apply', 'continue', 'resume']) {
      const program = await buildProgram(['node', 'migrate', name, '--help']);
      const flags = program.commands.find((c) => c.name() === name)!.options.map((o) => o.long);
      expect(flags, name).toEqual(expect.arrayContaining(['--lock-timeout', '--lock-retries', '--statement-timeout']));
    }
    const dir = mkdtempSync(join(tmpdir(), 'migrate-apply-lock-flags-'));
    try {
      // No config at all: the flag is checked first, so the error is about the flag, not the config.
      const r = await cli(['apply', '--lock-timeout', 'soon'], dir);
      expectError(r, 2, [/--lock-timeout is "soon", which is not a duration/], [/--lock-timeout 2s/]);
      // An output format the command does not have is a usage error too, not silently text.
      const runs = await cli(['runs', '--format', 'xml'], dir);
      expectError(runs, 2, [/--format xml is not supported by runs/], [/--format text or --format json/]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
