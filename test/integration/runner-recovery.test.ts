/**
 * The runner after a crash, a kill, a Ctrl-C, a timeout or a lost server, through the real CLI
 * (`node bin/migrate` in its own process, real signals) against its own MariaDB and PostgreSQL
 * (sandbox servers, so one can be restarted for real). Each case asserts what a user would
 * check: the exit code, the message, what the ledger records, and that no statement ran twice
 * or was claimed wrongly (rows counted, objects looked up on the server).
 *
 * Every case writes its outcome for docs/reliability.md (test/faults/record.ts, "runner" table).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Dialect } from '../../src/config/types.ts';
import { createKnex } from '../../src/db/connect.ts';
import { mysqlLockName, pgLockKeys } from '../../src/engines/index.ts';
import { cli, show, startCli, type CliResult } from '../faults/harness.ts';
import { recordRunnerCase } from '../faults/record.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

type Row = Record<string, unknown>;

async function q(db: Knex, dialect: Dialect, sql: string, bindings: readonly Knex.Value[] = []): Promise<Row[]> {
  const r: unknown = await db.raw(sql, bindings as Knex.Value[]);
  return dialect === 'mysql' ? (r as [Row[]])[0] : (r as { rows: Row[] }).rows;
}

interface Project {
  dir: string;
  config: string;
  database: string;
  /** Admin connection to the project's database (closed with the suite). */
  db: Knex;
  write(name: string, body: string): void;
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  start(args: string[], env?: Record<string, string>): ReturnType<typeof startCli>;
  ledger(): Promise<string[]>;
  progress(): Promise<Row[]>;
  tables(): Promise<string[]>;
  count(table: string): Promise<number>;
  hasColumn(table: string, column: string): Promise<boolean>;
  /** The server session running a statement that starts like `prefix`, once it runs. */
  runningSession(prefix: string): Promise<number>;
  /** Who holds the migrate run lock now (null: free). */
  lockHolder(): Promise<number | null>;
}

describe.each(['mysql', 'postgres'] as const)('%s: the runner knows what ran', (dialect) => {
  const mysql = dialect === 'mysql';
  let sb: RunningSandbox;
  const dirs: string[] = [];
  const opened: Knex[] = [];

  beforeAll(async () => {
    sb = await startSandbox({ topology: mysql ? 'single' : 'postgres' });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(opened.map((k) => k.destroy().catch(() => undefined)));
    await sb?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function project(files: Record<string, string>, o: { cluster?: boolean } = {}): Promise<Project> {
    const n = sb.nodes[0]!;
    const database = `rr_${Math.random().toString(36).slice(2, 10)}`;
    const admin = createKnex(
      dialect,
      { host: n.host, port: n.port, user: n.user, password: n.password, database: mysql ? '' : 'postgres' },
      { pool: { min: 0, max: 1 } },
    );
    await admin.raw(mysql ? `CREATE DATABASE \`${database}\`` : `CREATE DATABASE "${database}"`);
    await admin.destroy();
    const db = createKnex(dialect, { host: n.host, port: n.port, user: n.user, password: n.password, database }, { pool: { min: 0, max: 2 } });
    opened.push(db);
    const dir = mkdtempSync(join(tmpdir(), `mrr-${dialect}-`));
    dirs.push(dir);
    mkdirSync(join(dir, 'migrations'));
    const write = (name: string, body: string): void => writeFileSync(join(dir, 'migrations', name), body);
    for (const [k, v] of Object.entries(files)) write(k, v);
    const config = join(dir, 'migrate.config.json');
    // With a cluster (one node: the same server) for `migrate apply`, which the hand-off belongs to.
    const clusters = o.cluster
      ? {
          clusters: [
            {
              name: 'c1',
              flavor: mysql ? 'mariadb' : 'postgres',
              topology: 'single',
              nodes: [{ name: 'primary', role: 'primary', host: n.host, port: n.port, user: n.user, passwordFile: n.passwordFile }],
              writer: { type: 'none' },
            },
          ],
        }
      : {};
    writeFileSync(
      config,
      JSON.stringify({ dialect, connection: { host: n.host, port: n.port, user: n.user, database, passwordFile: n.passwordFile }, ...clusters }),
    );
    const args = (a: string[]): string[] => ['--config', config, ...a];
    return {
      dir,
      config,
      database,
      db,
      write,
      run: (a, env) => cli(args(a), env),
      start: (a, env) => startCli(args(a), env),
      ledger: async () =>
        (await db.schema.hasTable('migrate_ledger')) ? ((await db('migrate_ledger').select('id').orderBy('id')) as Row[]).map((r) => String(r['id'])) : [],
      progress: async () => ((await db.schema.hasTable('migrate_ledger_progress')) ? ((await db('migrate_ledger_progress').select('*')) as Row[]) : []),
      tables: async () =>
        (
          await q(
            db,
            dialect,
            mysql
              ? 'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()'
              : "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'",
          )
        )
          .map((r) => String(r['t']))
          .sort(),
      count: async (t) => Number((await db(t).count({ n: '*' }).first())?.['n']),
      hasColumn: (t, c) => db.schema.hasColumn(t, c),
      runningSession: (prefix) =>
        waitFor(`"${prefix}" running on the server`, async () => {
          const rows = mysql
            ? await q(db, dialect, 'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE ? AND ID <> CONNECTION_ID()', [
                database,
                `%${prefix}%`,
              ])
            : await q(
                db,
                dialect,
                "SELECT pid AS id FROM pg_stat_activity WHERE datname = ? AND state = 'active' AND query LIKE ? AND pid <> pg_backend_pid()",
                [database, `%${prefix}%`],
              );
          return rows[0] ? Number(rows[0]['id']) : undefined;
        }),
      lockHolder: async () => {
        if (mysql) {
          const r = await q(db, dialect, 'SELECT IS_USED_LOCK(?) AS id', [mysqlLockName(database)]);
          return r[0]?.['id'] === null || r[0]?.['id'] === undefined ? null : Number(r[0]['id']);
        }
        const [k1, k2] = pgLockKeys(database);
        const r = await q(
          db,
          dialect,
          "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = ?::oid AND objid = ?::oid AND objsubid = 2 AND granted",
          [k1, k2],
        );
        return r[0] ? Number(r[0]['pid']) : null;
      },
    };
  }

  const expectExit = (r: CliResult, code: number): void => {
    expect(r.signal, show(r)).toBeNull();
    expect(r.code, show(r)).toBe(code);
    expect(r.stderr, show(r)).not.toMatch(/unexpected failure|^\s+at\s/m);
  };

  test('killed (SIGKILL) during a statement: the ledger holds the exact count, up refuses, repair --continue finishes; the INSERT ran once', async () => {
    const sleepStmt = mysql ? 'DO SLEEP(4)' : 'SELECT pg_sleep(4)';
    const p = await project({
      '0001_seed.up.sql': `CREATE TABLE k1 (id int);\nCREATE TABLE events_log (note varchar(20));\nINSERT INTO events_log VALUES ('seeded');\n${sleepStmt};\nALTER TABLE events_log ADD COLUMN k int;\n`,
      '0001_seed.down.sql': 'ALTER TABLE events_log DROP COLUMN k;\nDROP TABLE events_log;\nDROP TABLE k1;\n',
    });
    const run = p.start(['up']);
    await p.runningSession(mysql ? 'SLEEP(4)' : 'pg_sleep(4)');
    process.kill(run.pid, 'SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    // The server finishes (MariaDB) or drops (PostgreSQL) what it was doing once its client is gone.
    await waitFor('the run lock to be free', async () => (await p.lockHolder()) === null, 30_000);

    const status = await p.run(['status']);
    const up = await p.run(['up']);
    if (mysql) {
      // MariaDB ran the rest of the round trip (the sleep, then the count): 4 of 5 ran, recorded.
      expect(status.stdout, show(status)).toMatch(/0001_seed\s+partial/);
      expect(status.stdout).toContain('partially applied: 4 of 5 statements ran (0001_seed.up.sql:1-4)');
      expect(status.stdout).toContain('its process stopped without recording why (killed?)');
      expectExit(up, 1);
      expect(up.stderr).toContain('error: 0001_seed is partially applied: 4 of 5 statements ran');
      expect(up.fix).toContain('"migrate repair 0001_seed --continue" (runs statement 5)');
      expect(await p.ledger()).toEqual([]);
      expect(await p.count('events_log')).toBe(1);
      const repaired = await p.run(['repair', '0001_seed', '--continue']);
      expectExit(repaired, 0);
      expect(repaired.stderr).toContain('0001_seed is applied: ran statement 5 of 0001_seed.up.sql');
    } else {
      // One transaction: the kill rolled it back, so nothing stays and up runs it from the start.
      expect(status.stdout, show(status)).toMatch(/0001_seed\s+pending/);
      expectExit(up, 0);
      expect(up.stderr).toContain('nothing of it took effect, so it runs from the start');
    }
    expect(await p.ledger()).toEqual(['0001_seed']);
    expect(await p.count('events_log')).toBe(1);
    expect(await p.hasColumn('events_log', 'k')).toBe(true);
    expect(await p.progress()).toEqual([]);
    recordRunnerCase({
      id: `r1-killed-mid-statement-${dialect}`,
      dialect,
      fault: `\`migrate up\` SIGKILLed while statement 4 of 5 (${sleepStmt}) runs, after an INSERT`,
      expected: mysql
        ? 'the ledger holds "4 of 5 ran"; up refuses naming repair; repair --continue runs statement 5 only'
        : 'the transaction rolls back; up runs it again from the start',
      runs: [
        { command: 'migrate up (killed)', result: killed },
        { command: 'migrate up', result: up },
      ],
      after: `ledger: 0001_seed applied; events_log holds ${await p.count('events_log')} row (the INSERT ran once)`,
      held: true,
    });
  }, 180_000);

  test('the server restarted during a statement: the runner reconnects, reads the ledger (and asks the server) before saying what ran', async () => {
    const slow = mysql ? 'CREATE TABLE r3 AS SELECT SLEEP(8) AS s' : 'SELECT pg_sleep(8)';
    const p = await project({
      '0001_restart.up.sql': `CREATE TABLE r1 (id int);\nINSERT INTO r1 VALUES (1);\n${slow};\nCREATE TABLE r4 (id int);\n`,
      '0001_restart.down.sql': `DROP TABLE r4;\n${mysql ? 'DROP TABLE r3;\n' : ''}DROP TABLE r1;\n`,
    });
    const run = p.start(['up']);
    await p.runningSession(mysql ? 'SLEEP(8)' : 'pg_sleep(8)');
    const t0 = Date.now();
    await sb.restart(sb.nodes[0]!.name);
    const r = await run.done;
    const restartMs = Date.now() - t0;
    // The sandbox brings a restarted MariaDB back read-only (a replica's safe default); this one is
    // a lone primary, so make it writable again for the cases after this one (root writes anyway).
    if (mysql) await p.db.raw('SET GLOBAL read_only = OFF');
    expectExit(r, 1);
    expect(r.stderr).toContain('error: The connection to the server was lost while 0001_restart ran (up) at statement 3 of 4');
    expect(r.stderr).toMatch(/The server answered again after [\d.]+ (ms|s); read back from the ledger:/);
    // Nothing claimed that did not happen: no "insert its ledger row by hand".
    expect(r.stderr).not.toMatch(/insert its ledger row|ran \(up\) but recording/);
    if (mysql) {
      expect(r.error).toContain('0001_restart is partially applied: 2 of 4 statements ran (0001_restart.up.sql:1-2)');
      expect(r.error).toContain(
        'Statement 3 (0001_restart.up.sql:3) "CREATE TABLE r3 AS SELECT SLEEP(8) AS s" did not run: table r3 does not exist (checked on the server)',
      );
      expect(r.fix).toContain('"migrate repair 0001_restart --continue" (runs statements 3-4)');
      expect(await p.ledger()).toEqual([]);
      // The file's sleep is shortened for the repair (statements 1-2 unchanged, so continue is allowed).
      p.write(
        '0001_restart.up.sql',
        'CREATE TABLE r1 (id int);\nINSERT INTO r1 VALUES (1);\nCREATE TABLE r3 AS SELECT SLEEP(0) AS s;\nCREATE TABLE r4 (id int);\n',
      );
      const repaired = await p.run(['repair', '0001_restart', '--continue']);
      expectExit(repaired, 0);
      expect(repaired.stderr).toContain('ran statements 3, 4');
    } else {
      expect(r.error).toContain('nothing of 0001_restart stays (its transaction did not commit); the ledger records nothing for it');
      expect(r.fix).toContain('Run "migrate up" again');
      expect(await p.ledger()).toEqual([]);
      // Only the (empty) ledger tables: the run's lock went with its session, so it does not
      // remove them as a failed first run otherwise does.
      expect(await p.tables()).toEqual(['migrate_ledger', 'migrate_ledger_progress']);
      p.write('0001_restart.up.sql', 'CREATE TABLE r1 (id int);\nINSERT INTO r1 VALUES (1);\nSELECT pg_sleep(0);\nCREATE TABLE r4 (id int);\n');
      expectExit(await p.run(['up']), 0);
    }
    expect(await p.ledger()).toEqual(['0001_restart']);
    expect(await p.count('r1')).toBe(1);
    expect(await p.progress()).toEqual([]);
    recordRunnerCase({
      id: `r2-server-restarted-${dialect}`,
      dialect,
      fault: `the server restarted (stop + start of the sandbox's ${mysql ? 'mariadbd' : 'postgres'}, ${Math.round(restartMs / 100) / 10} s) while statement 3 of 4 ran`,
      expected: mysql
        ? 'reconnect, read the count (2 of 4), ask the server about statement 3 (its table is absent: did not run); exit 1 naming repair --continue'
        : 'reconnect, find no ledger row: the transaction did not commit, nothing stays; exit 1, up runs it again',
      runs: [{ command: 'migrate up', result: r }],
      after: `ledger after the fix: 0001_restart applied once; r1 holds ${await p.count('r1')} row`,
      held: true,
    });
  }, 180_000);

  test('Ctrl-C (SIGINT) cancels the statement on the server, records what ran, releases the lock and exits 130', async () => {
    const p = await project({
      '0001_app.up.sql': 'CREATE TABLE app_t (id int);\nINSERT INTO app_t VALUES (1);\n',
      '0001_app.down.sql': 'DROP TABLE app_t;\n',
    });
    expectExit(await p.run(['up']), 0);
    await p.db.raw(mysql ? 'CREATE TABLE slow_ctl (on_ int)' : 'CREATE TABLE slow_ctl (on_ int)');
    await p.db('slow_ctl').insert({ on_: 1 });
    // MariaDB: a table copy whose SELECT sleeps while slow_ctl has a row. PostgreSQL: an ALTER
    // (ACCESS EXCLUSIVE on app_t until commit) followed by a long statement in the same transaction.
    const slow = mysql
      ? 'CREATE TABLE c2 AS SELECT SLEEP(IF((SELECT COUNT(*) FROM slow_ctl) > 0, 30, 0)) AS s'
      : 'SELECT pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM slow_ctl) THEN 30 ELSE 0 END)';
    p.write('0002_lock.up.sql', `ALTER TABLE app_t ADD COLUMN x int;\nCREATE TABLE c1 (id int);\n${slow};\nCREATE TABLE c3 (id int);\n`);
    p.write('0002_lock.down.sql', `DROP TABLE c3;\n${mysql ? 'DROP TABLE c2;\n' : ''}DROP TABLE c1;\nALTER TABLE app_t DROP COLUMN x;\n`);
    const run = p.start(['up']);
    const session = await p.runningSession(mysql ? 'SLEEP(IF(' : 'pg_sleep(CASE');
    // An application read of the table the migration altered, started while it runs.
    const t0 = Date.now();
    const read = (async () => {
      const reader = createKnex(
        dialect,
        { host: sb.nodes[0]!.host, port: sb.nodes[0]!.port, user: sb.nodes[0]!.user, password: sb.nodes[0]!.password, database: p.database },
        { pool: { min: 0, max: 1 } },
      );
      try {
        await reader.raw('SELECT count(*) FROM app_t');
        return Date.now() - t0;
      } finally {
        await reader.destroy();
      }
    })();
    await sleep(500);
    const signalAt = Date.now();
    process.kill(run.pid, 'SIGINT');
    const r = await run.done;
    const exitMs = Date.now() - signalAt;
    const readMs = await read;
    expectExit(r, 130);
    expect(r.stderr).toContain('SIGINT: stopping (cancelling the statement on the server, recording what ran)');
    expect(r.stderr).toContain(`Migration 0002_lock interrupted by SIGINT (up) at 0002_lock.up.sql line 3 (statement 3 of 4)`);
    expect(r.stderr).toContain(mysql ? `cancelled on the server (KILL QUERY ${session})` : `cancelled on the server (SELECT pg_cancel_backend(${session}))`);
    // Nothing of it runs on the server any more, and the run lock is free.
    expect(await p.lockHolder()).toBeNull();
    const still = mysql
      ? await q(p.db, dialect, 'SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [session])
      : await q(p.db, dialect, 'SELECT pid FROM pg_stat_activity WHERE pid = ?', [session]);
    expect(still).toEqual([]);
    if (mysql) {
      expect(r.error).toContain('the ledger records 0002_lock as partially applied: 2 of 4 statements ran (0002_lock.up.sql:1-2)');
      expect(r.fix).toContain('"migrate repair 0002_lock --continue" (runs statements 3-4)');
      expect(await p.tables()).not.toContain('c2');
      await p.db('slow_ctl').delete();
      expectExit(await p.run(['repair', '0002_lock', '--continue']), 0);
      expect(await p.tables()).toEqual(expect.arrayContaining(['c1', 'c2', 'c3']));
    } else {
      // The application read waited behind the ALTER's lock only until the cancel, not 30 s.
      expect(readMs).toBeLessThan(signalAt - t0 + 10_000);
      expect(r.error).toContain('Nothing of it was applied (rolled back); the ledger records nothing for it.');
      expect(await p.hasColumn('app_t', 'x')).toBe(false);
      await p.db('slow_ctl').delete();
      expectExit(await p.run(['up']), 0);
    }
    expect(await p.ledger()).toEqual(['0001_app', '0002_lock']);
    expect(await p.hasColumn('app_t', 'x')).toBe(true);
    recordRunnerCase({
      id: `r3-sigint-${dialect}`,
      dialect,
      fault:
        'Ctrl-C (SIGINT) while statement 3 of 4 runs (a 30 s statement; on PostgreSQL after an ALTER holding ACCESS EXCLUSIVE on a table an application reads)',
      expected: 'cancel the statement on the server from a second connection, record what ran, release the run lock, exit 130 naming the next command',
      runs: [{ command: 'migrate up (SIGINT)', result: r }],
      after: `exited ${exitMs} ms after the signal; the application read returned ${readMs} ms after it started (the statement would have run 30 s); run lock free; ${mysql ? '2 of 4 recorded, repair --continue finished it' : 'rolled back, up applied it'}`,
      timings: { exitAfterSignalMs: exitMs, applicationReadMs: readMs },
      held: true,
    });
  }, 180_000);

  test('a TypeScript migration whose promise never settles: --progress-every says so, --migration-timeout stops it, SIGTERM too', async () => {
    const hang = `import type { Knex } from 'knex';
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('hang_t', (t) => { t.increments('id'); });
  await new Promise(() => { setInterval(() => undefined, 1000); });
}
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('hang_t');
}
`;
    const p = await project({ '0001_hang.ts': hang });
    const timed = await p.run(['up', '--migration-timeout', '3s', '--progress-every', '1s']);
    expectExit(timed, 1);
    expect(timed.stderr).toContain('0001_hang still running after 1 s; no query of it is running on the server: its code is waiting on something else');
    expect(timed.error).toContain(
      'Migration 0001_hang did not finish within 3 s (--migration-timeout) (up, 0001_hang.ts): no query of it was running on the server',
    );
    if (mysql) {
      // MariaDB committed the CREATE TABLE: recorded as interrupted, with what it completed.
      expect(timed.error).toContain('statements it had completed: 1) create table `hang_t`');
      const st = await p.run(['status']);
      expect(st.stdout).toMatch(/0001_hang\s+partial/);
      expect(st.stdout).toContain('stopped by --migration-timeout');
    } else {
      expect(timed.error).toContain('Its transaction was rolled back: nothing of it was applied');
      // A failed first run leaves the database as it found it: not even the ledger tables.
      expect(await p.tables()).toEqual([]);
    }
    expect(await p.ledger()).toEqual([]);
    // Without a timeout, SIGTERM ends it the same way.
    if (mysql) expectExit(await p.run(['repair', '0001_hang', '--forget']), 0);
    if (mysql) await p.db.schema.dropTableIfExists('hang_t');
    const run = p.start(['up', '--progress-every', '1s']);
    // The CREATE TABLE has run: committed on MariaDB; on PostgreSQL inside the migration's open
    // transaction (invisible to others), so its session sits idle in that transaction.
    const created = async (): Promise<boolean> =>
      mysql
        ? (await p.tables()).includes('hang_t')
        : (await q(p.db, dialect, "SELECT 1 FROM pg_stat_activity WHERE datname = ? AND state = 'idle in transaction'", [p.database])).length > 0;
    await waitFor('the migration to wait on its promise', async () => (await p.lockHolder()) !== null && (await created()));
    await sleep(1500);
    process.kill(run.pid, 'SIGTERM');
    const termed = await run.done;
    expectExit(termed, 143);
    expect(termed.error).toContain('Migration 0001_hang interrupted by SIGTERM (up, 0001_hang.ts)');
    expect(termed.stderr).toContain('0001_hang still running after 1 s');
    expect(await p.lockHolder()).toBeNull();
    expect(await p.ledger()).toEqual([]);
    recordRunnerCase({
      id: `r4-never-settles-${dialect}`,
      dialect,
      fault: 'a TypeScript migration whose promise never settles (after a CREATE TABLE)',
      expected:
        'notices every --progress-every saying no query runs; --migration-timeout 3s stops it (exit 1), SIGTERM too (exit 143); the ledger says what stays',
      runs: [
        { command: 'migrate up --migration-timeout 3s', result: timed },
        { command: 'migrate up (SIGTERM)', result: termed },
      ],
      after: mysql
        ? 'the CREATE TABLE stayed (MariaDB DDL commits): recorded as interrupted with the query it completed; repair --forget after dropping it'
        : 'rolled back: nothing stays, nothing recorded',
      timings: { timeoutRunMs: timed.ms },
      held: true,
    });
  }, 180_000);

  test('the ledger table dropped by hand: status says so and which migration is in place; up refuses naming repair --mark-applied', async () => {
    const p = await project({
      '0001_a.up.sql': 'CREATE TABLE da (id int);\n',
      '0001_a.down.sql': 'DROP TABLE da;\n',
      '0002_b.up.sql': 'CREATE TABLE db_ (id int);\nINSERT INTO db_ VALUES (1);\n',
      '0002_b.down.sql': 'DROP TABLE db_;\n',
    });
    expectExit(await p.run(['up']), 0);
    await p.db.schema.dropTable('migrate_ledger');
    const st = await p.run(['status']);
    expectExit(st, 0);
    expect(st.stdout).toContain(
      'The ledger table migrate_ledger does not exist, but its companion migrate_ledger_progress does: the ledger was dropped by hand',
    );
    expect(st.stdout).toContain('not in the ledger, but its statement 1 (line 1, "CREATE TABLE da (id int)") has taken effect: table da exists');
    const up = await p.run(['up']);
    expectExit(up, 1);
    expect(up.error).toContain(
      '0001_a is not recorded in the ledger, but its statement 1 (line 1, "CREATE TABLE da (id int)") has taken effect: table da exists',
    );
    expect(up.fix).toContain('"migrate repair 0001_a --mark-applied"');
    expect(await p.count('db_')).toBe(1);
    expectExit(await p.run(['repair', '0001_a', '--mark-applied']), 0);
    expectExit(await p.run(['repair', '0002_b', '--mark-applied']), 0);
    const again = await p.run(['up']);
    expectExit(again, 0);
    expect(again.stderr).toContain('Nothing to apply');
    expect(await p.ledger()).toEqual(['0001_a', '0002_b']);
    expect(await p.count('db_')).toBe(1);
    recordRunnerCase({
      id: `r5-ledger-dropped-${dialect}`,
      dialect,
      fault: 'the ledger table dropped by hand after two migrations ran',
      expected: 'status names the dropped ledger and the migrations whose objects exist; up refuses (exit 1) naming repair --mark-applied; nothing runs twice',
      runs: [{ command: 'migrate up', result: up }],
      after: 'after repair --mark-applied of both: up has nothing to apply; db_ holds 1 row',
      held: true,
    });
  }, 180_000);

  // `migrate apply` (the command with the hand-off) drives MySQL/MariaDB clusters only.
  test.runIf(mysql)(
    '--deploy-command runs when only pre-deploy migrations are pending, and says why not when nothing is',
    async () => {
      const p = await project(
        { '0001_dep.up.sql': 'CREATE TABLE dep_t (id int PRIMARY KEY);\n', '0001_dep.down.sql': 'DROP TABLE dep_t;\n' },
        { cluster: true },
      );
      const marker = join(p.dir, 'deployed.txt');
      // The machine's own server is the gate's shadow (as on a deploy host without `migrate shadow`).
      const shadow = 'mysql://root@127.0.0.1:3306/';
      const deploy = `echo "$MIGRATE_SCHEMA_VERSION" >> ${marker}`;
      const r = await p.run(['apply', '--shadow', shadow, '--deploy-command', deploy], { MIGRATE_SHADOW_DIR: join(p.dir, 'no-shadow') });
      expectExit(r, 0);
      expect(r.stderr).toContain('hand-off: the pre-deploy migrations are in place and no post-deploy migration is pending; running the deploy command');
      expect(r.stderr).toContain(`hand-off: running the deploy step: ${deploy}`);
      expect(readFileSync(marker, 'utf8')).toBe('0001_dep\n');
      expect(await p.ledger()).toEqual(['0001_dep']);
      // Nothing pending: the hand-off is never reached, and the run says the command did not run.
      const again = await p.run(['apply', '--shadow', shadow, '--deploy-command', deploy], { MIGRATE_SHADOW_DIR: join(p.dir, 'no-shadow') });
      expectExit(again, 0);
      expect(again.stderr).toContain('the deploy command was not run: with nothing pending the run never reaches the hand-off');
      expect(readFileSync(marker, 'utf8')).toBe('0001_dep\n');
      recordRunnerCase({
        id: `r7-deploy-command-pre-only-${dialect}`,
        dialect,
        fault: '`migrate apply --deploy-command` with only a pre-deploy migration pending, then again with nothing pending',
        expected: 'the deploy command runs after the pre-deploy migration (exit 0); with nothing pending it does not run and the output says why',
        runs: [
          { command: 'migrate apply --deploy-command ...', result: r },
          { command: 'migrate apply --deploy-command ... (nothing pending)', result: again },
        ],
        after: `the command ran once (MIGRATE_SCHEMA_VERSION=0001_dep); ledger: 0001_dep`,
        held: true,
      });
    },
    180_000,
  );

  if (!mysql) {
    test('PostgreSQL: a CONCURRENTLY file killed in segment 3 is partially applied, not "rolled back"; repair --continue finishes it', async () => {
      const p = await project({
        '0001_cc.up.sql': [
          'CREATE TABLE slow_ctl (on_ boolean);',
          'INSERT INTO slow_ctl VALUES (true);',
          'CREATE FUNCTION slow_key(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN IF EXISTS (SELECT 1 FROM slow_ctl) THEN PERFORM pg_sleep(0.01); END IF; RETURN k; END $$;',
          'CREATE TABLE cc (id int PRIMARY KEY, note text);',
          'INSERT INTO cc SELECT g, md5(g::text) FROM generate_series(1, 2000) g;',
          '',
        ].join('\n'),
        '0001_cc.down.sql': 'DROP TABLE cc;\nDROP FUNCTION slow_key(int);\nDROP TABLE slow_ctl;\n',
      });
      expectExit(await p.run(['up']), 0);
      p.write(
        '0002_cc_idx.up.sql',
        'CREATE TABLE cc_audit (id int);\nCREATE INDEX CONCURRENTLY cc_note_idx ON cc (note);\nCREATE INDEX CONCURRENTLY cc_slow_idx ON cc (slow_key(id));\nALTER TABLE cc_audit ADD COLUMN at timestamptz;\n',
      );
      p.write(
        '0002_cc_idx.down.sql',
        'ALTER TABLE cc_audit DROP COLUMN at;\nDROP INDEX CONCURRENTLY cc_slow_idx;\nDROP INDEX CONCURRENTLY cc_note_idx;\nDROP TABLE cc_audit;\n',
      );
      const run = p.start(['up']);
      await p.runningSession('cc_slow_idx');
      process.kill(run.pid, 'SIGKILL');
      await run.done;
      // The server notices its client is gone (client_connection_check_interval) and stops the build.
      await waitFor('the run lock to be free', async () => (await p.lockHolder()) === null, 30_000);
      const st = await p.run(['status']);
      expect(st.stdout).toMatch(/0002_cc_idx\s+partial/);
      expect(st.stdout).toContain('partially applied: 2 of 4 statements ran (0002_cc_idx.up.sql:1-2)');
      expect(st.stdout).toContain(
        'statement 3 (0002_cc_idx.up.sql:3) "CREATE INDEX CONCURRENTLY cc_slow_idx ON cc (slow_key(id))" did not run: index cc_slow_idx on cc does not exist (checked on the server)',
      );
      const up = await p.run(['up']);
      expectExit(up, 1);
      expect(up.error).not.toContain('rolled back');
      expect(up.fix).toContain('"migrate repair 0002_cc_idx --continue" (runs statements 3-4)');
      await p.db('slow_ctl').delete();
      const repaired = await p.run(['repair', '0002_cc_idx', '--continue']);
      expectExit(repaired, 0);
      expect(repaired.stderr).toContain('found INVALID index "public"."cc_slow_idx"');
      expect(await p.ledger()).toEqual(['0001_cc', '0002_cc_idx']);
      const valid = await q(
        p.db,
        dialect,
        "SELECT c.relname AS n, i.indisvalid AS v FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN ('cc_note_idx', 'cc_slow_idx') ORDER BY 1",
      );
      expect(valid).toEqual([
        { n: 'cc_note_idx', v: true },
        { n: 'cc_slow_idx', v: true },
      ]);
      recordRunnerCase({
        id: 'r6-concurrently-killed-postgres',
        dialect,
        fault: '`migrate up` SIGKILLed during the third segment of a file with CONCURRENTLY statements (the slow index build)',
        expected:
          'status: partially applied, 2 of 4 ran, statement 3 did not run (looked up: no valid index); up refuses; repair --continue drops the INVALID leftover and finishes',
        runs: [
          { command: 'migrate up', result: up },
          { command: 'migrate repair 0002_cc_idx --continue', result: repaired },
        ],
        after: 'ledger: 0002_cc_idx applied; both indexes valid; statements 1-2 ran once',
        held: true,
      });
    }, 180_000);
  }
});
