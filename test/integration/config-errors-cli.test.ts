/**
 * Config and cluster-selection errors through the real CLI (`node bin/migrate`), the typed errors
 * test/errors-not-yet-raised.txt listed as never reached. The configs point at the machine's
 * MariaDB (127.0.0.1:3306) and a fresh database on it: each case asserts what a user sees (exit 2,
 * one `error:` paragraph naming the problem, a `fix:` line) and that the refused command created
 * nothing there (no ledger, no table).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { type FreshDatabase, freshDatabase } from '../helpers/databases.ts';

let db: FreshDatabase;
let dir: string;

beforeAll(async () => {
  db = await freshDatabase('mysql');
  dir = mkdtempSync(join(tmpdir(), 'mcfg-errors-'));
  writeFileSync(join(dir, '0001_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY);\n');
  writeFileSync(join(dir, '0001_t.down.sql'), 'DROP TABLE t;\n');
}, 120_000);

afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const connection = () => ({ host: db.connection.host, port: db.connection.port, user: db.connection.user, database: db.connection.database });
const cluster = (name: string) => ({
  name,
  flavor: 'mariadb',
  topology: 'single',
  nodes: [{ name: `${name}-db1`, role: 'primary', host: db.connection.host, port: db.connection.port, user: db.connection.user }],
  writer: { type: 'none' },
});

/** Runs `migrate --config <config> ARGS` with `config` written to a file; no DATABASE_URL or MIGRATE_* from the caller. */
async function migrate(config: Record<string, unknown>, args: string[]) {
  const file = join(dir, `cfg-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ migrations: { directory: dir }, ...config }));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && !(k.startsWith('MIGRATE_') && k !== 'MIGRATE_SHADOW_DIR')),
  );
  return runCli(['--config', file, ...args], { cwd: dir, env, timeoutMs: 120_000 });
}

/** Exit 2, the problem on the `error:` line, the fix on the `fix:` line; and nothing created on the server. */
async function expectRefused(r: { code: number; stderr: string }, problem: RegExp, fix: RegExp): Promise<void> {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(/^error: /m);
  expect(r.stderr.match(/^error: .*$/m)?.[0]).toMatch(problem);
  expect(r.stderr.match(/^fix: .*$/m)?.[0]).toMatch(fix);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const [tables] = (await db.knex().raw('SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()')) as [unknown[]];
  expect(tables).toEqual([]);
}

describe('config errors through the CLI', () => {
  test('a config with neither "connection" nor "url"', async () => {
    const r = await migrate({ dialect: 'mysql' }, ['up']);
    await expectRefused(r, /has neither "connection" nor "url"\./, /Add "connection": .* or "url"/);
  });

  test('a connection without "dialect"', async () => {
    const r = await migrate({ connection: connection() }, ['up']);
    await expectRefused(r, /"dialect" is missing in .*cfg-.*\.json\./, /Add "dialect": "mysql"/);
  });

  test('"adoptKnex" and "adopt" both given', async () => {
    const r = await migrate({ dialect: 'mysql', connection: connection(), adoptKnex: 'knex_migrations', adopt: { tool: 'knex', table: 'knex_migrations' } }, [
      'up',
    ]);
    await expectRefused(r, /has both "adoptKnex" and "adopt": migrate adopts one history\./, /./);
  });
});

describe('cluster selection errors through the CLI', () => {
  const base = () => ({ dialect: 'mysql', connection: connection() });

  test('apply on a config without clusters', async () => {
    const r = await migrate(base(), ['apply', '--dry-run']);
    await expectRefused(r, /describes no clusters\./, /Add a "clusters" list/);
  });

  test('apply on a config with two clusters and no --cluster names both', async () => {
    const r = await migrate({ ...base(), clusters: [cluster('east'), cluster('west')] }, ['apply', '--dry-run']);
    await expectRefused(r, /has 2 clusters\./, /Choose one with --cluster \(east, west\)\./);
  });

  test('apply --cluster with an unknown name lists the known ones', async () => {
    const r = await migrate({ ...base(), clusters: [cluster('east'), cluster('west')] }, ['apply', '--cluster', 'north', '--dry-run']);
    await expectRefused(r, /No cluster named north in /, /Use one of: east, west\./);
  });

  test('apply --strategy with no such strategy', async () => {
    const r = await migrate({ ...base(), clusters: [cluster('east')] }, ['apply', '--strategy', 'fastest', '--dry-run']);
    await expectRefused(r, /--strategy fastest is not a strategy\./, /Use --strategy in-place or --strategy replica-first/);
  });

  test('apply --statement-timeout on a MariaDB cluster is refused: it would bound nothing there', async () => {
    const r = await migrate({ ...base(), clusters: [cluster('east')] }, ['apply', '--statement-timeout', '5s', '--dry-run']);
    await expectRefused(
      r,
      /--statement-timeout sets PostgreSQL's statement_timeout; migrate apply on .* clusters would bound no statement/,
      /Nothing was changed\./,
    );
  });
});

describe('flag combinations refused before anything runs', () => {
  const base = () => ({ dialect: 'mysql', connection: connection() });
  const cases: [string, string[] | (() => string[]), RegExp, RegExp][] = [
    ['down --to with --step', ['down', '--to', '0001_t', '--step', '1'], /--to and --step cannot be used together\./, /Give either --to ID or --step N\./],
    [
      'repair with two modes',
      ['repair', '0001_t', '--continue', '--forget'],
      /Choose one of .* \(got --continue and --forget\)\./,
      /migrate repair 0001_t --continue/,
    ],
    ['repair --from without --continue', ['repair', '0001_t', '--revert', '--from', '2'], /--from goes with --continue only\./, /--continue --from N/],
    ['repair --from 0', ['repair', '0001_t', '--continue', '--from', '0'], /--from must be a statement number of at least 1 \(got "0"\)\./, /--from 3/],
    ['adopt with neither --knexfile nor --from', ['adopt'], /migrate adopt needs --knexfile or --from\./, /migrate adopt --knexfile/],
    ['adopt --from a tool it does not know', ['adopt', '--from', 'liquibase'], /--from liquibase is not a tool migrate adopts\./, /Use one of: /],
    [
      'adopt --table with a name that is no plain name',
      ['adopt', '--from', 'knex', '--table', 'x;drop'],
      /--table "x;drop" is not a plain table name\./,
      /letters, digits/,
    ],
    ['topology --format yaml', ['topology', '--format', 'yaml'], /--format yaml is not supported by topology\./, /--format text or --format json/],
    [
      'check --ack without a reason',
      () => ['check', dir, '--dialect', 'mysql', '--ack', 'BC102:0001_t: '],
      /--ack "BC102:0001_t: " gives no reason\./,
      /The reason is shown in every report\./,
    ],
  ];
  for (const [what, args, problem, fix] of cases) {
    test(what, async () => {
      await expectRefused(await migrate(base(), typeof args === 'function' ? args() : args), problem, fix);
    });
  }
});
