import { describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import type { MigrationVerdict } from '../../src/analysis/types.ts';
import { parseWorkload } from '../../src/analysis/workload/parse.ts';
import type { Dialect } from '../../src/config/types.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * One small case per rule code that no other real-server test asserts fires (issue 18, point 5):
 * each runs on the shadow server and asserts its code is among the last migration's findings.
 * test/unit/rule-codes-asserted.test.ts holds the catalog to this: a code no test asserts fails
 * unless test/rules-not-yet-fired.txt lists it with the reason.
 */
interface Case {
  code: string;
  dialect: Dialect;
  why: string;
  setup: string;
  up: string;
  down?: string;
  /** New-code queries (WL2xx), one per line. */
  newQueries?: string;
}

const CASES: Case[] = [
  {
    code: 'BC116',
    dialect: 'mysql',
    why: 'a dropped view',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20)); CREATE VIEW v AS SELECT id, name FROM t',
    up: 'DROP VIEW v',
    down: 'CREATE VIEW v AS SELECT id, name FROM t',
  },
  {
    code: 'BC117',
    dialect: 'mysql',
    why: 'a redefined view',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20)); CREATE VIEW v AS SELECT id, name FROM t',
    up: 'CREATE OR REPLACE VIEW v AS SELECT id FROM t',
    down: 'CREATE OR REPLACE VIEW v AS SELECT id, name FROM t',
  },
  {
    code: 'BC116',
    dialect: 'postgres',
    why: 'a dropped view',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, name TEXT); CREATE VIEW v AS SELECT id, name FROM t',
    up: 'DROP VIEW v',
    down: 'CREATE VIEW v AS SELECT id, name FROM t',
  },
  {
    code: 'DL104',
    dialect: 'mysql',
    why: 'text to a number',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, code VARCHAR(20))',
    up: 'ALTER TABLE t MODIFY code INT',
    down: 'ALTER TABLE t MODIFY code VARCHAR(20)',
  },
  {
    code: 'MY102',
    dialect: 'mysql',
    why: 'a declared ALGORITHM=INPLACE without LOCK=NONE is not probed',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, a INT)',
    up: 'ALTER TABLE t ADD COLUMN b INT, ALGORITHM=INPLACE, LOCK=SHARED',
    down: 'ALTER TABLE t DROP COLUMN b',
  },
  {
    code: 'PG301',
    dialect: 'postgres',
    why: 'an UPDATE without WHERE',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, a INT)',
    up: 'UPDATE t SET a = 0',
    down: 'SELECT 1',
  },
  {
    code: 'PG108',
    dialect: 'postgres',
    why: 'a rewrite no specific rule explains',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, a INT)',
    up: 'ALTER TABLE t SET UNLOGGED',
    down: 'ALTER TABLE t SET LOGGED',
  },
  {
    code: 'RF114',
    dialect: 'mysql',
    why: 'signed to unsigned, old -> new',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL)',
    up: 'ALTER TABLE t MODIFY n INT UNSIGNED NOT NULL',
    down: 'ALTER TABLE t MODIFY n INT NOT NULL',
  },
  {
    code: 'RF214',
    dialect: 'mysql',
    why: 'signed to unsigned, new -> old',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL)',
    up: 'ALTER TABLE t MODIFY n INT UNSIGNED NOT NULL',
    down: 'ALTER TABLE t MODIFY n INT NOT NULL',
  },
  {
    code: 'RF210',
    dialect: 'mysql',
    why: 'a unique index the new schema dropped stays on the old side',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50), UNIQUE KEY uq_email (email))',
    up: 'ALTER TABLE t DROP INDEX uq_email',
    down: 'ALTER TABLE t ADD UNIQUE KEY uq_email (email)',
  },
  {
    code: 'RF211',
    dialect: 'mysql',
    why: 'a NOT NULL column without default the new schema dropped',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, a INT, legacy INT NOT NULL)',
    up: 'ALTER TABLE t DROP COLUMN legacy',
    down: 'ALTER TABLE t ADD COLUMN legacy INT NOT NULL',
  },
  {
    code: 'WL200',
    dialect: 'mysql',
    why: 'a new-code query that does not prepare after up either',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, a INT)',
    up: 'ALTER TABLE t ADD COLUMN b INT',
    down: 'ALTER TABLE t DROP COLUMN b',
    newQueries: 'SELECT id, nope FROM t WHERE id = ?\n',
  },
  {
    code: 'WL203',
    dialect: 'mysql',
    why: 'a post-deploy column rename, a new-code query of the new name',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50))',
    up: 'ALTER TABLE t RENAME COLUMN email TO mail',
    down: 'ALTER TABLE t RENAME COLUMN mail TO email',
    newQueries: 'SELECT id, mail FROM t WHERE id = ?\n',
  },
  {
    code: 'WL203',
    dialect: 'postgres',
    why: 'a post-deploy table rename, a new-code query of the new name',
    setup: 'CREATE TABLE t (id INT PRIMARY KEY, a INT)',
    up: 'ALTER TABLE t RENAME TO t2',
    down: 'ALTER TABLE t2 RENAME TO t',
    newQueries: 'SELECT id, a FROM t2 WHERE id = $1\n',
  },
];

async function verdictOf(c: Case): Promise<MigrationVerdict> {
  const migrations = [sqlMigration(c.dialect, '0001_setup', c.setup), sqlMigration(c.dialect, '0002_case', c.up, c.down)];
  const workload = c.newQueries ? { new: parseWorkload(c.newQueries, '/w/new.txt', c.dialect).queries } : undefined;
  const vs = await analyse(migrations, { dialect: c.dialect, shadow: shadowServer(c.dialect), ...(workload ? { workload } : {}) });
  return vs[vs.length - 1]!;
}

describe('every rule code fires on a real server', () => {
  it.each(CASES)('$code ($dialect): $why', async (c) => {
    const v = await verdictOf(c);
    const rules = v.findings.map((f) => `${f.rule}:${f.severity}`);
    expect(
      rules.map((r) => r.split(':')[0]),
      rules.join(' '),
    ).toContain(c.code);
  });
});
