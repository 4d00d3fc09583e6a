/**
 * `migrate repair` refusing what it cannot do (issue 18: every typed error with a fix reached
 * once), through the real CLI on the machine's MariaDB: each case asserts the exit code, the
 * problem and fix lines, no stack trace, and that the ledger and the schema are as the refusal
 * left them (nothing ran), then takes the step the fix names where one applies.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type CliProject, expectExit, killMidStatement, projectsRemovedAfterEach } from '../helpers/cli-project.ts';

const mysqlProject = projectsRemovedAfterEach();
const project = (files: Record<string, string>): Promise<CliProject> => mysqlProject('mysql', files);

/** `up` fails at the last statement: MariaDB keeps the DDL before it, so the migration is partially applied. */
async function partial(p: CliProject, ran: number, total: number): Promise<void> {
  const up = await p.run(['up']);
  expectExit(up, 1);
  expect(up.error).toContain(`partially applied: ${ran} of ${total} statements ran`);
}

const status = async (p: CliProject): Promise<string> => (await p.run(['status'])).stdout;

describe('mysql: repair refuses what does not fit the migration state', () => {
  test('--continue / --revert of a pending or applied migration, --forget of a pending one, --mark-applied of an applied one: usage errors, nothing recorded', async () => {
    const p = await project({ '0001_a.up.sql': 'CREATE TABLE a (id int);\n', '0001_a.down.sql': 'DROP TABLE a;\n' });
    const cont = await p.run(['repair', '0001_a', '--continue']);
    expectExit(cont, 2);
    expect(cont.error).toBe('0001_a has no interrupted run to continue: it is pending.');
    expect(cont.fix).toContain('Nothing to repair: "migrate up" runs it.');
    const forget = await p.run(['repair', '0001_a', '--forget']);
    expectExit(forget, 2);
    expect(forget.error).toBe('0001_a is pending; there is nothing to forget.');
    expect(forget.fix).toContain('"migrate status" shows which migrations are partially applied');
    expect(await p.tables()).toEqual([]);
    expect(await p.ledger()).toEqual([]);

    expectExit(await p.run(['up']), 0);
    const mark = await p.run(['repair', '0001_a', '--mark-applied']);
    expectExit(mark, 2);
    expect(mark.error).toBe('0001_a is already applied; there is nothing to mark.');
    const revert = await p.run(['repair', '0001_a', '--revert']);
    expectExit(revert, 2);
    expect(revert.error).toBe('0001_a has no interrupted run to revert: it is applied.');
    expect(revert.fix).toContain('"migrate down" reverts it');
    expect(await p.tables()).toEqual(['a']);
    expect(await p.ledger()).toEqual(['0001_a']);
  });

  test('a partially applied migration whose file was then removed: status shows it, --continue names the missing file, --forget records a fix made by hand', async () => {
    const p = await project({ '0001_f.up.sql': 'CREATE TABLE f1 (id int);\nCREATE TABLE f2 (id int);\nINSERT INTO nowhere VALUES (1);\n' });
    await partial(p, 2, 3);
    rmSync(join(p.dir, 'migrations', '0001_f.up.sql'));
    // Before the fix: status said "No migrations ... none applied" and every repair "No migration has the id", while up refused because of it.
    const st = await p.run(['status']);
    expectExit(st, 0);
    expect(st.stdout).toMatch(/0001_f\s+partial/);
    expect(st.stdout).toContain('its file is no longer in the migrations directory');
    const refused = await p.run(['up']);
    expectExit(refused, 1);
    expect(refused.fix).toContain('"migrate repair 0001_f --forget"');
    const gone = await p.run(['repair', '0001_f', '--continue']);
    expectExit(gone, 1);
    expect(gone.error).toBe('0001_f has no file any more, so its statements cannot run.');
    expect(gone.fix).toContain('Restore the file of 0001_f from version control, or record a fix made by hand');
    expect(await p.tables()).toEqual(['f1', 'f2']);

    // The fix named: undone by hand, then recorded.
    await p.knex.raw('DROP TABLE f1, f2');
    const forget = await p.run(['repair', '0001_f', '--forget']);
    expectExit(forget, 0);
    expect(forget.stderr).toContain('0001_f is recorded as not applied (was partially applied: 2 of 3 statements ran)');
    expectExit(await p.run(['up']), 0);
    expect(await p.ledger()).toEqual([]);
    expect(await status(p)).not.toContain('0001_f');
  });

  test('a partially applied migration whose id is also a script: --continue refused, nothing run; done once the script is gone', async () => {
    const up = 'CREATE TABLE g1 (id int);\nCREATE TABLE g2 (id int);\nINSERT INTO nowhere VALUES (1);\n';
    const p = await project({ '0001_g.up.sql': up });
    await partial(p, 2, 3);
    p.write({ '0001_g.ts': 'export async function up(): Promise<void> {}\n' });
    const twice = await p.run(['repair', '0001_g', '--continue']);
    expectExit(twice, 1);
    expect(twice.error).toBe('0001_g cannot run: Migration id 0001_g exists twice: as a script and as SQL files.');
    expect(twice.fix).toContain('Keep one of the two');
    expect(await p.tables()).toEqual(['g1', 'g2']);
    expect(await status(p)).toMatch(/0001_g\s+partial/);

    rmSync(join(p.dir, 'migrations', '0001_g.ts'));
    // Statement 3 corrected (not 1-2): --continue goes on from it.
    p.write({ '0001_g.up.sql': up.replace('nowhere', 'g1') });
    expectExit(await p.run(['repair', '0001_g', '--continue']), 0);
    expect(await p.ledger()).toEqual(['0001_g']);
    expect(await p.rows('SELECT COUNT(*) AS n FROM g1')).toEqual([{ n: 1 }]);
  });

  test('--continue and --revert after statements that ran were edited: refused with the choices, nothing run', async () => {
    const p = await project({
      '0001_e.up.sql': 'CREATE TABLE e1 (id int);\nCREATE TABLE e2 (id int);\nINSERT INTO nowhere VALUES (1);\n',
      '0001_e.down.sql': 'DROP TABLE e2;\nDROP TABLE e1;\n',
    });
    await partial(p, 2, 3);
    p.write({ '0001_e.up.sql': 'CREATE TABLE e1 (id bigint);\nCREATE TABLE e2 (id int);\nINSERT INTO e1 VALUES (1);\n' });
    for (const mode of ['--continue', '--revert']) {
      const r = await p.run(['repair', '0001_e', mode]);
      expectExit(r, 1);
      expect(r.error).toBe(`0001_e: statements 1-2 of 0001_e.up.sql changed since they ran, so ${mode} cannot tell which statements of the file ran.`);
      expect(r.fix).toContain('--mark-applied');
    }
    expect(await p.tables()).toEqual(['e1', 'e2']);
    expect(await p.rows('SELECT COUNT(*) AS n FROM e1')).toEqual([{ n: 0 }]);
    expect(await status(p)).toMatch(/0001_e\s+partial/);
  });

  test('--revert without a down file, with a down statement it cannot check, and with a down statement that fails', async () => {
    const p = await project({ '0001_n.up.sql': 'CREATE TABLE n1 (id int);\nINSERT INTO n1 VALUES (1);\nINSERT INTO nowhere VALUES (1);\n' });
    await partial(p, 2, 3);
    const noDown = await p.run(['repair', '0001_n', '--revert']);
    expectExit(noDown, 1);
    expect(noDown.error).toBe('0001_n has no down file, so --revert has nothing to undo statements 1-2 with.');
    expect(noDown.fix).toContain(`Create ${join(p.dir, 'migrations', '0001_n.down.sql')}`);

    // DELETE may undo the INSERT that ran, or rows that were there before: migrate cannot tell.
    p.write({ '0001_n.down.sql': 'DELETE FROM n1;\nDROP TABLE n1;\n' });
    const unchecked = await p.run(['repair', '0001_n', '--revert']);
    expectExit(unchecked, 1);
    expect(unchecked.error).toContain('0001_n is partially applied: 2 of 3 statements ran (0001_n.up.sql:1-2).');
    expect(unchecked.error).toContain('Its 0001_n.down.sql has statements migrate cannot check against what ran');
    expect(unchecked.error).toContain('statement 1 (line 1) "DELETE FROM n1"');
    expect(unchecked.error).toContain('"DELETE FROM n1": check whether the rows it deletes are still in n1. Nothing was run.');
    expect(unchecked.fix).toContain('Undo statements 1-2 by hand');
    expect(await p.rows('SELECT COUNT(*) AS n FROM n1')).toEqual([{ n: 1 }]);

    // A repeatable statement runs as written; this one fails on the server.
    p.write({ '0001_n.down.sql': 'CREATE TABLE IF NOT EXISTS n9 (id int, id int);\nDROP TABLE n1;\n' });
    const failed = await p.run(['repair', '0001_n', '--revert']);
    expectExit(failed, 1);
    expect(failed.error).toContain("repair --revert of 0001_n failed at 0001_n.down.sql line 1 (statement 1): Duplicate column name 'id'");
    expect(failed.error).toContain('0001_n stays partially applied: 2 of 3 statements ran');
    expect(failed.fix).toContain('run "migrate repair 0001_n --revert" again: it skips what is already undone');
    expect(await p.tables()).toEqual(['n1']);
    expect(await status(p)).toMatch(/0001_n\s+partial/);

    p.write({ '0001_n.down.sql': 'DROP TABLE n1;\n' });
    expectExit(await p.run(['repair', '0001_n', '--revert']), 0);
    expect(await p.tables()).toEqual([]);
    expect(await status(p)).toMatch(/0001_n\s+pending/);
  });

  test('a TypeScript migration left half-done: --revert refused, --continue --from refused, --continue runs it again', async () => {
    const ts = (target: string): string => `import type { Knex } from 'knex';
export const transaction = false;
export async function up(knex: Knex): Promise<void> {
  await knex.raw('CREATE TABLE IF NOT EXISTS s1 (id int)');
  await knex.raw('INSERT INTO ${target} VALUES (1)');
}
export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS s1');
}
`;
    const p = await project({ '0001_s.ts': ts('nowhere') });
    const up = await p.run(['up']);
    expectExit(up, 1);
    expect(await p.tables()).toEqual(['s1']);
    const revert = await p.run(['repair', '0001_s', '--revert']);
    expectExit(revert, 1);
    expect(revert.error).toContain(
      '0001_s is a TypeScript migration: migrate records which of its statements ran only for SQL files, so it cannot --revert it.',
    );
    expect(revert.fix).toContain('--continue');
    const from = await p.run(['repair', '0001_s', '--continue', '--from', '2']);
    expectExit(from, 2);
    expect(from.error).toBe('--from applies to SQL migrations only: a TypeScript migration runs again from the start.');
    expect(from.fix).toBe('Leave --from out: "migrate repair 0001_s --continue".');
    expect(await p.ledger()).toEqual([]);
    expect(await p.rows('SELECT COUNT(*) AS n FROM s1')).toEqual([{ n: 0 }]);

    p.write({ '0001_s.ts': ts('s1') });
    expectExit(await p.run(['repair', '0001_s', '--continue']), 0);
    expect(await p.ledger()).toEqual(['0001_s']);
    expect(await p.rows('SELECT COUNT(*) AS n FROM s1')).toEqual([{ n: 1 }]);
  });

  test('--revert after a statement the server cannot vouch for (process and its statement killed): refused with --from', async () => {
    const p = await project({
      '0001_k.up.sql': 'CREATE TABLE k1 (id int);\nINSERT INTO k1 SELECT SLEEP(5);\nCREATE TABLE k2 (id int);\n',
      '0001_k.down.sql': 'DROP TABLE k2;\nDELETE FROM k1;\nDROP TABLE k1;\n',
    });
    await killMidStatement(p, ['up'], 'INSERT INTO k1 SELECT SLEEP');

    const revert = await p.run(['repair', '0001_k', '--revert']);
    expectExit(revert, 1);
    expect(revert.error).toContain(
      '0001_k: statement 2 (0001_k.up.sql:2) "INSERT INTO k1 SELECT SLEEP(5)" was sent to the server and may or may not have run: look in k1 for the rows it inserts',
    );
    expect(revert.error).toContain('so --revert cannot tell what to undo.');
    expect(revert.fix).toContain('--from 2');
    expect(await p.tables()).toEqual(['k1']);
    expect(await p.ledger()).toEqual([]);
  });
});

describe('mysql: repair of a migration Flyway left unfinished', () => {
  test('--mark-applied of one while Flyway left another unfinished too: refused, nothing adopted', async () => {
    const p = await project({
      'V1__one.sql': 'CREATE TABLE one (id int);\n',
      'V2__two.sql': 'CREATE TABLE two (id int);\n',
      'V3__three.sql': 'CREATE TABLE three (id int);\n',
    });
    writeFileSync(p.config, JSON.stringify({ ...JSON.parse(readFileSync(p.config, 'utf8')), adopt: { tool: 'flyway' } }));
    await p.knex.raw('CREATE TABLE one (id int)');
    await p.knex.raw(`CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
      type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
      installed_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, execution_time int NOT NULL, success tinyint(1) NOT NULL)`);
    await p.knex.raw(`INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, installed_by, execution_time, success) VALUES
      (1, '1', 'one', 'SQL', 'V1__one.sql', 'flyway', 5, 1), (2, '2', 'two', 'SQL', 'V2__two.sql', 'flyway', 5, 0), (3, '3', 'three', 'SQL', 'V3__three.sql', 'flyway', 5, 0)`);
    const r = await p.run(['repair', 'V3__three', '--mark-applied']);
    expectExit(r, 1);
    expect(r.error).toBe('flyway also left V2__two unfinished; recording V3__three would adopt the history without a decision on it. Nothing was recorded.');
    expect(r.fix).toBe('Settle V2__two with flyway itself first (e.g. "flyway repair", "migrate force"), then "migrate repair V3__three --mark-applied".');
    expect(await p.knex.schema.hasTable('migrate_ledger')).toBe(false);
    expect(await p.tables()).toEqual(['flyway_schema_history', 'one']);
  });
});
