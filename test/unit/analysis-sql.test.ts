import { beforeAll, describe, expect, it } from 'vitest';
import { probeVariants } from '../../src/engines/mysql/probe.ts';
import { loadStatementParser, parseStatement } from '../../src/analysis/sql/parse.ts';
import { splitStatements } from '../../src/analysis/sql/split.ts';
import { compareTypes, isLossless } from '../../src/analysis/sql/typecompat.ts';

// Statements are described by each engine's parser (PostgreSQL's own, node-sql-parser for MySQL), loaded once (as the analysis does).
beforeAll(() => Promise.all([loadStatementParser('postgres'), loadStatementParser('mysql')]));

describe('splitStatements', () => {
  it('keeps literals, comments and PG dollar quotes intact', () => {
    expect(splitStatements("INSERT INTO t VALUES ('a;b'); -- c;\nSELECT 1", 'mysql')).toEqual(["INSERT INTO t VALUES ('a;b')", '-- c;\nSELECT 1']);
    expect(splitStatements('DO $$ BEGIN PERFORM 1; END $$; SELECT 2', 'postgres')).toEqual(['DO $$ BEGIN PERFORM 1; END $$', 'SELECT 2']);
    expect(splitStatements('  ;  -- only a comment\n', 'mysql')).toEqual([]);
  });
});

describe('parseStatement', () => {
  it('finds renames in every spelling', () => {
    expect(parseStatement('ALTER TABLE `users` RENAME COLUMN `email` TO `mail`', 'mysql').columnRenames).toEqual([
      { table: 'users', from: 'email', to: 'mail' },
    ]);
    expect(parseStatement('ALTER TABLE users CHANGE email mail VARCHAR(200)', 'mysql').columnRenames).toEqual([{ table: 'users', from: 'email', to: 'mail' }]);
    expect(parseStatement('alter table "users" rename "email" to "mail"', 'postgres').columnRenames).toEqual([{ table: 'users', from: 'email', to: 'mail' }]);
    expect(parseStatement('RENAME TABLE a TO b, c TO d', 'mysql').tableRenames).toEqual([
      { from: 'a', to: 'b' },
      { from: 'c', to: 'd' },
    ]);
    expect(parseStatement('ALTER TABLE public.a RENAME TO b', 'postgres').tableRenames).toEqual([{ from: 'a', to: 'b' }]);
  });
  it('classifies locking-relevant details', () => {
    expect(parseStatement('CREATE UNIQUE INDEX CONCURRENTLY i ON t (c)', 'postgres')).toMatchObject({
      kind: 'create_index',
      table: 't',
      concurrently: true,
      unique: true,
    });
    expect(parseStatement('ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p (id) NOT VALID', 'postgres').actions[0]).toMatchObject({
      op: 'add_constraint',
      constraint: 'foreign',
      notValid: true,
    });
    expect(parseStatement('ALTER TABLE t ALTER COLUMN c SET NOT NULL', 'postgres').actions[0]).toEqual({ op: 'set_not_null', column: 'c' });
    expect(parseStatement('UPDATE t SET a = 1', 'mysql')).toMatchObject({ kind: 'dml', wholeTable: true, table: 't' });
    expect(parseStatement('DO $$ BEGIN END $$', 'postgres').opaque).toBe(true);
  });
});

describe('probeVariants', () => {
  it('puts the algorithm right after the table name and respects declared clauses', () => {
    const p = probeVariants('ALTER TABLE `users` ADD COLUMN x INT;', true)!;
    expect(p.variants.map(([a, s]) => [a, s])).toEqual([
      ['INSTANT', 'ALTER TABLE `users` ALGORITHM=INSTANT, ADD COLUMN x INT'],
      ['NOCOPY', 'ALTER TABLE `users` ALGORITHM=NOCOPY, LOCK=NONE, ADD COLUMN x INT'],
      ['INPLACE', 'ALTER TABLE `users` ALGORITHM=INPLACE, LOCK=NONE, ADD COLUMN x INT'],
    ]);
    expect(probeVariants('ALTER TABLE t ADD COLUMN x INT, ALGORITHM=INPLACE', true)).toMatchObject({ declared: true, variants: [] });
    // Adding an index is never INSTANT, so that refusal is not asked for.
    expect(probeVariants('CREATE INDEX i ON t (c)', false)!.variants.map(([a]) => a)).toEqual(['INPLACE']);
    expect(probeVariants('ALTER TABLE t ADD INDEX i (c), ADD UNIQUE KEY u (d)', true)!.variants.map(([a]) => a)).toEqual(['NOCOPY', 'INPLACE']);
    expect(probeVariants('ALTER TABLE t ADD INDEX i (c), ADD COLUMN x INT', true)!.variants.map(([a]) => a)).toEqual(['INSTANT', 'NOCOPY', 'INPLACE']);
    // MariaDB's DROP INDEX takes no ALGORITHM clause (a syntax error): it is asked in its ALTER TABLE form.
    expect(probeVariants('DROP INDEX IF EXISTS `i` ON `t`;', true)).toEqual({
      table: 't',
      declared: false,
      variants: [
        ['NOCOPY', 'ALTER TABLE `t` ALGORITHM=NOCOPY, LOCK=NONE, DROP INDEX IF EXISTS `i`'],
        ['INPLACE', 'ALTER TABLE `t` ALGORITHM=INPLACE, LOCK=NONE, DROP INDEX IF EXISTS `i`'],
      ],
    });
    expect(probeVariants('ALTER TABLE t DROP INDEX i, ADD INDEX j (c)', true)!.variants.map(([a]) => a)).toEqual(['NOCOPY', 'INPLACE']);
    expect(probeVariants('ALTER TABLE t DROP INDEX i, DROP COLUMN c', true)!.variants.map(([a]) => a)).toEqual(['INSTANT', 'NOCOPY', 'INPLACE']);
    expect(probeVariants('UPDATE t SET a = 1', true)).toBeNull();
  });
});

describe('type comparison', () => {
  it('knows widening, narrowing and family changes', () => {
    const t = (type: string, charset: string | null = null) => ({ type, charset });
    expect(compareTypes(t('int(11)'), t('bigint(20)'))).toBe('widening');
    expect(compareTypes(t('bigint(20)'), t('int(11)'))).toBe('narrowing');
    expect(compareTypes(t('int(11)'), t('int(10) unsigned'))).toBe('incompatible');
    expect(compareTypes(t('char(120)', 'utf8mb4'), t('varchar(200)', 'utf8mb4'))).toBe('widening');
    expect(compareTypes(t('varchar(100)', 'utf8mb4'), t('varchar(100)', 'latin1'))).toBe('narrowing');
    expect(compareTypes(t('decimal(10,2)'), t('decimal(12,2)'))).toBe('widening');
    expect(compareTypes(t('int(11)'), t('varchar(20)', 'utf8mb4'))).toBe('family-change');
    expect(compareTypes(t('character varying(50)'), t('text'))).toBe('widening');
    expect(isLossless(t('int(11)'), t('varchar(20)', 'utf8mb4'))).toBe(true);
    expect(isLossless(t('datetime'), t('date'))).toBe(false);
  });
});
