import type { Knex } from 'knex';
import { type CliProject, cliProject } from '../helpers/cli-project.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, decideOnTarget } from '../../src/analysis/index.ts';
import { runMain } from '../helpers/in-process.ts';
import type { Dialect } from '../../src/config/types.ts';
import type { FreshDatabase } from '../helpers/databases.ts';
import { serverUrl, shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * Issue 16 point 2: `migrate plan` counts on the target the rows a pending FOREIGN KEY or UNIQUE index
 * would reject. The target holds 100 users and 200 orders; orders 17, 104 and 150 point at user 9999
 * (orphans), order 5 has no user (NULL: not an orphan); orders 30, 31 share code 'dup-a' and 40, 41, 42
 * share 'dup-b' (5 rows in 2 groups), orders 60 and 61 have no code (NULLs are no duplicates).
 * CHECK (user_id < 9000) rejects the 3 orphans. users.email, orders.owner_id and CHECK (id > 0) are
 * clean: those constraints get the info finding.
 */
const run = runMain;

const CREATE =
  'CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100));\nCREATE TABLE orders (id INT PRIMARY KEY, user_id INT, owner_id INT, code VARCHAR(20));\n';
const DROP_FK: Record<Dialect, (name: string) => string> = {
  mysql: (name) => `ALTER TABLE orders DROP FOREIGN KEY ${name}`,
  postgres: (name) => `ALTER TABLE orders DROP CONSTRAINT ${name}`,
};
const DROP_INDEX: Record<Dialect, (name: string, table: string) => string> = {
  mysql: (name, table) => `DROP INDEX ${name} ON ${table}`,
  postgres: (name) => `DROP INDEX ${name}`,
};
const NOT_NULL: Record<Dialect, (table: string, column: string, type: string) => [string, string]> = {
  mysql: (table, column, type) => [`ALTER TABLE ${table} MODIFY ${column} ${type} NOT NULL`, `ALTER TABLE ${table} MODIFY ${column} ${type} NULL`],
  postgres: (table, column) => [`ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL`, `ALTER TABLE ${table} ALTER COLUMN ${column} DROP NOT NULL`],
};
const ORPHANS = new Set([17, 104, 150]);
const CODES: Record<number, string | null> = { 30: 'dup-a', 31: 'dup-a', 40: 'dup-b', 41: 'dup-b', 42: 'dup-b', 60: null, 61: null };

interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
  table?: string;
}

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`plan counts the rows a new constraint rejects on the target (${dialect})`, () => {
    let target: FreshDatabase;
    let project: CliProject | undefined;
    let config: string;
    let db: Knex;

    beforeAll(async () => {
      const files: Record<string, string> = {
        '0001_create.up.sql': CREATE,
        '0001_create.down.sql': 'DROP TABLE orders;\nDROP TABLE users;\n',
        '0002_orders_user_fk.up.sql': 'ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id);\n',
        '0002_orders_user_fk.down.sql': `${DROP_FK[dialect]('fk_orders_user')};\n`,
        '0003_orders_code_unique.up.sql': 'CREATE UNIQUE INDEX uq_orders_code ON orders (code);\n',
        '0003_orders_code_unique.down.sql': `${DROP_INDEX[dialect]('uq_orders_code', 'orders')};\n`,
        '0004_orders_owner_fk.up.sql': 'ALTER TABLE orders ADD CONSTRAINT fk_orders_owner FOREIGN KEY (owner_id) REFERENCES users (id);\n',
        '0004_orders_owner_fk.down.sql': `${DROP_FK[dialect]('fk_orders_owner')};\n`,
        '0005_users_email_unique.up.sql': 'CREATE UNIQUE INDEX uq_users_email ON users (email);\n',
        '0005_users_email_unique.down.sql': `${DROP_INDEX[dialect]('uq_users_email', 'users')};\n`,
        '0006_orders_code_required.up.sql': `${NOT_NULL[dialect]('orders', 'code', 'VARCHAR(20)')[0]};\n`,
        '0006_orders_code_required.down.sql': `${NOT_NULL[dialect]('orders', 'code', 'VARCHAR(20)')[1]};\n`,
        '0007_users_email_required.up.sql': `${NOT_NULL[dialect]('users', 'email', 'VARCHAR(100)')[0]};\n`,
        '0007_users_email_required.down.sql': `${NOT_NULL[dialect]('users', 'email', 'VARCHAR(100)')[1]};\n`,
        '0008_orders_user_check.up.sql': 'ALTER TABLE orders ADD CONSTRAINT ck_orders_user CHECK (user_id < 9000);\n',
        '0008_orders_user_check.down.sql': 'ALTER TABLE orders DROP CONSTRAINT ck_orders_user;\n',
        '0009_orders_id_check.up.sql': 'ALTER TABLE orders ADD CONSTRAINT ck_orders_id CHECK (id > 0);\n',
        '0009_orders_id_check.down.sql': 'ALTER TABLE orders DROP CONSTRAINT ck_orders_id;\n',
        '0010_orders_ref.up.sql': 'ALTER TABLE orders ADD COLUMN ref VARCHAR(20);\nCREATE UNIQUE INDEX uq_orders_ref ON orders (ref);\n',
        '0010_orders_ref.down.sql': `${DROP_INDEX[dialect]('uq_orders_ref', 'orders')};\nALTER TABLE orders DROP COLUMN ref;\n`,
      };
      project = await cliProject(dialect, files);
      target = project.db;
      config = project.config;
      const up = await run(['--config', config, 'up', '--to', '0001_create']);
      expect(up.code, up.stderr).toBe(0);
      db = target.knex();
      await db('users').insert(Array.from({ length: 100 }, (_, i) => ({ id: i + 1, email: `u${i + 1}@example.org` })));
      await db('orders').insert(
        Array.from({ length: 200 }, (_, i) => {
          const id = i + 1;
          return {
            id,
            user_id: id === 5 ? null : ORPHANS.has(id) ? 9999 : 1 + (id % 100),
            owner_id: id % 3 === 0 ? null : 1 + (id % 100),
            code: id in CODES ? CODES[id] : `c${id}`,
          };
        }),
      );
    }, 120_000);

    afterAll(async () => {
      await project?.remove();
    });

    it('quotes the orphans, duplicates, NULLs and rows failing a CHECK as errors, and says a clean constraint was checked', async () => {
      const r = await run(['--config', config, 'plan', '--format', 'json', '--shadow', serverUrl(dialect), '--no-cache']);
      const data = JSON.parse(r.stdout) as { migrations: { id: string; findings: JsonFinding[] }[] };
      const dl108 = (id: string): JsonFinding => {
        const m = data.migrations.find((x) => x.id === id);
        const f = m?.findings.find((x) => x.rule === 'DL108');
        expect(f, JSON.stringify(m?.findings)).toBeDefined();
        return f!;
      };
      const fk = dl108('0002_orders_user_fk');
      expect(fk.severity).toBe('error');
      expect(fk.message).toContain('3 of 200 rows of orders have a user_id with no row in users (e.g. id 17, 104, 150)');
      expect(fk.message).toMatch(/checked on \S+ at \d{4}-\d\d-\d\dT[\d:]+Z\): the ALTER fails on them/);
      const unique = dl108('0003_orders_code_unique');
      expect(unique.severity).toBe('error');
      expect(unique.message).toContain('5 of 200 rows of orders share a value of (code) with another row, in 2 groups');
      expect(unique.message).toMatch(/e\.g\. code (dup-a, dup-b|dup-b, dup-a)\)/);
      const owner = dl108('0004_orders_owner_fk');
      expect(owner.severity).toBe('info');
      expect(owner.message).toContain('0 of 200 rows of orders have a owner_id with no row in users');
      const email = dl108('0005_users_email_unique');
      expect(email.severity).toBe('info');
      expect(email.message).toContain('0 of 100 rows of users share a value of (email) with another row');
      const code = dl108('0006_orders_code_required');
      expect(code.severity).toBe('error');
      expect(code.message).toContain('2 of 200 rows of orders hold NULL in code (e.g. id 60, 61)');
      expect(code.message).toContain('the ALTER fails on them. Backfill code');
      const required = dl108('0007_users_email_required');
      expect(required.severity).toBe('info');
      expect(required.message).toContain('0 of 100 rows of users hold NULL in email');
      // user_id < 9000 is false for the 3 orphans; NULL (order 5) passes a CHECK.
      const check = dl108('0008_orders_user_check');
      expect(check.severity).toBe('error');
      expect(check.message).toContain('3 of 200 rows of orders fail the check (e.g. id 17, 104, 150)');
      const clean = dl108('0009_orders_id_check');
      expect(clean.severity).toBe('info');
      expect(clean.message).toContain('0 of 200 rows of orders fail the check');
      // A key on a column the pending migrations add has no stored value to check: no query, no finding.
      const ref = data.migrations.find((x) => x.id === '0010_orders_ref');
      expect(ref, 'the migration is in the plan').toBeDefined();
      expect(ref?.findings.filter((x) => x.rule === 'DL108')).toEqual([]);
    }, 180_000);

    it('above the row budget it counts on a sample and says so', async () => {
      await db.raw(dialect === 'mysql' ? 'ANALYZE TABLE orders, users' : 'ANALYZE orders, users');
      const migrations = [
        sqlMigration(dialect, '0001_create', CREATE, 'DROP TABLE orders; DROP TABLE users'),
        sqlMigration(
          dialect,
          '0002_orders_user_fk',
          'ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id)',
          DROP_FK[dialect]('fk_orders_user'),
        ),
      ];
      const verdicts = await analyse(migrations, { dialect, shadow: shadowServer(dialect), baseline: 1, checkReversibility: false });
      await decideOnTarget(db, dialect, verdicts, { target: 'the target', budget: { statementMs: 5000, maxRows: 50 } });
      const f = verdicts[0]!.findings.find((x) => x.rule === 'DL108');
      expect(f?.message, JSON.stringify(verdicts[0]!.findings)).toMatch(/: \d+ of 50 sampled rows of orders have a user_id with no row in users/);
    }, 120_000);
  });
}
