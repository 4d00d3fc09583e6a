import { beforeAll, describe, expect, test } from 'vitest';
import { engineFor } from '../../src/engines/index.ts';
import { loadPgParser } from '../../src/engines/postgres/parser.ts';
import { isTransactionControl } from '../../src/migrations/sql-exec.ts';
import { gooseSections } from '../../src/migrations/layouts/sections.ts';
import { scanSql, scanSqlWithBlocks, splitSql } from '../../src/migrations/sql-split.ts';

beforeAll(() => loadPgParser());

const grammar = engineFor('postgres').sqlGrammar!;
const sqls = (text: string): string[] => splitSql(text, 'postgres').map((s) => s.sql);
const lines = (text: string): number[] => splitSql(text, 'postgres').map((s) => s.line);

describe('PostgreSQL files split by the server grammar (issue 15, point 4)', () => {
  test('a $$ function body with semicolons stays one statement', () => {
    const text = [
      'CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$',
      'BEGIN',
      '  NEW.updated_at := now();',
      '  RETURN NEW;',
      'END;',
      '$$;',
      'CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION touch();',
    ].join('\n');
    expect(lines(text)).toEqual([1, 7]);
    expect(sqls(text)[0]?.endsWith('END;\n$$')).toBe(true);
  });

  test('BEGIN ATOMIC bodies, with CASE ... END inside', () => {
    const text =
      'CREATE PROCEDURE p() LANGUAGE sql\nBEGIN ATOMIC\n  INSERT INTO a VALUES (CASE WHEN true THEN 1 END);\n  INSERT INTO a VALUES (2);\nEND;\nSELECT 1;';
    expect(lines(text)).toEqual([1, 6]);
    expect(sqls(text)[0]?.endsWith('VALUES (2);\nEND')).toBe(true);
  });

  test("a file's own BEGIN; ... COMMIT; are statements of their own; a comment holding COMMIT; and a string 'BEGIN;' are not", () => {
    const text = "BEGIN;\n-- COMMIT; here is a comment\nINSERT INTO a VALUES ('BEGIN;');\n/* COMMIT; /* nested */ END; */\nCOMMIT;";
    expect(sqls(text)).toEqual(['BEGIN', "INSERT INTO a VALUES ('BEGIN;')", 'COMMIT']);
    expect(lines(text)).toEqual([1, 3, 5]);
    expect(scanSql(text, 'postgres').comments.map((c) => c.line)).toEqual([2, 4]);
  });

  test("E'' strings take backslash escapes; a standard string does not", () => {
    expect(sqls("SELECT E'a\\';b'; SELECT 'c\\'; SELECT 2")).toEqual(["SELECT E'a\\';b'", "SELECT 'c\\'", 'SELECT 2']);
  });

  test('where the scanner and the grammar disagree, the grammar wins: a rule with several actions', () => {
    const text = 'CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nSELECT 1;';
    expect(sqls(text)).toEqual(['CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))', 'SELECT 1']);
    // The hand scanner alone split it inside the parentheses.
    expect(grammar.statementEnds(text)).toEqual([text.indexOf(');\n') + 1, text.length - 1]);
  });

  test('multi-byte text before a statement: ends are character offsets, lines unchanged', () => {
    const text = "COMMENT ON TABLE t IS 'café ☕ 𝄞';\n\nSELECT 'ü';\nSELECT 3";
    expect(sqls(text)).toEqual(["COMMENT ON TABLE t IS 'café ☕ 𝄞'", "SELECT 'ü'", 'SELECT 3']);
    expect(lines(text)).toEqual([1, 3, 4]);
  });

  test('a syntax error: the scanner splits the file, so it runs up to the refused statement and the server reports it on its line', () => {
    const text = 'CREATE TABLE a (id int);\nCREATE TABL b (id int);\nSELECT $$;$$;';
    expect(grammar.statementEnds(text)).toBeUndefined();
    expect(sqls(text)).toEqual(['CREATE TABLE a (id int)', 'CREATE TABL b (id int)', 'SELECT $$;$$']);
    expect(lines(text)).toEqual([1, 2, 3]);
  });

  test('goose StatementBegin/End blocks stay one statement each, with their lines', () => {
    const text = [
      '-- +goose Up',
      'CREATE TABLE a (id int);',
      '-- +goose StatementBegin',
      'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;',
      '-- +goose StatementEnd',
      'SELECT 1;',
      '-- +goose Down',
      'DROP TABLE a;',
    ].join('\n');
    const s = gooseSections(text.split('\n'));
    const { statements } = scanSqlWithBlocks(text, 'postgres', (n) => s.role[n - 1] === 'up', s.blocks.up);
    expect(statements.map((s) => [s.line, s.sql])).toEqual([
      [2, 'CREATE TABLE a (id int)'],
      [4, 'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$'],
      [6, 'SELECT 1'],
    ]);
  });

  test('statements that cannot run in a transaction are still marked', () => {
    expect(splitSql('CREATE INDEX CONCURRENTLY i ON t (a);\nCREATE INDEX j ON t (b);', 'postgres').map((s) => s.noTransaction)).toEqual([true, false]);
  });

  test('MySQL has no grammar here: it keeps its scanner', () => {
    expect(engineFor('mysql').sqlGrammar).toBeUndefined();
  });
});

describe('transaction control read from the parse tree', () => {
  test.each([
    ['BEGIN', 'begin'],
    ['begin work', 'begin'],
    ['START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'begin'],
    ['BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY, DEFERRABLE', 'begin'],
    ['COMMIT', 'commit'],
    ['END', 'commit'],
    ['end transaction', 'commit'],
    ['ROLLBACK', 'rollback'],
    ['ABORT', 'rollback'],
    ['-- leading comment\nCOMMIT', 'commit'],
  ])('%s is %s', (sql, kind) => {
    expect(grammar.transactionControl(sql)).toEqual({ kind, chain: false });
  });

  test('AND CHAIN opens the next block at once', () => {
    expect(grammar.transactionControl('COMMIT AND CHAIN')).toEqual({ kind: 'commit', chain: true });
    expect(grammar.transactionControl('ROLLBACK AND CHAIN')).toEqual({ kind: 'rollback', chain: true });
  });

  test.each([
    'ROLLBACK TO SAVEPOINT x',
    'ROLLBACK TO x',
    'SAVEPOINT x',
    'RELEASE SAVEPOINT x',
    "PREPARE TRANSACTION 'x'",
    "COMMIT PREPARED 'x'",
    "SELECT 'BEGIN;'",
    '/* COMMIT; */ SELECT 1',
    'CREATE TABLE begin (id int)',
    'BEGIN ISOLATION LEVEL nonsense',
    'BEGIN; COMMIT',
  ])('%s is not', (sql) => {
    expect(grammar.transactionControl(sql)).toBeUndefined();
  });

  test("the runner skips a file's own BEGIN/COMMIT inside its transaction, not its ROLLBACK/ABORT, savepoints or refused text", () => {
    const skipped = ['BEGIN', 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'COMMIT', 'END', 'COMMIT AND CHAIN'];
    const sent = ['ROLLBACK', 'ABORT', 'ROLLBACK TO SAVEPOINT x', 'SAVEPOINT x', "SELECT 'BEGIN;'", 'BEGIN ISOLATION LEVEL nonsense'];
    expect(skipped.map((s) => isTransactionControl(s, 'postgres'))).toEqual(skipped.map(() => true));
    expect(sent.map((s) => isTransactionControl(s, 'postgres'))).toEqual(sent.map(() => false));
    // MySQL keeps its reading.
    expect(isTransactionControl('START TRANSACTION', 'mysql')).toBe(true);
    expect(isTransactionControl('ROLLBACK TO SAVEPOINT x', 'mysql')).toBe(false);
  });
});

describe('large texts and fast paths (review)', () => {
  test('the first word of a statement is read past comments, nested ones included', async () => {
    const { firstWord } = await import('../../src/engines/postgres/parser.ts');
    expect(firstWord('  -- header\n/* a /* nested */ comment */\n  BEGIN;')).toBe('begin');
    expect(firstWord('/* unterminated')).toBe('');
    expect(firstWord('INSERT INTO t VALUES (1)')).toBe('insert');
  });

  test('a statement that does not start with a transaction word is not parsed to know it is not one, even past a long comment', () => {
    expect(isTransactionControl(`-- ${'x'.repeat(10_000)}\nBEGIN;`, 'postgres')).toBe(true);
    expect(isTransactionControl(`INSERT INTO t VALUES ${Array.from({ length: 20_000 }, (_, i) => `(${i})`).join(',')};`, 'postgres')).toBe(false);
  });

  test('a data file over 1 MiB is split by the scanner, with the same statements', () => {
    const row = (i: number) => `INSERT INTO t (id, note) VALUES (${i}, 'row ${i}; with a semicolon');`;
    const small = Array.from({ length: 10 }, (_, i) => row(i)).join('\n');
    const big = Array.from({ length: 30_000 }, (_, i) => row(i)).join('\n');
    expect(big.length).toBeGreaterThan(1 << 20);
    expect(sqls(small)).toHaveLength(10);
    expect(sqls(big)).toHaveLength(30_000);
    // Left to the scanner: the grammar's tree of such a file costs seconds and hundreds of MB.
    expect(grammar.statementEnds(big)).toBeUndefined();
  });
});
