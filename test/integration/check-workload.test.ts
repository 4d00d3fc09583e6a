import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import { evaluateGate } from '../../src/analysis/gate.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import type { MigrationVerdict } from '../../src/analysis/types.ts';
import { parseWorkload } from '../../src/analysis/workload/parse.ts';
import type { Dialect } from '../../src/config/types.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * The workload-aware check on the real servers: the application's statements are PREPARED on the
 * shadow after each up (old code) and after each down (new code).
 */
function byId(vs: MigrationVerdict[], id: string): MigrationVerdict {
  return vs.find((v) => v.id === id)!;
}
const rules = (v: MigrationVerdict): string[] => v.findings.filter((f) => f.rule.startsWith('WL')).map((f) => `${f.rule}:${f.severity}`);

describe('workload check (MariaDB/MySQL)', () => {
  const d: Dialect = 'mysql';
  const migrations = [
    sqlMigration(
      d,
      '0001_users',
      'CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL, age INT, email VARCHAR(100))',
      'DROP TABLE users',
    ),
    // The schema says fine (BC102 acknowledged), the application's own query says otherwise.
    sqlMigration(d, '0002_drop_email', 'ALTER TABLE users DROP COLUMN email', 'ALTER TABLE users ADD COLUMN email VARCHAR(100)', {
      phase: 'pre-deploy',
      acknowledgements: [{ rule: 'BC102', reason: 'we believe nothing reads email' }],
    }),
    sqlMigration(d, '0003_tenant', 'ALTER TABLE users ADD COLUMN tenant INT NOT NULL DEFAULT 0', 'ALTER TABLE users DROP COLUMN tenant', {
      phase: 'pre-deploy',
    }),
    sqlMigration(d, '0004_tenant_required', 'ALTER TABLE users ALTER COLUMN tenant DROP DEFAULT', 'ALTER TABLE users ALTER COLUMN tenant SET DEFAULT 0', {
      phase: 'pre-deploy',
    }),
    sqlMigration(d, '0005_drop_age', 'ALTER TABLE users DROP COLUMN age', 'ALTER TABLE users ADD COLUMN age INT NOT NULL AFTER name', { phase: 'post-deploy' }),
  ];
  const old = parseWorkload(
    JSON.stringify([
      { SCHEMA_NAME: 'shop', DIGEST_TEXT: 'SELECT `id` , `email` FROM `shop` . `users` WHERE `id` = ?' },
      { SCHEMA_NAME: 'shop', DIGEST_TEXT: 'INSERT INTO `users` ( `name` ) VALUES (...)' },
      { SCHEMA_NAME: 'shop', DIGEST_TEXT: 'SELECT `nope` FROM `users`' },
    ]),
    '/w/old.json',
    d,
  );
  const fresh = parseWorkload('SELECT id, tenant FROM users WHERE tenant = ?\nINSERT INTO users (name, tenant) VALUES (?, ?)\n', '/w/new.txt', d);

  it('breaks found by preparing the real statements: WL101, WL102, WL201, WL202; never-valid ones ignored', async () => {
    const vs = await analyse(migrations, { dialect: d, shadow: shadowServer(d), workload: { old: old.queries, new: fresh.queries } });
    const m1 = byId(vs, '0001_users');
    expect(rules(m1)).toContain('WL100:info');
    expect(m1.findings.find((f) => f.rule === 'WL100')!.query).toMatchObject({ source: 'old.json #3', error: "Unknown column 'nope' in 'SELECT'" });

    const m2 = byId(vs, '0002_drop_email');
    expect(m2.findings.find((f) => f.rule === 'BC102')!.acknowledged).toBeDefined();
    expect(m2.backwardCompatible).toBe(false);
    const wl101 = m2.findings.find((f) => f.rule === 'WL101')!;
    expect(wl101).toMatchObject({ severity: 'error', table: 'users', statement: 'ALTER TABLE users DROP COLUMN email' });
    expect(wl101.message).toMatch(/`` SELECT `id` , `email` FROM `shop` \. `users` WHERE `id` = \? `` \(old\.json #1\)/);
    expect(wl101.message).toMatch(/Unknown column 'email' in 'SELECT'/);
    // "nope" never prepared: not reported again.
    expect(rules(m2).filter((r) => r.startsWith('WL100'))).toEqual([]);

    expect(rules(byId(vs, '0003_tenant'))).toEqual(['WL201:warning', 'WL201:warning']);
    const m4 = byId(vs, '0004_tenant_required');
    expect(m4.backwardCompatible).toBe(false);
    const wl102 = m4.findings.find((f) => f.rule === 'WL102')!;
    expect(wl102.message).toMatch(
      /inserts into users with `` INSERT INTO `users` \( `name` \) VALUES \(\.\.\.\) `` \(old\.json #2\), which does not set tenant/,
    );

    const m5 = byId(vs, '0005_drop_age');
    const wl202 = m5.findings.find((f) => f.rule === 'WL202')!;
    expect(wl202).toMatchObject({ severity: 'error', column: 'age' });
    expect(wl202.message).toMatch(/`INSERT INTO users \(name, tenant\) VALUES \(\?, \?\)` \(new\.txt line 2\) without setting age/);
    expect(evaluateGate([m5]).pass).toBe(false);
  });

  it('is cached with the workload in the key', async () => {
    const { MemoryCache } = await import('../../src/analysis/cache.ts');
    const cache = new MemoryCache();
    const stats = { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
    const ms = migrations.slice(0, 2);
    await analyse(ms, { dialect: d, shadow: shadowServer(d), cache, workload: { old: old.queries } });
    await analyse(ms, { dialect: d, shadow: shadowServer(d), cache, workload: { old: old.queries }, stats });
    expect(stats.cachedMigrations).toBe(2);
    const other = await analyse(ms, { dialect: d, shadow: shadowServer(d), cache, stats });
    expect(stats.cachedMigrations).toBe(0);
    expect(other[1]!.findings.some((f) => f.rule.startsWith('WL'))).toBe(false);
  });
});

describe('workload check (PostgreSQL)', () => {
  const d: Dialect = 'postgres';
  it('prepares pg_stat_statements queries with $n parameters', async () => {
    const migrations = [
      sqlMigration(d, '0001_users', 'CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, age int)', 'DROP TABLE users'),
      sqlMigration(d, '0002_rename_age', 'ALTER TABLE users RENAME COLUMN age TO years', 'ALTER TABLE users RENAME COLUMN years TO age', {
        phase: 'pre-deploy',
      }),
      sqlMigration(d, '0003_years_required', 'ALTER TABLE users ALTER COLUMN years SET NOT NULL', 'ALTER TABLE users ALTER COLUMN years DROP NOT NULL', {
        phase: 'post-deploy',
      }),
    ];
    const old = parseWorkload(
      JSON.stringify([
        { query: 'SELECT id, name, age FROM users WHERE id = $1', calls: 10 },
        { query: 'UPDATE users SET name = $1 WHERE id = $2' },
        { query: 'COMMIT' },
      ]),
      '/w/pgss.json',
      d,
    );
    const fresh = parseWorkload(JSON.stringify([{ query: 'SELECT years FROM users WHERE id = ANY($1)' }]), '/w/pgss-new.json', d);
    const vs = await analyse(migrations, { dialect: d, shadow: shadowServer(d), workload: { old: old.queries, new: fresh.queries } });
    const m2 = byId(vs, '0002_rename_age');
    expect(m2.backwardCompatible).toBe(false);
    expect(rules(m2)).toEqual(['WL101:error', 'WL201:warning']);
    expect(m2.findings.find((f) => f.rule === 'WL101')!.message).toMatch(
      /`SELECT id, name, age FROM users WHERE id = \$1` \(pgss\.json #1\).*column "age" does not exist/,
    );
    expect(m2.findings.find((f) => f.rule === 'WL201')!.message).toMatch(/column "years" does not exist/);
    // The UPDATE never touched age: it keeps working.
    expect(m2.findings.some((f) => f.query?.source === 'pgss.json #2')).toBe(false);
    expect(rules(byId(vs, '0003_years_required'))).toEqual([]);
  });
});

afterAll(async () => {
  for (const dialect of ['mysql', 'postgres'] as const) expect(await listShadowDatabases(dialect, shadowServer(dialect), [process.pid])).toEqual([]);
});
