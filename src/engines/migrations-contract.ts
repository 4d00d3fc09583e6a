import type { Knex } from 'knex';

/**
 * One runner per database. The lock lives on a dedicated session that is held for the whole run,
 * and the migrations run on that same session: if the session were lost, the lock would be lost
 * with it, which assertHeld() detects before each migration.
 */
export interface RunSession {
  /** A knex whose pool is exactly the session holding the lock. */
  db: Knex;
  lockName: string;
  /** Throws a 'lock' error when the session no longer holds the lock. */
  assertHeld(): Promise<void>;
  /** Releases the lock and closes the session; safe to call twice. */
  release(): Promise<void>;
}

/** The database a run lock is taken on, and where it is (for the message naming a holder). */
export interface LockedDatabase {
  host: string;
  port: number;
  database: string;
}

export interface Ident {
  /** As written, quotes included ("public.accounts", "`Acc`"). */
  raw: string;
  schema?: string;
  name: string;
}

/** What a statement leaves behind that the server can be asked about afterwards (migrations/effect.ts). */
export type Effect =
  | { kind: 'table' | 'view' | 'type' | 'trigger' | 'routine'; object: Ident; present: boolean }
  | { kind: 'column'; table: Ident; column: string; present: boolean }
  | { kind: 'index'; index: Ident; table?: Ident; present: boolean }
  | { kind: 'enum-value'; type: Ident; value: string; present: true };

/**
 * What the runner and the ledger (src/migrations) do differently per database: the run lock, the
 * migrate tables' times, how a statement's progress is recorded, how lock waits are bounded, and
 * how a statement's effect is read back. Engine.migrations holds one of these per engine.
 */
export interface MigrationsEngine {
  /** Takes the run lock on the dedicated session `db`; `close` ends that session. */
  acquireRunLock(db: Knex, connection: LockedDatabase, close: () => Promise<void>, waitMs: number): Promise<RunSession>;
  /** The server session holding the run lock of the database, or null when nobody holds it. */
  runLockHolder(db: Knex, database: string): Promise<number | null>;
  /** The migrate tables' times are zone-less UTC text (MySQL DATETIME): bound and read back as text. */
  readonly utcTextTimes: boolean;
  /**
   * A statement outside a transaction goes in one round trip with its progress rows (MySQL:
   * multipleStatements); otherwise they are statements of their own.
   */
  readonly tracksInStatementRoundTrip: boolean;
  /** The driver's own query call on a raw connection (knex's would wrap or split it). */
  nativeQuery(conn: unknown): (sql: string) => Promise<void>;
  /** Statements run under PostgreSQL's lock_timeout guard (engines/postgres/lock-safe/session.ts). */
  readonly guardsLockTimeout: boolean;
  /** The session statement bounding a metadata-lock wait, whose timeouts are then retried (MySQL); undefined where there is none. */
  lockWaitTimeoutSql(lockTimeoutMs: number): string | undefined;
  /** Session settings for a run, each optional: a server that does not know one ignores it. */
  readonly runSessionSql: readonly string[];
  /** The statement setting lock_timeout for one transaction (a backfill range), or undefined. */
  transactionLockTimeout(lockTimeoutMs: number): { sql: string; bindings: string[] } | undefined;
  /** `ALTER TABLE t ADD INDEX name` names an index (MySQL/MariaDB). */
  readonly alterNamesIndexes: boolean;
  /** Effects of the engine's own statements (types; triggers, routines), after the shared ones. */
  objectEffects(sql: string, id: (raw: string) => Ident): Effect[] | undefined;
  /** Whether the object of an effect is there, asked of the server's catalog. */
  effectPresent(db: Knex, e: Effect): Promise<boolean>;
}
