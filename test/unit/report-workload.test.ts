import { describe, expect, it } from 'vitest';
import { digestToSql, insertColumns, parseWorkload } from '../../src/analysis/workload/parse.ts';

/** Reading workload files (--queries / --new-queries): plain lines, MySQL digests, pg_stat_statements. */
describe('workload files', () => {
  it('reads one statement per line, skipping comments, blanks and non-data statements', () => {
    const w = parseWorkload(
      '-- comment\nSELECT id FROM users WHERE id = ?;\n\n# other\nSET NAMES utf8mb4\nINSERT INTO users (name) VALUES (?)\nSELECT id FROM users WHERE id = ?\n',
      '/x/q.txt',
      'mysql',
    );
    expect(w.queries.map((q) => [q.sql, q.source, q.verb])).toEqual([
      ['SELECT id FROM users WHERE id = ?', 'q.txt line 2', 'select'],
      ['INSERT INTO users (name) VALUES (?)', 'q.txt line 6', 'insert'],
    ]);
    expect(w.skipped).toEqual([{ text: 'SET NAMES utf8mb4', source: 'q.txt line 5', reason: expect.stringMatching(/not a data statement/) }]);
    expect(w.queries[1]!.insert).toEqual({ table: 'users', columns: ['name'] });
    expect(w.queries[0]!.idents.has('users')).toBe(true);
  });

  it('turns performance_schema digests into statements PREPARE accepts', () => {
    const json = JSON.stringify([
      { SCHEMA_NAME: 'shop', DIGEST_TEXT: 'SELECT `id` , `name` FROM `shop` . `users` WHERE `id` IN (...)', COUNT_STAR: 3 },
      { SCHEMA_NAME: 'shop', DIGEST_TEXT: 'INSERT INTO `users` ( `name` , `age` ) VALUES (...) /* , ... */' },
      { SCHEMA_NAME: 'shop', DIGEST_TEXT: 'SELECT `a` , `b` FROM `users` WHERE `c` = ? AND ...' },
      { SCHEMA_NAME: null, DIGEST_TEXT: 'COMMIT' },
    ]);
    const w = parseWorkload(json, '/x/digests.json', 'mysql');
    expect(w.queries.map((q) => q.sql)).toEqual([
      'SELECT `id` , `name` FROM `users` WHERE `id` IN (?)',
      'INSERT INTO `users` ( `name` , `age` ) VALUES (?, ?)',
    ]);
    expect(w.queries[1]!.insert).toEqual({ table: 'users', columns: ['name', 'age'] });
    expect(w.skipped.map((s) => [s.source, s.reason.slice(0, 24)])).toEqual([
      ['digests.json #3', 'the digest text was cut '],
      ['digests.json #4', 'not a data statement (on'],
    ]);
    expect(digestToSql('UPDATE `t` SET `a` = ? WHERE `id` IN (...)', undefined)).toBe('UPDATE `t` SET `a` = ? WHERE `id` IN (?)');
  });

  it('reads pg_stat_statements exports (array, wrapped, or one object per line)', () => {
    const rows = [
      { query: 'SELECT * FROM users WHERE id = $1', calls: 9 },
      { query: 'BEGIN' },
      { query: 'INSERT INTO users (name, tenant) VALUES ($1, $2) RETURNING id' },
    ];
    for (const text of [JSON.stringify(rows), JSON.stringify({ rows }), rows.map((r) => JSON.stringify(r)).join('\n')]) {
      const w = parseWorkload(text, '/x/pgss.json', 'postgres');
      expect(w.queries.map((q) => q.sql)).toEqual([rows[0]!.query, rows[2]!.query]);
      expect(w.queries[1]!.insert).toEqual({ table: 'users', columns: ['name', 'tenant'] });
      expect(w.skipped).toHaveLength(1);
    }
  });

  it('reads the columns an INSERT sets', () => {
    expect(insertColumns('INSERT INTO `app`.`users` (`a`, b) VALUES (?, ?)')).toEqual({ table: 'users', columns: ['a', 'b'] });
    expect(insertColumns('INSERT IGNORE users SET a = ?, users.b = ? ON DUPLICATE KEY UPDATE a = ?')).toEqual({ table: 'users', columns: ['a', 'b'] });
    expect(insertColumns('INSERT INTO users VALUES (1, 2)')).toEqual({ table: 'users', columns: null });
    expect(insertColumns('INSERT INTO users (SELECT * FROM old_users)')).toEqual({ table: 'users', columns: null });
    expect(insertColumns('INSERT INTO users AS u (a) VALUES ($1) ON CONFLICT DO NOTHING')).toEqual({ table: 'users', columns: ['a'] });
    expect(insertColumns('INSERT INTO users DEFAULT VALUES')).toEqual({ table: 'users', columns: [] });
  });
});
