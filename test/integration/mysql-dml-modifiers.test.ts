import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * UPDATE and DELETE with the modifiers MariaDB/MySQL allow after the verb (LOW_PRIORITY, IGNORE,
 * QUICK): `migrate check` on the real server must name the statement's own table and tell a
 * whole-table change (MY301, and DL106 for a DELETE) from one bounded by WHERE or LIMIT, as it does
 * for the same statement without the modifier. node-sql-parser refuses these modifiers, and the
 * fallback used to read LOW_PRIORITY / IGNORE as the table, or no table at all for a DELETE.
 */
const setup = [
  'CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL, age INT)',
  'CREATE TABLE logs (id INT PRIMARY KEY AUTO_INCREMENT, line VARCHAR(200))',
  "INSERT INTO users (name, age) VALUES ('a', 1), ('b', 2), ('c', 3)",
  "INSERT INTO logs (line) VALUES ('x'), ('y')",
].join(';\n');

const whole = [
  'UPDATE LOW_PRIORITY users SET age = 0',
  'UPDATE IGNORE users SET age = age + 2',
  'DELETE LOW_PRIORITY QUICK FROM logs',
  'DELETE IGNORE FROM logs',
];
const bounded = [
  'UPDATE LOW_PRIORITY IGNORE users SET age = age + 1 WHERE id < 3',
  'UPDATE IGNORE users SET age = age + 2 LIMIT 1',
  'DELETE LOW_PRIORITY QUICK FROM logs WHERE id = 1',
  'DELETE IGNORE FROM logs WHERE id = 2',
];

const chain = (up: string[]) => [
  sqlMigration('mysql', '0001_tables', setup, 'DROP TABLE users; DROP TABLE logs'),
  sqlMigration('mysql', '0002_dml', up.join(';\n'), 'SELECT 1', { phase: 'pre-deploy' }),
];

describe('UPDATE / DELETE with LOW_PRIORITY, IGNORE, QUICK (mysql)', () => {
  it('a whole-table change is MY301 on its own table; a bounded one is not', async () => {
    const [w, b] = await Promise.all([chain(whole), chain(bounded)].map((ms) => analyse(ms, { dialect: 'mysql', shadow: shadowServer('mysql') })));
    const my301 = (v: typeof w) => v![1]!.findings.filter((f) => f.rule === 'MY301').map((f) => [f.statement, f.table]);
    expect(my301(w)).toEqual([
      [whole[0], 'users'],
      [whole[1], 'users'],
      [whole[2], 'logs'],
      [whole[3], 'logs'],
    ]);
    // Deleting every row is data loss, whatever the modifiers.
    expect(w![1]!.findings.filter((f) => f.rule === 'DL106').map((f) => f.table)).toEqual(['logs', 'logs']);
    // Setting a column to a constant in every row loses its values (DL109), as without the modifier.
    expect(w![1]!.findings.filter((f) => f.rule === 'DL109').map((f) => f.table)).toEqual(['users']);
    expect(b![1]!.findings.map((f) => f.rule)).not.toContain('MY301');
    expect(b![1]!.findings.map((f) => f.rule)).not.toContain('DL106');
  });
});

afterAll(async () => {
  expect(await listShadowDatabases('mysql', shadowServer('mysql'), [process.pid])).toEqual([]);
});
