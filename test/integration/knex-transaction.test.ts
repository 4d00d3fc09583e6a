import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';
import { shadowServer } from '../helpers/shadow.ts';

/**
 * A TypeScript migration that runs its DDL inside knex.transaction(): knex runs those queries on a
 * client of its own making, which the analysis must see like any other (it once saw none of them,
 * so a dropped column inside a transaction was reported compatible).
 */
function ts(id: string, up: MigrationSource['up'], down: NonNullable<MigrationSource['down']>): MigrationSource {
  return { id, format: 'ts', upPath: `/virtual/${id}.ts`, checksum: id, acknowledgements: [], up, down };
}

const create = ts(
  '0001_create',
  async (k) => void (await k.schema.createTable('people', (t) => (t.increments('id'), t.string('name', 100)))),
  async (k) => void (await k.schema.dropTable('people')),
);
const dropInTransaction = ts(
  '0002_drop_name',
  async (k) => void (await k.transaction(async (trx) => void (await trx.schema.alterTable('people', (t) => void t.dropColumn('name'))))),
  async (k) => void (await k.transaction(async (trx) => void (await trx.schema.alterTable('people', (t) => void t.string('name', 100))))),
);

afterAll(async () => {
  for (const d of ['mysql', 'postgres'] as const) expect(await listShadowDatabases(d, shadowServer(d), [process.pid])).toEqual([]);
});

describe.each(['mysql', 'postgres'] as const)('DDL inside knex.transaction() (%s)', (d) => {
  it('is captured and judged: the dropped column is BC102, the migration not backward compatible, its down restores it', async () => {
    const [, v] = await analyse([create, dropInTransaction], { dialect: d, shadow: shadowServer(d) });
    expect(v!.outcome).toBe('analysed');
    expect(
      v!.sql.some((s) => /alter table .*people.* drop .*name/i.test(s)),
      v!.sql.join('\n'),
    ).toBe(true);
    expect(v!.findings.map((f) => f.rule)).toContain('BC102');
    expect(v!.backwardCompatible).toBe(false);
    expect(v!.reversible).toBe(true);
    // knex's own BEGIN/COMMIT are not part of what the migration changed.
    expect(v!.sql.some((s) => /^\s*(begin|commit)\b/i.test(s))).toBe(false);
  }, 120_000);
});
