import { describe, expect, test } from 'vitest';
import { effectsOf } from '../../src/migrations/effect.ts';

const pg = (sql: string): ReturnType<typeof effectsOf> => effectsOf(sql, 'postgres');
const names = async (sql: string): Promise<string[] | undefined> =>
  (await pg(sql))?.map((e) => {
    const on =
      e.kind === 'column'
        ? `${e.table.raw}.${e.column}`
        : e.kind === 'index'
          ? e.index.raw
          : e.kind === 'enum-value'
            ? `${e.type.raw}='${e.value}'`
            : e.object.raw;
    return `${e.kind} ${on} ${e.present ? '+' : '-'}`;
  });

describe('PostgreSQL effects read from the parse tree', () => {
  test.each([
    ['CREATE TABLE accounts (id int)', ['table accounts +']],
    ['CREATE TABLE App.Accounts (id int)', ['table app.accounts +']],
    ['CREATE TABLE "App"."Accounts" (id int)', ['table "App"."Accounts" +']],
    ['create unlogged table u (id int)', ['table u +']],
    ['CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)', ['table p1 +']],
    ['CREATE TABLE x AS SELECT 1', ['table x +']],
    ['CREATE MATERIALIZED VIEW mv AS SELECT 1', ['view mv +']],
    ['CREATE VIEW s.v AS SELECT 1', ['view s.v +']],
    ['DROP TABLE a, s.b', ['table a -', 'table s.b -']],
    ['DROP VIEW v', ['view v -']],
    ['DROP INDEX CONCURRENTLY s.i', ['index s.i -']],
    ['CREATE INDEX CONCURRENTLY Acc_Email ON app.accounts (email)', ['index app.acc_email +']],
    ['CREATE UNIQUE INDEX i ON t (a)', ['index i +']],
    ['ALTER TABLE t ADD COLUMN a int, ADD CONSTRAINT c CHECK (a > 0)', ['column t.a +']],
    ['ALTER TABLE ONLY t DROP COLUMN "B"', ['column t.B -']],
    ['ALTER TABLE t ADD COLUMN IF NOT EXISTS a int, DROP COLUMN b', ['column t.b -']],
    ['ALTER TABLE t RENAME COLUMN a TO b', ['column t.b +']],
    ['ALTER TABLE t RENAME a TO b', ['column t.b +']],
    ['ALTER TABLE s.t RENAME TO u', ['table s.u +']],
    ['ALTER INDEX i RENAME TO j', ['index j +']],
    ["CREATE TYPE mood AS ENUM ('a')", ['type mood +']],
    ['CREATE TYPE s.c AS (a int)', ['type s.c +']],
    ['DROP TYPE a, s.b', ['type a -', 'type s.b -']],
    ["ALTER TYPE mood ADD VALUE 'it''s' BEFORE 'a'", ["enum-value mood='it's' +"]],
  ])('%s', async (sql, want) => {
    expect(await names(sql)).toEqual(want);
  });

  test.each([
    'CREATE TABLE IF NOT EXISTS t (id int)',
    'CREATE TEMP TABLE t (id int)',
    'CREATE OR REPLACE VIEW v AS SELECT 1',
    'CREATE INDEX ON t (a)',
    'CREATE INDEX IF NOT EXISTS i ON t (a)',
    'DROP TABLE IF EXISTS t',
    'DROP INDEX IF EXISTS i',
    'ALTER TABLE IF EXISTS t ADD COLUMN a int',
    'ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)',
    "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'x'",
    "ALTER TYPE mood RENAME VALUE 'a' TO 'b'",
    "INSERT INTO t VALUES ('CREATE TABLE x (a int)')",
    '/* CREATE TABLE x (a int) */ SELECT 1',
  ])('%s: nothing to check', async (sql) => {
    expect(await pg(sql)).toBeUndefined();
  });

  test('text the grammar refuses is read by its head, as before', async () => {
    expect(await names('CREATE TABLE t (id int) WITH SOMETHING NEW')).toEqual(['table t +']);
  });

  test('MySQL keeps its reading', async () => {
    expect((await effectsOf('ALTER TABLE t ADD INDEX i (a)', 'mysql'))?.map((e) => e.kind)).toEqual(['index']);
  });
});
