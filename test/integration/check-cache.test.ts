import { afterAll, describe, expect, it } from 'vitest';
import { analyse, type AnalyseStats } from '../../src/analysis/analyse.ts';
import { planSegments } from '../../src/analysis/segments.ts';
import { MemoryCache } from '../../src/analysis/cache.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import type { MigrationVerdict } from '../../src/analysis/types.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * The speed-ups must not change a single verdict: re-planning from the cache with only the tables
 * a new migration touches restored, and analysing long histories on two shadows side by side.
 */
const d = 'mysql' as const;
const stats = (): AnalyseStats => ({ shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 });
const strip = (vs: MigrationVerdict[]): unknown => vs.map(({ changes: _c, ...rest }) => rest);

function history(n: number): MigrationSource[] {
  const ms: MigrationSource[] = [
    sqlMigration(d, '0001_users', 'CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL)', 'DROP TABLE users'),
    sqlMigration(
      d,
      '0002_orders',
      'CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total INT, CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id))',
      'DROP TABLE orders',
    ),
    sqlMigration(d, '0003_view', 'CREATE VIEW order_totals AS SELECT user_id, SUM(total) AS total FROM orders GROUP BY user_id', 'DROP VIEW order_totals'),
  ];
  for (let i = 4; ms.length < n; i++) {
    const t = `t${i}`;
    ms.push(sqlMigration(d, `${String(i).padStart(4, '0')}_${t}`, `CREATE TABLE ${t} (id INT PRIMARY KEY, v INT)`, `DROP TABLE ${t}`));
  }
  return ms;
}

describe('cache: re-planning restores only what the new migrations touch', () => {
  it('gives the verdicts of a full analysis, and keeps the full schema for the next run', async () => {
    const cache = new MemoryCache();
    const base = history(8);
    await analyse(base, { dialect: d, shadow: shadowServer(d), cache });

    // Touches orders, which references users: both restored, nothing else.
    const step1 = [...base, sqlMigration(d, '0100_orders_total_bigint', 'ALTER TABLE orders MODIFY total BIGINT', 'ALTER TABLE orders MODIFY total INT')];
    const s1 = stats();
    const v1 = await analyse(step1, { dialect: d, shadow: shadowServer(d), cache, stats: s1 });
    expect(s1).toMatchObject({ cachedMigrations: 8, analysedMigrations: 1, partialRestore: 2 });
    expect(strip(v1)).toEqual(strip(await analyse(step1, { dialect: d, shadow: shadowServer(d) })));
    expect(v1.at(-1)).toMatchObject({ blocking: true, algorithm: 'COPY', strategy: 'replica-first' });

    // The next one touches a table the previous partial run did not restore: the composed dump has it.
    const step2 = [...step1, sqlMigration(d, '0101_t7_drop_v', 'ALTER TABLE t7 DROP COLUMN v', 'ALTER TABLE t7 ADD COLUMN v INT', { phase: 'post-deploy' })];
    const s2 = stats();
    const v2 = await analyse(step2, { dialect: d, shadow: shadowServer(d), cache, stats: s2 });
    expect(s2).toMatchObject({ cachedMigrations: 9, analysedMigrations: 1, partialRestore: 1 });
    expect(strip(v2)).toEqual(strip(await analyse(step2, { dialect: d, shadow: shadowServer(d) })));

    // A migration naming the view cannot be restored partially: the full dump is used.
    const step3 = [
      ...step2,
      sqlMigration(
        d,
        '0102_view_again',
        'CREATE OR REPLACE VIEW order_totals AS SELECT user_id, SUM(total) AS total, COUNT(*) AS n FROM orders GROUP BY user_id',
        'CREATE OR REPLACE VIEW order_totals AS SELECT user_id, SUM(total) AS total FROM orders GROUP BY user_id',
      ),
    ];
    const s3 = stats();
    const v3 = await analyse(step3, { dialect: d, shadow: shadowServer(d), cache, stats: s3 });
    expect(s3.partialRestore).toBeUndefined();
    expect(s3.cachedMigrations).toBe(10);
    expect(strip(v3)).toEqual(strip(await analyse(step3, { dialect: d, shadow: shadowServer(d) })));
  });

  it('plan: the applied history is restored the same way, from the cached dump of the target schema', async () => {
    const cache = new MemoryCache();
    const applied = history(8);
    const pendingA = [sqlMigration(d, '0100_users_email', 'ALTER TABLE users ADD COLUMN email VARCHAR(100)', 'ALTER TABLE users DROP COLUMN email')];
    await analyse([...applied, ...pendingA], { dialect: d, shadow: shadowServer(d), cache, baseline: applied.length });
    // Another branch, same history: the base dump is reused and only users (+ orders, which references it) restored.
    const pendingB = [
      sqlMigration(d, '0100_users_name_wider', 'ALTER TABLE users MODIFY name VARCHAR(80) NOT NULL', 'ALTER TABLE users MODIFY name VARCHAR(50) NOT NULL'),
    ];
    const st = stats();
    const vb = await analyse([...applied, ...pendingB], { dialect: d, shadow: shadowServer(d), cache, baseline: applied.length, stats: st });
    expect(st.partialRestore).toBe(2);
    expect(vb).toHaveLength(1);
    expect(strip(vb)).toEqual(strip(await analyse([...applied, ...pendingB], { dialect: d, shadow: shadowServer(d), baseline: applied.length })));
  });

  it('a broken new migration is still a failed verdict after the partial attempt, the cached ones keep theirs', async () => {
    const cache = new MemoryCache();
    const base = history(8);
    const first = await analyse(base, { dialect: d, shadow: shadowServer(d), cache });
    const broken = [...base, sqlMigration(d, '0100_broken', 'ALTER TABLE orders ADD COLUMN x INT NOT NUL', 'ALTER TABLE orders DROP COLUMN x')];
    const stats: AnalyseStats = { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
    const vs = await analyse(broken, { dialect: d, shadow: shadowServer(d), cache, stats });
    expect(stats.cachedMigrations).toBe(base.length);
    expect(strip(vs.slice(0, base.length))).toEqual(strip(first));
    expect(vs.at(-1)).toMatchObject({ id: '0100_broken', outcome: 'failed', failure: { statement: 'ALTER TABLE orders ADD COLUMN x INT NOT NUL' } });
    expect(vs.at(-1)!.failure!.error).toMatch(/You have an error in your SQL syntax/);
  });
});

describe('cache on PostgreSQL: the pg_dump is cut per table and merged back', () => {
  const pg = 'postgres' as const;
  function pgHistory(): MigrationSource[] {
    const ms: MigrationSource[] = [
      sqlMigration(pg, '0001_mood', "CREATE TYPE mood AS ENUM ('ok', 'meh')", 'DROP TYPE mood'),
      sqlMigration(pg, '0002_users', 'CREATE TABLE users (id serial PRIMARY KEY, name varchar(50) NOT NULL, m mood)', 'DROP TABLE users'),
      sqlMigration(
        pg,
        '0003_orders',
        'CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id int REFERENCES users (id), total int CHECK (total >= 0))',
        'DROP TABLE orders',
      ),
      sqlMigration(pg, '0004_orders_idx', 'CREATE INDEX orders_total_idx ON orders (total)', 'DROP INDEX orders_total_idx'),
      sqlMigration(pg, '0005_touch', 'CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$', 'DROP FUNCTION touch()'),
      sqlMigration(
        pg,
        '0006_orders_trigger',
        'CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch()',
        'DROP TRIGGER orders_touch ON orders',
      ),
      sqlMigration(pg, '0007_free_seq', 'CREATE SEQUENCE invoice_no', 'DROP SEQUENCE invoice_no'),
    ];
    for (let i = 8; i < 20; i++)
      ms.push(sqlMigration(pg, `${String(i).padStart(4, '0')}_t${i}`, `CREATE TABLE t${i} (id serial PRIMARY KEY, v int)`, `DROP TABLE t${i}`));
    return ms;
  }

  it('gives the verdicts of a full analysis, partial restore after partial restore', async () => {
    const cache = new MemoryCache();
    const base = pgHistory();
    await analyse(base, { dialect: pg, shadow: shadowServer(pg), cache });
    // A dropped index names no table: the snapshot says it belongs to orders (and orders -> users).
    const step1 = [...base, sqlMigration(pg, '0100_drop_total_idx', 'DROP INDEX orders_total_idx', 'CREATE INDEX orders_total_idx ON orders (total)')];
    const s1 = stats();
    const v1 = await analyse(step1, { dialect: pg, shadow: shadowServer(pg), cache, stats: s1 });
    expect(s1).toMatchObject({ cachedMigrations: base.length, analysedMigrations: 1, partialRestore: 2 });
    expect(strip(v1)).toEqual(strip(await analyse(step1, { dialect: pg, shadow: shadowServer(pg) })));

    // A table the previous partial run did not restore, whose serial sequence must come along; the
    // merged dump still holds orders' trigger and identity, and the enum type.
    const step2 = [...step1, sqlMigration(pg, '0101_t9_not_null', 'ALTER TABLE t9 ALTER COLUMN v SET NOT NULL', 'ALTER TABLE t9 ALTER COLUMN v DROP NOT NULL')];
    const s2 = stats();
    const v2 = await analyse(step2, { dialect: pg, shadow: shadowServer(pg), cache, stats: s2 });
    expect(s2).toMatchObject({ cachedMigrations: step1.length, analysedMigrations: 1, partialRestore: 1 });
    expect(strip(v2)).toEqual(strip(await analyse(step2, { dialect: pg, shadow: shadowServer(pg) })));

    const step3 = [...step2, sqlMigration(pg, '0102_orders_mood', 'ALTER TABLE orders ADD COLUMN m mood', 'ALTER TABLE orders DROP COLUMN m')];
    const s3 = stats();
    const v3 = await analyse(step3, { dialect: pg, shadow: shadowServer(pg), cache, stats: s3 });
    expect(s3.partialRestore).toBe(2);
    expect(strip(v3)).toEqual(strip(await analyse(step3, { dialect: pg, shadow: shadowServer(pg) })));
  });
});

describe('parallel segments', () => {
  it('split long histories 2/3 + 1/3 and give the verdicts of one shadow', async () => {
    expect(planSegments(0, 10, 2)).toEqual([[0, 10]]);
    expect(planSegments(0, 30, 2)).toEqual([
      [0, 20],
      [20, 30],
    ]);
    expect(planSegments(5, 75, 3)).toEqual([
      [5, 45],
      [45, 65],
      [65, 75],
    ]);
    const ms = history(22);
    ms.push(sqlMigration(d, '0200_orders_idx', 'CREATE INDEX orders_total_idx ON orders (total)', 'DROP INDEX orders_total_idx ON orders'));
    ms.push(sqlMigration(d, '0201_bad_down', 'ALTER TABLE t5 ADD COLUMN w INT', 'SELECT 1'));
    const st = stats();
    const [two, one] = await Promise.all([
      analyse(ms, { dialect: d, shadow: shadowServer(d), parallel: 2, stats: st }),
      analyse(ms, { dialect: d, shadow: shadowServer(d), parallel: 1 }),
    ]);
    expect(st.segments?.map((x) => [x.from, x.to]).sort((a, b) => a[0]! - b[0]!)).toEqual([
      [0, 16],
      [16, 24],
    ]);
    expect(strip(two)).toEqual(strip(one));
    expect(two.at(-1)!.findings.map((f) => f.rule)).toContain('RV102');
  });

  it('report the earliest failing migration as failed, the ones after it as not analysed', async () => {
    const ms = history(24);
    ms[5] = sqlMigration(d, '0006_broken', 'CREATE TABLE broken (id INT PRIMARY KEY', 'DROP TABLE broken');
    const vs = await analyse(ms, { dialect: d, shadow: shadowServer(d), parallel: 2 });
    expect(vs.map((v) => v.outcome)).toEqual([...Array<string>(5).fill('analysed'), 'failed', ...Array<string>(18).fill('not-analysed')]);
    expect(vs[5]!.failure!.statement).toBe('CREATE TABLE broken (id INT PRIMARY KEY');
    expect(vs[6]!.notAnalysedAfter).toBe('0006_broken');
  });
});

afterAll(async () => {
  expect(await listShadowDatabases(d, shadowServer(d), [process.pid])).toEqual([]);
  expect(await listShadowDatabases('postgres', shadowServer('postgres'), [process.pid])).toEqual([]);
});
