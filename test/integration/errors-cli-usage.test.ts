/**
 * Bad flags and arguments through the real CLI (`node bin/migrate`): the typed usage errors
 * test/errors-not-yet-raised.txt listed as never reached (issue 18). Every case asserts what a user
 * sees (exit code, the `error:` problem, the `fix:` line, no stack trace) and that the refused
 * command wrote nothing: the fixture directory is unchanged, no shadow server was started in a
 * shadow directory the case names, and the MariaDB database a config points at has no table.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { shadowDirName } from '../../src/sandbox/shadow-dir.ts';
import { runCli } from '../helpers/cli.ts';
import { cliEnv, expectRefusal, treeOf } from '../helpers/cli-refusal.ts';
import { type FreshDatabase, freshDatabase } from '../helpers/databases.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/migrate');

let db: FreshDatabase;
let dir: string;

const at = (...p: string[]): string => join(dir, ...p);

beforeAll(async () => {
  db = await freshDatabase('mysql');
  dir = mkdtempSync(join(tmpdir(), 'merr-usage-'));
  mkdirSync(at('migs'));
  writeFileSync(at('migs', '0001_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY);\n');
  writeFileSync(at('migs', '0001_t.down.sql'), 'DROP TABLE t;\n');
  mkdirSync(at('empty'));
  writeFileSync(at('comments.sql'), '-- the workload export came out empty\n\n');
  const c = db.connection;
  const cluster = { name: 'east', flavor: 'mariadb', topology: 'single', nodes: [{ name: 'a1', role: 'primary', host: c.host, port: c.port, user: c.user }] };
  writeFileSync(
    at('migrate.config.json'),
    JSON.stringify({
      dialect: 'mysql',
      connection: { host: c.host, port: c.port, user: c.user, database: c.database },
      migrations: { directory: 'migs' },
      clusters: [cluster],
    }),
  );
  // Shadow directories a user could point MIGRATE_SHADOW_DIR at by mistake.
  mkdirSync(at('shadow-link'));
  symlinkSync(tmpdir(), at('shadow-link', shadowDirName('mysql')));
  mkdirSync(at('shadow-sandbox', shadowDirName('mysql')), { recursive: true });
  // What `migrate sandbox up --topology single --dir <that directory>` leaves there.
  writeFileSync(at('shadow-sandbox', shadowDirName('mysql'), 'state.json'), JSON.stringify({ version: 1, topology: 'single', status: 'ready', nodes: [] }));
  writeFileSync(at('not-a-dir'), 'a file where a directory should be\n');
  // Knexfiles `migrate adopt --knexfile` cannot convert.
  const knexfiles: Record<string, string> = {
    'knex-sqlite.js': "module.exports = { client: 'sqlite3', connection: { filename: './dev.sqlite3' } };\n",
    'knex-throws.js': "module.exports = require('./knex-shared-settings');\n",
    'knex-number.js': 'module.exports = 5;\n',
    'knex-bad-url.js': "module.exports = { client: 'mysql2', connection: 'secret@db host/app' };\n",
    'knex-no-connection.js': "module.exports = { client: 'pg', connection: 5432 };\n",
  };
  for (const [f, text] of Object.entries(knexfiles)) writeFileSync(at(f), text);
}, 120_000);

afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let knex: ReturnType<FreshDatabase['knex']> | undefined;
async function tables(): Promise<unknown[]> {
  knex ??= db.knex();
  const [rows] = (await knex.raw('SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()')) as [unknown[]];
  return rows;
}

type Case = [what: string, args: string[], problem: RegExp, fix: RegExp, env?: () => Record<string, string>];

const cases: Case[] = [
  ['apply --format yaml', ['apply', '--format', 'yaml'], /^--format yaml is not supported by apply\.$/, /^Use --format text or --format json\.$/],
  [
    'check on a migration file instead of its directory',
    ['check', 'migs/0001_t.up.sql', '--dialect', 'mysql'],
    /^migs\/0001_t\.up\.sql is a file, not a directory of migrations\.$/,
    /^Pass the directory holding the migrations: migrate check path\/to\/migrations/,
  ],
  [
    'check on a directory with no migrations',
    ['check', 'empty', '--dialect', 'mysql'],
    /\/empty holds no migrations \(NNNN_name\.ts, or NNNN_name\.up\.sql with \.down\.sql\)\.$/,
    /create one with "migrate make <name> --dir DIR"/,
  ],
  [
    'check --queries with a file of comments only',
    ['check', 'migs', '--dialect', 'mysql', '--queries', 'comments.sql'],
    /^--queries comments\.sql holds no SELECT, INSERT, UPDATE or DELETE statement\.$/,
    /^Give one statement per line, or a JSON array/,
  ],
  [
    'apply --verify-status with --verify-command',
    ['apply', '--verify-command', 'true', '--verify-status', '200', '--dry-run'],
    /^--verify-status, --verify-retries and --verify-window go with --verify-url\.$/,
    /^Drop them, or verify with --verify-url\.$/,
  ],
  [
    'apply --verify-status 700',
    ['apply', '--verify-url', 'http://127.0.0.1:9/health', '--verify-status', '700', '--dry-run'],
    /^--verify-status 700 is not an HTTP status\.$/,
    /^Write e\.g\. --verify-status 200\.$/,
  ],
  [
    'adopt --knexfile with --table',
    ['adopt', '--knexfile', 'knex-sqlite.js', '--table', 'knex_migrations'],
    /^--table goes with --from only\.$/,
    /read from the knexfile \(migrations\.tableName\)/,
  ],
  [
    'check --queries-from a PostgreSQL URL for MySQL migrations',
    ['check', 'migs', '--dialect', 'mysql', '--queries-from', 'postgres://postgres@127.0.0.1:5432/postgres'],
    /^--queries-from names a postgres server, but the migrations are checked as mysql\.$/,
    /^Pass a mysql:\/\/ URL\.$/,
  ],
  [
    'check --queries-from a cluster name where no config can be read',
    ['check', '../migs', '--dialect', 'mysql', '--queries-from', 'east'],
    /^--queries-from east is not a URL, and no configuration with clusters could be read to find a cluster of that name \(No configuration found/,
    /^Pass a URL .* or the name of a cluster of migrate\.config, run where that file is/,
  ],
  [
    'shadow up --dialect oracle',
    ['shadow', 'up', '--dialect', 'oracle'],
    /^--dialect "oracle" is not supported\.$/,
    /^Use --dialect mysql .* or --dialect postgres\.$/,
  ],
  [
    'check --shadow that is no URL',
    ['check', 'migs', '--dialect', 'mysql', '--shadow', 'root@db host:3306'],
    /^--shadow is not a valid server URL\.$/,
    /^Write it as mysql:\/\/root@127\.0\.0\.1:3306 /,
  ],
  [
    'check --shadow http://',
    ['check', 'migs', '--dialect', 'mysql', '--shadow', 'http://127.0.0.1:3306'],
    /^--shadow uses the scheme "http", which is not supported\.$/,
    /^Use mysql:\/\/, mariadb:\/\/, postgres:\/\/ or postgresql:\/\/\.$/,
  ],
  [
    'check with MIGRATE_SHADOW_DIR holding a symbolic link where the shadow server lives',
    ['check', 'migs', '--dialect', 'mysql'],
    /is a symbolic link, not a directory created by `migrate shadow up`; it cannot hold the shadow server\.$/,
    /^Remove it, or set MIGRATE_SHADOW_DIR to a directory of your own\.$/,
    () => ({ MIGRATE_SHADOW_DIR: at('shadow-link') }),
  ],
  [
    'check with MIGRATE_SHADOW_DIR holding a sandbox',
    ['check', 'migs', '--dialect', 'mysql'],
    /holds a single sandbox, not a mysql shadow server\.$/,
    /^Take it down with `migrate sandbox down --dir .*`, or set MIGRATE_SHADOW_DIR to another directory\.$/,
    () => ({ MIGRATE_SHADOW_DIR: at('shadow-sandbox') }),
  ],
  [
    'check with MIGRATE_SHADOW_DIR naming a file: no shadow server can be started',
    ['check', 'migs', '--dialect', 'mysql'],
    /^No shadow server: no shadow server in .*not-a-dir.*, and a throwaway one cannot be started here: .*not-a-dir/,
    /pass --shadow URL or set MIGRATE_SHADOW_URL/,
    () => ({ MIGRATE_SHADOW_DIR: at('not-a-dir') }),
  ],
  ['sandbox status --dir ""', ['sandbox', 'status', '--dir', ''], /^The sandbox directory is empty\.$/, /^Pass --dir PATH or unset MIGRATE_SANDBOX_DIR/],
  [
    'sandbox status --format yaml',
    ['sandbox', 'status', '--format', 'yaml'],
    /^--format "yaml" is not a known output format\.$/,
    /^Use --format text \(default\) or --format json\.$/,
  ],
  ['sandbox up --provider podman', ['sandbox', 'up', '--provider', 'podman'], /^--provider "podman" is not a known provider\.$/, /^Use --provider auto/],
  [
    'make with a 101-character name',
    ['make', '--dir', 'made', 'a'.repeat(101)],
    /^The migration name is longer than 100 characters\.$/,
    /^Use a shorter name; the details belong in the file\.$/,
  ],
  [
    'adopt a knexfile for sqlite3',
    ['adopt', '--knexfile', 'knex-sqlite.js'],
    /^The knexfile uses the client "sqlite3", which migrate does not support\.$/,
    /^migrate supports MySQL\/MariaDB \(mysql, mysql2\) and PostgreSQL \(pg\)\.$/,
  ],
  [
    'adopt a knexfile that is not there',
    ['adopt', '--knexfile', 'knexfile.js'],
    /^The knexfile knexfile\.js cannot be read\.$/,
    /^Pass the path of your knexfile/,
  ],
  [
    'adopt a knexfile that throws when loaded',
    ['adopt', '--knexfile', 'knex-throws.js'],
    /^The knexfile knex-throws\.js could not be loaded: Cannot find module '\.\/knex-shared-settings'/,
    /^Fix the error in the knexfile \(run it with node to see the full error\)\.$/,
  ],
  [
    'adopt a knexfile exporting a number',
    ['adopt', '--knexfile', 'knex-number.js'],
    /^The knexfile knex-number\.js exports no configuration object\.$/,
    /^It must export \(module\.exports or export default\) a knex config/,
  ],
  [
    'adopt a knexfile whose connection string is no URL',
    ['adopt', '--knexfile', 'knex-bad-url.js'],
    /^The knexfile connection string is not a URL\.$/,
    /^Write it as mysql:\/\/user@host:3306\/db/,
  ],
  [
    'adopt a knexfile whose connection is a number',
    ['adopt', '--knexfile', 'knex-no-connection.js'],
    /^The knexfile has no usable "connection"\.$/,
    /^Give it a connection object/,
  ],
];

describe('usage errors through the CLI: exit 2, problem and fix, nothing written', () => {
  for (const [what, args, problem, fix, env] of cases) {
    test(what, async () => {
      const before = treeOf(dir);
      // The --queries-from cluster case runs where no config is: one level down, in empty/.
      const cwd = args.includes('east') ? at('empty') : dir;
      const r = await runCli(args, { cwd, env: cliEnv(env?.() ?? {}), timeoutMs: 60_000 });
      expectRefusal(r, 2, problem, fix);
      // Secrets never in output: the knexfile's would-be password appears nowhere.
      expect(r.stdout + r.stderr).not.toContain('secret');
      expect(r.stdout).toBe('');
      expect(treeOf(dir)).toEqual(before);
      expect(await tables()).toEqual([]);
    });
  }
});

describe('Ctrl-C before the first migration', () => {
  test('SIGINT while `up` is still connecting: exit 130, nothing ran', async () => {
    // A server that takes the connection and drops it once the signal is sent: the connect fails
    // after the interrupt, which is the moment the message is for.
    let child: ReturnType<typeof spawn> | undefined;
    const sockets: Socket[] = [];
    const server = createServer((s) => {
      sockets.push(s);
      child?.kill('SIGINT');
      setTimeout(() => s.destroy(), 300);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await new Promise<{ code: number; stdout: string; stderr: string; ms: number }>((ok) => {
        const t0 = performance.now();
        let stdout = '';
        let stderr = '';
        child = spawn(process.execPath, [BIN, 'up'], { cwd: at('empty'), env: cliEnv({ DATABASE_URL: `mysql://root@127.0.0.1:${port}/app` }) });
        child.stdout?.on('data', (b: Buffer) => (stdout += b));
        child.stderr?.on('data', (b: Buffer) => (stderr += b));
        child.on('exit', (code) => ok({ code: code ?? 99, stdout, stderr, ms: performance.now() - t0 }));
      });
      expect(sockets.length).toBeGreaterThan(0);
      expectRefusal(r, 130, /^Interrupted by SIGINT before any migration ran; nothing was changed\.$/, /^Run the command again when ready\.$/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((ok) => server.close(ok));
    }
  });
});
