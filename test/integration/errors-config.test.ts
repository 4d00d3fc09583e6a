/**
 * Bad configuration, bad connections and clusters that cannot run what `apply` plans, through the
 * real CLI (`node bin/migrate`) against the machine's MariaDB and PostgreSQL: the typed errors
 * test/errors-not-yet-raised.txt listed as never reached (issue 18). Each case asserts the exit
 * code, the `error:` problem and the `fix:` line, no stack trace, and that nothing changed on the
 * server: the same tables, the same ledger rows, the pending ALTER not run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createKnex } from '../../src/db/connect.ts';
import { runCli } from '../helpers/cli.ts';
import { cliEnv, expectRefusal, treeOf } from '../helpers/cli-refusal.ts';
import { type FreshDatabase, freshDatabase } from '../helpers/databases.ts';
import { type DigestServer, startMariaDbWithDigests } from '../helpers/digest-servers.ts';

let my: FreshDatabase;
let myKnex: Knex;
let dir: string;
let socketServer: Server;

const at = (...p: string[]): string => join(dir, ...p);

const conn = () => ({ host: my.connection.host, port: my.connection.port, user: my.connection.user, database: my.connection.database });
const node = (name: string, role: string) => ({ name, role, host: my.connection.host, port: my.connection.port, user: my.connection.user });
const cluster = (extra: Record<string, unknown> = {}) => ({
  name: 'east',
  flavor: 'mariadb',
  topology: 'single',
  nodes: [node('a1', 'primary')],
  writer: { type: 'none' },
  ...extra,
});

/** Writes `config` (with the migrations directory) to a file of the fixture directory; returns its name. */
function configFile(name: string, config: Record<string, unknown>): string {
  writeFileSync(at(name), JSON.stringify({ migrations: { directory: 'migs' }, ...config }));
  return name;
}

const migrate = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env: cliEnv(env), timeoutMs: 120_000 });

/** What "nothing changed" means on the MariaDB database: its tables, its ledger rows, t.id's type. */
async function state(): Promise<unknown> {
  const [tables] = (await myKnex.raw('SELECT table_name AS n FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1')) as [{ n: string }[]];
  const [cols] = (await myKnex.raw("SELECT column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 't'")) as [
    { t: string }[],
  ];
  const ledger = (await myKnex('migrate_ledger').select('id').orderBy('id')) as { id: string }[];
  return { tables: tables.map((t) => t.n), cols: cols.map((c) => c.t), ledger: ledger.map((l) => l.id) };
}

let applied: unknown;

beforeAll(async () => {
  my = await freshDatabase('mysql');
  myKnex = my.knex();
  dir = mkdtempSync(join(tmpdir(), 'merr-config-'));
  mkdirSync(at('migs'));
  writeFileSync(at('migs', '0001_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY);\n');
  writeFileSync(at('migs', '0001_t.down.sql'), 'DROP TABLE t;\n');
  // A table copy: the gate plans it replica-first, which needs a cluster that can run it.
  writeFileSync(at('migs', '0002_big.up.sql'), 'ALTER TABLE t MODIFY id BIGINT;\n');
  writeFileSync(at('migs', '0002_big.down.sql'), 'ALTER TABLE t MODIFY id INT;\n');
  configFile('plain.json', { dialect: 'mysql', connection: conn() });
  const up = await migrate(['--config', 'plain.json', 'up', '--to', '0001_t']);
  expect(up.code, up.stderr).toBe(0);
  applied = await state();
  expect(applied).toMatchObject({ cols: ['int(11)'], ledger: ['0001_t'] });
  // A password file that exists but cannot be read whoever runs migrate (root too): a socket.
  socketServer = createServer();
  await new Promise<void>((ok) => socketServer.listen(at('db.password.sock'), ok));
  writeFileSync(at('a-file'), 'not a directory\n');
}, 120_000);

afterAll(async () => {
  await new Promise((ok) => socketServer?.close(ok));
  await my?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('config files that cannot be used: exit 2, nothing changed', () => {
  const pw = (passwordFile: string) => ({ dialect: 'mysql', connection: { ...conn(), passwordFile } });
  const cases: [string, () => string[], RegExp, RegExp][] = [
    [
      '--config naming no file',
      () => ['--config', 'nope.json', 'status'],
      /^The config file nope\.json does not exist\.$/,
      /^Pass the path of an existing migrate\.config/,
    ],
    [
      'a config that is a JSON array',
      () => {
        writeFileSync(at('array.json'), '[{"dialect": "mysql"}]\n');
        return ['--config', 'array.json', 'status'];
      },
      /^The config in .*array\.json is not an object\.$/,
      /^The config must be a JSON object/,
    ],
    [
      'a JavaScript config that throws',
      () => {
        writeFileSync(at('migrate.throws.js'), "throw new Error('DB_HOST is not set');\n");
        return ['--config', 'migrate.throws.js', 'status'];
      },
      /^The config file .*migrate\.throws\.js could not be loaded: DB_HOST is not set$/,
      /^Fix the error in the file; it must `export default` a config object\.$/,
    ],
    [
      'a url without a database',
      () => ['--config', configFile('url-nodb.json', { url: `mysql://${conn().user}@${conn().host}:${conn().port}` }), 'status'],
      /url-nodb\.json names no database\.$/,
      /^Add the database after the host/,
    ],
    [
      'a url without a user',
      () => ['--config', configFile('url-nouser.json', { url: `mysql://${conn().host}:${conn().port}/${conn().database}` }), 'status'],
      /url-nouser\.json names no user\.$/,
      /^Add the user before the host/,
    ],
    [
      'a passwordFile that does not exist',
      () => ['--config', configFile('pw-missing.json', pw('db.password')), 'status'],
      /^connection\.passwordFile db\.password does not exist\.$/,
      /^Create the file holding only the password/,
    ],
    [
      'a passwordFile under a file',
      () => ['--config', configFile('pw-notdir.json', pw('a-file/db.password')), 'status'],
      /^connection\.passwordFile a-file\/db\.password cannot be read \(ENOTDIR\)\.$/,
      /^Make .*a-file\/db\.password readable by the user running migrate\.$/,
    ],
    [
      'a passwordFile that is a socket',
      () => ['--config', configFile('pw-socket.json', pw('db.password.sock')), 'status'],
      /^connection\.passwordFile db\.password\.sock cannot be read \(ENXIO\)\.$/,
      /readable by the user running migrate \(chmod 600 and owned by that user\)\.$/,
    ],
  ];
  for (const [what, args, problem, fix] of cases) {
    test(what, async () => {
      expectRefusal(await migrate(args()), 2, problem, fix);
      expect(await state()).toEqual(applied);
    });
  }
});

describe('connections refused by the server: exit 2, nothing created', () => {
  test('a database that does not exist', async () => {
    const name = `${my.connection.database}_absent`;
    const r = await migrate(['up'], { DATABASE_URL: `mysql://${conn().user}@${conn().host}:${conn().port}/${name}` });
    expectRefusal(r, 2, new RegExp(`^The database "${name}" does not exist on ${conn().host}:${conn().port}\\.$`), /^Create it first \(CREATE DATABASE /);
    const [rows] = (await myKnex.raw('SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?', [name])) as [unknown[]];
    expect(rows).toEqual([]);
  });

  test('a PostgreSQL role that may not connect (CONNECTION LIMIT 0)', async () => {
    const pgdb = await freshDatabase('postgres');
    const role = `${pgdb.connection.database}_locked`;
    const admin = createKnex('postgres', { ...pgdb.connection, database: 'postgres' }, { pool: { min: 0, max: 1 } });
    try {
      await admin.raw(`CREATE ROLE "${role}" LOGIN CONNECTION LIMIT 0`);
      const url = `postgres://${role}@${pgdb.connection.host}:${pgdb.connection.port}/${pgdb.connection.database}`;
      const r = await migrate(['up'], { DATABASE_URL: url });
      expectRefusal(
        r,
        2,
        new RegExp(`^Could not connect as ${role}@.*: too many connections for role "${role}"$`),
        /^Check the connection settings in the config\.$/,
      );
      const t = (await pgdb.knex().raw("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")) as { rows: { n: number }[] };
      expect(t.rows[0]?.n).toBe(0);
    } finally {
      await admin.raw(`DROP ROLE IF EXISTS "${role}"`);
      await admin.destroy();
      await pgdb.drop();
    }
  });
});

describe('clusters that cannot run the plan: refused before anything changes', () => {
  const cfg = (name: string, c: Record<string, unknown>) => configFile(name, { dialect: 'mysql', connection: conn(), clusters: [cluster(c)] });
  const cases: [string, () => string[], 1 | 2, RegExp, RegExp][] = [
    [
      'topology: a master-master cluster whose active replicates from nobody',
      () => ['--config', cfg('mm.json', { topology: 'master-master', nodes: [node('a1', 'active')] }), 'topology'],
      1,
      /^The live topology disagrees with the config \(1 problem\): east: a1: configured as active but replicates from nobody\.$/,
      /^Repair replication or correct the roles in the config/,
    ],
    [
      'apply replica-first with a haproxy writer that names no socket',
      () => ['--config', cfg('writer-haproxy.json', { writer: { type: 'haproxy' } }), 'apply', '--strategy', 'replica-first'],
      2,
      /^Cluster east: writer type haproxy needs "socket" and "backend"\.$/,
      /to the writer\. Nothing was changed\.$/,
    ],
    [
      'apply replica-first with a command writer that names no command',
      () => ['--config', cfg('writer-command.json', { writer: { type: 'command' } }), 'apply', '--strategy', 'replica-first'],
      2,
      /^Cluster east: writer type command needs "command"\.$/,
      /moves the writer endpoint"\. Nothing was changed\.$/,
    ],
    [
      'apply --dry-run replica-first with a command read pool that names no command',
      () => ['--config', cfg('pool-command.json', { readPool: { type: 'command' } }), 'apply', '--strategy', 'replica-first', '--dry-run'],
      2,
      /^Cluster east: readPool type command needs "command"\.$/,
      /^Add "command": "the command that drains or readies a replica"\./,
    ],
    [
      'apply replica-first with a command read pool that names no command',
      () => ['--config', cfg('pool-command.json', { readPool: { type: 'command' } }), 'apply', '--strategy', 'replica-first'],
      2,
      /^Cluster east: readPool type command needs "command"\.$/,
      /drains or readies a replica"\. Nothing was changed\.$/,
    ],
    [
      'apply replica-first on a single server',
      () => ['--config', cfg('single.json', {}), 'apply'],
      2,
      /^Cluster east has no replica to alter first\.$/,
      /^Replica-first needs at least one replica .* Nothing was changed\.$/,
    ],
    [
      // The dry run refuses what the run refuses: it used to print the plan with a bracketed note and exit 0.
      'apply --dry-run replica-first on a single server',
      () => ['--config', cfg('single.json', {}), 'apply', '--dry-run'],
      2,
      /^Cluster east has no replica to alter first\.$/,
      /^Replica-first needs at least one replica .* Nothing was changed\.$/,
    ],
    [
      'apply replica-first on a primary-replica cluster whose writer is marked "active"',
      () => ['--config', cfg('pr-active.json', { topology: 'primary-replica', nodes: [node('a1', 'active')] }), 'apply'],
      2,
      /^Cluster east has 0 nodes with role "primary"; exactly one is needed\.$/,
      /^Mark exactly one node "role": "primary" in the config\. Nothing was changed\.$/,
    ],
    [
      'apply --dry-run in place on a single cluster whose node is marked "active"',
      () => ['--config', cfg('single-active.json', { nodes: [node('a1', 'active')] }), 'apply', '--strategy', 'in-place', '--dry-run'],
      2,
      /^Cluster east has no node with role "primary"\.$/,
      /^Mark one node "role": "primary"\. Nothing was changed\.$/,
    ],
  ];
  for (const [what, args, code, problem, fix] of cases) {
    test(what, async () => {
      const argv = args();
      // The gate's verdict cache (.migrate/cache) is written by design; a journal, a lock or a state file is not.
      const files = (): string[] => treeOf(dir).filter((p) => !/^\.migrate(\/cache(\/|$)|$)/.test(p));
      const before = files();
      expectRefusal(await migrate(argv), code, problem, fix);
      expect(await state()).toEqual(applied);
      expect(files()).toEqual(before);
    });
  }
});

describe('--queries-from servers that record no usable statements: exit 2', () => {
  test('PostgreSQL with pg_stat_statements installed but not preloaded', async () => {
    const pgdb = await freshDatabase('postgres');
    try {
      await pgdb.knex().raw('CREATE EXTENSION pg_stat_statements');
      const c = pgdb.connection;
      mkdirSync(at('pg-migs'), { recursive: true });
      writeFileSync(at('pg-migs', '0001_t.up.sql'), 'CREATE TABLE t (id int PRIMARY KEY);\n');
      writeFileSync(at('pg-migs', '0001_t.down.sql'), 'DROP TABLE t;\n');
      const r = await migrate(['check', 'pg-migs', '--dialect', 'postgres', '--queries-from', `postgres://${c.user}@${c.host}:${c.port}/${c.database}`]);
      // The server's reason, not the statement migrate sent to read the statistics.
      expectRefusal(
        r,
        2,
        /^pg_stat_statements cannot be read on the --queries-from server: pg_stat_statements must be loaded via shared_preload_libraries\.$/,
        /^Add pg_stat_statements to shared_preload_libraries/,
      );
    } finally {
      await pgdb.drop();
    }
  });

  describe('a MariaDB with performance_schema ON', () => {
    let server: DigestServer;
    let url: string;
    beforeAll(async () => {
      server = await startMariaDbWithDigests();
      const k = createKnex('mysql', { host: server.host, port: server.port, user: server.user, database: '' }, { pool: { min: 0, max: 1 } });
      await k.raw('CREATE DATABASE app');
      await k.destroy();
      url = `mysql://${server.user}@${server.host}:${server.port}/app`;
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
    });

    test('no statement ran --min-count times', async () => {
      const r = await migrate(['check', 'migs', '--dialect', 'mysql', '--queries-from', url, '--min-count', '1000000']);
      expectRefusal(
        r,
        2,
        new RegExp(`^--queries-from: .* of app on 127\\.0\\.0\\.1:${server.port} hold no statement run at least 1000000 times\\.$`),
        /^Check that app is the database the application uses, lower --min-count/,
      );
    });

    test('the statements_digest consumer switched off', async () => {
      const k = createKnex('mysql', { host: server.host, port: server.port, user: server.user, database: 'app' }, { pool: { min: 0, max: 1 } });
      try {
        await k.raw("UPDATE performance_schema.setup_consumers SET ENABLED = 'NO' WHERE NAME = 'statements_digest'");
      } finally {
        await k.destroy();
      }
      const r = await migrate(['check', 'migs', '--dialect', 'mysql', '--queries-from', url]).finally(async () => {
        // Back on, so the order of the tests on this server does not matter.
        const k2 = createKnex('mysql', { host: server.host, port: server.port, user: server.user, database: 'app' }, { pool: { min: 0, max: 1 } });
        await k2.raw("UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME = 'statements_digest'").finally(() => k2.destroy());
      });
      expectRefusal(
        r,
        2,
        /^The statements_digest consumer of performance_schema is disabled on the --queries-from server, so no digests are recorded\.$/,
        /^Run UPDATE performance_schema\.setup_consumers SET ENABLED = 'YES'/,
      );
    });
  });
});
