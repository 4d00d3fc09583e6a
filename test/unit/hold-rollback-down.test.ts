/**
 * Which down a rollback of a held master-master change uses when the hold recorded none: the
 * migration's down on disk, read as discovery reads it, and only when the up on disk is still what
 * the hold applied (a down written for an edited up undoes a different change). A TypeScript
 * migration's down() is code: its refusal must not send the operator to add a down that exists.
 * The decision runs before rollback touches a server (hold.ts downStatementsOf); the hold cases on
 * a real cluster are in test/integration/errors-execution.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import { type HoldState, rollbackDownFromDisk } from '../../src/execution/hold.ts';
import { discoverMigrations } from '../../src/migrations/discover.ts';

const HOLD_FILE = '/state/.migrate/hold-sandbox.json';
const hold: HoldState = {
  cluster: 'sandbox',
  migrationId: '0002_widen_n',
  heldNode: 'db1',
  alteredNode: 'db2',
  database: 'app',
  statements: ['ALTER TABLE t MODIFY n BIGINT NOT NULL'],
  downStatements: [],
  restore: [],
  at: '2026-12-07T08:00:00.000Z',
};

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The held migration as discovery finds it in a directory holding these files. */
async function onDisk(files: Record<string, string>, id = hold.migrationId) {
  dir = mkdtempSync(join(tmpdir(), 'mig-hold-down-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  return { m: (await discoverMigrations(dir, 'mysql')).migrations.find((x) => x.id === id), dir };
}

function refusal(f: () => unknown): MigrateError {
  try {
    f();
  } catch (e) {
    if (e instanceof MigrateError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('the down of a held change that recorded none', () => {
  it('is the down file on disk when the up on disk is what the hold applied, and names that file', async () => {
    const { m, dir } = await onDisk({
      '0002_widen_n.up.sql': 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n',
      '0002_widen_n.down.sql': 'ALTER TABLE t MODIFY n INT NOT NULL;\n',
    });
    expect(rollbackDownFromDisk(hold, m, HOLD_FILE)).toEqual({
      statements: ['ALTER TABLE t MODIFY n INT NOT NULL'],
      from: join(dir, '0002_widen_n.down.sql'),
    });
  });

  it('is refused when the up was edited since the hold: its down may undo a different change', async () => {
    const { m, dir } = await onDisk({
      '0002_widen_n.up.sql': 'ALTER TABLE t MODIFY n DECIMAL(20,2) NOT NULL;\n',
      '0002_widen_n.down.sql': 'ALTER TABLE t MODIFY n INT NOT NULL;\n',
    });
    const e = refusal(() => rollbackDownFromDisk(hold, m, HOLD_FILE));
    expect(e.kind).toBe('work');
    expect(e.problem).toBe(
      `${join(dir, '0002_widen_n.up.sql')} is not what the hold applied on db2: statement 1 differs, so its down file may undo a different change.`,
    );
    expect(e.fix).toBe(
      `Restore ${join(dir, '0002_widen_n.up.sql')} to the statements the hold applied ("statements" in ${HOLD_FILE}), with a down file that undoes them, then run \`migrate rollback\` again. Nothing was changed.`,
    );
  });

  it('is refused when a statement was added to the up since the hold', async () => {
    const { m } = await onDisk({
      '0002_widen_n.up.sql': 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\nALTER TABLE t ADD COLUMN k INT;\n',
      '0002_widen_n.down.sql': 'ALTER TABLE t DROP COLUMN k;\nALTER TABLE t MODIFY n INT NOT NULL;\n',
    });
    expect(refusal(() => rollbackDownFromDisk(hold, m, HOLD_FILE)).problem).toMatch(
      /0002_widen_n\.up\.sql is not what the hold applied on db2: it has 2 statements, the hold applied 1, so its down file may undo a different change\.$/,
    );
  });

  it('is refused with "add the down migration" when the up is unchanged and there is no down file', async () => {
    const { m } = await onDisk({ '0002_widen_n.up.sql': 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n' });
    const e = refusal(() => rollbackDownFromDisk(hold, m, HOLD_FILE));
    expect(e.problem).toBe('0002_widen_n has no down statements to undo the change on db2.');
    expect(e.fix).toBe('Add the down migration, then run `migrate rollback` again. Nothing was changed.');
  });

  it('of a TypeScript migration with a down() is refused with a way out, not "add the down migration"', async () => {
    const ts = {
      '0002_widen_n.ts':
        "export async function up(knex: any) { await knex.raw('ALTER TABLE t MODIFY n BIGINT NOT NULL'); }\nexport async function down(knex: any) { await knex.raw('ALTER TABLE t MODIFY n INT NOT NULL'); }\n",
    };
    const { m } = await onDisk(ts);
    expect(m?.format).toBe('ts');
    const e = refusal(() => rollbackDownFromDisk(hold, m, HOLD_FILE));
    expect(e.problem).toBe(
      "0002_widen_n is a TypeScript migration and the hold recorded no SQL for its down to undo the change on db2: rollback replays the down's statements on db2 alone, and a down() function is only known by running it.",
    );
    expect(e.fix).toBe(
      'Run `migrate finalize` to bring db1 to the new schema too, then undo the change on the cluster with `migrate down` or a new migration. Nothing was changed.',
    );
    expect(e.fix).not.toMatch(/Add the down migration/);
  });

  it('of a migration no longer on disk is refused with "restore it"', async () => {
    const { m } = await onDisk({ '0001_other.up.sql': 'CREATE TABLE u (id INT);\n' });
    expect(m).toBeUndefined();
    const e = refusal(() => rollbackDownFromDisk(hold, m, HOLD_FILE));
    expect(e.problem).toBe('0002_widen_n has no down statements to undo the change on db2, and the migration is no longer among the migrations.');
    expect(e.fix).toMatch(/^Restore 0002_widen_n with a down migration that undoes it, then run `migrate rollback` again\. Nothing was changed\.$/);
  });
});
