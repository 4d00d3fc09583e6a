/**
 * The runner's typed errors that no other test reached (issue 18): `up --to` / `ack-drift` of a
 * migration whose file is gone, a script without down(), the connection killed under a running
 * statement (the server back, refusing the login, or the ledger unreadable after it), and the
 * ledger tables refusing migrate's own writes. Through the real CLI on the machine's MariaDB and
 * PostgreSQL, each asserting the exit code, the problem and fix lines, no stack trace, and what
 * the ledger and the schema hold afterwards.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { createKnex } from '../../src/db/connect.ts';
import { mysqlLockName, pgLockKeys } from '../../src/engines/index.ts';
import { MigrateError } from '../../src/errors.ts';
import { acquireRunLock } from '../../src/migrations/lock.ts';
import { cli, sleep, type CliResult } from '../faults/harness.ts';
import { type CliProject, expectExit, mysqlSessionRunning, projectsRemovedAfterEach } from '../helpers/cli-project.ts';
import { startSandbox } from '../helpers/sandbox.ts';
import { serverUrl } from '../helpers/shadow.ts';

// The built module, as a project's migration imports the installed package: its errors come from dist/errors.js.
const BACKFILL_MODULE = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'dist/migrations/backfill.js');

const project = projectsRemovedAfterEach();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** The MariaDB session running a statement that starts like `prefix`, once it runs. */
async function mysqlSession(p: CliProject, prefix: string): Promise<number> {
  const id = await mysqlSessionRunning(p, prefix);
  if (id === undefined) throw new Error(`no session ran "${prefix}" within 15 s`);
  return id;
}

describe('mysql: the runner on a migration whose file is gone, and a script without down()', () => {
  test('up --to and ack-drift of an applied migration whose file is gone: usage errors, nothing run', async () => {
    const p = await project('mysql', {
      '0001_a.up.sql': 'CREATE TABLE a (id int);\n',
      '0001_a.down.sql': 'DROP TABLE a;\n',
    });
    expectExit(await p.run(['up']), 0);
    rmSync(join(p.dir, 'migrations', '0001_a.up.sql'));
    rmSync(join(p.dir, 'migrations', '0001_a.down.sql'));
    p.write({ '0002_b.up.sql': 'CREATE TABLE b (id int);\n', '0002_b.down.sql': 'DROP TABLE b;\n' });
    const to = await p.run(['up', '--to', '0001_a']);
    expectExit(to, 2);
    expect(to.error).toBe('--to 0001_a: that migration is applied and its file is gone.');
    expect(to.fix).toBe('Give the id of a pending migration (see "migrate status").');
    const ack = await p.run(['ack-drift', '0001_a']);
    expectExit(ack, 2);
    expect(ack.error).toBe('0001_a has no file any more, so there is no new checksum to accept.');
    expect(ack.fix).toBe('Restore the file of 0001_a from version control.');
    expect(await p.tables()).toEqual(['a']);
    expect(await p.ledger()).toEqual(['0001_a']);
  });

  test('repair --continue of an interrupted down after down() was removed from the script: refused, still applied', async () => {
    const script = (down: string): string => `import type { Knex } from 'knex';
export const transaction = false;
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE TABLE t1 (id int)');
  await knex.raw('CREATE TABLE t2 (id int)');
}
${down}`;
    const p = await project('mysql', {
      '0001_t.ts': script(`export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE t2');
  await knex.raw('DROP TABLE nowhere');
}
`),
    });
    expectExit(await p.run(['up']), 0);
    expectExit(await p.run(['down']), 1);
    expect(await p.tables()).toEqual(['t1']);
    // The author removes down() (the revert is to be finished by hand), then asks migrate to go on.
    p.write({ '0001_t.ts': script('') });
    const r = await p.run(['repair', '0001_t', '--continue']);
    expectExit(r, 1);
    expect(r.error).toBe('Migration 0001_t has no down().');
    expect(r.fix).toBe(`Add down() to ${join(p.dir, 'migrations', '0001_t.ts')}.`);
    expect(await p.tables()).toEqual(['t1']);
    expect(await p.ledger()).toEqual(['0001_t']);
  });
});

describe('mysql: the runner connection killed under a running statement', () => {
  const SLOW = {
    '0001_l.up.sql': 'CREATE TABLE l1 AS SELECT SLEEP(4) AS s;\nCREATE TABLE l2 (id int);\n',
    '0001_l.down.sql': 'DROP TABLE l2;\nDROP TABLE l1;\n',
  };

  test('the server answers again at once: read back, nothing of the migration stays, and "up" runs it', async () => {
    const p = await project('mysql', SLOW);
    const run = p.start(['up']);
    await p.knex.raw(`KILL ${await mysqlSession(p, 'CREATE TABLE l1 AS SELECT SLEEP')}`);
    const r = await run.done;
    expectExit(r, 1);
    expect(r.error).toContain('The connection to the server was lost while 0001_l ran (up) at statement 1 of 2 (0001_l.up.sql:1)');
    expect(r.error).toMatch(/The server answered again after \d+ ms; read back from the ledger: nothing of 0001_l stays \(no statement of it had completed/);
    expect(r.error).toContain('the ledger records nothing for it.');
    expect(r.fix).toBe('Run "migrate up" again once the server is stable.');
    expect(await p.tables()).toEqual([]);
    expect(await p.ledger()).toEqual([]);
    expectExit(await p.run(['up']), 0);
    expect(await p.tables()).toEqual(['l1', 'l2']);
  });

  test('the ledger cannot be read after reconnecting: said so, "migrate status" named as the next step', async () => {
    const p = await project('mysql', SLOW);
    const run = p.start(['up']);
    const session = await mysqlSession(p, 'CREATE TABLE l1 AS SELECT SLEEP');
    // The ledger's id column renamed while the statement runs: the read after reconnecting fails.
    await p.knex.raw('ALTER TABLE migrate_ledger RENAME COLUMN id TO id_moved');
    cleanups.push(() => p.knex.raw('ALTER TABLE migrate_ledger RENAME COLUMN id_moved TO id'));
    await p.knex.raw(`KILL ${session}`);
    const r = await run.done;
    expectExit(r, 1);
    expect(r.error).toContain('The connection to the server was lost while 0001_l ran (up) at statement 1 of 2 (0001_l.up.sql:1)');
    expect(r.error).toMatch(/Reading the ledger after reconnecting failed: .*Unknown column 'id'/);
    expect(r.fix).toBe('Run "migrate status" once the server is stable: it reads from the ledger what ran.');
    await cleanups.pop()?.();
    const st = await p.run(['status']);
    expectExit(st, 0);
    expect(st.stdout).toMatch(/0001_l\s+pending/);
    expect(await p.tables()).toEqual([]);
    expect(await p.ledger()).toEqual([]);
  });

  test('the server refuses the login after the kill (account locked): after the reconnect bound, what ran is left to "migrate status"', async () => {
    const p = await project('mysql', SLOW);
    const user = `mt_rl_${randomBytes(3).toString('hex')}`;
    const { host, port, database } = p.db.connection;
    await p.knex.raw(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw-${user}'`);
    cleanups.push(() => p.knex.raw(`DROP USER '${user}'@'%'`));
    await p.knex.raw(`GRANT ALL ON \`${database}\`.* TO '${user}'@'%'`);
    const config = join(p.dir, 'locked.config.json');
    writeFileSync(config, JSON.stringify({ dialect: 'mysql', connection: { host, port, user, passwordEnv: 'MT_LOCKED_PW', database } }));
    const env = { MT_LOCKED_PW: `pw-${user}` };
    const run = cli(['--config', config, 'up'], env);
    const session = await mysqlSession(p, 'CREATE TABLE l1 AS SELECT SLEEP');
    await p.knex.raw(`ALTER USER '${user}'@'%' ACCOUNT LOCK`);
    await p.knex.raw(`KILL ${session}`);
    const r = await run;
    expectExit(r, 1);
    expect(r.error).toContain('The connection to the server was lost while 0001_l ran (up) at statement 1 of 2 (0001_l.up.sql:1)');
    expect(r.error).toContain('The server did not answer again within 30 s, so what ran is not known yet; the ledger holds the answer.');
    expect(r.fix).toContain('Once the server answers again, run "migrate status"');
    expect(r.ms).toBeGreaterThanOrEqual(30_000);
    await p.knex.raw(`ALTER USER '${user}'@'%' ACCOUNT UNLOCK`);
    const st = await cli(['--config', config, 'status'], env);
    expectExit(st, 0);
    expect(st.stdout).toMatch(/0001_l\s+pending/);
    expect(await p.tables()).toEqual([]);
    expect(await p.ledger()).toEqual([]);
  }, 90_000);
});

describe('mysql: the ledger tables refuse the runner its own writes', () => {
  test('recording a completed statement fails: said so with the place; recording the failure fails too: "migrate status" named', async () => {
    const p = await project('mysql', {
      '0001_c.up.sql': 'ALTER TABLE migrate_ledger_progress ADD CONSTRAINT no_done CHECK (statements_done < 1);\nCREATE TABLE c1 (id int);\n',
    });
    const r = await p.run(['up']);
    expectExit(r, 1);
    expect(r.error).toContain('Migration 0001_c failed (up) at 0001_c.up.sql line 1 (statement 1 of 2). Statement 1 ran, but recording it failed:');
    expect(r.error).toContain('CONSTRAINT `no_done` failed');
    // Statement 1 ran, but the ledger could not say so: it is left for the user to tell.
    expect(r.fix).toContain('"migrate repair 0001_c --continue --from 1" if it did not or "--from 2" if it did');
    expect(await p.tables()).toEqual([]);
    expect(await p.ledger()).toEqual([]);

    // The constraint also refuses how the run ended: the message says the record failed too.
    const q = await project('mysql', {
      '0001_d.up.sql':
        'ALTER TABLE migrate_ledger_progress ADD CONSTRAINT frozen CHECK (statements_done < 1 AND outcome IS NULL);\nCREATE TABLE d1 (id int);\n',
    });
    const both = await q.run(['up']);
    expectExit(both, 1);
    expect(both.error).toMatch(
      /^Migration 0001_d failed \(up\): .*CONSTRAINT `frozen` failed.* Recording the failure in migrate_ledger_progress failed too: .*CONSTRAINT `frozen` failed/,
    );
    expect(both.fix).toBe('Run "migrate status": it reads from the ledger what ran.');
    const st = await q.run(['status']);
    expectExit(st, 0);
    expect(st.stdout).toMatch(/0001_d\s+partial/);
    expect(await q.tables()).toEqual([]);
    expect(await q.ledger()).toEqual([]);
  });
});

test('mysql: a SQL migration whose first statement cannot be recorded as started: not sent, nothing stays, the ledger tables named', async () => {
  // 0001 makes the progress table refuse a statement in flight for any other migration.
  const p = await project('mysql', {
    '0001_c.up.sql': "ALTER TABLE migrate_ledger_progress ADD CONSTRAINT none_in_flight CHECK (current_statement IS NULL OR id = '0001_c');\n",
    '0002_s.up.sql': 'CREATE TABLE s1 (id int);\n',
  });
  const r = await p.run(['up']);
  expectExit(r, 1);
  expect(r.error).toContain('Migration 0002_s failed (up) at 0002_s.up.sql line 1 (statement 1 of 1). Recording statement 1 as started failed (');
  expect(r.error).toContain('CONSTRAINT `none_in_flight` failed');
  expect(r.error).toContain('so it was not sent. No statement of it had run; the ledger records nothing for it.');
  expect(r.stderr).toContain('Applied in this run before the failure (kept): 0001_c.');
  expect(r.fix).toBe('Check the ledger tables (migrate_ledger, migrate_ledger_progress), then run "migrate up" again.');
  expect(await p.tables()).toEqual([]);
  expect(await p.ledger()).toEqual(['0001_c']);
});

describe('postgres: scripts and SQL migrations against a held lock and a ledger that refuses or drops their rows', () => {
  /** An open transaction holding `mode` on `table` until released. */
  async function holdLock(p: CliProject, table: string, mode: string): Promise<{ release(): Promise<void> }> {
    const trx = await p.knex.transaction();
    await trx.raw(`LOCK TABLE ${table} IN ${mode} MODE`);
    const release = async (): Promise<void> => {
      await trx.rollback().catch(() => undefined);
    };
    cleanups.push(release);
    return { release };
  }

  test('a TypeScript migration whose ALTER waits out --lock-retries tries of --lock-timeout: rolled back, the holder named, nothing recorded', async () => {
    const p = await project('postgres', {
      '0001_h.ts': `import type { Knex } from 'knex';
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE TABLE h2 (id int)');
  await knex.raw('ALTER TABLE held ADD COLUMN k int');
}
export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE held DROP COLUMN k');
  await knex.raw('DROP TABLE h2');
}
`,
    });
    await p.knex.raw('CREATE TABLE held (id int)');
    const lock = await holdLock(p, 'held', 'ACCESS SHARE');
    const r = await p.run(['up', '--lock-timeout', '300ms', '--lock-retries', '2']);
    await lock.release();
    expectExit(r, 1);
    expect(r.error).toMatch(
      /^Migration 0001_h failed \(up\) in 0001_h\.ts: it could not get its lock within lock_timeout 300 ms in 2 attempts .*waiting for lock on table held held by pid (\d+) /,
    );
    expect(r.error).toContain('Its transaction was rolled back, nothing of it was applied; the ledger is unchanged for it.');
    expect(r.fix).toMatch(/end it \(SELECT pg_terminate_backend\(\d+\);\), then run "migrate up" again; or allow more time with --lock-timeout/);
    expect(await p.tables()).toEqual(['held']);
    expect(await p.ledger()).toEqual([]);
  });

  test('a TypeScript migration that makes the ledger refuse its own row: ran, recording failed, rolled back', async () => {
    const p = await project('postgres', {
      '0001_r.ts': `import type { Knex } from 'knex';
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE TABLE r1 (id int)');
  await knex.raw("ALTER TABLE migrate_ledger ADD CONSTRAINT not_me CHECK (id <> '0001_r')");
}
export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE r1');
}
`,
    });
    const r = await p.run(['up']);
    expectExit(r, 1);
    expect(r.error).toMatch(/^Migration 0001_r ran \(up\) but recording it in the ledger migrate_ledger failed: .*violates check constraint "not_me"/);
    expect(r.fix).toBe('Nothing was committed; run "migrate up" again.');
    expect(await p.tables()).toEqual([]);
    expect(await p.ledger()).toEqual([]);
  });

  test('a SQL migration after which the ledger drops its row (a rule): ran, missing from the ledger', async () => {
    const p = await project('postgres', {
      '0001_m.up.sql': 'CREATE TABLE m1 (id int);\nCREATE RULE swallow AS ON INSERT TO migrate_ledger DO INSTEAD NOTHING;\n',
      '0001_m.down.sql': 'DROP RULE swallow ON migrate_ledger;\nDROP TABLE m1;\n',
    });
    const r = await p.run(['up']);
    expectExit(r, 1);
    expect(r.error).toBe('Migration 0001_m ran but is missing from the ledger migrate_ledger.');
    expect(r.fix).toBe('Run "migrate status": it reads what ran from the ledger.');
    // What status reads: not applied, though its table is there, so the next up refuses to repeat it.
    expect(await p.tables()).toEqual(['m1']);
    expect(await p.ledger()).toEqual([]);
    const again = await p.run(['up']);
    expectExit(again, 1);
    expect(again.error).toContain('0001_m is not recorded in the ledger, but');
    expect(again.fix).toContain('"migrate repair 0001_m --mark-applied"');
  });

  test('a SQL migration whose ledger row waits out --lock-retries tries of --lock-timeout on a locked ledger', async () => {
    const p = await project('postgres', { '0001_a.up.sql': 'CREATE TABLE a (id int);\n', '0001_a.down.sql': 'DROP TABLE a;\n' });
    expectExit(await p.run(['up']), 0);
    p.write({ '0002_b.up.sql': 'CREATE TABLE b (id int);\n', '0002_b.down.sql': 'DROP TABLE b;\n' });
    const lock = await holdLock(p, 'migrate_ledger', 'SHARE');
    const r = await p.run(['up', '--lock-timeout', '300ms', '--lock-retries', '2']);
    await lock.release();
    expectExit(r, 1);
    expect(r.error).toMatch(
      /^Migration 0002_b \(up\) could not get its lock within lock_timeout 300 ms in 2 attempts .*waiting for lock on table migrate_ledger held by pid \d+ /,
    );
    expect(r.error).toContain('Nothing of it was applied (rolled back); the ledger records nothing for it.');
    expect(r.fix).toMatch(/^Wait for the session holding the lock to finish, or end it \(SELECT pg_terminate_backend\(\d+\);\), then run "migrate up" again/);
    expect(await p.tables()).toEqual(['a']);
    expect(await p.ledger()).toEqual(['0001_a']);
    expectExit(await p.run(['up']), 0);
    expect(await p.ledger()).toEqual(['0001_a', '0002_b']);
  });

  test('CREATE INDEX CONCURRENTLY while another session builds the same index: its INVALID entry left alone, the builder named; after it, up drops the leftover and builds', async () => {
    const p = await project('postgres', {
      '0001_ix.up.sql': 'CREATE INDEX CONCURRENTLY ix_x ON ix (x);\n',
      '0001_ix.down.sql': 'DROP INDEX CONCURRENTLY ix_x;\n',
    });
    await p.knex.raw('CREATE TABLE ix (id int, x int)');
    // An open write keeps the other build waiting, its index INVALID meanwhile.
    const writer = await p.knex.transaction();
    cleanups.push(() => writer.rollback());
    await writer.raw('INSERT INTO ix VALUES (1, 1)');
    const building = p.knex.raw('CREATE INDEX CONCURRENTLY ix_x ON ix (x)').catch((e: unknown) => e);
    let builder: number | undefined;
    for (let i = 0; i < 100 && builder === undefined; i++) {
      const r = await p.rows("SELECT pid FROM pg_stat_progress_create_index WHERE index_relid = to_regclass('ix_x')");
      builder = r[0] ? Number(r[0]['pid']) : undefined;
      if (builder === undefined) await sleep(100);
    }
    expect(builder, 'the other session building ix_x').toBeDefined();
    const r = await p.run(['up']);
    expectExit(r, 1);
    // Before the fix the runner replaced this with "failed at line 1 ... Check the ledger tables".
    expect(r.error).toBe(`0001_ix (statement 1, line 1): the index "public"."ix_x" is INVALID because pid ${builder} is building it right now.`);
    expect(r.fix).toContain(`SELECT pg_cancel_backend(${builder});`);
    expect(await p.rows("SELECT indisvalid AS v FROM pg_index WHERE indexrelid = 'ix_x'::regclass")).toEqual([{ v: false }]);
    expect(await p.ledger()).toEqual([]);

    await p.knex.raw('SELECT pg_cancel_backend(?)', [builder ?? 0]);
    expect(String(await building)).toContain('canceling statement due to user request');
    await writer.rollback();
    const again = await p.run(['up']);
    expectExit(again, 0);
    expect(again.stderr).toContain('found INVALID index "public"."ix_x" on ix, left by an earlier failed CONCURRENTLY build; dropping it');
    expect(await p.rows("SELECT indisvalid AS v FROM pg_index WHERE indexrelid = 'ix_x'::regclass")).toEqual([{ v: true }]);
    expect(await p.ledger()).toEqual(['0001_ix']);
  });
});

describe('postgres: backfill() refusals in a migration run by the CLI', () => {
  const migration = (opts: string): string => `import type { Knex } from 'knex';
import { backfill } from ${JSON.stringify(BACKFILL_MODULE)};
export const transaction = false;
export async function up(knex: Knex): Promise<void> {
  await backfill(knex, { table: 'bf', ${opts}, pauseMs: 0, logEveryMs: 0 });
}
export async function down(knex: Knex): Promise<void> {
  await knex('bf').update({ y: null });
}
`;

  /** An ES-module project, so the migration's import of the package is the very module the CLI runs. */
  async function esmProject(files: Record<string, string>): Promise<CliProject> {
    const p = await project('postgres', files);
    writeFileSync(join(p.dir, 'package.json'), '{"type": "module"}\n');
    return p;
  }

  test('batchSize 0: refused before any query, nothing updated', async () => {
    const p = await esmProject({ '0001_bf.ts': migration("set: 'y = x', batchSize: 0") });
    await p.knex.raw('CREATE TABLE bf (id int PRIMARY KEY, x int, y int); INSERT INTO bf SELECT g, g, NULL FROM generate_series(1, 6) g');
    const r = await p.run(['up']);
    expectExit(r, 1);
    expect(r.fix).toContain('0001_bf.ts, then run "migrate up" again.');
    expect(r.error).toContain('0001_bf: backfill bf: batchSize must be a whole number of at least 1 (got 0).');
    // The backfill's own fix is the fix shown, not folded into the problem.
    expect(r.fix).toMatch(/^Pass e\.g\. batchSize: \d+/);
    expect(r.error).not.toContain('Fix:');
    expect(await p.rows('SELECT count(*)::int AS n FROM bf WHERE y IS NOT NULL')).toEqual([{ n: 0 }]);
    expect(await p.ledger()).toEqual([]);
  });

  test('an interrupted backfill whose SET was then changed: refused, its position and the DELETE that starts over named', async () => {
    const p = await esmProject({ '0001_bf.ts': migration("set: 'y = 10 / x', batchSize: 2") });
    // x = 0 at id 5: the third batch fails after two committed.
    await p.knex.raw(
      'CREATE TABLE bf (id int PRIMARY KEY, x int, y int); INSERT INTO bf SELECT g, CASE WHEN g = 5 THEN 0 ELSE g END, NULL FROM generate_series(1, 6) g',
    );
    const first = await p.run(['up']);
    expectExit(first, 1);
    expect(first.error).toContain('division by zero');
    expect(first.error).toContain('Its backfill recorded 1 backfill step, 4 rows done: running it again continues from there.');
    p.write({ '0001_bf.ts': migration("set: 'y = 10 / nullif(x, 0)', batchSize: 2") });
    const r = await p.run(['up']);
    expectExit(r, 1);
    expect(r.error).toContain(
      '0001_bf: backfill bf: an interrupted earlier run of this backfill (at key 4, 4 rows done) used a different table, SET, WHERE or key, so continuing from its position could leave rows updated two different ways.',
    );
    const startOver = "DELETE FROM migrate_backfill_state WHERE migration_id = '0001_bf' AND step = 'bf';";
    expect(r.fix).toContain(startOver);
    expect(await p.rows('SELECT id, y FROM bf WHERE y IS NOT NULL ORDER BY id')).toEqual([1, 2, 3, 4].map((id) => ({ id, y: Math.floor(10 / id) })));
    expect(await p.ledger()).toEqual([]);
    // The step it names: start over with the new SET.
    await p.knex.raw(startOver);
    expectExit(await p.run(['up']), 0);
    expect(await p.rows('SELECT count(*)::int AS n FROM bf WHERE y IS NULL')).toEqual([{ n: 1 }]);
    expect(await p.ledger()).toEqual(['0001_bf']);
  });
});

describe.each(['mysql', 'postgres'] as const)('%s: the run lock released between the refusal and the look-up of its holder', (dialect) => {
  // A race no CLI run can aim at, so the run lock is asked for through the API: another session
  // takes and releases it in a tight loop on the server, and the run lock is asked for until a
  // refusal finds it free again when it looks for the holder (the first or second try, measured).
  test('said so, with "run the command again"', async () => {
    const p = await project(dialect, {});
    const { database } = p.db.connection;
    const config = p.db.projectConfig(join(p.dir, 'migrations'));
    const toggler = createKnex(dialect, p.db.connection, { pool: { min: 1, max: 1 } });
    cleanups.push(() => toggler.destroy());
    const [k1, k2] = pgLockKeys(database);
    const name = mysqlLockName(database);
    const loop =
      dialect === 'mysql'
        ? `BEGIN NOT ATOMIC DECLARE i INT DEFAULT 0; WHILE i < 3000000 DO DO GET_LOCK('${name}', 0); DO RELEASE_LOCK('${name}'); SET i = i + 1; END WHILE; END`
        : `DO $$ BEGIN FOR i IN 1..3000000 LOOP PERFORM pg_advisory_lock(${k1}, ${k2}); PERFORM pg_advisory_unlock(${k1}, ${k2}); END LOOP; END $$`;
    const togglerId = Number(
      dialect === 'mysql'
        ? ((await toggler.raw('SELECT CONNECTION_ID() AS id')) as [Array<{ id: number }>])[0][0]?.id
        : ((await toggler.raw('SELECT pg_backend_pid() AS id')) as { rows: Array<{ id: number }> }).rows[0]?.id,
    );
    const toggling = toggler.raw(loop).catch(() => undefined);
    // KILL QUERY left the MariaDB loop running to its end (12 s measured): the connection goes.
    cleanups.push(() => p.knex.raw(dialect === 'mysql' ? `KILL ${togglerId}` : `SELECT pg_cancel_backend(${togglerId})`));
    const seen = { got: 0, held: 0 };
    let moment: MigrateError | undefined;
    for (let i = 0; i < 400 && !moment; i++) {
      try {
        const s = await acquireRunLock(config);
        await s.release();
        seen.got++;
      } catch (e) {
        if (!(e instanceof MigrateError) || e.kind !== 'lock') throw e;
        if (e.problem.endsWith('a moment ago.')) moment = e;
        else seen.held++;
      }
    }
    await cleanups.pop()?.();
    await toggling;
    expect(moment, JSON.stringify(seen)).toBeDefined();
    const where = `${p.db.connection.host}:${p.db.connection.port}`;
    expect(moment?.problem).toBe(
      dialect === 'mysql'
        ? `Another migrate run held the lock "${name}" on ${where} a moment ago.`
        : `Another migrate run held the lock pg_advisory_lock(${k1}, ${k2}) on ${where} a moment ago.`,
    );
    expect(moment?.fix).toBe('Run the command again.');
  });
});

test('mysql: SIGINT while the migrations are still loading: stopped before any migration started, exit 130, nothing run', async () => {
  // Its module takes 3 s to load (busy), so the signal comes before the run lock is taken.
  const p = await project('mysql', {
    '0001_slow.ts': `import type { Knex } from 'knex';
const until = Date.now() + 3000;
while (Date.now() < until) {}
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE TABLE slow (id int)');
}
export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE slow');
}
`,
  });
  const run = p.start(['up']);
  await sleep(1500);
  process.kill(run.pid, 'SIGINT');
  const r = await run.done;
  expectExit(r, 130);
  expect(r.error).toBe('Interrupted by SIGINT before the next migration started: it did not run, and the ledger is consistent.');
  expect(r.fix).toBe('Run the command again when ready ("migrate status" shows what is applied).');
  expect(await p.tables()).toEqual([]);
  expect(await p.ledger()).toEqual([]);
});

test('postgres: check --shadow on a shared server whose new analysis role is made NOLOGIN before it logs in: the refusal named, with the fix', async () => {
  // A private server (the machine's one is shared with other runs' roles): it holds the sandbox's
  // app database, so the analysis works through a role of its own, which a watcher disables.
  const sb = await startSandbox({ topology: 'postgres' });
  cleanups.push(() => sb.stop());
  const n = sb.nodes[0]!;
  const admin = createKnex('postgres', { host: n.host, port: n.port, user: n.user, password: n.password, database: 'postgres' }, { pool: { min: 1, max: 1 } });
  cleanups.push(() => admin.destroy());
  let watching = true;
  const disabled: string[] = [];
  const watcher = (async () => {
    while (watching) {
      const r = (await admin.raw("SELECT rolname FROM pg_roles WHERE rolname LIKE 'migrate\\_shadow\\_%' AND rolcanlogin")) as { rows: { rolname: string }[] };
      for (const { rolname } of r.rows) {
        await admin.raw(`ALTER ROLE "${rolname}" NOLOGIN`).catch(() => undefined);
        disabled.push(rolname);
      }
    }
  })();
  const p = await project('postgres', { '0001_c.up.sql': 'CREATE TABLE c (id int);\n', '0001_c.down.sql': 'DROP TABLE c;\n' });
  const r = await cli([
    'check',
    join(p.dir, 'migrations'),
    '--dialect',
    'postgres',
    '--no-cache',
    '--shadow',
    serverUrl('postgres', { host: n.host, port: n.port, user: n.user, password: n.password, database: 'postgres' }),
  ]);
  watching = false;
  await watcher;
  expectExit(r, 2);
  expect(disabled).toHaveLength(1);
  expect(r.error).toBe(
    `The shadow server ${n.host}:${n.port} refused the login of the account the analysis created for itself (${disabled[0]}): role "${disabled[0]}" is not permitted to log in`,
  );
  expect(r.fix).toContain('Allow password logins of the migrate_shadow_* roles from this host in pg_hba.conf');
  // The run removed its role and database again: the server is as it was.
  const left = (await admin.raw(
    "SELECT (SELECT count(*)::int FROM pg_roles WHERE rolname LIKE 'migrate\\_shadow\\_%') AS roles, (SELECT count(*)::int FROM pg_database WHERE datname LIKE 'migrate\\_shadow\\_%') AS dbs",
  )) as { rows: unknown[] };
  expect(left.rows).toEqual([{ roles: 0, dbs: 0 }]);
}, 180_000);

test('postgres: check --shadow while another analysis holds the server-wide lock: after MIGRATE_SHADOW_LOCK_WAIT, refused; a bad value refused; free again, it runs', async () => {
  const sb = await startSandbox({ topology: 'postgres' });
  cleanups.push(() => sb.stop());
  const n = sb.nodes[0]!;
  const server = { host: n.host, port: n.port, user: n.user, password: n.password, database: 'postgres' };
  const holder = createKnex('postgres', server, { pool: { min: 1, max: 1 } });
  cleanups.push(() => holder.destroy());
  await holder.raw("SELECT pg_advisory_lock(hashtext('migrate_shadow_server_wide'))");
  const p = await project('postgres', { '0001_c.up.sql': 'CREATE TABLE c (id int);\n', '0001_c.down.sql': 'DROP TABLE c;\n' });
  const check = (wait: string): Promise<CliResult> =>
    cli(['check', join(p.dir, 'migrations'), '--dialect', 'postgres', '--no-cache', '--shadow', serverUrl('postgres', server)], {
      MIGRATE_SHADOW_LOCK_WAIT: wait,
    });
  const held = await check('1');
  expectExit(held, 1);
  expect(held.error).toBe(
    `Another analysis kept the shadow server ${n.host}:${n.port} for its server-wide statements (accounts, roles, databases) for more than 1 s.`,
  );
  expect(held.fix).toContain('Run the check again once the other one finished');
  expect(held.ms).toBeGreaterThanOrEqual(1000);
  const bad = await check('soon');
  expectExit(bad, 2);
  expect(bad.error).toBe('MIGRATE_SHADOW_LOCK_WAIT must be a whole number of seconds, at least 1 (got "soon").');
  await holder.raw("SELECT pg_advisory_unlock(hashtext('migrate_shadow_server_wide'))");
  const free = await check('1');
  expectExit(free, 0);
  const left = (await holder.raw(
    "SELECT (SELECT count(*)::int FROM pg_roles WHERE rolname LIKE 'migrate\\_shadow\\_%') AS roles, (SELECT count(*)::int FROM pg_database WHERE datname LIKE 'migrate\\_shadow\\_%') AS dbs",
  )) as { rows: unknown[] };
  expect(left.rows).toEqual([{ roles: 0, dbs: 0 }]);
}, 180_000);
