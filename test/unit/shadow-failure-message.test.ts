import { describe, expect, it } from 'vitest';
import { withoutDatabaseName } from '../../src/analysis/shadow.ts';

/** A failure names objects as the migration does, never inside the throwaway shadow database. */
describe('withoutDatabaseName', () => {
  const db = 'migrate_shadow_ovv_tpmw5n_f859_0';
  it('takes the name off MariaDB/MySQL backquoted, PostgreSQL double-quoted and bare qualified names', () => {
    expect(withoutDatabaseName(`Can't create table \`${db}\`.\`stat_minutely\` (errno: 150 "Foreign key constraint is incorrectly formed")`, db)).toBe(
      'Can\'t create table `stat_minutely` (errno: 150 "Foreign key constraint is incorrectly formed")',
    );
    expect(withoutDatabaseName(`relation "${db}".people does not exist`, db)).toBe('relation people does not exist');
    expect(withoutDatabaseName(`Table '${db}.people' doesn't exist`, db)).toBe("Table 'people' doesn't exist");
  });
  it('leaves a message without the name as it is', () => {
    expect(withoutDatabaseName("Duplicate column name 'age'", db)).toBe("Duplicate column name 'age'");
  });
});
