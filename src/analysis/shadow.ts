import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { ConnectionConfig, Dialect } from '../config/types.ts';
import { createKnex, mapConnectionError, selectVersion } from '../db/connect.ts';
import { MigrateError, messageOf } from '../errors.ts';
import { redact } from '../log/redact.ts';
import type { MigrationSource } from '../migrations/types.ts';
import { installInterceptor, type Interceptor, type QueryObject } from './intercept.ts';
import { probeAndRun, type ProbeResult } from './probe/mysql.ts';
// The runner's splitter: it knows BEGIN ... END bodies (triggers, procedures), so a statement
// applies on the shadow exactly as `migrate up` would apply it.
import { splitSql } from '../migrations/sql-split.ts';

/**
 * A throwaway database on a given server, named migrate_shadow_<random>, where migrations are
 * applied for real. dispose() drops it, and analyse() calls dispose() in a finally block, so
 * nothing is left behind even when a migration fails.
 */
export const SHADOW_PREFIX = 'migrate_shadow_';

export interface AppliedMigration {
  /** Every statement the migration sent, in order (bindings shown in a trailing comment). */
  sql: string[];
  /** MySQL/MariaDB: the algorithm the server accepted for each ALTER / CREATE INDEX / DROP INDEX. */
  probes: ProbeResult[];
}

/** Every shadow not yet disposed, so an interrupted command can drop them (disposeAllShadows). */
const live = new Set<ShadowDatabase>();

/** Drops every shadow database this process still holds (SIGINT/SIGTERM handlers call it). */
export async function disposeAllShadows(): Promise<void> {
  await Promise.all([...live].map((s) => s.dispose().catch(() => undefined)));
}

interface DriverSqlError {
  sqlState?: string;
  code?: string;
  errno?: number;
  message?: string;
}

export class ShadowDatabase {
  readonly dialect: Dialect;
  readonly name: string;
  /** Connected to the shadow database. One connection, so session settings (SET ...) carry over between statements as they would in a migration. */
  readonly db: Knex;
  readonly mariadb: boolean;
  /** The server the shadow lives on (pg_dump connects to it by itself). */
  readonly server: ConnectionConfig;
  private readonly admin: Knex;
  private readonly interceptor: Interceptor;
  private capture: AppliedMigration | null = null;
  private probing = true;
  private lastStatement: string | undefined;
  private disposed = false;

  private constructor(dialect: Dialect, name: string, server: ConnectionConfig, admin: Knex, db: Knex, mariadb: boolean) {
    this.dialect = dialect;
    this.server = server;
    this.name = name;
    this.admin = admin;
    this.db = db;
    this.mariadb = mariadb;
    this.interceptor = installInterceptor(db, (obj, next) => this.handle(obj, next));
    live.add(this);
  }

  /** Creates the shadow database; connection problems become MigrateErrors naming the server. */
  static async create(dialect: Dialect, server: ConnectionConfig): Promise<ShadowDatabase> {
    const adminConn: ConnectionConfig = { ...server, database: dialect === 'postgres' ? server.database || 'postgres' : '' };
    const admin = createKnex(dialect, adminConn, { pool: { min: 0, max: 1 } });
    const name = `${shadowPrefixOf(process.pid)}${randomBytes(5).toString('hex')}`;
    let mariadb = false;
    try {
      if (dialect === 'mysql') {
        mariadb = /mariadb/i.test(await selectVersion(admin, dialect));
        await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
      } else {
        await admin.raw(`CREATE DATABASE "${name}"`);
        // A throwaway database needs no durability: without waiting for the WAL flush each DDL
        // statement's commit costs microseconds instead of an fsync (the analysis commits once
        // per statement). The owner may set it; it applies to every session of this database.
        await admin.raw(`ALTER DATABASE "${name}" SET synchronous_commit = off`);
      }
    } catch (e) {
      await admin.destroy();
      throw mapConnectionError(e, dialect, adminConn);
    }
    const db = createKnex(dialect, { ...server, database: name }, { pool: { min: 0, max: 1 } });
    return new ShadowDatabase(dialect, name, server, admin, db, mariadb);
  }

  /**
   * Applies a migration's up or down; the SQL it ran and the probe answers come back. Only an
   * analysed up needs the ALGORITHM probe (`probe`, default true for up): a down or a replay of
   * history runs its statements as written, which saves the server's refusals (~20 ms each).
   */
  async apply(m: MigrationSource, direction: 'up' | 'down', opts: { probe?: boolean } = {}): Promise<AppliedMigration> {
    const applied: AppliedMigration = { sql: [], probes: [] };
    this.capture = applied;
    this.probing = opts.probe ?? direction === 'up';
    this.lastStatement = undefined;
    try {
      const statements = direction === 'up' ? m.upSql : m.downSql;
      if (m.format === 'sql' && statements) {
        // Statement by statement, outside any transaction: CREATE INDEX CONCURRENTLY and
        // ALTER TYPE ... ADD VALUE followed by its use both need that on PG.
        await this.interceptor.runStatements(statements);
      } else if (direction === 'up') {
        await m.up(this.db);
      } else if (m.down) {
        await m.down(this.db);
      }
      return applied;
    } catch (e) {
      const list = direction === 'up' ? m.upStatements : m.downStatements;
      const at = list?.find((x) => x.sql === this.lastStatement);
      const file = direction === 'up' ? m.upPath : m.downPath;
      const where = at && file ? ` at ${basename(file)} line ${at.line}` : '';
      throw new MigrateError(
        'usage',
        redact(`Migration ${m.id} failed on the shadow database (${direction})${where}: ${messageOf(e).split('\n')[0]}${this.lastStatement ? `\n  statement: ${this.lastStatement}` : ''}`),
        direction === 'up'
          ? 'Fix the migration so it applies to the schema its predecessors leave; the shadow database was dropped.'
          : 'Fix the down migration so it undoes up on the schema up leaves; the shadow database was dropped.',
        { cause: e },
      );
    } finally {
      this.capture = null;
    }
  }

  /**
   * PREPAREs an application statement against the current schema without running it, then
   * deallocates it. Returns the server's message when the statement is refused, null when it
   * prepares. Errors that are not SQL errors (a lost connection) are thrown.
   */
  async tryPrepare(sql: string): Promise<string | null> {
    const stmt =
      this.dialect === 'mysql'
        ? `PREPARE migrate_wl FROM '${sql.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'; DEALLOCATE PREPARE migrate_wl`
        : `PREPARE migrate_wl AS ${sql}; DEALLOCATE migrate_wl`;
    try {
      await this.interceptor.runVerbatim(stmt);
      return null;
    } catch (e) {
      const err = (e ?? {}) as DriverSqlError;
      const sqlError = this.dialect === 'mysql' ? typeof err.sqlState === 'string' : typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code);
      if (!sqlError) throw e;
      // Name the objects as the application sees them, not inside the shadow database.
      return (err.message ?? String(e)).replace(new RegExp(`\\b${this.name}\\.`, 'g'), '').split('\n')[0]!.trim();
    }
  }

  /** Runs statements without capturing them (used to rebuild a state). */
  async runQuiet(sql: string): Promise<void> {
    await this.db.raw(sql);
  }

  /** Empties the shadow database so a prefix of migrations can be replayed from scratch. */
  async reset(): Promise<void> {
    if (this.dialect === 'postgres') {
      await this.db.raw('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
      return;
    }
    const [rows] = (await this.db.raw('SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [this.name])) as [{ t: string; k: string }[]];
    const views = rows.filter((r) => r.k === 'VIEW').map((r) => `\`${r.t}\``);
    const tables = rows.filter((r) => r.k !== 'VIEW').map((r) => `\`${r.t}\``);
    const sql = ['SET FOREIGN_KEY_CHECKS = 0'];
    if (views.length) sql.push(`DROP VIEW IF EXISTS ${views.join(', ')}`);
    if (tables.length) sql.push(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
    sql.push('SET FOREIGN_KEY_CHECKS = 1');
    await this.db.raw(sql.join(';\n'));
  }

  /** Drops the shadow database and closes every connection. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    live.delete(this);
    this.interceptor.uninstall();
    await this.db.destroy().catch(() => undefined);
    try {
      if (this.dialect === 'mysql') await this.admin.raw(`DROP DATABASE IF EXISTS \`${this.name}\``);
      else await this.admin.raw(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
    } finally {
      await this.admin.destroy();
    }
  }

  private async handle(obj: QueryObject, next: (sql?: string) => Promise<QueryObject>): Promise<QueryObject> {
    const capture = this.capture;
    if (!capture) return next();
    const parts = obj.bindings?.length ? [obj.sql] : splitSql(obj.sql, this.dialect).map((st) => st.sql);
    if (parts.length > 1) {
      // A multi-statement raw() from a TS migration: each statement is captured and probed alone.
      let last: QueryObject | undefined;
      for (const p of parts) last = await this.handle({ ...obj, sql: p }, (s) => next(s ?? p));
      return last ?? obj;
    }
    capture.sql.push(obj.bindings?.length ? `${obj.sql} /* bindings: ${JSON.stringify(obj.bindings)} */` : obj.sql);
    this.lastStatement = obj.sql;
    if (this.dialect !== 'mysql' || !this.probing) return next();
    const { result, probe } = await probeAndRun(obj, next, this.mariadb);
    if (probe) capture.probes.push(probe);
    return result;
  }
}

/**
 * Shadow names carry the creating process id (migrate_shadow_<pid base 36>_<random>), so a
 * leftover can be traced to its process, and tests running side by side can each check that they
 * left nothing behind without seeing the others' shadows in progress.
 */
export function shadowPrefixOf(pid: number): string {
  return `${SHADOW_PREFIX}${pid.toString(36)}_`;
}

/** Names of the shadow databases on a server (of the given processes only, when pids are given). */
export async function listShadowDatabases(dialect: Dialect, server: ConnectionConfig, pids?: number[]): Promise<string[]> {
  const names = await listAllShadows(dialect, server);
  if (!pids) return names;
  const prefixes = pids.map(shadowPrefixOf);
  return names.filter((n) => prefixes.some((p) => n.startsWith(p)));
}

async function listAllShadows(dialect: Dialect, server: ConnectionConfig): Promise<string[]> {
  const adminConn: ConnectionConfig = { ...server, database: dialect === 'postgres' ? server.database || 'postgres' : '' };
  const admin = createKnex(dialect, adminConn, { pool: { min: 0, max: 1 } });
  try {
    const names: string[] =
      dialect === 'mysql'
        ? ((await admin.raw(`SHOW DATABASES LIKE '${SHADOW_PREFIX}%'`)) as [Record<string, string>[]])[0].map((r) => Object.values(r)[0] ?? '')
        : ((await admin.raw(`SELECT datname FROM pg_database WHERE datname LIKE '${SHADOW_PREFIX}%'`)) as { rows: { datname: string }[] }).rows.map((r) => r.datname);
    return names.filter(Boolean);
  } finally {
    await admin.destroy();
  }
}
