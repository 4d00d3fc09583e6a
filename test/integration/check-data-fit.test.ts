import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * `check` decides a narrowing on the rows the history itself inserted, also for TypeScript
 * migrations (their SQL is known only as it runs) and inside a migration's own BEGIN ... COMMIT
 * (PostgreSQL: the copy runs under a savepoint there, so a failed copy cannot abort it).
 */
function ts(id: string, up: (k: Knex) => Promise<void>, down: (k: Knex) => Promise<void>): MigrationSource {
  return { id, format: 'ts', upPath: `/virtual/${id}.ts`, checksum: id, acknowledgements: [], up, down };
}

const history = [
  ts(
    '0001_users',
    async (k) => {
      await k.schema.createTable('users', (t) => {
        t.integer('id').primary();
        t.string('nick', 40);
      });
      await k('users').insert([
        { id: 1, nick: 'ada' },
        { id: 2, nick: 'a-nickname-of-twenty-six-ch' },
        { id: 3, nick: null },
      ]);
    },
    (k) => k.schema.dropTable('users'),
  ),
];

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`check counts a narrowing on the history's rows (${dialect})`, () => {
    it('a TypeScript migration: the row that does not fit is counted, by key', async () => {
      // Truncating on purpose (PostgreSQL: an explicit cast; MariaDB: IGNORE turns the error into a cut).
      const narrow = ts(
        '0002_nick_short',
        (k) =>
          k.raw(
            dialect === 'postgres'
              ? 'ALTER TABLE users ALTER COLUMN nick TYPE varchar(10) USING nick::varchar(10)'
              : 'ALTER IGNORE TABLE users MODIFY nick VARCHAR(10)',
          ),
        (k) => k.schema.alterTable('users', (t) => t.string('nick', 40).alter()),
      );
      const verdicts = await analyse([...history, narrow], { dialect, shadow: shadowServer(dialect) });
      const v = verdicts[1]!;
      expect(v.dataLoss, JSON.stringify(v.findings.map((f) => [f.rule, f.message]))).toBe(true);
      expect(v.findings.find((f) => f.rule === 'DL103')?.message).toContain(
        "1 of 3 rows exceed 10 characters (e.g. id 2) (checked on the shadow's rows before the change)",
      );
    });

    it('every row fits: no data loss, and the finding says what was counted', async () => {
      const widenable = ts(
        '0002_nick_30',
        (k) => k.schema.alterTable('users', (t) => t.string('nick', 30).alter()),
        (k) => k.schema.alterTable('users', (t) => t.string('nick', 40).alter()),
      );
      const verdicts = await analyse([...history, widenable], { dialect, shadow: shadowServer(dialect) });
      const v = verdicts[1]!;
      expect(v.dataLoss).toBe(false);
      const f = v.findings.find((x) => x.rule === 'DL107')!;
      expect(f.severity).toBe('info');
      expect(f.message).toContain("0 of 3 rows exceed 30 characters (checked on the shadow's rows before the change)");
    });
  });
}

describe("check counts a narrowing inside the migration's own transaction (postgres)", () => {
  it('BEGIN; ALTER ... USING cast; COMMIT: the copy taken under a savepoint counts the row the cast cuts', async () => {
    const narrow = sqlMigration(
      'postgres',
      '0002_nick_short',
      'BEGIN;\nALTER TABLE users ALTER COLUMN nick TYPE varchar(10) USING nick::varchar(10);\nCOMMIT;',
      'ALTER TABLE users ALTER COLUMN nick TYPE varchar(40);',
    );
    const verdicts = await analyse([...history, narrow], { dialect: 'postgres', shadow: shadowServer('postgres') });
    const v = verdicts[1]!;
    expect(v.outcome ?? 'analysed').toBe('analysed');
    expect(v.findings.find((f) => f.rule === 'DL103')?.message).toContain('1 of 3 rows exceed 10 characters (e.g. id 2)');
  });
});
