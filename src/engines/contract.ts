import type { FitEngine } from './fit-contract.ts';
import type { Knex } from 'knex';
import type { ClusterConfig, ClusterFlavor, ConnectionConfig, Dialect, NodeConfig } from '../config/index.ts';
import type { SchemaSnapshot } from './schema.ts';
import type { Next, QueryObject } from '../db/index.ts';
import type { Flavor, FlavorName } from './mysql/flavor.ts';
import type { ProbeResult } from './mysql/probe.ts';
import type { MigrationsEngine } from './migrations-contract.ts';
import type { RulesEngine } from './rules-contract.ts';
import type { DigestQuery, StatementDigests } from './digests.ts';
import type { StatementParser } from './statement-info.ts';
import type { SqlGrammar } from './sql-grammar.ts';

/**
 * What differs between the databases the coordinator drives, in one interface per engine
 * (mysql/, postgres/). Code outside src/engines asks the engine instead of comparing dialect or
 * flavor names, so a third database is one more folder here plus its entry in index.ts.
 */

export type { ClusterFlavor, ConnectionConfig, Dialect } from '../config/index.ts';
export type { Flavor, FlavorName } from './mysql/flavor.ts';
export type { DigestQuery, StatementDigests } from './digests.ts';

/** What to read again after a migration: undefined tables = everything. */
export interface SnapshotScope {
  tables: string[] | undefined;
  /** Whether view definitions may have changed (MySQL; PG always reads them, it is cheap there). */
  views: boolean;
}

export const FULL_SCOPE: SnapshotScope = { tables: undefined, views: true };

export interface Snapshotter {
  /** Full snapshot, or only the scope's tables (plus enum types, and views when the scope says so). */
  snapshot(scope?: SnapshotScope): Promise<SchemaSnapshot>;
}

/** A database an engine dumps and restores (a shadow database of the analysis). */
export interface DumpTarget {
  /** Connected to the database (one session). */
  readonly db: Knex;
  readonly name: string;
  /** How the analysis reaches its server (pg_dump connects by itself with it). */
  readonly server: ConnectionConfig;
  runQuiet(sql: string): Promise<void>;
}

/** The server a session is on, as far as engine behaviour depends on it. */
export interface ServerKind {
  /** MariaDB rather than MySQL (mysql engine only; the snapshot and the probes read it). */
  mariadb: boolean;
  /** The replication flavor (mysql engine); undefined on PostgreSQL. */
  flavor: FlavorName | undefined;
}

/** How SQL text is written for this engine (statement splitting, parsing, literals). */
export interface SqlSyntax {
  /** `# comment` to end of line (MySQL). */
  hashComments: boolean;
  /** `identifier` quoting (MySQL). */
  backtickIdentifiers: boolean;
  /** A backslash escapes the next character in string literals (MySQL without NO_BACKSLASH_ESCAPES). */
  backslashEscapes: boolean;
  /** $tag$ ... $tag$ bodies (PostgreSQL). */
  dollarQuotes: boolean;
  /** ALTER TABLE t RENAME col TO col2 renames a column (PostgreSQL), not the table (MySQL: RENAME new_name). */
  renameColumnShorthand: boolean;
  /** An unquoted identifier means its lower-case form (PostgreSQL folds `Posts` to `posts`; MySQL keeps the name as written). */
  foldsUnquotedToLower: boolean;
}

/** What a shadow server holds: databases, and accounts as [user, host, isRole] by 'user'@'host' (PostgreSQL: [role, '', false] by name). */
export interface ServerObjects {
  databases: Set<string>;
  accounts: Map<string, [string, string, boolean]>;
}

/**
 * The server-wide work of an analysis run on a shadow server (analysis/shadow-run.ts decides what
 * to do; this says how on each engine): accounts, databases, the server-wide lock, replication.
 */
export interface ShadowServerAdmin {
  /** Session statements that keep a throwaway server's work out of its replication stream (MySQL: the binary log). */
  readonly quietSessionSql: string[];
  /** Whether this session runs quiet (after quietSessionSql; false where there is nothing to turn off). */
  isQuiet(db: Knex): Promise<boolean>;
  /** The account name the session runs as, as column `v`. */
  readonly connectedAsSql: string;
  /** Whether this account sees every database (MySQL: SHOW DATABASES privilege). */
  seesAllDatabases(db: Knex): Promise<boolean>;
  isSystemDatabase(name: string): boolean;
  /** `own`: the replication account every `migrate sandbox` node has (the shadow server is one). */
  isSystemAccount(user: string, connectedAs: string, own: boolean): boolean;
  listObjects(db: Knex, server: ServerKind): Promise<ServerObjects>;
  /** Databases and accounts named migrate_shadow_* (`pattern`: the LIKE pattern), roles left out. */
  listLeftovers(db: Knex, server: ServerKind): Promise<{ databases: string[]; accounts: [string, string][] }>;
  /** The warning when the server's work reaches replicas, or undefined. */
  replicationWarning(db: Knex, o: { where: string; server: ServerKind; quiet: boolean; shared: boolean; prefix: string }): Promise<string | undefined>;
  /** The host part of an account that logs in from where this session does ('' where accounts have none). */
  accountHost(db: Knex): Promise<string>;
  /** Creates the run's own login account with rights on the `grantPattern` databases only. */
  createAccount(db: Knex, user: string, host: string, password: string, grantPattern: string): Promise<void>;
  /** The privileges createAccount needs, for the hint when it is refused. */
  readonly createAccountPrivileges: string;
  createDatabase(db: Knex, name: string, owner: string | undefined): Promise<void>;
  dropDatabase(db: Knex, name: string): Promise<void>;
  dropAccount(db: Knex, user: string, host: string, isRole: boolean): Promise<void>;
  /** Takes the named session lock, waiting up to waitS; false when it was not granted in time. */
  acquireLock(db: Knex, name: string, waitS: number): Promise<boolean>;
  releaseLock(db: Knex, name: string): Promise<void>;
  /** The hint when the run's account may not log in. */
  readonly loginRefusedHint: (prefix: string) => string;
}

/** After a migration: the primary's WAL position then, and how long each replica took to replay up to it. */
export interface ReplayReport {
  lsn: string;
  replicas: { node: string; waitedMs: number }[];
}

/**
 * How `migrate apply` drives a cluster of an engine whose migrations run in place on the primary
 * (no replica-first, no switchover): the live state before the run, the coordinator lock, and
 * the replicas' replay of each migration.
 */
export interface InPlaceCluster {
  /** The server version of the primary, and every way the live state disagrees with the config. */
  inspect(cluster: ClusterConfig): Promise<{ version: string; problems: string[] }>;
  /** One coordinator per cluster, held until release; a typed lock error names the holder. */
  lock(cluster: ClusterConfig, holderHint?: () => string | undefined): Promise<{ release(): Promise<void> }>;
  /**
   * Waits (at most timeoutMs, else a typed error) until every replica replayed what the primary
   * has now; `watch` hears of a replica still behind after its bound, and of it once replayed.
   */
  waitForReplay(cluster: ClusterConfig, timeoutMs: number, watch?: ReplayWatch): Promise<ReplayReport>;
  /** Waits (at most timeoutMs, else a typed error) until the replica's replay lag is at most maxLagSeconds; answers that lag. */
  waitCaughtUp(node: NodeConfig, maxLagSeconds: number, timeoutMs: number): Promise<number>;
}

/**
 * A replica that has not replayed a migration staleAfterMs after it committed serves stale reads
 * (the read pool drains it): `stale` is called once for it, `replayed` once it has replayed it.
 */
export interface ReplayWatch {
  staleAfterMs: number;
  stale(node: NodeConfig, behindBytes: string): Promise<void>;
  replayed(node: NodeConfig): Promise<void>;
}

export interface Engine {
  readonly dialect: Dialect;
  /** For messages: "MySQL/MariaDB", "PostgreSQL". */
  readonly label: string;
  readonly defaultPort: number;
  readonly defaultUser: string;
  /** What --dialect and URL schemes accept for this engine (mariadb:// is the mysql engine). */
  readonly names: readonly string[];
  /** Example server URL for hints, and its scheme. */
  readonly urlExample: string;
  readonly urlScheme: string;
  /** Longest identifier the server accepts. */
  readonly maxIdentifierLength: number;
  /** Whether DDL runs inside a transaction (PostgreSQL) or commits implicitly (MySQL/MariaDB). */
  readonly ddlIsTransactional: boolean;
  readonly syntax: SqlSyntax;
  /**
   * Describes migration statements with the database's own parser (PostgreSQL: libpg_query);
   * undefined where the analysis's own classifier (analysis/sql/parse.ts) is used.
   */
  readonly statementParser?: StatementParser;
  /**
   * Statement boundaries and transaction control as the server's grammar reads them (PostgreSQL);
   * undefined where migrations/sql-split.ts's scanner splits files. load() before use.
   */
  readonly sqlGrammar?: SqlGrammar;
  /** Where the slow-query export the workload check reads comes from. */
  readonly workloadExport: string;
  /** How that export writes statements (analysis/workload/parse.ts). */
  readonly workloadText: {
    /** A text with an elided list `( ... )` is a digest even without a digest field (MySQL). */
    elidedListIsDigest: boolean;
    /** Texts may qualify names with the schema they ran in (pg_stat_statements), which the shadow does not have. */
    schemaQualified: boolean;
  };
  /** The server `migrate shadow` starts for this engine, and its Debian/Ubuntu package. */
  readonly shadowProduct: { flavor: ClusterFlavor; product: string; aptPackage: string; topology: 'mariadb-shadow' | 'postgres-shadow' };

  /** The rows of a knex raw() result. */
  rows<T>(raw: unknown): T[];
  /** The connection for server-wide work (no database on MySQL; PostgreSQL needs one: postgres). */
  adminConnection(server: ConnectionConfig): ConnectionConfig;
  /** Ends the statement of another session (Ctrl-C, the status hint). */
  cancelStatementSql(sessionId: number | string): string;
  /** The current session's id, as column `id`. */
  sessionIdSql(): string;
  /** What a driver error code on connecting means (db/connect.ts words the message); undefined: not one of these. */
  connectionErrorKind(code: string): 'database-denied' | 'login-refused' | 'no-database' | undefined;
  /** The server refused for want of privileges. */
  isPermissionDenied(e: unknown): boolean;
  /** A server-side SQL error (not a lost connection or a driver problem). */
  isSqlError(e: unknown): boolean;
  /** A statement that does nothing, sent in place of one that must not run. */
  readonly noopSql: string;
  /** A failed statement aborts the transaction it is in (PostgreSQL): going on needs a savepoint. */
  readonly errorAbortsTransaction: boolean;
  /** Migrations switch databases with USE and name them in `db.table` (MySQL: a database is a schema). */
  readonly switchesDatabases: boolean;
  /**
   * Runs a DDL statement asking the server which algorithm it needs (engines/mysql/probe.ts), or
   * undefined when the engine has no such question (PostgreSQL's rules read the catalog).
   */
  readonly probe:
    | ((obj: QueryObject, next: Next, server: ServerKind) => Promise<{ result: QueryObject; probe: ProbeResult | ProbeResult[] | null }>)
    | undefined;
  /** PREPARE of `sql` and its DEALLOCATE, for checking an application statement against a schema. */
  prepareCheckSql(sql: string): string;
  /** What identifies a server whatever address it is reached through (see analysis/locate.ts). */
  serverIdentity(db: Knex): Promise<string | undefined>;

  /** The schema a shadow database's tables live in (MySQL: the database itself). */
  snapshotSchema(database: string): string;
  createSnapshotter(db: Knex, schema: string, server: ServerKind): Snapshotter;
  /** Whether a snapshot must read views again whatever the statements were (PostgreSQL: cheap there). */
  readonly alwaysSnapshotViews: boolean;
  /** Whether tables the schema restore recreated must be snapshotted again (PostgreSQL: new relfilenode). */
  readonly restoreChangesStorage: boolean;
  /** Empties a shadow database so a prefix of migrations can be replayed. */
  resetDatabase(target: DumpTarget): Promise<void>;
  /** A schema dump that rebuilds the database in one batch; undefined when it cannot be taken. */
  dumpSchema(target: DumpTarget): Promise<string[] | undefined>;
  restoreSchema(target: DumpTarget, statements: string[]): Promise<void>;
  /** Statements of a dump restoring only `tables`, or undefined when the dump cannot be cut. */
  partialDump(dump: string[], tables: string[], hasViews: boolean): string[] | undefined;
  /** The next full dump after a partial restore: `full` with the restored tables as `fresh` has them. */
  mergeDumps(full: string[], fresh: string[], restoredTables: string[]): string[];

  /** Which cluster/sandbox flavors are this engine's servers. */
  readonly flavors: readonly ClusterFlavor[];
  /** `migrate apply` / `switchover` drive clusters of this engine (replication, read_only, the writer endpoint). */
  readonly drivesClusters: boolean;
  /** `migrate apply` on a cluster of this engine runs every migration in place on the primary (PostgreSQL). */
  readonly inPlaceCluster?: InPlaceCluster;
  /**
   * The target's version when it decides whether the local `migrate shadow` server can stand in
   * for it (MySQL family: the shadow is MariaDB, whose ALTER algorithms differ from MySQL's);
   * undefined, without a query, where the shadow always suits.
   */
  targetVersionForShadow(db: Knex): Promise<string | undefined>;
  /** Rows (estimate) and bytes of these tables in the connection's schema; absent when unknown. */
  tableSizes(db: Knex, names: string[]): Promise<Map<string, { rows: number | null; bytes: number | null }>>;
  /** The statements the server recorded for one database (--queries-from): read-only; a typed error when it records none. */
  readStatementDigests(db: Knex, q: DigestQuery): Promise<StatementDigests>;
  // For the runner and the ledger (src/migrations): what their dialect branches ask.
  /** The server's current time with milliseconds, as an SQL expression (progress rows). */
  readonly nowSql: string;
  /** Unquoted identifiers fold to lower case (PostgreSQL); MySQL keeps them as written. */
  readonly foldsUnquotedIdentifiers: boolean;
  /** The statement gave up waiting for a lock without changing anything (MySQL 1205): it may be retried. */
  isLockWaitTimeout(e: unknown): boolean;
  readonly migrations: MigrationsEngine;
  readonly rules: RulesEngine;
  /** Whether stored values fit a narrowed type (issue 16's data-aware verdicts). */
  readonly fit: FitEngine;

  /** What the server is, from SELECT VERSION(). */
  serverKind(version: string): ServerKind;
  readonly shadowAdmin: ShadowServerAdmin;
  /** Replication statements of a server of this engine; undefined for PostgreSQL (streaming, not driven here). */
  flavorFromVersion(version: string): Flavor | undefined;
}
