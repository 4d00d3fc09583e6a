import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { ConnectionConfig, Dialect } from '../config/index.ts';
import { createAdminKnex, createKnex, mapConnectionError, selectVersion } from '../db/index.ts';
import { engineFor, type Engine, type ServerKind, type ServerObjects, type ShadowServerAdmin } from '../engines/index.ts';
import { connectionError, MigrateError, messageOf, usageError } from '../errors.ts';
import { registerSecret } from '../log/index.ts';
import type { ShadowObject } from '../sandbox/index.ts';
import { grantPattern, isLocalHost, leftoverAgeS, leftoverReason, newRunName, parseShadowName, SHADOW_PREFIX } from './shadow-names.ts';

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
  constructor(
    readonly statement: string,
    readonly why: string,
  ) {
    super(`statement on server-wide objects (${why}): ${statement}`);
  }
}

const LOCK_NAME = 'migrate_shadow_server_wide';
/** How long a run waits for another run's server-wide statements to finish, unless MIGRATE_SHADOW_LOCK_WAIT says otherwise. */
const LOCK_WAIT_S = 600;

/** MIGRATE_SHADOW_LOCK_WAIT (seconds): a CI job on a shared service container may rather fail fast than wait 10 minutes. */
function lockWaitS(): number {
  const raw = process.env['MIGRATE_SHADOW_LOCK_WAIT'];
  if (raw === undefined || raw === '') return LOCK_WAIT_S;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw usageError(
      `MIGRATE_SHADOW_LOCK_WAIT must be a whole number of seconds, at least 1 (got "${raw}").`,
      'Set e.g. MIGRATE_SHADOW_LOCK_WAIT=60, or unset it to wait up to 600 s.',
    );
  return Number(raw);
}

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
  /** What the server is (MariaDB or MySQL and which flavor), read when the run opens. */
  serverKind: ServerKind = { mariadb: false, flavor: undefined };
  /** The server's SELECT VERSION(), read when the run opens: part of the cache key, and handed to every pool of the run so none asks again. */
  version = '';
  readonly engine: Engine;
  /** How this engine does the run's server-wide work. */
  private readonly ops: ShadowServerAdmin;
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
    this.engine = engineFor(dialect);
    this.ops = this.engine.shadowAdmin;
    this.server = this.engine.adminConnection(server);
    this.origin = origin;
    this.warn = warn;
    this.name = newRunName(process.pid, Date.now(), randomBytes(2).toString('hex'));
    // A server known to be throwaway gets quiet sessions (binlogSql) from the first connection; a
    // named one is looked at first (start), with a pool opened again if it turns out throwaway.
    this.admin = createKnex(dialect, this.server, { pool: { min: 0, max: 2 }, ...(origin !== 'named' ? { sessionSql: this.binlogSql() } : {}) });
  }

  private binlogSql(): string[] {
    return this.ops.quietSessionSql;
  }

  private get kind(): ServerKind {
    return this.serverKind;
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
    this.version = await selectVersion(this.admin, this.dialect);
    this.serverKind = this.engine.serverKind(this.version);
    if (this.origin === 'named') await this.classify();
    else {
      this.isolation = 'throwaway';
      this.reason = this.origin === 'own' ? 'the `migrate shadow` server: throwaway by construction' : 'said to be throwaway (--shadow-throwaway)';
    }
    if (this.binlogSql().length && this.isolation === 'throwaway') {
      // Every session on a throwaway server keeps what it does out of the binary log, where the
      // account may. On a shared server the admin's CREATE DATABASE / USER must reach the replicas
      // the analysis account's statements reach (it may not turn the log off), or they break.
      if (this.origin === 'named') {
        await this.admin.destroy();
        this.admin = createKnex(this.dialect, this.server, { pool: { min: 0, max: 2 }, sessionSql: this.binlogSql(), serverVersion: this.version });
      }
      this.binlogOff = await this.ops.isQuiet(this.admin);
    }
    await this.removeLeftovers(env);
    await this.checkReplication();
  }

  private async value(sql: string): Promise<unknown> {
    return this.engine.rows<{ v: unknown }>(await this.admin.raw(sql))[0]?.v;
  }

  /**
   * Throwaway when the server holds no database and no account but the server's own (and leftovers
   * of ours). Looked at under the server-wide lock: a run in the middle of its server-wide
   * statements has created roles or databases it will drop, which are not the server's.
   */
  private async classify(): Promise<void> {
    const lock = createKnex(this.dialect, this.server, { pool: { min: 1, max: 1 }, serverVersion: this.version });
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
    if (!(await this.ops.seesAllDatabases(this.admin))) return this.shared('this account cannot list every database on it');
    const dbs = [...o.databases].filter((d) => !this.systemDatabase(d) && !d.startsWith(SHADOW_PREFIX)).sort();
    const accounts = [...new Set([...o.accounts.values()].map(([u]) => u))].filter((u) => !this.systemAccount(u, me, false)).sort();
    if (dbs.length || accounts.length) {
      const what = [
        dbs.length ? `the database${dbs.length > 1 ? 's' : ''} ${names(dbs)}` : '',
        accounts.length ? `the account${accounts.length > 1 ? 's' : ''} ${names(accounts)}` : '',
      ].filter(Boolean);
      return this.shared(`it holds ${what.join(' and ')}`);
    }
    this.isolation = 'throwaway';
    this.reason = "holds nothing but the server's own databases and accounts: throwaway";
  }

  private shared(why: string): void {
    this.isolation = 'shared';
    this.reason = `shared (${why}): analysed through an account of its own that may touch only its own databases`;
  }

  private async connectedAs(): Promise<string> {
    return String(await this.value(this.ops.connectedAsSql));
  }

  private systemDatabase(d: string): boolean {
    return this.ops.isSystemDatabase(d);
  }

  /** `own`: the replication account every `migrate sandbox` node has (the shadow server is one). */
  private systemAccount(user: string, me: string, own: boolean): boolean {
    return user.startsWith(SHADOW_PREFIX) || this.ops.isSystemAccount(user, me, own);
  }

  private async listObjects(db: Knex = this.admin): Promise<ServerObjects> {
    return this.ops.listObjects(db, this.kind);
  }

  /** Databases and accounts of killed runs: owner process gone (this host only) or older than the bound. */
  private async removeLeftovers(env: NodeJS.ProcessEnv): Promise<void> {
    const ownRuns = new Set([...live].map((r) => r.name));
    const policy = { nowMs: Date.now(), maxAgeS: leftoverAgeS(env), localServer: isLocalHost(this.server.host), isAlive: processAlive, ownRuns };
    const found = await this.ops.listLeftovers(this.admin, this.kind).catch(() => undefined);
    if (!found) return;
    for (const d of found.databases) if (leftoverReason(d, policy)) await this.dropDatabaseNamed(d).catch(() => undefined);
    for (const [user, host] of found.accounts) if (leftoverReason(user, policy)) await this.dropAccount(user, host, false).catch(() => undefined);
  }

  private async checkReplication(): Promise<void> {
    const where = `${this.server.host}:${this.server.port}`;
    const warning = await this.ops.replicationWarning(this.admin, {
      where,
      server: this.kind,
      quiet: this.binlogOff,
      shared: this.isolation === 'shared',
      prefix: SHADOW_PREFIX,
    });
    if (warning) this.warn(warning);
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
      const host = await this.ops.accountHost(this.admin);
      this.account = { user, host, password };
      await this.ops.createAccount(this.admin, user, host, password, grantPattern(this.name));
    } catch (e) {
      throw connectionError(
        `The shadow server ${this.server.host}:${this.server.port} is ${this.reason.split(':')[0]}, so the analysis works there through an account of its own, but "${this.server.user}" may not create it: ${messageOf(e).split('\n')[0]}`,
        `Analyse on a throwaway server: leave --shadow out (a local \`migrate shadow\` server is started), or pass a CI service container that holds no other database. Or connect as an account that may create accounts (${this.ops.createAccountPrivileges}).`,
        e,
      );
    }
  }

  /** Creates a database for one shadow of this run; the analysis connects to it with connectionFor(). */
  async createDatabase(): Promise<string> {
    if (this.isolation === 'shared') await this.ensureAccount();
    const name = `${this.name}_${this.counter++}`;
    this.databases.add(name);
    await this.ops.createDatabase(this.admin, name, this.account?.user);
    return name;
  }

  /** How the analysis connects to one of this run's databases, and what its sessions start with. */
  connectionFor(database: string): { conn: ConnectionConfig; sessionSql: string[] } {
    if (this.account) {
      return { conn: { host: this.server.host, port: this.server.port, user: this.account.user, password: this.account.password, database }, sessionSql: [] };
    }
    return { conn: { ...this.server, database }, sessionSql: this.binlogOff ? this.binlogSql() : [] };
  }

  /** The account's login was refused (pg_hba.conf, a host rule): the error says how to allow it. */
  loginRefused(e: unknown): MigrateError | undefined {
    const err = (e ?? {}) as { code?: string; message?: string };
    if (!this.account) return undefined;
    if (
      !(
        err.code === '28000' ||
        err.code === '28P01' ||
        err.code === 'ER_ACCESS_DENIED_ERROR' ||
        /pg_hba\.conf|password authentication failed|Access denied for user/i.test(err.message ?? '')
      )
    )
      return undefined;
    return connectionError(
      `The shadow server ${this.server.host}:${this.server.port} refused the login of the account the analysis created for itself (${this.account.user}): ${messageOf(e).split('\n')[0]}`,
      this.ops.loginRefusedHint(SHADOW_PREFIX),
      e,
    );
  }

  async dropDatabase(name: string): Promise<void> {
    this.databases.delete(name);
    await this.dropDatabaseNamed(name);
  }

  private async dropDatabaseNamed(name: string): Promise<void> {
    await this.ops.dropDatabase(this.admin, name);
  }

  private async dropAccount(user: string, host: string, isRole: boolean): Promise<void> {
    await this.ops.dropAccount(this.admin, user, host, isRole);
  }

  /**
   * Lets this run execute statements on server-wide objects (a throwaway server only): waits for
   * any other run doing so, removes what a killed one left, and notes what exists, so close()
   * drops what this run's migrations create.
   */
  async becomeExclusive(): Promise<void> {
    if (this.lock || this.isolation !== 'throwaway') return;
    const lock = createKnex(this.dialect, this.server, { pool: { min: 1, max: 1 }, sessionSql: this.binlogSql(), serverVersion: this.version });
    this.lock = lock;
    await this.acquireLock(lock);
    const now = await this.listObjects(lock);
    if (this.origin !== 'asserted') {
      // Under the lock no other run is half-way through its server-wide statements: anything not
      // the server's own here was left by a run that was killed before it could drop it.
      const me = await this.connectedAs();
      for (const d of now.databases) if (!this.systemDatabase(d) && !d.startsWith(SHADOW_PREFIX)) await this.dropDatabaseNamed(d).catch(() => undefined);
      for (const [user, host, isRole] of now.accounts.values())
        if (!this.systemAccount(user, me, this.origin === 'own')) await this.dropAccount(user, host, isRole).catch(() => undefined);
      this.baseline = await this.listObjects(lock);
    } else {
      this.baseline = now;
    }
  }

  /** The server-wide lock, on the one session of `lock` (a session lock: it ends with the session). */
  private async acquireLock(lock: Knex): Promise<void> {
    const waitS = lockWaitS();
    const got = await this.ops.acquireLock(lock, LOCK_NAME, waitS);
    if (!got) {
      throw new MigrateError(
        'work',
        `Another analysis kept the shadow server ${this.server.host}:${this.server.port} for its server-wide statements (accounts, roles, databases) for more than ${waitS} s.`,
        'Run the check again once the other one finished, or give this one a shadow server of its own (--shadow, or MIGRATE_SHADOW_DIR for another `migrate shadow` server).',
      );
    }
  }

  private async releaseLock(lock: Knex): Promise<void> {
    await this.ops.releaseLock(lock, LOCK_NAME);
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
          for (const d of now.databases)
            if (!before.databases.has(d) && !d.startsWith(SHADOW_PREFIX)) await attempt(`drop database ${d}`, () => this.dropDatabaseNamed(d));
          for (const [key, [user, host, isRole]] of now.accounts)
            if (!before.accounts.has(key) && !user.startsWith(SHADOW_PREFIX)) await attempt(`drop account ${key}`, () => this.dropAccount(user, host, isRole));
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

export type { ShadowObject } from '../sandbox/index.ts';

/** Everything named migrate_shadow_* on a server, for `migrate shadow status` and tests. */
export async function listShadowObjects(dialect: Dialect, server: ConnectionConfig, env: NodeJS.ProcessEnv = process.env): Promise<ShadowObject[]> {
  const engine = engineFor(dialect);
  const conn = engine.adminConnection(server);
  const admin = createAdminKnex(dialect, server, { pool: { min: 0, max: 1 } });
  try {
    const found = await engine.shadowAdmin.listLeftovers(admin, engine.serverKind(await selectVersion(admin, dialect)));
    const policy = {
      nowMs: Date.now(),
      maxAgeS: leftoverAgeS(env),
      localServer: isLocalHost(server.host),
      isAlive: processAlive,
      ownRuns: new Set([...live].map((r) => r.name)),
    };
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
