/**
 * `migrate check` counts the shadow's rows that violate a constraint a migration adds (DL108,
 * issue 16 point 2): the history's own inserts are there, so a migration that inserts an orphan
 * and then adds the foreign key says how many rows and which, next to the server's error. Run
 * through bin/migrate on the machine's MariaDB and PostgreSQL (the test shadow servers).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { cli, show } from '../faults/harness.ts';

interface Verdict {
  id: string;
  outcome: string;
  findings: { rule: string; severity: string; message: string; statement?: string }[];
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const HISTORY = 'CREATE TABLE users (id INT PRIMARY KEY);\nCREATE TABLE orders (id INT PRIMARY KEY, user_id INT, code VARCHAR(20), qty INT);\n';
const ROWS = "INSERT INTO users VALUES (1), (2);\nINSERT INTO orders VALUES (10, 1, 'a', 1), (11, 2, 'dup', 2), (12, 99, 'dup', NULL), (13, NULL, NULL, -1);\n";

/** `check` over 0001 (the tables) and 0002 (the rows, then `up`); the second migration's verdict. */
async function check(dialect: 'mysql' | 'postgres', up: string): Promise<{ code: number | null; v: Verdict }> {
  const dir = mkdtempSync(join(tmpdir(), 'check-violations-'));
  dirs.push(dir);
  writeFileSync(join(dir, '0001_tables.up.sql'), HISTORY);
  writeFileSync(join(dir, '0001_tables.down.sql'), 'DROP TABLE orders;\nDROP TABLE users;\n');
  writeFileSync(join(dir, '0002_constrain.up.sql'), ROWS + up);
  // The down is not what is tested: it only has to run where the up did.
  writeFileSync(join(dir, '0002_constrain.down.sql'), 'DELETE FROM orders;\nDELETE FROM users;\n');
  const r = await cli(['check', dir, '--dialect', dialect, '--format', 'json'], {}, 120_000);
  expect(r.signal, show(r)).toBeNull();
  const doc = JSON.parse(r.stdout) as { migrations: Verdict[] };
  const v = doc.migrations.find((m) => m.id === '0002_constrain');
  expect(v, show(r)).toBeDefined();
  return { code: r.code, v: v! };
}

const dl108 = (v: Verdict) => v.findings.filter((f) => f.rule === 'DL108');
const WHERE = "(checked on the shadow's rows before the change)";

const cases = {
  mysql: {
    fk: 'ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id);\n',
    unique: 'ALTER TABLE orders ADD UNIQUE KEY uq_code (code);\n',
    notNull: 'ALTER TABLE orders MODIFY qty INT NOT NULL;\n',
    check: 'ALTER TABLE orders ADD CONSTRAINT qty_positive CHECK (qty > 0);\n',
  },
  postgres: {
    fk: 'ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id);\n',
    unique: 'CREATE UNIQUE INDEX uq_code ON orders (code);\n',
    notNull: 'ALTER TABLE orders ALTER COLUMN qty SET NOT NULL;\n',
    check: 'ALTER TABLE orders ADD CONSTRAINT qty_positive CHECK (qty > 0);\n',
  },
};

for (const dialect of ['mysql', 'postgres'] as const) {
  const sql = cases[dialect];
  describe(`check counts constraint violations on the shadow's rows (${dialect})`, () => {
    test('an orphan inserted before the FOREIGN KEY: the migration fails on the shadow, and DL108 names the orphan row', async () => {
      const { code, v } = await check(dialect, sql.fk);
      expect(code).toBe(1);
      expect(v.outcome).toBe('failed');
      expect(v.findings.map((f) => f.rule)).toContain('SH301');
      const [f] = dl108(v);
      expect(f?.severity).toBe('error');
      expect(f?.message).toBe(
        `New foreign key fk_user on orders(user_id) -> users: 1 of 4 rows of orders have a user_id with no row in users (e.g. id 12) ${WHERE}: the ALTER fails on them. Delete or fix those rows, or insert the missing users rows, before adding the key.`,
      );
      expect(f?.statement).toBe(sql.fk.trim().replace(/;$/, ''));
    });

    test('duplicates before a UNIQUE index, a NULL before NOT NULL, a row the CHECK rejects: each counted, with examples', async () => {
      const unique = dl108((await check(dialect, sql.unique)).v);
      expect(unique.map((f) => f.severity)).toEqual(['error']);
      expect(unique[0]!.message).toContain(`2 of 4 rows of orders share a value of (code) with another row, in 1 group (e.g. code dup) ${WHERE}`);
      const notNull = dl108((await check(dialect, sql.notNull)).v);
      expect(notNull.map((f) => f.severity)).toEqual(['error']);
      expect(notNull[0]!.message).toContain(`1 of 4 rows of orders hold NULL in qty (e.g. id 12) ${WHERE}`);
      const rejected = dl108((await check(dialect, sql.check)).v);
      expect(rejected.map((f) => f.severity)).toEqual(['error']);
      expect(rejected[0]!.message).toContain(`1 of 4 rows of orders fail the check (e.g. id 13) ${WHERE}`);
    });

    test('rows that satisfy the new constraint: no DL108, the migration is analysed', async () => {
      const { v } = await check(dialect, `DELETE FROM orders WHERE id IN (12, 13);\n${sql.fk}`);
      expect(v.outcome).toBe('analysed');
      expect(dl108(v).filter((f) => f.severity !== 'info')).toEqual([]);
    });
  });
}

describe('check counts violations the server lets through (mysql)', () => {
  test('foreign_key_checks=0: the FOREIGN KEY is added over the orphan without an error, and DL108 still counts it', async () => {
    const { code, v } = await check('mysql', `SET foreign_key_checks = 0;\n${cases.mysql.fk}SET foreign_key_checks = 1;\n`);
    expect(v.outcome).toBe('analysed');
    expect(code).toBe(1);
    const [f] = dl108(v);
    expect(f?.severity).toBe('error');
    expect(f?.message).toContain(`1 of 4 rows of orders have a user_id with no row in users (e.g. id 12) ${WHERE}`);
  });
});
