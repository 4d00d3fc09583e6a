/**
 * The run-bounding flags of `up`, `down` and `repair` (--statement-timeout, --lock-timeout,
 * --lock-retries, --migration-timeout, --progress-every) and `repair --from` / `--revert`, each
 * through the real CLI (`node bin/migrate` in its own process) on the machine's MariaDB and
 * PostgreSQL, asserting what a user checks: the exit code, the message, how long it took, and
 * what the ledger and the server hold afterwards.
 */
import mysql from 'mysql2/promise';
import { describe, expect, test } from 'vitest';
import { show, type CliResult } from '../faults/harness.ts';
import { type CliProject, expectExit, killMidStatement, progressNotices, projectsRemovedAfterEach } from '../helpers/cli-project.ts';

const project = projectsRemovedAfterEach();

const STATEMENT_TIMEOUT_FIX = 'raise --statement-timeout / MIGRATE_STATEMENT_TIMEOUT';

describe('postgres: --statement-timeout and --progress-every on up, repair and down', () => {
  test('a statement longer than --statement-timeout is stopped with the typed message; a larger one lets it finish, with a notice every --progress-every', async () => {
    // Statement 2 runs alone (CONCURRENTLY), so a failure in segment 3 leaves 2 of 4 in place.
    const p = await project('postgres', {
      '0001_p.up.sql': 'CREATE TABLE p (id int);\nCREATE INDEX CONCURRENTLY p_i ON p (id);\nSELECT pg_sleep(1.5);\nCREATE TABLE p2 (id int);\n',
      '0001_p.down.sql': 'SELECT pg_sleep(1.5);\nDROP TABLE p2;\nDROP INDEX CONCURRENTLY p_i;\nDROP TABLE p;\n',
    });
    const up = await p.run(['up', '--statement-timeout', '400ms']);
    expectExit(up, 1);
    expect(up.error).toContain('"SELECT pg_sleep(1.5)": canceling statement due to statement timeout');
    expect(up.error).toContain('partially applied: 2 of 4 statements ran');
    expect(up.fix).toContain(STATEMENT_TIMEOUT_FIX);
    expect(await p.tables()).toEqual(['p']);
    expect(await p.ledger()).toEqual([]);

    const again = await p.run(['repair', '0001_p', '--continue', '--statement-timeout', '400ms']);
    expectExit(again, 1);
    expect(again.error).toContain('canceling statement due to statement timeout');
    expect(again.fix).toContain(STATEMENT_TIMEOUT_FIX);
    expect(await p.tables()).toEqual(['p']);

    const repaired = await p.run(['repair', '0001_p', '--continue', '--statement-timeout', '10s', '--progress-every', '400ms']);
    expectExit(repaired, 0);
    expect(repaired.stderr).toContain('0001_p is applied: ran statements 3, 4 of 0001_p.up.sql');
    expect(progressNotices(repaired), show(repaired)).toBeGreaterThanOrEqual(2);
    expect(repaired.stderr).toMatch(/0001_p: statement 3 of 4 \(line 3\) still running after \d+ s \(server session \d+\): SELECT pg_sleep\(1\.5\)/);
    expect(await p.tables()).toEqual(['p', 'p2']);
    expect(await p.ledger()).toEqual(['0001_p']);

    const down = await p.run(['down', '--statement-timeout', '400ms']);
    expectExit(down, 1);
    expect(down.error).toContain('0001_p failed (down) at 0001_p.down.sql line 1');
    expect(down.error).toContain('canceling statement due to statement timeout');
    expect(down.fix).toContain(STATEMENT_TIMEOUT_FIX);
    expect(await p.ledger(), 'the ledger still lists it').toEqual(['0001_p']);
    expect(await p.tables()).toEqual(['p', 'p2']);

    const quiet = await p.run(['down', '--statement-timeout', '0', '--progress-every', '0']);
    expectExit(quiet, 0);
    expect(progressNotices(quiet), 'no notice with --progress-every 0').toBe(0);
    expect(await p.ledger()).toEqual([]);
    expect(await p.tables()).toEqual([]);

    const noisy = await p.run(['up', '--progress-every', '400ms']);
    expectExit(noisy, 0);
    expect(progressNotices(noisy), show(noisy)).toBeGreaterThanOrEqual(2);
    const downNoisy = await p.run(['down', '--progress-every', '400ms']);
    expectExit(downNoisy, 0);
    expect(progressNotices(downNoisy), show(downNoisy)).toBeGreaterThanOrEqual(2);
    expect(downNoisy.stderr).toMatch(/0001_p: statement 1 of 4 \(line 1\) still running after/);
  });
});

describe('mysql: --lock-timeout, --lock-retries, --migration-timeout, repair --from and --revert', () => {
  /** An open transaction that read `table`: it holds the metadata lock every ALTER/DROP of it waits for. */
  async function holdLock(p: CliProject, table: string): Promise<{ release(): Promise<void> }> {
    const { host, port, user, database } = p.db.connection;
    const c = await mysql.createConnection({ host, port, user, database });
    await c.query('BEGIN');
    await c.query(`SELECT * FROM \`${table}\``);
    return {
      release: async () => {
        await c.query('COMMIT');
        await c.end();
      },
    };
  }
  const retryWarnings = (r: CliResult): string[] => r.stderr.split('\n').filter((l) => /waited lock_wait_timeout .*; attempt \d+\/\d+, retrying/.test(l));

  test('up, repair and down give up on a held lock after --lock-retries tries of --lock-timeout each, and succeed once it is free', async () => {
    const p = await project('mysql', {
      '0001_r.up.sql': 'CREATE TABLE r1 (id int);\nALTER TABLE held ADD COLUMN k int;\nCREATE TABLE r2 (id int);\n',
      '0001_r.down.sql': 'DROP TABLE r2;\nALTER TABLE held DROP COLUMN k;\nDROP TABLE r1;\n',
    });
    await p.knex.raw('CREATE TABLE held (id int)');
    let lock = await holdLock(p, 'held');
    const up = await p.run(['up', '--lock-timeout', '1s', '--lock-retries', '2']);
    expectExit(up, 1);
    expect(retryWarnings(up), show(up)).toEqual([expect.stringContaining('statement 2 (line 2) waited lock_wait_timeout for a metadata lock; attempt 1/2')]);
    expect(up.error).toContain('"ALTER TABLE held ADD COLUMN k int": Lock wait timeout exceeded');
    expect(up.ms, 'two waits of one second').toBeGreaterThanOrEqual(2000);

    const repair = await p.run(['repair', '0001_r', '--continue', '--lock-timeout', '1s', '--lock-retries', '3']);
    expectExit(repair, 1);
    expect(retryWarnings(repair).map((l) => /attempt (\d+\/\d+)/.exec(l)?.[1])).toEqual(['1/3', '2/3']);
    expect(repair.ms, 'three waits of one second').toBeGreaterThanOrEqual(3000);
    expect(await p.tables()).toEqual(['held', 'r1']);
    await lock.release();

    const done = await p.run(['repair', '0001_r', '--continue', '--lock-timeout', '1s', '--lock-retries', '2']);
    expectExit(done, 0);
    expect(retryWarnings(done)).toEqual([]);
    expect(await p.tables()).toEqual(['held', 'r1', 'r2']);
    expect(await p.ledger()).toEqual(['0001_r']);

    lock = await holdLock(p, 'held');
    const down = await p.run(['down', '--lock-timeout', '1s', '--lock-retries', '2']);
    expectExit(down, 1);
    expect(retryWarnings(down), show(down)).toHaveLength(1);
    expect(down.error).toContain('"ALTER TABLE held DROP COLUMN k": Lock wait timeout exceeded');
    await lock.release();
    const downAgain = await p.run(['repair', '0001_r', '--continue']);
    expectExit(downAgain, 0);
    expect(await p.tables()).toEqual(['held']);
    expect(await p.ledger()).toEqual([]);
  });

  test('--migration-timeout stops up, repair and down mid-statement with the typed message; a longer one lets them finish', async () => {
    const p = await project('mysql', {
      // A cancelled SLEEP() returns normally on MariaDB; a table copy around it fails as a whole.
      '0001_s.up.sql': 'CREATE TABLE s1 (id int);\nCREATE TABLE s2 AS SELECT SLEEP(3) AS s;\n',
      '0001_s.down.sql': 'CREATE TABLE gone AS SELECT SLEEP(3) AS s;\nDROP TABLE gone;\nDROP TABLE s2;\nDROP TABLE s1;\n',
    });
    const up = await p.run(['up', '--migration-timeout', '1s']);
    expectExit(up, 1);
    expect(up.error).toContain('did not finish within 1 s (--migration-timeout)');
    // Cancelled on the server, not waited out: the table copy around the sleep never came to be.
    expect(await p.tables()).toEqual(['s1']);
    const status = await p.run(['status']);
    expect(status.stdout).toMatch(/0001_s\s+partial/);

    const repairStopped = await p.run(['repair', '0001_s', '--continue', '--migration-timeout', '1s']);
    expectExit(repairStopped, 1);
    expect(repairStopped.error).toContain('did not finish within 1 s (--migration-timeout)');
    expect(await p.tables()).toEqual(['s1']);

    const repaired = await p.run(['repair', '0001_s', '--continue', '--migration-timeout', '30s', '--progress-every', '1s']);
    expectExit(repaired, 0);
    expect(progressNotices(repaired), show(repaired)).toBeGreaterThanOrEqual(2);
    expect(await p.tables()).toEqual(['s1', 's2']);
    expect(await p.ledger()).toEqual(['0001_s']);

    const down = await p.run(['down', '--migration-timeout', '1s']);
    expectExit(down, 1);
    expect(down.error).toContain('did not finish within 1 s (--migration-timeout)');
    expect(await p.tables(), 'the cancelled copy left no table').toEqual(['s1', 's2']);
    expect(await p.ledger(), 'nothing of the down ran: still applied').toEqual(['0001_s']);
    const downDone = await p.run(['down', '--migration-timeout', '30s']);
    expectExit(downDone, 0);
    expect(await p.tables()).toEqual([]);
    expect(await p.ledger()).toEqual([]);
  });

  test('repair --from: after a statement the server cannot vouch for, --continue refuses and names --from; --from runs from there, once', async () => {
    const p = await project('mysql', {
      '0001_f.up.sql': 'CREATE TABLE f1 (id int);\nINSERT INTO t SELECT SLEEP(3);\nCREATE TABLE f2 (id int);\n',
      '0001_f.down.sql': 'DROP TABLE f2;\nDELETE FROM t;\nDROP TABLE f1;\n',
    });
    await p.knex.raw('CREATE TABLE t (id int)');
    // The process dies and its statement is killed on the server: neither can record what happened.
    await killMidStatement(p, ['up'], 'INSERT INTO t SELECT SLEEP');

    const refused = await p.run(['repair', '0001_f', '--continue']);
    expectExit(refused, 1);
    expect(refused.error).toContain('"INSERT INTO t SELECT SLEEP(3)" was sent to the server and may or may not have run');
    expect(refused.fix).toContain('"migrate repair 0001_f --continue --from 2" if it did not or "--from 3" if it did');
    const misfit = await p.run(['repair', '0001_f', '--continue', '--from', '1']);
    expectExit(misfit, 2);
    expect(misfit.fix).toBe('Use --from 2 (statement 2 did not run) or --from 3 (it did).');
    // t is empty: the user sees the INSERT did not run, so it runs again from statement 2.
    expect(await p.rows('SELECT * FROM t')).toEqual([]);
    const from = await p.run(['repair', '0001_f', '--continue', '--from', '2']);
    expectExit(from, 0);
    expect(from.stderr).toContain('0001_f is applied: ran statements 2, 3 of 0001_f.up.sql');
    expect(await p.rows('SELECT COUNT(*) AS n FROM t')).toEqual([{ n: 1 }]);
    expect(await p.tables()).toEqual(['f1', 'f2', 't']);
    expect(await p.ledger()).toEqual(['0001_f']);
  });

  test('repair --revert undoes the statements that ran with the down file; the migration is pending again', async () => {
    const p = await project('mysql', {
      '0001_v.up.sql': 'CREATE TABLE v1 (id int);\nCREATE TABLE v2 (id int);\nINSERT INTO nowhere VALUES (1);\n',
      '0001_v.down.sql': 'DROP TABLE v2;\nDROP TABLE v1;\n',
    });
    const up = await p.run(['up']);
    expectExit(up, 1);
    expect(up.error).toContain('partially applied: 2 of 3 statements ran');
    expect(await p.tables()).toEqual(['v1', 'v2']);
    const revert = await p.run(['repair', '0001_v', '--revert']);
    expectExit(revert, 0);
    expect(await p.tables()).toEqual([]);
    expect(await p.ledger()).toEqual([]);
    const status = await p.run(['status']);
    expectExit(status, 0);
    expect(status.stdout).toMatch(/0001_v\s+pending/);
    expect(status.stdout).not.toContain('partial');
  });
});
