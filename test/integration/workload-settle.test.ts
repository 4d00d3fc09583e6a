import { describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import type { MigrationVerdict } from '../../src/analysis/types.ts';
import { parseWorkload } from '../../src/analysis/workload/parse.ts';
import type { Dialect } from '../../src/config/types.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * --queries decides compatibility both ways: what no old statement uses may change (a warning
 * saying so), what one uses may not (an error naming the statement). Prepared on the real servers.
 */
const SETUP: Record<Dialect, string> = {
  mysql: 'CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL, email VARCHAR(100), legacy_note TEXT, age INT)',
  postgres: 'CREATE TABLE users (id serial PRIMARY KEY, name varchar(100) NOT NULL, email varchar(100), legacy_note text, age int)',
};
const UPSERT: Record<Dialect, string> = {
  mysql: 'INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)',
  postgres: 'INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id, name) DO UPDATE SET name = EXCLUDED.name',
};

/** Declared pre-deploy: a drop or narrowing is inferred post-deploy, where every BC finding is info. */
const PRE = { phase: 'pre-deploy' as const };

function finding(v: MigrationVerdict, rule: string) {
  const f = v.findings.find((x) => x.rule === rule);
  expect(f, `${v.id} has ${rule}: ${v.findings.map((x) => x.rule).join(', ')}`).toBeDefined();
  return f!;
}

for (const d of ['mysql', 'postgres'] as const) {
  describe(`--queries decides compatibility (${d})`, () => {
    const migrations = [
      sqlMigration(d, '0001_users', SETUP[d], 'DROP TABLE users'),
      sqlMigration(d, '0002_drop_legacy_note', 'ALTER TABLE users DROP COLUMN legacy_note', 'ALTER TABLE users ADD COLUMN legacy_note TEXT', PRE),
      sqlMigration(d, '0003_drop_email', 'ALTER TABLE users DROP COLUMN email', 'ALTER TABLE users ADD COLUMN email VARCHAR(100)', PRE),
      sqlMigration(
        d,
        '0004_narrow_name',
        d === 'mysql' ? 'ALTER TABLE users MODIFY name VARCHAR(50) NOT NULL' : 'ALTER TABLE users ALTER COLUMN name TYPE varchar(50)',
        d === 'mysql' ? 'ALTER TABLE users MODIFY name VARCHAR(100) NOT NULL' : 'ALTER TABLE users ALTER COLUMN name TYPE varchar(100)',
        PRE,
      ),
      sqlMigration(
        d,
        '0005_narrow_age',
        d === 'mysql' ? 'ALTER TABLE users MODIFY age SMALLINT' : 'ALTER TABLE users ALTER COLUMN age TYPE smallint',
        d === 'mysql' ? 'ALTER TABLE users MODIFY age INT' : 'ALTER TABLE users ALTER COLUMN age TYPE int',
        PRE,
      ),
    ];
    const placeholder = d === 'mysql' ? '?' : '$1';
    const queries = parseWorkload(
      [`SELECT id, name, email, age FROM users WHERE id = ${placeholder}`, `INSERT INTO users (name) VALUES (${placeholder})`].join('\n'),
      '/w/queries.txt',
      d,
    );

    it('a column no old statement names may be dropped; one a statement names may not; a narrowing is decided by the writes', async () => {
      const vs = await analyse(migrations, { dialect: d, shadow: shadowServer(d), workload: { old: queries.queries, new: [], oldWindow: queries.window! } });
      const [, legacy, email, name, age] = vs as [MigrationVerdict, MigrationVerdict, MigrationVerdict, MigrationVerdict, MigrationVerdict];

      expect(legacy.backwardCompatible).toBe(true);
      const bc102 = finding(legacy, 'BC102');
      expect(bc102.severity).toBe('warning');
      expect(bc102.message).toContain('no statement in queries.txt names users.legacy_note, and every one of them (2 statements) still prepares');

      expect(email.backwardCompatible).toBe(false);
      expect(finding(email, 'BC102').severity).toBe('error');
      expect(finding(email, 'BC102').message).toContain(
        `\`SELECT id, name, email, age FROM users WHERE id = ${placeholder}\` (queries.txt line 1) names users.email`,
      );

      // The INSERT writes name: a value of 51-100 characters it could send is refused now.
      expect(name.backwardCompatible).toBe(false);
      expect(finding(name, 'BC105').message).toContain(`\`INSERT INTO users (name) VALUES (${placeholder})\` (queries.txt line 2) writes users.name`);
      // Nothing writes age: the old code only reads it, and every value it reads back fits.
      expect(age.backwardCompatible).toBe(true);
      expect(finding(age, 'BC105')).toMatchObject({ severity: 'warning' });
      expect(finding(age, 'BC105').message).toContain('no statement in queries.txt writes users.age');
    });

    it('without --queries the drop stays breaking', async () => {
      const vs = await analyse(migrations.slice(0, 2), { dialect: d, shadow: shadowServer(d) });
      expect(vs[1]!.backwardCompatible).toBe(false);
      expect(finding(vs[1]!, 'BC102').severity).toBe('error');
    });

    it('a primary key widened to more columns is compatible, unless an old statement upserts on it', async () => {
      const pk = [
        migrations[0]!,
        sqlMigration(
          d,
          '0002_pk',
          d === 'mysql'
            ? 'ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id, name)'
            : 'ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (id, name)',
          d === 'mysql' ? 'ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id)' : 'ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (id)',
        ),
      ];
      const plain = await analyse(pk, { dialect: d, shadow: shadowServer(d), workload: { old: queries.queries, new: [], oldWindow: queries.window! } });
      expect(plain[1]!.backwardCompatible).toBe(true);
      expect(finding(plain[1]!, 'BC114').severity).toBe('warning');
      const upsert = parseWorkload(UPSERT[d], '/w/upsert.txt', d);
      const withUpsert = await analyse(pk, { dialect: d, shadow: shadowServer(d), workload: { old: upsert.queries, new: [], oldWindow: upsert.window! } });
      // The upsert still runs (as measured on m31 / p53); the warning names it, since it matches on the new key.
      expect(withUpsert[1]!.backwardCompatible).toBe(true);
      expect(finding(withUpsert[1]!, 'BC114')).toMatchObject({ severity: 'warning' });
      expect(finding(withUpsert[1]!, 'BC114').message).toContain('(upsert.txt line 1); check that it cannot now insert a second row');
    });

    it('a primary key moved to another column is breaking when an old statement writes the table, compatible when they only read it', async () => {
      const moved = [
        sqlMigration(
          d,
          '0001_users',
          SETUP[d].replace('email VARCHAR(100)', 'email VARCHAR(100) NOT NULL').replace('email varchar(100)', 'email varchar(100) NOT NULL'),
          'DROP TABLE users',
        ),
        sqlMigration(
          d,
          '0002_pk_email',
          d === 'mysql'
            ? 'ALTER TABLE users MODIFY id INT NOT NULL, DROP PRIMARY KEY, ADD PRIMARY KEY (email)'
            : 'ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (email)',
          d === 'mysql'
            ? 'ALTER TABLE users DROP PRIMARY KEY, ADD PRIMARY KEY (id), MODIFY id INT NOT NULL AUTO_INCREMENT'
            : 'ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (id)',
          PRE,
        ),
      ];
      const writes = await analyse(moved, { dialect: d, shadow: shadowServer(d), workload: { old: queries.queries, new: [], oldWindow: queries.window! } });
      expect(writes[1]!.backwardCompatible).toBe(false);
      expect(finding(writes[1]!, 'BC114').message).toContain(`\`INSERT INTO users (name) VALUES (${placeholder})\` (queries.txt line 2) writes users`);
      const reads = parseWorkload(`SELECT id, name, email FROM users WHERE id = ${placeholder}`, '/w/reads.txt', d);
      const onlyReads = await analyse(moved, { dialect: d, shadow: shadowServer(d), workload: { old: reads.queries, new: [], oldWindow: reads.window! } });
      expect(onlyReads[1]!.backwardCompatible).toBe(true);
      expect(finding(onlyReads[1]!, 'BC114').message).toContain('no statement in reads.txt writes users');
    });
  });
}
