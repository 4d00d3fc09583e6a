import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { ConnectionConfig, Dialect } from '../config/types.ts';
import { createKnex, mapConnectionError, selectVersion } from '../db/connect.ts';
import { connectionError, MigrateError, messageOf } from '../errors.ts';
import { registerSecret } from '../log/redact.ts';
import {
  grantPattern,
  isLocalHost,
  isMysqlSystemAccount,
  isPgSystemRole,
  leftoverAgeS,
  leftoverReason,
  MYSQL_SYSTEM_DATABASES,
  newRunName,
  parseShadowName,
  PG_SYSTEM_DATABASES,
  SHADOW_PREFIX,
} from './shadow-names.ts';

/**
 * One analysis run's use of a shadow server: what it may touch there and how it cleans up.
 *
 * A migration runs whatever it says: `USE other`, `other.t`, `DROP USER`, `CREATE ROLE` (roles are
 * server-wide on PostgreSQL). A database of our own on a server is therefore no isolation by
 * itself; it comes from the instance or from privileges (DESIGN "Lessons"):
 *
 * - throwaway: a server that holds nothing else (our `migrate shadow` server, a CI service
 *   container with no database of its own, or one the user vouches for). The analysis runs as the
 *   given account; statements on server-wide objects run one run at a time (an advisory lock) and
 *   whatever they created is dropped at the end of the run.
 * - shared: anything else. The analysis creates an account of its own for the run, with rights on
 *   the run's databases only (MySQL: grants on `migrate\_shadow\_<run>\_%`, no global privilege;
 *   PostgreSQL: NOSUPERUSER NOCREATEDB NOCREATEROLE, owner of its databases) and runs every
 *   migration through it, so a statement reaching outside is refused by the server. The given
 *   account only creates and drops that account and the databases.
 *
 * Each run first removes what killed runs left (shadow-names.ts: owner process gone on this host,
 * or older than the bound), databases and accounts alike.
 */
export type ShadowOrigin =
  /** Our own `migrate shadow` server: throwaway by construction. */
  | 'own'
  /** A server the user says is throwaway (--shadow-throwaway / MIGRATE_SHADOW_THROWAWAY=1). */
  | 'asserted'
  /** Anything else: looked at, and throwaway only when it holds nothing but system objects. */
  | 'named';

export type Isolation = 'throwaway' | 'shared';

export interface ShadowRunOptions {
  origin?: ShadowOrigin;
  /** Things the user should know (a shadow that is a replication source); printed on stderr by the CLI. */
  warn?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** Thrown before a server-wide statement runs in a run that does not hold the server-wide lock. */
export class ServerWideStatement extends Error {
  constructor(readonly statement: string, readonly why: string) {
    super(`statement on server-wide objects (${why}): ${statement}`);
  }
}

interface ServerObjects {
  databases: Set<string>;
  /** MySQL: 'user'@'host' pairs as [user, host, isRole]; PostgreSQL: role names as [role, '', false]. */
  accounts: Map<string, [string, string, boolean]>;
}

const LOCK_NAME = 'migrate_shadow_server_wide';
/** How long a run waits for another run's server-wide statements to finish. */
const LOCK_WAIT_S = 600;

const live = new Set<ShadowRun>();

/** Closes every run this process still has open (SIGINT/SIGTERM handlers call it). */
export async function closeAllRuns(): Promise<void> {
  await Promise.all([...live].map((r) => r.close().catch(() => undefined)));
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const q = (n: string): string => `\`${n.replace(/`/g, '``')}\``;
const dq = (n: string): string => `"${n.replace(/"/g, '""')}"`;
/** A string literal: MySQL reads backslashes as escapes, PostgreSQL (standard_conforming_strings) does not. */
const litMy = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const litPg = (s: string): string => `'${s.replace(/'/g, "''")}'`;

function names(list: string[]): string {
  return list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} and ${list.length - 3} more`;
}

export class ShadowRun {
  readonly dialect: Dialect;
  /** The server as given (the admin account). */
  readonly server: ConnectionConfig;
  readonly name: string;
  readonly origin: ShadowOrigin;
  isolation: Isolation = 'throwaway';
  /** Why the server was classified as it was, for the report's shadow line. */
  reason = '';
  mariadb = false;
  private admin: Knex;
  private readonly warn: (message: string) => void;
  private lock: Knex | undefined;
  private account: { user: string; host: string; password: string } | undefined;
  private accountReady: Promise<void> | undefined;
  private baseline: ServerObjects | undefined;
  private readonly databases = new Set<string>();
  private counter = 0;
  private closed = false;
  /** Whether sessions of the given account run with binary logging off (MySQL). */
  private binlogOff = false;

  private constructor(dialect: Dialect, server: ConnectionConfig, origin: ShadowOrigin, warn: (m: string) => void) {
    this.dialect = dialect;
    this.server = { ...server, database: dialect === 'postgres' ? server.database || 'postgres' : '' };
    this.origin = origin;
    this.warn = warn;
    this.name = newRunName(process.pid, Date.now(), randomBytes(2).toString('hex'));
    this.admin = createKnex(dialect, this.server, { pool: { min: 0, max: 2 } });
  }

  private binlogSql(): string[] {
    return this.dialect === 'mysql' ? ['SET SESSION sql_log_bin = 0'] : [];
  }

  get exclusive(): boolean {
    return this.lock !== undefined;
  }

  static async open(dialect: Dialect, server: ConnectionConfig, opts: ShadowRunOptions = {}): Promise<ShadowRun> {
    const run = new ShadowRun(dialect, server, opts.origin ?? 'named', opts.warn ?? (() => undefined));
    live.add(run);
    try {
      await run.start(opts.env ?? process.env);
      return run;
    } catch (e) {
      await run.close().catch(() => undefined);
      throw e instanceof MigrateError ? e : mapConnectionError(e, dialect, run.server);
    }
  }

  private async start(env: NodeJS.ProcessEnv): Promise<void> {
    const version = await selectVersion(this.admin, this.dialect);
    this.mariadb = /mariadb/i.test(version);
    if (this.origin === 'named') await this.classify();
    else {
      this.isolation = 'throwaway';
      this.reason = this.origin === 'own' ? 'the `migrate shadow` server: throwaway by construction' : 'said to be throwaway (--shadow-throwaway)';
    }
    if (this.dialect === 'mysql' && this.isolation === 'throwaway') {
      // Every session on a throwaway server keeps what it does out of the binary log, where the
      // account may. On a shared server the admin's CREATE DATABASE / USER must reach the replicas
      // the analysis account's statements reach (it may not turn the log off), or they break.
      await this.admin.destroy();
      this.admin = createKnex(this.dialect, this.server, { pool: { min: 0, max: 2 }, sessionSql: this.binlogSql() });
      this.binlogOff = Number(await this.value('SELECT @@SESSION.sql_log_bin AS v')) === 0;
    }
    await this.removeLeftovers(env);
    await this.checkReplication();
  }

  private async rows<T>(sql: string, bindings: readonly (string | number)[] = [], db: Knex = this.admin): Promise<T[]> {
    const r = (await db.raw(sql, bindings)) as unknown;
    return this.dialect === 'mysql' ? (r as [T[]])[0] : (r as { rows: T[] }).rows;
  }

  private async value(sql: string): Promise<unknown> {
    return (await this.rows<{ v: unknown }>(sql))[0]?.v;
  }

  /**
   * Throwaway when the server holds no database and no account but the server's own (and leftovers
   * of ours). Looked at under the server-wide lock: a run in the middle of its server-wide
   * statements has created roles or databases it will drop, which are not the server's.
   */
  private async classify(): Promise<void> {
    const lock = createKnex(this.dialect, this.server, { pool: { min: 1, max: 1 } });
    let o: ServerObjects | undefined;
    try {
      await this.acquireLock(lock);
      o = await this.listObjects(lock).catch(() => undefined);
    } finally {
      await this.releaseLock(lock).catch(() => undefined);
      await lock.destroy().catch(() => undefined);
    }
    const me = await this.connectedAs();
    if (!o) return this.shared('its accounts cannot be listed by this account');
    if (this.dialect === 'mysql' && !(await this.seesAllDatabases())) return this.shared('this account cannot list every database on it');
    const dbs = [...o.databases].filter((d) => !this.systemDatabase(d) && !d.startsWith(SHADOW_PREFIX)).sort();
    const accounts = [...new Set([...o.accounts.values()].map(([u]) => u))].filter((u) => !this.systemAccount(u, me, false)).sort();
    if (dbs.length || accounts.length) {
      const what = [dbs.length ? `the database${dbs.length > 1 ? 's' : ''} ${names(dbs)}` : '', accounts.length ? `the account${accounts.length > 1 ? 's' : ''} ${names(accounts)}` : ''].filter(Boolean);
      return this.shared(`it holds ${what.join(' and ')}`);
    }
    this.isolation = 'throwaway';
    this.reason = 'holds nothing but the server\'s own databases and accounts: throwaway';
  }

  private shared(why: string): void {
    this.isolation = 'shared';
    this.reason = `shared (${why}): analysed through an account of its own that may touch only its own databases`;
  }

  private async connectedAs(): Promise<string> {
    return String(await this.value(this.dialect === 'mysql' ? "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS v" : 'SELECT current_user AS v'));
  }

  /** Without the SHOW DATABASES privilege, information_schema lists only the account's own databases. */
  private async seesAllDatabases(): Promise<boolean> {
    const n = await this.value(
      "SELECT COUNT(*) AS v FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'SHOW DATABASES' AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
    );
    return Number(n) > 0;
  }

  private systemDatabase(d: string): boolean {
    return (this.dialect === 'mysql' ? MYSQL_SYSTEM_DATABASES : PG_SYSTEM_DATABASES).has(d);
  }

  /** `own`: the replication account every `migrate sandbox` node has (the shadow server is one). */
  private systemAccount(user: string, me: string, own: boolean): boolean {
    if (this.dialect === 'mysql') return isMysqlSystemAccount(user, me) || (own && user === 'repl');
    return isPgSystemRole(user, me);
  }

  private async listObjects(db: Knex = this.admin): Promise<ServerObjects> {
    const accounts = new Map<string, [string, string, boolean]>();
    if (this.dialect === 'mysql') {
      const dbs = await this.rows<{ n: string }>('SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA', [], db);
      const users = await this.rows<{ u: string; h: string; r: string | null }>(
        this.mariadb ? 'SELECT User AS u, Host AS h, is_role AS r FROM mysql.user' : 'SELECT User AS u, Host AS h, NULL AS r FROM mysql.user',
        [],
        db,
      );
      for (const x of users) accounts.set(`'${x.u}'@'${x.h}'`, [x.u, x.h, x.r === 'Y']);
      return { databases: new Set(dbs.map((x) => x.n)), accounts };
    }
    const dbs = await this.rows<{ n: string }>('SELECT datname AS n FROM pg_database', [], db);
    const roles = await this.rows<{ n: string }>('SELECT rolname AS n FROM pg_roles', [], db);
    for (const x of roles) accounts.set(x.n, [x.n, '', false]);
    return { databases: new Set(dbs.map((x) => x.n)), accounts };
  }

  /** Databases and accounts of killed runs: owner process gone (this host only) or older than the bound. */
  private async removeLeftovers(env: NodeJS.ProcessEnv): Promise<void> {
    const ownRuns = new Set([...live].map((r) => r.name));
    const policy = { nowMs: Date.now(), maxAgeS: leftoverAgeS(env), localServer: isLocalHost(this.server.host), isAlive: processAlive, ownRuns };
    const found = await listLeftoverCandidates(this.dialect, this.admin, this.mariadb).catch(() => undefined);
    if (!found) return;
    for (const d of found.databases) if (leftoverReason(d, policy)) await this.dropDatabaseNamed(d).catch(() => undefined);
    for (const [user, host] of found.accounts) if (leftoverReason(user, policy)) await this.dropAccount(user, host, false).catch(() => undefined);
  }

  private async checkReplication(): Promise<void> {
    const where = `${this.server.host}:${this.server.port}`;
    if (this.dialect === 'mysql') {
      const logBin = Number(await this.value('SELECT @@GLOBAL.log_bin AS v').catch(() => 0));
      if (!logBin) return;
      // The given account's own sessions keep binary logging off when it may; the analysis
      // account of a shared server never may, nor may an account without the privilege.
      if (this.isolation === 'throwaway' && this.binlogOff) return;
      const replicas = await this.rows<unknown>(this.mariadb ? 'SHOW SLAVE HOSTS' : 'SHOW REPLICAS').catch(() => []);
      if (replicas.length) {
        this.warn(
          `the shadow server ${where} writes a binary log and ${replicas.length} replica(s) read it: the analysis's ${SHADOW_PREFIX}* databases and what it runs in them replicate to them (${this.isolation === 'shared' ? 'its restricted account may not turn binary logging off' : 'this account may not turn binary logging off'}). A shadow server must not be a replication source: use a throwaway server (leave --shadow out, or a CI service container).`,
        );
      }
      return;
    }
    const n = Number(await this.value('SELECT COUNT(*) AS v FROM pg_stat_replication').catch(() => 0));
    if (n > 0) {
      this.warn(
        `the shadow server ${where} streams its WAL to ${n} standby(s): the ${SHADOW_PREFIX}* databases and everything the analysis does in them reach those standbys. A shadow server must not be a replication source: use a throwaway server (leave --shadow out, or a CI service container).`,
      );
    }
  }

  /** The analysis account of a shared server, created on first use. */
  private ensureAccount(): Promise<void> {
    this.accountReady ??= this.createAccount();
    return this.accountReady;
  }

  private async createAccount(): Promise<void> {
    const password = randomBytes(18).toString('hex');
    registerSecret(password);
    const user = this.name;
    try {
      if (this.dialect === 'mysql') {
        // The host the server sees us from: the new account logs in from the same place.
        const host = String(await this.value("SELECT SUBSTRING_INDEX(USER(), '@', -1) AS v"));
        this.account = { user, host, password };
        await this.admin.raw(`CREATE USER ${litMy(user)}@${litMy(host)} IDENTIFIED BY ${litMy(password)}`);
        await this.admin.raw(`GRANT ALL PRIVILEGES ON ${q(grantPattern(this.name))}.* TO ${litMy(user)}@${litMy(host)}`);
      } else {
        this.account = { user, host: '', password };
        await this.admin.raw(`CREATE ROLE ${dq(user)} LOGIN PASSWORD ${litPg(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`);
      }
    } catch (e) {
      throw connectionError(
        `The shadow server ${this.server.host}:${this.server.port} is ${this.reason.split(':')[0]}, so the analysis works there through an account of its own, but "${this.server.user}" may not create it: ${messageOf(e).split('\n')[0]}`,
        `Analyse on a throwaway server: leave --shadow out (a local \`migrate shadow\` server is started), or pass a CI service container that holds no other database. Or connect as an account that may create accounts (${this.dialect === 'mysql' ? 'CREATE USER and GRANT OPTION' : 'CREATEROLE and CREATEDB'}).`,
        e,
      );
    }
  }

  /** Creates a database for one shadow of this run; the analysis connects to it with connectionFor(). */
  async createDatabase(): Promise<string> {
    if (this.isolation === 'shared') await this.ensureAccount();
    const name = `${this.name}_${this.counter++}`;
    this.databases.add(name);
    if (this.dialect === 'mysql') {
      await this.admin.raw(`CREATE DATABASE ${q(name)} CHARACTER SET utf8mb4`);
    } else {
      await this.admin.raw(`CREATE DATABASE ${dq(name)}${this.account ? ` OWNER ${dq(this.account.user)}` : ''}`);
      // A throwaway database needs no durability: without waiting for the WAL flush each DDL
      // statement's commit costs microseconds instead of an fsync (the analysis commits once per
      // statement). It applies to every session of this database.
      await this.admin.raw(`ALTER DATABASE ${dq(name)} SET synchronous_commit = off`);
    }
    return name;
  }

  /** How the analysis connects to one of this run's databases, and what its sessions start with. */
  connectionFor(database: string): { conn: ConnectionConfig; sessionSql: string[] } {
    if (this.account) {
      return { conn: { host: this.server.host, port: this.server.port, user: this.account.user, password: this.account.password, database }, sessionSql: [] };
    }
    return { conn: { ...this.server, database }, sessionSql: this.dialect === 'mysql' && this.binlogOff ? this.binlogSql() : [] };
  }

  /** The account's login was refused (pg_hba.conf, a host rule): the error says how to allow it. */
  loginRefused(e: unknown): MigrateError | undefined {
    const err = (e ?? {}) as { code?: string; message?: string };
    if (!this.account) return undefined;
    if (!(err.code === '28000' || err.code === '28P01' || err.code === 'ER_ACCESS_DENIED_ERROR' || /pg_hba\.conf|password authentication failed|Access denied for user/i.test(err.message ?? ''))) return undefined;
    return connectionError(
      `The shadow server ${this.server.host}:${this.server.port} refused the login of the account the analysis created for itself (${this.account.user}): ${messageOf(e).split('\n')[0]}`,
      this.dialect === 'postgres'
        ? `Allow password logins of the ${SHADOW_PREFIX}* roles from this host in pg_hba.conf (e.g. \`host all all <this host>/32 scram-sha-256\`), or analyse on a throwaway server: leave --shadow out (a local \`migrate shadow\` server is started) or use a CI service container.`
        : 'Check the server\'s account rules for this host, or analyse on a throwaway server: leave --shadow out (a local `migrate shadow` server is started) or use a CI service container.',
      e,
    );
  }

  async dropDatabase(name: string): Promise<void> {
    this.databases.delete(name);
    await this.dropDatabaseNamed(name);
  }

  private async dropDatabaseNamed(name: string): Promise<void> {
    if (this.dialect === 'mysql') await this.admin.raw(`DROP DATABASE IF EXISTS ${q(name)}`);
    else await this.admin.raw(`DROP DATABASE IF EXISTS ${dq(name)} WITH (FORCE)`);
  }

  private async dropAccount(user: string, host: string, isRole: boolean): Promise<void> {
    if (this.dialect === 'mysql') await this.admin.raw(isRole ? `DROP ROLE IF EXISTS ${litMy(user)}` : `DROP USER IF EXISTS ${litMy(user)}@${litMy(host)}`);
    else await this.admin.raw(`DROP ROLE IF EXISTS ${dq(user)}`);
  }

  /**
   * Lets this run execute statements on server-wide objects (a throwaway server only): waits for
   * any other run doing so, removes what a killed one left, and notes what exists, so close()
   * drops what this run's migrations create.
   */
  async becomeExclusive(): Promise<void> {
    if (this.lock || this.isolation !== 'throwaway') return;
    const lock = createKnex(this.dialect, this.server, { pool: { min: 1, max: 1 }, sessionSql: this.binlogSql() });
    this.lock = lock;
    await this.acquireLock(lock);
    const now = await this.listObjects(lock);
    if (this.origin !== 'asserted') {
      // Under the lock no other run is half-way through its server-wide statements: anything not
      // the server's own here was left by a run that was killed before it could drop it.
      const me = await this.connectedAs();
      for (const d of now.databases) if (!this.systemDatabase(d) && !d.startsWith(SHADOW_PREFIX)) await this.dropDatabaseNamed(d).catch(() => undefined);
      for (const [user, host, isRole] of now.accounts.values()) if (!this.systemAccount(user, me, this.origin === 'own')) await this.dropAccount(user, host, isRole).catch(() => undefined);
      this.baseline = await this.listObjects(lock);
    } else {
      this.baseline = now;
    }
  }

  /** The server-wide lock, on the one session of `lock` (a session lock: it ends with the session). */
  private async acquireLock(lock: Knex): Promise<void> {
    let got: number;
    try {
      got =
        this.dialect === 'mysql'
          ? Number((await this.rows<{ v: unknown }>(`SELECT GET_LOCK('${LOCK_NAME}', ${LOCK_WAIT_S}) AS v`, [], lock))[0]?.v)
          : (await lock.raw(`SET lock_timeout = '${LOCK_WAIT_S}s'; SELECT pg_advisory_lock(hashtext('${LOCK_NAME}'))`), 1);
    } catch (e) {
      if ((e as { code?: string }).code !== '55P03') throw e;
      got = 0;
    }
    if (got !== 1) {
      throw new MigrateError(
        'work',
        `Another analysis kept the shadow server ${this.server.host}:${this.server.port} for its server-wide statements (accounts, roles, databases) for more than ${LOCK_WAIT_S} s.`,
        'Run the check again once the other one finished, or give this one a shadow server of its own (--shadow, or MIGRATE_SHADOW_DIR for another `migrate shadow` server).',
      );
    }
  }

  private async releaseLock(lock: Knex): Promise<void> {
    await lock.raw(this.dialect === 'mysql' ? `SELECT RELEASE_LOCK('${LOCK_NAME}')` : `SELECT pg_advisory_unlock(hashtext('${LOCK_NAME}'))`);
  }

  /** Drops this run's databases, what its server-wide statements created, and its account. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        problems.push(`${what}: ${messageOf(e).split('\n')[0]}`);
      }
    };
    for (const d of [...this.databases]) await attempt(`drop database ${d}`, () => this.dropDatabase(d));
    if (this.lock) {
      const lock = this.lock;
      if (this.baseline) {
        const before = this.baseline;
        await attempt('list what the migrations created', async () => {
          const now = await this.listObjects(lock);
          for (const d of now.databases) if (!before.databases.has(d) && !d.startsWith(SHADOW_PREFIX)) await attempt(`drop database ${d}`, () => this.dropDatabaseNamed(d));
          for (const [key, [user, host, isRole]] of now.accounts) if (!before.accounts.has(key) && !user.startsWith(SHADOW_PREFIX)) await attempt(`drop account ${key}`, () => this.dropAccount(user, host, isRole));
        });
      }
      await attempt('release the server-wide lock', () => this.releaseLock(lock));
      await lock.destroy().catch(() => undefined);
    }
    if (this.account) {
      const { user, host } = this.account;
      await attempt(`drop account ${user}`, () => this.dropAccount(user, host, false));
    }
    await this.admin.destroy().catch(() => undefined);
    if (problems.length) this.warn(`cleaning up the shadow server ${this.server.host}:${this.server.port} left work for the next run: ${problems.join('; ')}`);
  }
}

/** The databases and accounts on a server that look like ours (migrate_shadow_*). */
async function listLeftoverCandidates(dialect: Dialect, admin: Knex, mariadb: boolean): Promise<{ databases: string[]; accounts: [string, string][] }> {
  if (dialect === 'mysql') {
    const [dbs] = (await admin.raw(`SHOW DATABASES LIKE 'migrate\\\\_shadow\\\\_%'`)) as [Record<string, string>[]];
    let accounts: [string, string][] = [];
    try {
      // is_role is compared here, not in SQL: the view's collation differs from the session's.
      const [users] = (await admin.raw(`SELECT User AS u, Host AS h, ${mariadb ? 'is_role' : "'N'"} AS r FROM mysql.user WHERE User LIKE 'migrate\\\\_shadow\\\\_%'`)) as [{ u: string; h: string; r: string }[]];
      accounts = users.filter((x) => x.r !== 'Y').map((x) => [x.u, x.h]);
    } catch {
      /* an account that may not read mysql.user: only databases */
    }
    return { databases: dbs.map((r) => Object.values(r)[0] ?? '').filter(Boolean), accounts };
  }
  const dbs = (await admin.raw(`SELECT datname AS n FROM pg_database WHERE datname LIKE 'migrate\\_shadow\\_%'`)) as { rows: { n: string }[] };
  const roles = (await admin.raw(`SELECT rolname AS n FROM pg_roles WHERE rolname LIKE 'migrate\\_shadow\\_%'`)) as { rows: { n: string }[] };
  return { databases: dbs.rows.map((r) => r.n), accounts: roles.rows.map((r) => [r.n, '']) };
}

export interface ShadowObject {
  kind: 'database' | 'account';
  name: string;
  /** Owner process and start time from the name, when it carries them. */
  pid?: number;
  startedAt?: number;
  /** Why it counts as a leftover (the next run removes it); undefined while its run may still be going. */
  leftover?: string;
}

/** Everything named migrate_shadow_* on a server, for `migrate shadow status` and tests. */
export async function listShadowObjects(dialect: Dialect, server: ConnectionConfig, env: NodeJS.ProcessEnv = process.env): Promise<ShadowObject[]> {
  const conn: ConnectionConfig = { ...server, database: dialect === 'postgres' ? server.database || 'postgres' : '' };
  const admin = createKnex(dialect, conn, { pool: { min: 0, max: 1 } });
  try {
    const mariadb = dialect === 'mysql' && /mariadb/i.test(await selectVersion(admin, dialect));
    const found = await listLeftoverCandidates(dialect, admin, mariadb);
    const policy = { nowMs: Date.now(), maxAgeS: leftoverAgeS(env), localServer: isLocalHost(server.host), isAlive: processAlive, ownRuns: new Set([...live].map((r) => r.name)) };
    const describe = (kind: ShadowObject['kind'], name: string): ShadowObject => {
      const info = parseShadowName(name);
      const o: ShadowObject = { kind, name };
      if (info) o.pid = info.pid;
      if (info?.startedAt !== undefined) o.startedAt = info.startedAt;
      const why = leftoverReason(name, policy);
      if (why) o.leftover = why;
      return o;
    };
    return [...found.databases.map((d) => describe('database', d)), ...found.accounts.map(([u]) => describe('account', u))];
  } catch (e) {
    throw mapConnectionError(e, dialect, conn);
  } finally {
    await admin.destroy();
  }
}
