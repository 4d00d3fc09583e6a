import type { Knex } from 'knex';
import type { ConnectionConfig, ProjectConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Effect, Ident } from '../migrations/effect.ts';
import type { RunSession } from '../migrations/lock.ts';
import type { PgLockSafety } from '../migrations/pg/session.ts';
import type { LockSafety } from '../migrations/pg/settings.ts';
import type { MysqlLockRetry } from '../migrations/sql-exec.ts';

/**
 * What the runner and the ledger (src/migrations) do differently per database: the run lock, the
 * migrate tables' times, how a statement's progress is recorded, how lock waits are bounded, and
 * how a statement's effect is read back. Engine.migrations holds one of these per engine.
 */
export interface MigrationsEngine {
  /** Takes the run lock on the dedicated session `db`; `close` ends that session. */
  acquireRunLock(db: Knex, config: ProjectConfig, close: () => Promise<void>, waitMs: number): Promise<RunSession>;
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
  /** PostgreSQL's lock_timeout guard for the run's session; undefined where the engine has none. */
  openLockSafety(db: Knex, connection: ConnectionConfig, settings: LockSafety, logger: Logger): Promise<PgLockSafety | undefined>;
  /** Session settings for a run: MySQL bounds lock waits (lock_wait_timeout) and says how to retry them. */
  prepareRunSession(db: Knex, settings: LockSafety, logger: Logger): Promise<MysqlLockRetry | undefined>;
  /** Sets lock_timeout for one backfill transaction (PostgreSQL), where the engine has it. */
  backfillLockTimeout(trx: Knex.Transaction, lockTimeoutMs: number): Promise<void>;
  /** `ALTER TABLE t ADD INDEX name` names an index (MySQL/MariaDB). */
  readonly alterNamesIndexes: boolean;
  /** Effects of the engine's own statements (types; triggers, routines), after the shared ones. */
  objectEffects(sql: string, id: (raw: string) => Ident): Effect[] | undefined;
  /** Whether the object of an effect is there, asked of the server's catalog. */
  effectPresent(db: Knex, e: Effect): Promise<boolean>;
}
