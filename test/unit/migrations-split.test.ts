import { beforeAll, describe, expect, test } from 'vitest';
import { loadPgParser } from '../../src/engines/postgres/parser.ts';
import { needsNoTransaction, scanSql, splitSql } from '../../src/migrations/sql-split.ts';

// PostgreSQL files are split by its grammar, loaded before use as the loader and runner do.
beforeAll(() => loadPgParser());

const sqls = (text: string, dialect: 'mysql' | 'postgres'): string[] => splitSql(text, dialect).map((s) => s.sql);
const lines = (text: string, dialect: 'mysql' | 'postgres'): number[] => splitSql(text, dialect).map((s) => s.line);

describe('splitSql: both dialects', () => {
  test.each(['mysql', 'postgres'] as const)('%s: statements, line of the first token, no trailing semicolon needed', (d) => {
    const text = '-- header\n\nCREATE TABLE a (id int);\n  CREATE TABLE b (\n id int\n);\n\n\nSELECT 1';
    expect(sqls(text, d)).toEqual(['CREATE TABLE a (id int)', 'CREATE TABLE b (\n id int\n)', 'SELECT 1']);
    expect(lines(text, d)).toEqual([3, 4, 9]);
  });

  test.each(['mysql', 'postgres'] as const)('%s: semicolons in strings, quoted identifiers and comments do not split', (d) => {
    const q = d === 'mysql' ? '`' : '"';
    const text = `INSERT INTO t VALUES ('a;b', 'it''s; fine'); -- trailing; comment\n/* block; comment */ UPDATE ${q}we;ird${q} SET x = 1;`;
    expect(sqls(text, d)).toEqual([`INSERT INTO t VALUES ('a;b', 'it''s; fine')`, `UPDATE ${q}we;ird${q} SET x = 1`]);
    expect(lines(text, d)).toEqual([1, 2]);
  });

  test.each(['mysql', 'postgres'] as const)('%s: empty statements and comment-only files give nothing', (d) => {
    expect(sqls(';;\n-- only a comment\n;', d)).toEqual([]);
    expect(sqls('', d)).toEqual([]);
  });

  test.each(['mysql', 'postgres'] as const)('%s: CRLF and a byte order mark do not shift lines', (d) => {
    expect(lines('\uFEFFSELECT 1;\r\n\r\nSELECT 2;\r\n', d)).toEqual([1, 3]);
  });

  test('comments are kept with their lines (for -- migrate: directives)', () => {
    const { comments } = scanSql('-- migrate:phase post-deploy\nSELECT 1; -- migrate:ack BC101 safe because\n/* migrate:x */', 'postgres');
    expect(comments).toEqual([
      { text: 'migrate:phase post-deploy', line: 1 },
      { text: 'migrate:ack BC101 safe because', line: 2 },
      { text: 'migrate:x', line: 3 },
    ]);
  });

  test('a comment inside a statement does not move its line; a string across lines counts its lines', () => {
    const text = "SELECT 'a\nb\nc';\nSELECT /* x\ny */ 2;";
    expect(lines(text, 'mysql')).toEqual([1, 4]);
  });
});

describe('splitSql: MySQL/MariaDB', () => {
  test('backslash escapes in strings, double-quoted strings', () => {
    expect(sqls(`SELECT 'a\\';b'; SELECT "c\\";d";`, 'mysql')).toEqual([`SELECT 'a\\';b'`, `SELECT "c\\";d"`]);
  });

  test('# comments, and -- only before whitespace', () => {
    expect(sqls('# note; here\nSELECT 1--1;\nSELECT 2 -- x; y\n;', 'mysql')).toEqual(['SELECT 1--1', 'SELECT 2 -- x; y']);
  });

  test('executable comments are statement text', () => {
    const s = splitSql('/*!40101 SET NAMES utf8mb4 */;\nSELECT /*+ MAX_EXECUTION_TIME(1000) */ 1;', 'mysql');
    expect(s.map((x) => x.sql)).toEqual(['/*!40101 SET NAMES utf8mb4 */', 'SELECT /*+ MAX_EXECUTION_TIME(1000) */ 1']);
  });

  test('stored programs: BEGIN ... END bodies with IF, CASE, loops and labels, no DELIMITER', () => {
    const text = [
      'CREATE DEFINER=`root`@`localhost` PROCEDURE p(IN n INT)',
      'BEGIN',
      '  DECLARE i INT DEFAULT 0;',
      '  lbl: LOOP',
      '    SET i = i + 1;',
      '    IF i > n THEN LEAVE lbl; END IF;',
      '  END LOOP lbl;',
      '  CASE n WHEN 1 THEN SELECT 1; ELSE SELECT CASE WHEN n > 2 THEN 3 ELSE 4 END; END CASE;',
      '  WHILE i > 0 DO SET i = i - 1; END WHILE;',
      '  inner_block: BEGIN SELECT 5; END inner_block;',
      'END;',
      'CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END;',
      'CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1;',
      'SELECT 6;',
    ].join('\n');
    const s = splitSql(text, 'mysql');
    expect(s.map((x) => x.line)).toEqual([1, 12, 13, 14]);
    expect(s[0]?.sql.endsWith('END inner_block;\nEND')).toBe(true);
    expect(s[1]?.sql).toBe('CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END');
  });

  test('MariaDB BEGIN NOT ATOMIC block; a plain BEGIN is a transaction start', () => {
    expect(sqls('BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; END;\nBEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;', 'mysql')).toEqual([
      'BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; END',
      'BEGIN',
      'INSERT INTO t VALUES (1)',
      'COMMIT',
    ]);
  });

  test('a column named begin does not open a block', () => {
    expect(sqls('CREATE TABLE t (begin INT, end INT);\nSELECT 1;', 'mysql')).toEqual(['CREATE TABLE t (begin INT, end INT)', 'SELECT 1']);
  });

  test('no statement is marked as needing to run outside a transaction', () => {
    expect(splitSql('CREATE INDEX CONCURRENTLY i ON t (a);', 'mysql')[0]?.noTransaction).toBe(false);
  });
});

describe('splitSql: PostgreSQL', () => {
  test('standard strings: a backslash is a character, E strings escape', () => {
    expect(sqls(`SELECT 'a\\'; SELECT E'b\\';c';`, 'postgres')).toEqual([`SELECT 'a\\'`, `SELECT E'b\\';c'`]);
  });

  test('# is an operator, not a comment; -- needs no space', () => {
    expect(sqls('SELECT 1 # 2;\nSELECT 3 --x;\n;', 'postgres')).toEqual(['SELECT 1 # 2', 'SELECT 3 --x;']);
    expect(sqls('SELECT 3;--x;\nSELECT 4;', 'postgres')).toEqual(['SELECT 3', 'SELECT 4']);
  });

  test('nested block comments', () => {
    expect(sqls('/* a /* b; */ c; */ SELECT 1; SELECT 2;', 'postgres')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  test('dollar quoting: $$, tagged, a different tag inside, $1 is not a tag', () => {
    const text = [
      'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$',
      'BEGIN',
      '  EXECUTE $$SELECT 1; SELECT 2$$;',
      '  RETURN 1;',
      'END;',
      '$fn$;',
      'PREPARE q AS SELECT $1::int; SELECT a$b$c FROM t;',
      'SELECT $$;$$;',
    ].join('\n');
    const s = splitSql(text, 'postgres');
    expect(s.map((x) => x.line)).toEqual([1, 7, 7, 8]);
    expect(s.map((x) => x.sql).slice(1)).toEqual(['PREPARE q AS SELECT $1::int', 'SELECT a$b$c FROM t', 'SELECT $$;$$']);
  });

  test('SQL-standard function bodies: BEGIN ATOMIC ... END, with CASE inside', () => {
    const text = 'CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END;\nSELECT 3;';
    expect(sqls(text, 'postgres')).toEqual([
      'CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2; END',
      'SELECT 3',
    ]);
  });

  test('statements that cannot run in a transaction are marked', () => {
    const text = [
      'CREATE INDEX CONCURRENTLY i1 ON t (a)',
      'create unique index concurrently i2 on t (b)',
      'DROP INDEX CONCURRENTLY i1',
      'REINDEX (VERBOSE) INDEX CONCURRENTLY i2',
      "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'ok'",
      'VACUUM ANALYZE t',
      'ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY',
      'CREATE INDEX i3 ON t (c)',
      "ALTER TYPE mood RENAME VALUE 'a' TO 'b'",
      "COMMENT ON TABLE t IS 'CREATE INDEX CONCURRENTLY'",
      'REINDEX INDEX i3',
    ].join(';\n');
    expect(splitSql(text, 'postgres').map((s) => s.noTransaction)).toEqual([true, true, true, true, true, true, true, false, false, false, false]);
    expect(needsNoTransaction(['CREATE', 'DATABASE', 'x'])).toBe(true);
  });
});
