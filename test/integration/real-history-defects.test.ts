import { describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import type { MigrationVerdict } from '../../src/analysis/types.ts';
import type { Dialect } from '../../src/config/types.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * Verdicts on files shaped like real histories (issue 15, point 4): each case is a small migration
 * written for this test in the shape a real project's file had, analysed on the test's shadow server.
 */
async function verdictsOf(dialect: Dialect, migrations: MigrationSource[]): Promise<MigrationVerdict[]> {
  return analyse(migrations, { dialect, shadow: shadowServer(dialect) });
}

const rules = (v: MigrationVerdict): string[] => [...new Set(v.findings.map((f) => f.rule))].sort();

describe('B5: a column named locked is not a LOCK clause (MySQL)', () => {
  it('DROP COLUMN locked is INSTANT, with no MY102 and no refusal', async () => {
    const [, v] = await verdictsOf('mysql', [
      sqlMigration(
        'mysql',
        '0001_jobs',
        'CREATE TABLE jobs (id INT PRIMARY KEY, name VARCHAR(50), locked TINYINT(1) NOT NULL DEFAULT 0, locked_at DATETIME NULL);',
        '',
      ),
      sqlMigration(
        'mysql',
        '0002_drop_locked',
        'ALTER TABLE jobs DROP COLUMN locked, DROP COLUMN locked_at;',
        'ALTER TABLE jobs ADD COLUMN locked TINYINT(1) NOT NULL DEFAULT 0, ADD COLUMN locked_at DATETIME NULL;',
        {
          phase: 'post-deploy',
        },
      ),
    ]);
    expect(rules(v!)).not.toContain('MY102');
    expect(v!.algorithm).toBe('INSTANT');
    expect(v!.blocking).toBe(false);
    expect(v!.strategy).not.toBe('refused');
  });

  it('an ALTER that declares LOCK=NONE is still read as declared', async () => {
    const [, v] = await verdictsOf('mysql', [
      sqlMigration('mysql', '0001_jobs', 'CREATE TABLE jobs (id INT PRIMARY KEY, locked_at DATETIME NULL);', ''),
      sqlMigration(
        'mysql',
        '0002_index',
        'ALTER TABLE jobs ADD INDEX idx_locked_at (locked_at), ALGORITHM=INPLACE, LOCK=NONE;',
        'ALTER TABLE jobs DROP INDEX idx_locked_at;',
      ),
    ]);
    expect(v!.algorithm).toBe('INPLACE');
    expect(v!.findings.find((f) => f.rule === 'MY201')?.statement).toMatch(/LOCK=NONE/);
  });
});

describe('B2: PostgreSQL folds unquoted names to lower case', () => {
  it('CREATE INDEX ... ON Posts (originalid) is a blocking build on table posts, and later migrations see the index', async () => {
    const vs = await verdictsOf('postgres', [
      sqlMigration('postgres', '0001_posts', 'CREATE TABLE posts (id bigint PRIMARY KEY, originalid varchar(26), message text);', ''),
      sqlMigration('postgres', '0002_idx', 'CREATE INDEX idx_posts_originalid ON Posts (OriginalId);', 'DROP INDEX idx_posts_originalid;'),
      sqlMigration('postgres', '0003_col', 'ALTER TABLE POSTS ADD COLUMN editat bigint;', 'ALTER TABLE Posts DROP COLUMN EditAt;'),
      sqlMigration('postgres', '0004_other', 'CREATE TABLE channels (id bigint PRIMARY KEY);', 'DROP TABLE channels;'),
    ]);
    const [, idx, col, other] = vs;
    const pg101 = idx!.findings.find((f) => f.rule === 'PG101');
    expect(pg101?.table).toBe('posts');
    expect(idx!.blocking).toBe(true);
    expect(idx!.changes.map((c) => c.kind)).toContain('index_added');
    // The snapshot of posts was refreshed after 0002 and 0003: no migration after them reports
    // the index or the column as left behind by its down.
    for (const v of [col!, other!]) expect(rules(v), v.id).not.toContain('RV102');
    expect(col!.changes.map((c) => c.kind)).toEqual(['column_added']);
    expect(other!.changes.map((c) => c.kind)).toEqual(['table_added']);
  });
});
