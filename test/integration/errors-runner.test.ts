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
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { cli, show, sleep, type CliResult } from '../faults/harness.ts';
import { cliProject, type CliProject } from '../helpers/cli-project.ts';

const projects: CliProject[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  for (const p of projects.splice(0)) await p.remove();
});

async function project(dialect: 'mysql' | 'postgres', files: Record<string, string>): Promise<CliProject> {
  const p = await cliProject(dialect, files);
  projects.push(p);
  return p;
}

const expectExit = (r: CliResult, code: number): void => {
  expect(r.signal, show(r)).toBeNull();
  expect(r.code, show(r)).toBe(code);
  expect(r.stderr, show(r)).not.toMatch(/unexpected failure|^\s+at\s/m);
};

/** The MariaDB session running a statement that starts like `prefix`, once it runs. */
async function mysqlSession(p: CliProject, prefix: string): Promise<number> {
  for (let i = 0; i < 150; i++) {
    const r = await p.rows('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE ?', [`${prefix}%`]);
    if (r[0]) return Number(r[0]['id']);
    await sleep(100);
  }
  throw new Error(`no session ran "${prefix}" within 15 s`);
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
