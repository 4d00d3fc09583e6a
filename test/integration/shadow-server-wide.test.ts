/**
 * Statements on server-wide objects (roles, accounts, other databases) on a throwaway shadow
 * server: a run that has them holds the server-wide lock and uses one segment, so two segments
 * (or two runs) never replay the same CREATE ROLE side by side; what they create is dropped at
 * the end of the run, and what a killed run left is dropped by the next one that takes the lock.
 * A TypeScript migration's SQL is only known while it runs: the run then starts again holding
 * the lock. All on the test run's throwaway `migrate shadow` servers.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { analyse, type AnalyseStats } from '../../src/analysis/analyse.ts';
import type { ConnectionConfig, Dialect } from '../../src/config/types.ts';
import { createKnex } from '../../src/db/connect.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

const tag = `sw${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const newStats = (): AnalyseStats => ({ shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 });

async function withKnex<T>(dialect: Dialect, conn: ConnectionConfig, fn: (db: Knex) => Promise<T>): Promise<T> {
  const db = createKnex(dialect, conn, { pool: { min: 0, max: 1 } });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function roles(prefix: string): Promise<string[]> {
  return withKnex('postgres', shadowServer('postgres'), async (db) =>
    ((await db.raw('SELECT rolname FROM pg_roles WHERE rolname LIKE ? ORDER BY 1', [`${prefix}%`])) as { rows: { rolname: string }[] }).rows.map(
      (r) => r.rolname,
    ),
  );
}

/** 26 migrations: enough for two segments; the first creates a role. */
function history(role: string): MigrationSource[] {
  const ms = [
    sqlMigration(
      'postgres',
      '0001_role',
      `CREATE ROLE ${role} NOLOGIN;\nCREATE TABLE t0 (id int PRIMARY KEY);\nGRANT SELECT ON t0 TO ${role};`,
      `REVOKE SELECT ON t0 FROM ${role};\nDROP TABLE t0;\nDROP ROLE ${role};`,
    ),
  ];
  for (let i = 1; i < 26; i++)
    ms.push(sqlMigration('postgres', `${String(i + 1).padStart(4, '0')}_t${i}`, `CREATE TABLE t${i} (id int PRIMARY KEY);`, `DROP TABLE t${i};`));
  return ms;
}

describe('server-wide statements on a throwaway shadow server', () => {
  it('run in one segment under the lock, two runs of the same roles one after the other, and leave no role behind', async () => {
    const role = `${tag}_reporting`;
    const s1 = newStats();
    const s2 = newStats();
    // The same history twice at once: without the lock both would CREATE ROLE the same name.
    const [a, b] = await Promise.all([
      analyse(history(role), { dialect: 'postgres', shadow: shadowServer('postgres'), parallel: 2, stats: s1 }),
      analyse(history(role), { dialect: 'postgres', shadow: shadowServer('postgres'), parallel: 2, stats: s2 }),
    ]);
    expect(a).toHaveLength(26);
    expect(b.map((v) => v.reversible)).toEqual(a.map((v) => v.reversible));
    for (const s of [s1, s2]) {
      expect(s.isolation).toBe('throwaway');
      expect(s.serverWide).toBe('0001_role changes roles');
      expect(s.segments?.map((g) => [g.from, g.to])).toEqual([[0, 26]]);
    }
    expect(await roles(tag)).toEqual([]);
  });

  it('found only while a TypeScript migration runs: the run starts again holding the lock', async () => {
    const role = `${tag}_ts`;
    const ts: MigrationSource = {
      id: '0002_ts_role',
      format: 'ts',
      upPath: '/virtual/0002_ts_role.ts',
      checksum: 'x',
      acknowledgements: [],
      up: async (knex) => {
        await knex.raw(`CREATE ROLE ${role} NOLOGIN`);
        await knex.raw('CREATE TABLE ts_t (id int PRIMARY KEY)');
      },
      down: async (knex) => {
        await knex.raw('DROP TABLE ts_t');
        await knex.raw(`DROP ROLE ${role}`);
      },
    };
    const stats = newStats();
    const vs = await analyse([sqlMigration('postgres', '0001_a', 'CREATE TABLE a (id int PRIMARY KEY);', 'DROP TABLE a;'), ts], {
      dialect: 'postgres',
      shadow: shadowServer('postgres'),
      stats,
    });
    expect(vs.map((v) => v.reversible)).toEqual([true, true]);
    expect(stats.serverWide).toBe(`changes roles: CREATE ROLE ${role} NOLOGIN`);
    expect(await roles(role)).toEqual([]);
  });

  it('what a killed run created is dropped by the next run that takes the lock', async () => {
    // As a run killed after `CREATE ROLE` and `CREATE DATABASE` would leave them.
    const leftRole = `${tag}_left`;
    const leftDb = `${tag}_leftdb`;
    await withKnex('postgres', shadowServer('postgres'), async (db) => {
      await db.raw(`CREATE ROLE ${leftRole} NOLOGIN`);
      await db.raw(`CREATE DATABASE ${leftDb}`);
    });
    // A run without server-wide statements leaves them alone ...
    await analyse([sqlMigration('postgres', '0001_a', 'CREATE TABLE a (id int PRIMARY KEY);', 'DROP TABLE a;')], {
      dialect: 'postgres',
      shadow: shadowServer('postgres'),
      shadowOrigin: 'own',
    });
    expect(await roles(leftRole)).toEqual([leftRole]);
    // ... the next one that takes the lock removes them before it starts.
    await analyse(history(`${tag}_again`), { dialect: 'postgres', shadow: shadowServer('postgres'), shadowOrigin: 'own' });
    expect(await roles(tag)).toEqual([]);
    const dbs = await withKnex(
      'postgres',
      shadowServer('postgres'),
      async (db) => ((await db.raw('SELECT datname FROM pg_database WHERE datname = ?', [leftDb])) as { rows: unknown[] }).rows,
    );
    expect(dbs).toEqual([]);
  });

  it('MySQL: another database and an account, created and used by the history, are gone after the run', async () => {
    const other = `${tag}_other`;
    const user = `${tag}_u`;
    const ms = [
      sqlMigration(
        'mysql',
        '0001_base',
        `CREATE DATABASE IF NOT EXISTS ${tag}_app;\nUSE ${tag}_app;\nCREATE TABLE users (id INT PRIMARY KEY);`,
        'DROP TABLE users;',
      ),
      sqlMigration(
        'mysql',
        '0002_other',
        `CREATE DATABASE ${other};\nUSE ${other};\nCREATE TABLE log (id INT);\nUSE ${tag}_app;\nCREATE USER '${user}'@'%';\nALTER TABLE users ADD COLUMN c INT;`,
        `ALTER TABLE users DROP COLUMN c;\nDROP USER '${user}'@'%';\nDROP DATABASE ${other};`,
      ),
    ];
    const stats = newStats();
    const vs = await analyse(ms, { dialect: 'mysql', shadow: shadowServer('mysql'), stats });
    expect(stats.serverWide).toBe(`0002_other creates the database ${other}`);
    expect(vs[1]!.findings.map((f) => f.rule)).toContain('SH201');
    expect(vs[1]!.changes.map((c) => c.kind)).toEqual(['column_added']);
    await withKnex('mysql', shadowServer('mysql'), async (db) => {
      const [dbs] = (await db.raw(`SHOW DATABASES LIKE '${tag}%'`)) as [unknown[]];
      const [users] = (await db.raw('SELECT User FROM mysql.user WHERE User = ?', [user])) as [unknown[]];
      expect([dbs, users]).toEqual([[], []]);
    });
  });
});

afterAll(async () => {
  for (const d of ['mysql', 'postgres'] as const) expect(await listShadowDatabases(d, shadowServer(d), [process.pid])).toEqual([]);
});
