import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { ConnectionConfig, Dialect } from '../config/index.ts';
import { shareOneConnection } from './shared-connection.ts';
import { createKnex, installInterceptor, mapConnectionError, type Interceptor, type QueryObject, type SessionInfo } from '../db/index.ts';
import { MigrateError, messageOf } from '../errors.ts';
import { redact } from '../log/index.ts';
import { maskSecretLiterals, splitSql, type MigrationSource } from '../migrations/index.ts';
import { engineFor, type Engine, type ProbeResult, type ServerKind, type TransactionControl } from '../engines/index.ts';
import { SHADOW_PREFIX, shadowPrefixOf } from './shadow-names.ts';
import { closeAllRuns, listShadowObjects, ServerWideStatement, type ShadowRun } from './shadow-run.ts';
import { aliasHome, serverWideReason } from './shadow-statements.ts';
import type { Finding, ShadowFailure } from './types.ts';
// The runner's splitter: it knows BEGIN ... END bodies (triggers, procedures), so a statement
// applies on the shadow exactly as `migrate up` would apply it.

export { SHADOW_PREFIX, shadowPrefixOf };

/**
 * A throwaway database of a ShadowRun (shadow-run.ts: where it lives, as which account, and what
 * that account may touch), where migrations are applied for real. dispose() drops it, and
 * analyse() calls dispose() in a finally block, so nothing is left behind even when a migration
 * fails.
 *
 * MySQL histories name their database: a mysqldump baseline starts `CREATE DATABASE IF NOT EXISTS
 * app; USE app;`, and statements say `app.orders`. The history's home database (`home`) is this
 * database under another name (shadow-statements.ts aliasHome), so the snapshots follow the
 * tables where the migrations put them. A statement the server refuses for want of privileges (a
 * shared server) becomes a finding (SH101) and the migration goes on without it; a USE of another
 * database on a throwaway server is run and reported (SH201), since the snapshots do not follow it.
 */
export interface AppliedMigration {
  /** Every statement the migration sent, in order (bindings shown in a trailing comment). */
  sql: string[];
  /** MySQL/MariaDB: the algorithm the server accepted for each ALTER / CREATE INDEX / DROP INDEX. */
  probes: ProbeResult[];
  /** What the shadow could not analyse (SH1xx, SH2xx). */
  findings: Finding[];
}

/**
 * A migration's up or down raised an error on the shadow database. The analysis turns it into a
 * verdict (`failed` for an up, RV103 for a down); a caller that gets it uncaught (a replay that
 * must succeed) still has a MigrateError naming the migration, the statement and the fix.
 */
export class MigrationFailed extends MigrateError {
  constructor(
    readonly id: string,
    readonly failure: ShadowFailure,
    cause: unknown,
  ) {
    const where = failure.file ? ` at ${basename(failure.file)}${failure.line !== undefined ? ` line ${failure.line}` : ''}` : '';
    super(
      'usage',
      `Migration ${id} failed on the shadow database (${failure.direction})${where}: ${failure.error}${failure.statement !== undefined ? `\n  statement: ${failure.statement}` : ''}`,
      failure.direction === 'up'
        ? 'Fix the migration so it applies to the schema its predecessors leave; the shadow database was dropped.'
        : 'Fix the down migration so it undoes up on the schema up leaves; the shadow database was dropped.',
      { cause },
    );
  }
}

/** Driver codes of a connection that broke (not an error in the migration's SQL). */
const LOST = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'PROTOCOL_CONNECTION_LOST', '57P01', '57P02', '57P03']);

function lostConnection(e: unknown): boolean {
  const code = (e as DriverSqlError | undefined)?.code;
  return (typeof code === 'string' && LOST.has(code)) || /Connection terminated unexpectedly/.test(messageOf(e));
}

/**
 * The server's message with the literals of a statement that sets a password masked: a syntax
 * error quotes the statement from where it stopped ("near 'BY 'secret''"), which no longer holds
 * the keyword maskSecretLiterals looks for.
 */
function maskQuoted(statement: string | undefined, text: string): string {
  if (statement === undefined || maskSecretLiterals(statement) === statement) return maskSecretLiterals(text);
  let out = text;
  for (const m of statement.matchAll(/'((?:[^'\\]|\\.|'')*)'/g)) if (m[1] && m[1].length > 1) out = out.split(m[1]).join('***');
  return maskSecretLiterals(out);
}

/** Every shadow not yet disposed, so an interrupted command can drop them (disposeAllShadows). */
const live = new Set<ShadowDatabase>();

/** Drops every shadow database, account and server-wide object this process still holds (SIGINT/SIGTERM handlers call it). */
export async function disposeAllShadows(): Promise<void> {
  await Promise.all([...live].map((s) => s.dispose().catch(() => undefined)));
  await closeAllRuns();
}

interface DriverSqlError {
  sqlState?: string;
  code?: string;
  errno?: number;
  message?: string;
}

/** Server errors that mean "this account may not" (each engine knows its own). */
export function isPermissionDenied(e: unknown, dialect: Dialect): boolean {
  return engineFor(dialect).isPermissionDenied(e);
}

const q = (n: string): string => `\`${n.replace(/`/g, '``')}\``;
const SAVEPOINT = 'migrate_shadow_denied';
const TRANSACTION_CONTROL = /^\s*(?:begin|start\s+transaction|commit|rollback|savepoint|release\s+savepoint)\b/i;
/** Around the data-aware copy taken before an ALTER inside the migration's transaction. */
const FIT_SAVEPOINT = 'migrate_shadow_fit';

/** A statement refused for privileges, and the statements after a refused USE that were not run either. */
interface Refusal {
  finding: Finding;
  /** The database a refused USE meant (statements up to the next USE of home are skipped). */
  database?: string;
  skipped: number;
  reason: string;
}

export class ShadowDatabase {
  readonly dialect: Dialect;
  readonly engine: Engine;
  readonly name: string;
  /** Connected to the shadow database. One connection, so session settings (SET ...) carry over between statements as they would in a migration. */
  readonly db: Knex;
  readonly serverKind: ServerKind;
  /** How the analysis connects to the server (pg_dump connects by itself with it). */
  readonly server: ConnectionConfig;
  readonly run: ShadowRun;
  /** The database the history was written for (MySQL): an alias of this one. */
  private home: string | undefined;
  private readonly homeGiven: boolean;
  private readonly interceptor: Interceptor;
  private capture: AppliedMigration | null = null;
  private probing = true;
  /** The statement that raised the error a migration failed with; none when its code threw by itself (a TypeScript error). */
  private failedStatement: string | undefined;
  private disposed = false;
  /** A migration switched the session to another database: switch back before the next one. */
  private switched = false;
  /** Shared server: a refused USE of another database, whose statements are skipped until USE home. */
  private foreign: Refusal | undefined;
  /** An explicit BEGIN in a SQL migration (PostgreSQL: a refusal inside it needs a savepoint). */
  private explicitTransaction = false;
  private readonly otherDatabases = new Set<string>();

  private constructor(run: ShadowRun, name: string, server: ConnectionConfig, db: Knex, home: string | undefined) {
    this.run = run;
    this.dialect = run.dialect;
    this.engine = engineFor(run.dialect);
    this.server = server;
    this.name = name;
    this.db = db;
    this.serverKind = run.serverKind;
    this.home = home;
    this.homeGiven = home !== undefined;
    this.interceptor = installInterceptor(db, (obj, next, session) => this.handle(obj, next, session));
    live.add(this);
  }

  /** Creates a shadow database of `run`; connection problems become MigrateErrors naming the server. */
  static async create(run: ShadowRun, opts: { home?: string } = {}): Promise<ShadowDatabase> {
    let name: string;
    try {
      name = await run.createDatabase();
    } catch (e) {
      throw mapConnectionError(e, run.dialect, run.server);
    }
    const { conn, sessionSql } = run.connectionFor(name);
    const db = createKnex(run.dialect, conn, { pool: { min: 0, max: 1 }, sessionSql, serverVersion: run.version });
    shareOneConnection(db);
    if (run.isolation === 'shared') {
      // The account is new: a server that refuses its login says so here, with the fix.
      try {
        await db.raw('select 1');
      } catch (e) {
        await db.destroy();
        await run.dropDatabase(name).catch(() => undefined);
        throw run.loginRefused(e) ?? mapConnectionError(e, run.dialect, conn);
      }
    }
    return new ShadowDatabase(run, name, conn, db, opts.home);
  }

  /**
   * Applies a migration's up or down; the SQL it ran and the probe answers come back. Only an
   * analysed up needs the ALGORITHM probe (`probe`, default true for up): a down or a replay of
   * history runs its statements as written, which saves the server's refusals (~20 ms each).
   */
  async apply(m: MigrationSource, direction: 'up' | 'down', opts: { probe?: boolean } = {}): Promise<AppliedMigration> {
    // What it runs is split, and its BEGIN/COMMIT read, by the server's grammar (PostgreSQL).
    await this.engine.sqlGrammar?.load();
    const applied: AppliedMigration = { sql: [], probes: [], findings: [] };
    this.capture = applied;
    this.probing = opts.probe ?? direction === 'up';
    this.failedStatement = undefined;
    this.otherDatabases.clear();
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
      if (e instanceof ServerWideStatement) throw e;
      // The server went away: no verdict about the migration can be drawn from that (exit 2).
      if (lostConnection(e)) throw mapConnectionError(e, this.dialect, this.server);
      // A BEGIN of the migration's own is left open and aborted (PostgreSQL): end it, so the
      // connection takes the next statement (the rebuild of the shadow, the other downs).
      if (this.explicitTransaction) await this.interceptor.runVerbatim('ROLLBACK').catch(() => undefined);
      const list = direction === 'up' ? m.upStatements : m.downStatements;
      // Set by handle() while the migration ran: the compiler still sees the reset above.
      const statement = this.failedStatement as string | undefined;
      const at = list?.find((x) => x.sql === statement);
      const file = direction === 'up' ? m.upPath : m.downPath;
      // Objects are named as in the migration, not inside the shadow database; a password the
      // statement set is masked, also where the server quotes the statement back.
      let text = messageOf(e);
      // knex puts the statement before the server's message ("ALTER ... - column ... does not exist"); it is shown apart.
      if (statement !== undefined && text.startsWith(`${statement} - `)) text = text.slice(statement.length + 3);
      const error = maskQuoted(statement, redact(withoutDatabaseName(text.split('\n')[0]!, this.name).trim()));
      const failure: ShadowFailure = { direction, error };
      if (statement !== undefined) failure.statement = maskSecretLiterals(redact(statement));
      if (file) failure.file = file;
      if (at) failure.line = at.line;
      throw new MigrationFailed(m.id, failure, e);
    } finally {
      this.capture = null;
      this.foreign = undefined;
      this.explicitTransaction = false;
      // Each migration starts in the home database, as it would on a fresh connection to the target.
      if (this.switched && !this.disposed) {
        this.switched = false;
        await this.interceptor.runVerbatim(`USE ${q(this.name)}`).catch(() => undefined);
      }
    }
  }

  /**
   * PREPAREs an application statement against the current schema without running it, then
   * deallocates it. Returns the server's message when the statement is refused, null when it
   * prepares. Errors that are not SQL errors (a lost connection) are thrown.
   */
  async tryPrepare(sql: string): Promise<string | null> {
    const stmt = this.engine.prepareCheckSql(sql);
    try {
      await this.interceptor.runVerbatim(stmt);
      return null;
    } catch (e) {
      const err = (e ?? {}) as DriverSqlError;
      if (!this.engine.isSqlError(e)) throw e;
      // Name the objects as the application sees them, not inside the shadow database.
      return (err.message ?? String(e))
        .replace(new RegExp(`\\b${this.name}\\.`, 'g'), '')
        .split('\n')[0]!
        .trim();
    }
  }

  /** Set by the analyser around an analysed up: runs before each of its statements, on the same session. */
  beforeStatement: ((sql: string) => Promise<boolean>) | undefined;

  /** A read on the migration's own session (its temporary tables are visible), nothing captured. */
  async queryVerbatim(sql: string): Promise<Record<string, unknown>[]> {
    const res = await this.interceptor.runVerbatim(sql);
    return this.engine.rows<Record<string, unknown>>(res.response) ?? [];
  }

  /** Runs statements without capturing them (used to rebuild a state). */
  async runQuiet(sql: string): Promise<void> {
    await this.db.raw(sql);
  }

  /** Empties the shadow database so a prefix of migrations can be replayed from scratch. */
  async reset(): Promise<void> {
    await this.engine.resetDatabase(this);
  }

  /** Drops the shadow database and closes its connection. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    live.delete(this);
    this.interceptor.uninstall();
    await this.db.destroy().catch(() => undefined);
    await this.run.dropDatabase(this.name);
  }

  private async handle(obj: QueryObject, next: (sql?: string) => Promise<QueryObject>, session: SessionInfo): Promise<QueryObject> {
    const capture = this.capture;
    if (!capture) return next();
    // knex's own BEGIN / COMMIT / SAVEPOINT around a migration's knex.transaction(): not part of
    // what the migration changes, and no savepoint may precede its BEGIN.
    if (session.inTransaction && TRANSACTION_CONTROL.test(obj.sql)) return next();
    const parts = obj.bindings?.length ? [obj.sql] : splitSql(obj.sql, this.dialect).map((st) => st.sql);
    if (parts.length > 1) {
      // A multi-statement raw() from a TS migration: each statement is captured and probed alone.
      let last: QueryObject | undefined;
      for (const p of parts) last = await this.handle({ ...obj, sql: p }, (s) => next(s ?? p), session);
      return last ?? obj;
    }
    const noop = this.engine.noopSql;
    let sql = obj.sql;
    let other: string | undefined;
    if (this.engine.switchesDatabases) {
      const alias = aliasHome(sql, this.home, this.name);
      if (alias && 'otherDatabase' in alias) {
        if (!this.homeGiven && this.home === undefined) {
          // A TypeScript history (its SQL unknown beforehand): the first database it USEs is home.
          this.home = alias.otherDatabase;
          sql = `USE ${q(this.name)}`;
        } else {
          other = alias.otherDatabase;
        }
      } else if (alias) {
        sql = alias.sql;
      }
      if (this.foreign) {
        if (other === undefined && sql !== obj.sql && /^use\b/i.test(sql)) {
          this.foreign = undefined;
        } else if (other === undefined) {
          // Meant for the database the account may not use: not run, counted in the finding.
          this.foreign.skipped++;
          this.foreign.finding.message = refusalMessage(this.foreign);
          return next(noop);
        }
      }
    }
    if (this.run.isolation === 'throwaway' && !this.run.exclusive) {
      const why = serverWideReason(obj.sql, this.dialect, this.home);
      if (why) throw new ServerWideStatement(obj.sql, why);
    }
    const display = obj.bindings?.length ? `${obj.sql} /* bindings: ${JSON.stringify(obj.bindings)} */` : obj.sql;
    capture.sql.push(display);
    const run = sql === obj.sql ? obj : { ...obj, sql };
    if (this.beforeStatement) await this.runBeforeStatement(this.beforeStatement, sql, next, session);
    const go = (s?: string): Promise<QueryObject> => next(s ?? run.sql);
    const savepoint = this.engine.errorAbortsTransaction && this.run.isolation === 'shared' && (session.inTransaction || this.explicitTransaction);
    try {
      if (savepoint) await next(`SAVEPOINT ${SAVEPOINT}`);
      let result: QueryObject;
      const probe = this.engine.probe;
      if (!probe || !this.probing) result = await go();
      else {
        const probed = await probe(run, go, this.serverKind);
        if (probed.probe) capture.probes.push(...[probed.probe].flat());
        result = probed.result;
      }
      if (savepoint) await next(`RELEASE SAVEPOINT ${SAVEPOINT}`);
      this.afterStatement(sql, other, capture);
      return result;
    } catch (e) {
      if (this.run.isolation !== 'shared' || !isPermissionDenied(e, this.dialect)) {
        // The statement the server refused (the first, should the driver's cleanup fail too).
        this.failedStatement ??= obj.sql;
        throw e;
      }
      if (savepoint) await next(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      // It did not run: not part of what the migration did on the shadow.
      capture.sql.pop();
      const refusal = this.refusal(obj.sql, e, other);
      capture.findings.push(refusal.finding);
      if (other !== undefined) this.foreign = refusal;
      return next(noop);
    }
  }

  /**
   * Data-aware verdicts copy a table's rows before an ALTER converts them (analysis/data). Inside a
   * transaction on PostgreSQL a failed copy would abort the migration's own: a savepoint keeps it out.
   */
  private async runBeforeStatement(
    hook: (sql: string) => Promise<boolean>,
    sql: string,
    next: (sql?: string) => Promise<QueryObject>,
    session: SessionInfo,
  ): Promise<void> {
    const guard = this.engine.errorAbortsTransaction && (session.inTransaction || this.explicitTransaction);
    if (guard) await next(`SAVEPOINT ${FIT_SAVEPOINT}`);
    const ok = await hook(sql);
    if (guard) await next(ok ? `RELEASE SAVEPOINT ${FIT_SAVEPOINT}` : `ROLLBACK TO SAVEPOINT ${FIT_SAVEPOINT}`);
  }

  private afterStatement(sql: string, other: string | undefined, capture: AppliedMigration): void {
    if (this.engine.errorAbortsTransaction) {
      const control = this.transactionControl(sql);
      // COMMIT/ROLLBACK AND CHAIN open the next block at once.
      if (control) this.explicitTransaction = control.kind === 'begin' || control.chain;
      return;
    }
    if (other === undefined) return;
    this.switched = true;
    if (this.otherDatabases.has(other)) return;
    this.otherDatabases.add(other);
    capture.findings.push({
      rule: 'SH201',
      severity: 'warning',
      message: `Switches to the database ${other} (USE ${other}): what the migration does there is not part of the schema snapshots, so it is not analysed${this.home ? ` (only the history's home database, ${this.home}, is)` : ''}.`,
      statement: sql,
      safeAlternative:
        'Keep a migration history to one database. If the other database is meant, review what runs there by hand; the verdict covers the home database only.',
    });
  }

  /**
   * Whether a statement the migration ran opens or ends a transaction block: from the server's
   * grammar where the engine has one (PostgreSQL: its TransactionStmt, so ROLLBACK TO SAVEPOINT
   * and a comment or string holding COMMIT are not), else by its first words.
   */
  private transactionControl(sql: string): TransactionControl | undefined {
    const grammar = this.engine.sqlGrammar;
    if (grammar) return grammar.transactionControl(sql);
    if (/^\s*(?:begin|start\s+transaction)\b/i.test(sql)) return { kind: 'begin', chain: false };
    if (/^\s*(?:commit|end|abort|rollback(?!\s+to\b))\b/i.test(sql)) return { kind: 'commit', chain: false };
    return undefined;
  }

  private refusal(statement: string, e: unknown, other: string | undefined): Refusal {
    const err = (e ?? {}) as DriverSqlError;
    const server = (err.message ?? String(e)).split('\n')[0]!.trim();
    let reason: string;
    if (other !== undefined) reason = `it switches to the database ${other}`;
    else {
      const wide = serverWideReason(statement, this.dialect, this.home);
      if (wide) reason = `it ${wide}`;
      else if (err.errno === 1142 || err.errno === 1143 || err.errno === 1044) reason = 'it names an object of another database';
      else if (err.errno === 1419) reason = 'it creates a routine or trigger while the server writes a binary log, which needs SUPER';
      else reason = 'it needs a privilege beyond its own databases';
    }
    const r: Refusal = {
      reason: `${reason} (the server said: ${redact(server)})`,
      skipped: 0,
      finding: {
        rule: 'SH101',
        severity: 'error',
        message: '',
        statement,
        safeAlternative:
          'Analyse on a throwaway server, where a migration may touch anything: leave --shadow out (a local `migrate shadow` server is started and reused), or pass a CI service container that holds no other database (MIGRATE_SHADOW_THROWAWAY=1 / --shadow-throwaway when it holds only throwaway data).',
      },
    };
    if (other !== undefined) r.database = other;
    r.finding.message = refusalMessage(r);
    return r;
  }
}

function refusalMessage(r: Refusal): string {
  const skipped = r.skipped ? ` The ${r.skipped} statement${r.skipped === 1 ? '' : 's'} after it, meant for ${r.database}, did not run either.` : '';
  return `Not analysed: the shared shadow server refused this statement, because ${r.reason}. There the analysis works through an account that may touch only its own databases, so the statement did not run and its effects are missing from this verdict.${skipped}`;
}

/** Names of the shadow databases on a server (of the given processes only, when pids are given). */
export async function listShadowDatabases(dialect: Dialect, server: ConnectionConfig, pids?: number[]): Promise<string[]> {
  const names = (await listShadowObjects(dialect, server)).filter((o) => o.kind === 'database').map((o) => o.name);
  if (!pids) return names;
  const prefixes = pids.map(shadowPrefixOf);
  return names.filter((n) => prefixes.some((p) => n.startsWith(p)));
}

/** The server's message with the shadow database's name taken off qualified names, quoted (MariaDB: `db`.`t`, PostgreSQL: "db".t) or not. */
export function withoutDatabaseName(message: string, name: string): string {
  return message.replaceAll(`\`${name}\`.`, '').replaceAll(`"${name}".`, '').replaceAll(`${name}.`, '');
}
