import { beforeAll, describe, expect, it } from 'vitest';
import { loadStatementParser } from '../../src/analysis/sql/parse.ts';
import { classifyMysqlStatement } from '../../src/engines/mysql/classify.ts';
import { describeWithSource } from '../../src/engines/mysql/statements.ts';

// UPDATE [LOW_PRIORITY] [IGNORE] and DELETE [LOW_PRIORITY] [QUICK] [IGNORE]: the modifiers are
// not the table, and they bound no rows. (test/integration/mysql-dml-modifiers.test.ts: MY301 on a server.)
beforeAll(() => loadStatementParser('mysql'));

const read = (sql: string) => {
  const { info } = describeWithSource(sql);
  return { table: info.table, wholeTable: info.wholeTable, otherDatabase: info.otherDatabase ?? false };
};

const cases: [sql: string, table: string, wholeTable: boolean, otherDatabase?: boolean][] = [
  ['UPDATE LOW_PRIORITY users SET age = 1', 'users', true],
  ['UPDATE IGNORE users SET age = 1', 'users', true],
  ['update low_priority ignore `users` SET age = 1', 'users', true],
  ['UPDATE LOW_PRIORITY users SET age = 1 WHERE id < 10', 'users', false],
  ["UPDATE IGNORE users SET note = 'where'", 'users', true],
  ['UPDATE IGNORE users SET age = 1 LIMIT 100', 'users', false],
  ['DELETE IGNORE FROM logs WHERE id = 1', 'logs', false],
  ['DELETE IGNORE FROM logs', 'logs', true],
  ['DELETE LOW_PRIORITY QUICK FROM logs', 'logs', true],
  ['DELETE LOW_PRIORITY QUICK IGNORE FROM logs WHERE id = 1', 'logs', false],
  ['DELETE QUICK FROM other.logs', 'logs', true, true],
  ['/* batch */ DELETE IGNORE FROM logs', 'logs', true],
  ['DELETE IGNORE a FROM logs AS a JOIN users u ON u.id = a.id', 'logs', false],
  // QUICK is not reserved, and is a modifier of DELETE only: here it is the table.
  ['UPDATE quick SET a = 1', 'quick', true],
];

describe('UPDATE / DELETE with MySQL modifiers', () => {
  it.each(cases)('%s: table %s, whole table %s', (sql, table, wholeTable, otherDatabase = false) => {
    expect(read(sql)).toEqual({ table, wholeTable, otherDatabase });
  });

  it('the fallback classifier reads the same table (statements too long to parse go to it)', () => {
    for (const [sql, table, wholeTable] of cases.filter(([s]) => !/\bjoin\b/i.test(s))) {
      expect(classifyMysqlStatement(sql), sql).toMatchObject({ table, wholeTable });
    }
  });

  it('INSERT IGNORE and REPLACE are read as a plain INSERT is: data, never a whole-table change', () => {
    for (const sql of ['INSERT IGNORE INTO users (name) VALUES (1)', 'REPLACE INTO users (id, name) VALUES (1, 2)', 'INSERT INTO users (name) VALUES (1)']) {
      expect(describeWithSource(sql).info, sql).toMatchObject({ kind: 'dml', wholeTable: false, opaque: false });
    }
  });
});
