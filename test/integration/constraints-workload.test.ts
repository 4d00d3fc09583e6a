import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import type { MigrationVerdict } from '../../src/analysis/types.ts';
import { parseWorkload } from '../../src/analysis/workload/parse.ts';
import type { Dialect } from '../../src/config/types.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * Issue 16: a new FOREIGN KEY, UNIQUE, CHECK or NOT NULL breaks the running release's writes (an
 * error, not backward compatible) unless the workload given with --queries shows no statement of
 * that release can violate it; then it is a warning that says why.
 */
const SCHEMA: Record<Dialect, { create: string; drop: string; fk: string; unique: string; check: string; notNull: [string, string] }> = {
  mysql: {
    create:
      'CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, email VARCHAR(100), age INT); CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total DECIMAL(10,2))',
    drop: 'DROP TABLE orders; DROP TABLE users',
    fk: 'ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id)',
    unique: 'CREATE UNIQUE INDEX uq_users_email ON users (email)',
    check: 'ALTER TABLE users ADD CONSTRAINT chk_users_age CHECK (age >= 0)',
    notNull: ['ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL', 'ALTER TABLE users MODIFY email VARCHAR(100)'],
  },
  postgres: {
    create:
      'CREATE TABLE users (id int PRIMARY KEY, name varchar(50) NOT NULL, email varchar(100), age int); CREATE TABLE orders (id int PRIMARY KEY, user_id int, total numeric(10,2))',
    drop: 'DROP TABLE orders; DROP TABLE users',
    fk: 'ALTER TABLE orders ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID',
    unique: 'CREATE UNIQUE INDEX CONCURRENTLY uq_users_email ON users (email)',
    check: 'ALTER TABLE users ADD CONSTRAINT chk_users_age CHECK (age >= 0) NOT VALID',
    notNull: ['ALTER TABLE users ALTER COLUMN email SET NOT NULL', 'ALTER TABLE users ALTER COLUMN email DROP NOT NULL'],
  },
};

const severityOf = (v: MigrationVerdict, rule: string): string | undefined => v.findings.find((f) => f.rule === rule)?.severity;

for (const d of ['mysql', 'postgres'] as const) {
  describe(`data-dependent constraints and the old code's workload (${d})`, () => {
    const s = SCHEMA[d];
    const migrations = [
      sqlMigration(d, '0001_tables', s.create, s.drop),
      sqlMigration(
        d,
        '0002_fk',
        s.fk,
        d === 'mysql'
          ? 'ALTER TABLE orders DROP FOREIGN KEY fk_orders_user; ALTER TABLE orders DROP INDEX fk_orders_user'
          : 'ALTER TABLE orders DROP CONSTRAINT fk_orders_user',
        { phase: 'pre-deploy' },
      ),
      sqlMigration(d, '0003_unique', s.unique, d === 'mysql' ? 'DROP INDEX uq_users_email ON users' : 'DROP INDEX uq_users_email', { phase: 'pre-deploy' }),
      sqlMigration(
        d,
        '0004_check',
        s.check,
        d === 'mysql' ? 'ALTER TABLE users DROP CONSTRAINT chk_users_age' : 'ALTER TABLE users DROP CONSTRAINT chk_users_age',
        { phase: 'pre-deploy' },
      ),
      sqlMigration(d, '0005_not_null', s.notNull[0], s.notNull[1], { phase: 'pre-deploy' }),
    ];
    const byId = (vs: MigrationVerdict[], id: string): MigrationVerdict => vs.find((v) => v.id === id)!;

    it('without a workload every new constraint is an error: not backward compatible, with the recipe', async () => {
      const vs = await analyse(migrations, { dialect: d, shadow: shadowServer(d) });
      expect(severityOf(byId(vs, '0002_fk'), 'BC111')).toBe('error');
      expect(severityOf(byId(vs, '0003_unique'), 'BC109')).toBe('error');
      expect(severityOf(byId(vs, '0004_check'), 'BC110')).toBe('error');
      expect(severityOf(byId(vs, '0005_not_null'), 'BC108')).toBe('error');
      for (const id of ['0002_fk', '0003_unique', '0004_check', '0005_not_null']) expect(byId(vs, id).backwardCompatible, id).toBe(false);
      const fk = byId(vs, '0002_fk').findings.find((f) => f.rule === 'BC111')!;
      expect(fk.safeAlternative).toMatch(/NOT VALID, which still checks new rows, then VALIDATE CONSTRAINT/);
      expect(fk.safeAlternative).toMatch(/Validate in the application first/);
      expect(fk.safeAlternative).toMatch(/Backfill/);
      if (d === 'postgres') expect(fk.message).toMatch(/NOT VALID \(existing rows are not checked, new rows are\)/);
    });

    it('a workload that never writes the constrained columns makes them warnings saying why; one that can violate them keeps the error', async () => {
      const quiet = parseWorkload(
        [
          'SELECT id, email, age FROM users WHERE id = ?',
          'INSERT INTO users (id, name) VALUES (?, ?)',
          'UPDATE users SET name = ? WHERE id = ?',
          'INSERT INTO orders (id, total) VALUES (?, ?)',
        ].join('\n'),
        '/w/old.txt',
        d,
      );
      const vs = await analyse(migrations, { dialect: d, shadow: shadowServer(d), workload: { old: quiet.queries, new: [] } });
      for (const [id, rule] of [
        ['0002_fk', 'BC111'],
        ['0003_unique', 'BC109'],
        ['0004_check', 'BC110'],
      ] as const) {
        const v = byId(vs, id);
        const f = v.findings.find((x) => x.rule === rule)!;
        expect(f.severity, id).toBe('warning');
        expect(f.message, id).toMatch(/No statement of the running release's workload \(old\.txt \(4 statements\)\) writes/);
        expect(v.backwardCompatible, id).toBe(true);
      }
      expect(byId(vs, '0002_fk').findings.find((x) => x.rule === 'BC111')!.message).toMatch(/deletes from users/);
      // The INSERT omits email, which has no default: NOT NULL breaks it whatever the workload.
      expect(severityOf(byId(vs, '0005_not_null'), 'BC108')).toBe('error');
      expect(byId(vs, '0005_not_null').backwardCompatible).toBe(false);

      const writes = parseWorkload(
        ['INSERT INTO users (id, name, email) VALUES (?, ?, ?)', 'DELETE FROM users WHERE id = ?', 'UPDATE users SET age = ? WHERE id = ?'].join('\n'),
        '/w/writes.txt',
        d,
      );
      const vw = await analyse(migrations, { dialect: d, shadow: shadowServer(d), workload: { old: writes.queries, new: [] } });
      // Deleting a user can leave orders without their parent; the UPDATE can write a negative age; the INSERT a duplicate email or a NULL.
      for (const [id, rule] of [
        ['0002_fk', 'BC111'],
        ['0003_unique', 'BC109'],
        ['0004_check', 'BC110'],
        ['0005_not_null', 'BC108'],
      ] as const) {
        expect(severityOf(byId(vw, id), rule), id).toBe('error');
        expect(byId(vw, id).backwardCompatible, id).toBe(false);
      }
    });

    afterAll(async () => {
      expect(await listShadowDatabases(d, shadowServer(d), [process.pid])).toEqual([]);
    });
  });
}
