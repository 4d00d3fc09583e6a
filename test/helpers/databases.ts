import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { ConnectionConfig, Dialect, ProjectConfig } from '../../src/config/types.ts';
import { createKnex } from '../../src/db/connect.ts';

/**
 * The machine's local servers. MIGRATE_TEST_MYSQL_URL / MIGRATE_TEST_PG_URL point elsewhere
 * (e.g. a sandbox) without code changes.
 */
const SERVERS: Record<Dialect, { env: string; fallback: string; adminDb: string }> = {
  mysql: { env: 'MIGRATE_TEST_MYSQL_URL', fallback: 'mysql://root@127.0.0.1:3306', adminDb: 'mysql' },
  postgres: { env: 'MIGRATE_TEST_PG_URL', fallback: 'postgres://postgres@127.0.0.1:5432', adminDb: 'postgres' },
};

function serverConnection(dialect: Dialect): Omit<ConnectionConfig, 'database'> {
  const s = SERVERS[dialect];
  const u = new URL(process.env[s.env] ?? s.fallback);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : dialect === 'mysql' ? 3306 : 5432,
    user: decodeURIComponent(u.username),
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

export interface FreshDatabase {
  dialect: Dialect;
  /** Connection to the new, empty database. */
  connection: ConnectionConfig;
  config: Pick<ProjectConfig, 'dialect' | 'connection'>;
  /** A full ProjectConfig for this database and a migrations directory. */
  projectConfig(migrationsDir: string, extra?: Partial<ProjectConfig>): ProjectConfig;
  /** A knex on the new database (closed by drop()). */
  knex(): Knex;
  drop(): Promise<void>;
}

async function admin<T>(dialect: Dialect, fn: (db: Knex) => Promise<T>): Promise<T> {
  const db = createKnex(dialect, { ...serverConnection(dialect), database: SERVERS[dialect].adminDb }, { pool: { min: 0, max: 1 } });
  try {
    return await fn(db);
  } catch (e) {
    const where = process.env[SERVERS[dialect].env] ?? SERVERS[dialect].fallback;
    throw new Error(
      `Test database server ${where} (${dialect}) is not usable: ${e instanceof Error ? e.message : String(e)}. Start it, or set ${SERVERS[dialect].env}.`,
      { cause: e },
    );
  } finally {
    await db.destroy();
  }
}

/** Creates a uniquely named empty database; each suite gets its own and drops it at the end. */
export async function freshDatabase(dialect: Dialect): Promise<FreshDatabase> {
  const name = `mt_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await admin(dialect, (db) => db.raw(dialect === 'mysql' ? `CREATE DATABASE \`${name}\`` : `CREATE DATABASE "${name}"`));
  const connection: ConnectionConfig = { ...serverConnection(dialect), database: name };
  const opened: Knex[] = [];
  return {
    dialect,
    connection,
    config: { dialect, connection },
    projectConfig: (migrationsDir, extra = {}) => ({
      dialect,
      connection,
      migrationsDir,
      ledgerTable: 'migrate_ledger',
      clusters: [],
      source: 'test',
      ...extra,
    }),
    knex: () => {
      const k = createKnex(dialect, connection);
      opened.push(k);
      return k;
    },
    drop: async () => {
      await Promise.all(opened.map((k) => k.destroy()));
      await admin(dialect, (db) => db.raw(dialect === 'mysql' ? `DROP DATABASE IF EXISTS \`${name}\`` : `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** A private copy of a fixture directory, so a test can edit files (drift) without touching the repo. */
export function copyFixture(fixtureDir: string): { dir: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), 'migrate-fixture-'));
  const dir = join(root, 'migrations');
  cpSync(fixtureDir, dir, { recursive: true });
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}
