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
