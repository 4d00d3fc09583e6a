import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDdlSnapshotter } from '../../src/engines/mysql/snapshot-ddl.ts';
import { snapshotMysql } from '../../src/engines/mysql/snapshot.ts';
import type { SchemaSnapshot } from '../../src/analysis/types.ts';
import { loadCorpus } from '../corpus/load.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';

/**
 * The MariaDB snapshot read from SHOW CREATE TABLE must be exactly the information_schema one:
 * on a table using every feature the snapshot records, and on the schema every MySQL corpus case
 * leaves behind.
 */
let target: FreshDatabase;
let db: Knex;
let mariadb = false;

beforeAll(async () => {
  target = await freshDatabase('mysql');
  db = target.knex();
  const [rows] = (await db.raw('SELECT VERSION() AS v')) as [{ v: string }[]];
  mariadb = /mariadb/i.test(rows[0]!.v);
});

afterAll(async () => {
  await target?.drop();
});

async function both(tables?: string[], views = true): Promise<[SchemaSnapshot, SchemaSnapshot]> {
  const schema = target.connection.database;
  const ddl = createDdlSnapshotter(db, schema);
  const opts = tables ? { tables, views } : { views };
  return [await snapshotMysql(db, { schema, mariadb: true, ...opts }), await ddl(opts)];
}

async function reset(): Promise<void> {
  const [rows] = (await db.raw('SHOW FULL TABLES')) as [Record<string, string>[]];
  const all = rows.map((r) => Object.values(r));
  const views = all.filter((r) => r[1] === 'VIEW').map((r) => `\`${r[0]}\``);
  const tables = all.filter((r) => r[1] !== 'VIEW').map((r) => `\`${r[0]}\``);
  await db.raw(
    [
      'SET FOREIGN_KEY_CHECKS = 0',
      ...(views.length ? [`DROP VIEW ${views.join(', ')}`] : []),
      ...(tables.length ? [`DROP TABLE ${tables.join(', ')}`] : []),
      'SET FOREIGN_KEY_CHECKS = 1',
    ].join(';\n'),
  );
}

describe('MariaDB snapshot from SHOW CREATE TABLE', () => {
  it('equals the information_schema snapshot on every feature it records', async (ctx) => {
    if (!mariadb) ctx.skip('the server is MySQL, not MariaDB: this snapshotter is for MariaDB only');
    await reset();
    await db.raw(`CREATE TABLE p (id INT PRIMARY KEY, code CHAR(3) NOT NULL, UNIQUE KEY uq_code (code)) DEFAULT CHARSET=latin1`);
    await db.raw(`CREATE TABLE t (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      name VARCHAR(100) NOT NULL DEFAULT 'it''s, (a) "q" \\\\ x',
      l1 VARCHAR(20) CHARACTER SET latin1,
      l2 VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL,
      b1 VARCHAR(20) COLLATE utf8mb4_bin,
      st ENUM('a','b,c','it''s',')') NOT NULL DEFAULT 'a',
      s SET('x','y') DEFAULT NULL,
      d DECIMAL(10,2) DEFAULT 0.00,
      neg INT DEFAULT -1,
      ts TIMESTAMP NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
      dt DATETIME(3) DEFAULT current_timestamp(3),
      j JSON,
      g INT AS (CHAR_LENGTH(name)) VIRTUAL,
      gs INT AS (pid * 2) STORED,
      u CHAR(36) DEFAULT uuid(),
      e INT DEFAULT (1 + 2),
      f FLOAT, dbl DOUBLE PRECISION, bo BOOLEAN DEFAULT TRUE, bi BIT(3) DEFAULT b'101', bl BLOB, vb VARBINARY(16),
      tx TEXT COMMENT 'a comment, with DEFAULT word and (parens)',
      pid INT, pcode CHAR(3) CHARACTER SET latin1, age INT CHECK (age >= 0),
      inv INT INVISIBLE,
      PRIMARY KEY (id),
      UNIQUE KEY uq_name (name, l1),
      KEY k_prefix (tx(10)),
      KEY k_desc (d DESC, age),
      FULLTEXT KEY ft (tx),
      CONSTRAINT fk_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE,
      CONSTRAINT fk_code FOREIGN KEY (pcode) REFERENCES p (code) ON DELETE SET NULL ON UPDATE NO ACTION,
      CONSTRAINT ck_d CHECK (d > -1)
    ) ENGINE=InnoDB COMMENT='has (parens) and DEFAULT CHARSET=latin1 in it'`);
    await db.raw('CREATE TABLE self_ref (id INT PRIMARY KEY, parent INT, FOREIGN KEY (parent) REFERENCES self_ref (id) ON UPDATE CASCADE)');
    await db.raw('CREATE VIEW v AS SELECT id, name FROM t');
    const [full, fast] = await both();
    expect(Object.keys(fast.tables).sort()).toEqual(['p', 'self_ref', 't']);
    expect(fast).toEqual(full);
    const [scoped, fastScoped] = await both(['t', 'gone'], false);
    expect(fastScoped).toEqual(scoped);
    const [withViews, fastWithViews] = await both(['self_ref', 'v'], true);
    expect(fastWithViews).toEqual(withViews);
    expect(Object.keys(fastWithViews.views)).toEqual(['v']);
  });

  it('equals the information_schema snapshot on the schema each MySQL corpus case leaves', async (ctx) => {
    if (!mariadb) ctx.skip('the server is MySQL, not MariaDB: this snapshotter is for MariaDB only');
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'corpus', 'mysql');
    for (const c of loadCorpus(root, 'mysql')) {
      await reset();
      for (const m of c.migrations) for (const sql of m.upSql ?? []) await db.raw(sql);
      const [full, fast] = await both();
      expect(fast, c.name).toEqual(full);
    }
  });
});
