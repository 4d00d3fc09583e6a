import { beforeAll, describe, expect, it } from 'vitest';
import { loadStatementParser, parseStatement } from '../../src/analysis/sql/parse.ts';
import { concurrentTarget } from '../../src/engines/postgres/lock-safe/invalid-index.ts';
import { loadPgParser, PgSyntaxError, parsePg } from '../../src/engines/postgres/parser.ts';

/**
 * PostgreSQL statements read by the server's own parser (libpg_query), on inputs a regex scanner
 * gets wrong: case folding, quoting, dollar quotes, comments, transaction control in a file,
 * words that look like options inside literals.
 */
beforeAll(() => loadStatementParser('postgres'));

const pg = (sql: string) => parseStatement(sql, 'postgres');

describe('PostgreSQL names as the server resolves them', () => {
  it('folds unquoted names to lower case and keeps quoted ones (B2)', () => {
    expect(pg('CREATE INDEX idx_p ON Posts (originalid)')).toMatchObject({ kind: 'create_index', table: 'posts', tables: ['posts'] });
    expect(pg('CREATE INDEX idx_p ON "Posts" (originalid)').table).toBe('Posts');
    expect(pg('ALTER TABLE App.USERS ADD COLUMN "Name" text, ADD COLUMN Email text').actions).toMatchObject([
      { op: 'add_column', column: 'Name', definition: 'text' },
      { op: 'add_column', column: 'email', definition: 'text' },
    ]);
  });

  it('drops the schema of qualified names, quoted or not', () => {
    expect(pg('ALTER TABLE "Public"."Orders" RENAME TO Archive')).toMatchObject({ table: 'Orders', tableRenames: [{ from: 'Orders', to: 'archive' }] });
    expect(pg('DROP TABLE a, s."B" CASCADE').tables).toEqual(['a', 'B']);
    expect(pg('DROP INDEX CONCURRENTLY IF EXISTS s.Idx_A')).toMatchObject({ kind: 'drop_index', concurrently: true, droppedIndexes: ['idx_a'] });
    expect(pg('ALTER TABLE ONLY s.t RENAME COLUMN "A" TO B').columnRenames).toEqual([{ table: 't', from: 'A', to: 'b' }]);
  });

  it('names every table a statement changes: partitions and their parent, SELECT INTO', () => {
    expect(pg('CREATE TABLE p1 PARTITION OF Parent FOR VALUES IN (1)')).toMatchObject({ kind: 'create_table', table: 'p1', tables: ['p1', 'parent'] });
    expect(pg('ALTER TABLE parent DETACH PARTITION P2 CONCURRENTLY').tables).toEqual(['parent', 'p2']);
    expect(pg('SELECT a INTO Archive FROM t')).toMatchObject({ kind: 'create_table', table: 'archive' });
  });

  it('reads the referenced table of a foreign key, so its snapshot is refreshed too', () => {
    const s = pg('ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES Other.Parent (id) NOT VALID');
    expect(s.tables).toEqual(['t', 'parent']);
    expect(s.actions[0]).toMatchObject({ op: 'add_constraint', constraint: 'foreign', notValid: true, usingIndex: false });
  });
});

describe('how a PostgreSQL statement was written', () => {
  it('tells CREATE INDEX CONCURRENTLY from a comment or a name that says it', () => {
    expect(pg('CREATE UNIQUE INDEX CONCURRENTLY i ON t (c)')).toMatchObject({ concurrently: true, unique: true });
    expect(pg('/* run CONCURRENTLY later */ CREATE INDEX i ON t (c)').concurrently).toBe(false);
    expect(pg('CREATE INDEX "concurrently" ON t (c)')).toMatchObject({ kind: 'create_index', table: 't', concurrently: false });
    expect(pg('-- CREATE INDEX CONCURRENTLY x ON y (z);\nCREATE INDEX i ON t (c)')).toMatchObject({ table: 't', concurrently: false });
  });

  it('takes NOT VALID from the constraint, not from a string inside it', () => {
    const literal = pg("ALTER TABLE t ADD CONSTRAINT c CHECK (note <> 'not valid')").actions[0];
    expect(literal).toMatchObject({ op: 'add_constraint', constraint: 'check', notValid: false });
    expect(pg('ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID').actions[0]).toMatchObject({ notValid: true });
    expect(pg('ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i').actions[0]).toMatchObject({ constraint: 'unique', usingIndex: true });
  });

  it("cuts ALTER TABLE commands at the statement's own commas only", () => {
    const s = pg(
      "ALTER TABLE t ADD COLUMN é text DEFAULT 'a,b', ADD CONSTRAINT c CHECK (é IN ('p', 'q')) NOT VALID, ALTER COLUMN n TYPE numeric(10,2) USING n::numeric",
    );
    expect(s.actions).toEqual([
      { op: 'add_column', column: 'é', definition: "text DEFAULT 'a,b'" },
      { op: 'add_constraint', constraint: 'check', notValid: true, usingIndex: false, text: "ADD CONSTRAINT c CHECK (é IN ('p', 'q')) NOT VALID" },
      { op: 'alter_column_type', column: 'n', definition: 'numeric(10,2) USING n::numeric' },
    ]);
  });

  it('sees a WHERE only when the UPDATE or DELETE has one of its own', () => {
    expect(pg('UPDATE t SET a = (SELECT b FROM u WHERE u.id = 1)')).toMatchObject({ kind: 'dml', table: 't', wholeTable: true });
    expect(pg('WITH x AS (SELECT 1) DELETE FROM Logs WHERE id IN (SELECT * FROM x)')).toMatchObject({ table: 'logs', wholeTable: false });
    expect(pg('TRUNCATE a, B')).toMatchObject({ tables: ['a', 'b'], wholeTable: true });
  });

  it('classifies transaction control and settings as session statements (B4)', () => {
    for (const sql of ['BEGIN', 'START TRANSACTION', 'COMMIT', 'END', 'ROLLBACK', "SET lock_timeout = '2s'", 'LOCK TABLE t IN SHARE MODE']) {
      expect(pg(sql), sql).toMatchObject({ kind: 'session', opaque: false });
    }
  });

  it('names the setting a SET gives a value, behind a comment or SET LOCAL too', () => {
    expect(pg("/* bound the wait */ SET LOCAL lock_timeout = '2s'")).toMatchObject({ kind: 'session', setting: 'lock_timeout' });
    expect(pg('SET Lock_Timeout TO 5000').setting).toBe('lock_timeout');
    expect(pg('SET lock_timeout TO DEFAULT').setting).toBeUndefined();
    expect(pg('RESET lock_timeout').setting).toBeUndefined();
  });

  it('leaves what it cannot place opaque, so the whole schema is re-read', () => {
    expect(pg('DO $$ BEGIN EXECUTE $q$CREATE TABLE x (a int)$q$; END $$').opaque).toBe(true);
    expect(pg('DROP TYPE mood CASCADE')).toMatchObject({ kind: 'drop_type', typeName: 'mood', opaque: true });
    expect(pg('CREATE TABL oops (a int)')).toMatchObject({ kind: 'other', opaque: true });
  });
});

describe('parsePg: statements as PostgreSQL splits them', () => {
  it('keeps dollar-quoted bodies, comments and BEGIN/COMMIT of a file apart', async () => {
    await loadPgParser();
    const file = [
      'BEGIN;',
      '-- a comment; with a semicolon',
      'CREATE FUNCTION f() RETURNS int AS $body$ BEGIN PERFORM 1; RETURN 2; END $body$ LANGUAGE plpgsql;',
      "/* nested /* comment; */ still; */ INSERT INTO t VALUES ('x;y');",
      'COMMIT;',
    ].join('\n');
    const stmts = parsePg(file);
    expect(stmts.map((s) => Object.keys(s.stmt)[0])).toEqual(['TransactionStmt', 'CreateFunctionStmt', 'InsertStmt', 'TransactionStmt']);
    expect(stmts[1]!.text).toContain('RETURN 2; END $body$ LANGUAGE plpgsql');
    expect(stmts[2]!.text.trim().endsWith("VALUES ('x;y')")).toBe(true);
  });

  it("refuses what the server's grammar refuses, with the position", async () => {
    await loadPgParser();
    const bad = 'ALTER TABLE t ADD COLUMN a int;\nCREATE TABL x (a int)';
    const e = (() => {
      try {
        parsePg(bad);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(PgSyntaxError);
    expect((e as PgSyntaxError).message).toMatch(/syntax error at or near "TABL"/);
    expect(bad.slice((e as PgSyntaxError).position)).toMatch(/^TABL x/);
  });
});

describe('concurrentTarget: what a CONCURRENTLY build leaves behind if it fails', () => {
  it('reads the index and table from the tree, quoted and folded as the server does', async () => {
    await loadPgParser();
    expect(concurrentTarget('CREATE INDEX CONCURRENTLY Accounts_Email ON App.Accounts (email)')).toEqual({
      kind: 'create-index',
      index: 'accounts_email',
      table: { schema: 'app', name: 'accounts' },
    });
    expect(concurrentTarget('/* CREATE INDEX CONCURRENTLY x ON y (z) */ CREATE INDEX i ON t (a)')).toBeUndefined();
    expect(concurrentTarget('REINDEX (CONCURRENTLY false) TABLE t')).toBeUndefined();
    expect(concurrentTarget('REINDEX (CONCURRENTLY on) INDEX "I"')).toEqual({ kind: 'reindex-index', index: { name: 'I' } });
    expect(concurrentTarget('REINDEX SCHEMA CONCURRENTLY s')).toBeUndefined();
    expect(concurrentTarget('CREATE INDEX CONCURRENTLY ON')).toBeUndefined();
  });
});
