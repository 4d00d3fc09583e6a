import { beforeAll, describe, expect, it } from 'vitest';
import { loadStatementParser } from '../../src/analysis/sql/parse.ts';
import { classifyMysqlStatement } from '../../src/engines/mysql/classify.ts';
import { stripMysqlComments } from '../../src/engines/mysql/lex.ts';
import { declaredClauses } from '../../src/engines/mysql/probe.ts';
import { describeWithSource } from '../../src/engines/mysql/statements.ts';

// A `--`, `#` or `/* */` inside a quoted string or name is text, not a comment: the readers of
// MySQL/MariaDB statements (ALTER command texts, the fallback classifier, the declared
// ALGORITHM/LOCK) must not cut a statement there.
beforeAll(() => loadStatementParser('mysql'));

describe('comments inside quotes (mysql)', () => {
  it('ALTER TABLE command texts keep a string holding -- x, # or /* */', () => {
    const info = describeWithSource("ALTER TABLE users ADD COLUMN note VARCHAR(20) DEFAULT 'a -- b', ADD COLUMN tag VARCHAR(9) DEFAULT 'x # y' NOT NULL").info;
    expect(info.actions).toEqual([
      { op: 'add_column', column: 'note', definition: "VARCHAR(20) DEFAULT 'a -- b'" },
      { op: 'add_column', column: 'tag', definition: "VARCHAR(9) DEFAULT 'x # y' NOT NULL" },
    ]);
    const block = describeWithSource("ALTER TABLE users ADD COLUMN a VARCHAR(9) DEFAULT '/*', ADD COLUMN b INT COMMENT '*/'").info;
    expect(block.actions).toEqual([
      { op: 'add_column', column: 'a', definition: "VARCHAR(9) DEFAULT '/*'" },
      { op: 'add_column', column: 'b', definition: "INT COMMENT '*/'" },
    ]);
  });

  it('real comments are still left out of the command texts', () => {
    const info = describeWithSource('ALTER TABLE users -- why\n  ADD COLUMN a INT, /* later */ ADD COLUMN b INT # done').info;
    expect(info.actions).toEqual([
      { op: 'add_column', column: 'a', definition: 'INT' },
      { op: 'add_column', column: 'b', definition: 'INT' },
    ]);
  });

  it('the fallback classifier does not read a WHERE after a string holding # or -- as a comment', () => {
    for (const sql of ["UPDATE players SET note = 'x # y' WHERE id = 1", "UPDATE players SET note = 'a -- b' WHERE id = 1"]) {
      expect(classifyMysqlStatement(sql), sql).toMatchObject({ table: 'players', wholeTable: false });
    }
    // A statement over 16 KB is read by the classifier (statements.ts): a backfill with a long literal.
    const long = `UPDATE players SET note = 'x # y', bio = '${'z'.repeat(17_000)}' WHERE id = 1`;
    expect(describeWithSource(long)).toMatchObject({ by: 'classifier', info: { table: 'players', wholeTable: false } });
    expect(classifyMysqlStatement("UPDATE players SET note = '/*' WHERE id = 1 /* */")).toMatchObject({ wholeTable: false });
    expect(classifyMysqlStatement('UPDATE players SET note = 1 -- WHERE id = 1')).toMatchObject({ wholeTable: true });
  });

  it('an ALGORITHM= after a string holding # is still the declared algorithm', () => {
    expect(declaredClauses("ALTER TABLE t ADD COLUMN c VARCHAR(9) DEFAULT 'x # y', ALGORITHM=INSTANT")).toEqual({ algorithm: 'INSTANT' });
    expect(declaredClauses("ALTER TABLE t ADD COLUMN c VARCHAR(9) DEFAULT 'x -- y', LOCK=NONE")).toEqual({ lock: 'NONE' });
    expect(declaredClauses('ALTER TABLE t ADD COLUMN c INT -- , ALGORITHM=INSTANT')).toEqual({});
  });

  it('the lexer: quotes with backslash escapes and doubled quotes, -- only before whitespace', () => {
    expect(stripMysqlComments('SELECT \'it\\\'s -- here\', "a "" # b", `x -- y` -- gone\n, 1')).toBe('SELECT \'it\\\'s -- here\', "a "" # b", `x -- y` \n, 1');
    expect(stripMysqlComments("SELECT 'it''s # here' # gone")).toBe("SELECT 'it''s # here' ");
    // MySQL reads 5--3 as 5 - -3: a comment needs whitespace after the dashes.
    expect(stripMysqlComments('SELECT 5--3')).toBe('SELECT 5--3');
    expect(stripMysqlComments("SELECT 1 /* a 'quote */ + 2")).toBe('SELECT 1   + 2');
  });
});

describe('the declared ALGORITHM/LOCK of a statement with strings in double quotes or quotes in names (mysql)', () => {
  it('a clause inside a "..." string or after a name holding a quote is read right', () => {
    expect(declaredClauses('ALTER TABLE t ADD c INT COMMENT "x, lock=none "')).toEqual({});
    expect(declaredClauses("ALTER TABLE t ADD `it's` INT COMMENT 'see, algorithm=instant here'")).toEqual({});
    expect(declaredClauses("ALTER TABLE t ADD `o'clock` INT, LOCK=NONE, ADD d INT COMMENT 'x'")).toEqual({ lock: 'NONE' });
  });

  it('an executable comment is statement text the server runs: its clause is declared', () => {
    expect(declaredClauses('ALTER TABLE t /*!50600 ALGORITHM=INPLACE, LOCK=NONE */ ADD c INT')).toEqual({ algorithm: 'INPLACE', lock: 'NONE' });
    expect(declaredClauses('ALTER TABLE t /*M!100301 ALGORITHM=NOCOPY, */ ADD c INT')).toEqual({ algorithm: 'NOCOPY' });
    expect(stripMysqlComments("SELECT 1 /*! , 'a -- b' */ -- gone\n").replace(/\s+/g, ' ')).toBe("SELECT 1 , 'a -- b' ");
  });
});
