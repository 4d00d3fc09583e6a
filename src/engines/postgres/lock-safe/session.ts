import type { Knex } from 'knex';
import type { ConnectionConfig } from '../../../config/index.ts';
import { createKnex } from '../../../db/index.ts';
import type { Logger } from '../../../log/index.ts';
import { num, rawRows } from '../../rows.ts';
import { withLockRetry } from './retry.ts';
import type { LockSafety } from '../../../config/index.ts';
import { LockWatch } from './watch.ts';

/**
 * Lock-safe execution for one PostgreSQL run: the session settings (lock_timeout on the run's
 * session, statement_timeout inside migration transactions), the retry loop, and a watch on a
 * second connection that names the holder of a lock we wait for.
 */
export class PgLockSafety {
  readonly settings: LockSafety;
  private readonly logger: Logger;
  private readonly watch: LockWatch | undefined;

  private constructor(settings: LockSafety, logger: Logger, watch: LockWatch | undefined) {
    this.settings = settings;
    this.logger = logger;
    this.watch = watch;
  }

  /** undefined when the settings turn everything off (lock_timeout 0 and no statement_timeout). */
  static async open(session: Knex, connection: ConnectionConfig, settings: LockSafety, logger: Logger): Promise<PgLockSafety | undefined> {
    if (settings.lockTimeoutMs <= 0 && settings.statementTimeoutMs <= 0) return undefined;
    let watch: LockWatch | undefined;
    if (settings.lockTimeoutMs > 0) {
      const pid = num((await rawRows(session, 'SELECT pg_backend_pid() AS pid'))[0]?.['pid']);
      if (pid !== null) {
        const monitor = createKnex('postgres', connection, { pool: { min: 0, max: 1 }, applicationName: 'migrate-lock-watch' });
        watch = new LockWatch(monitor, pid, Math.min(500, Math.max(25, Math.floor(settings.lockTimeoutMs / 4))));
      }
    }
    return new PgLockSafety(settings, logger, watch);
  }

  /** The watch naming lock holders, for helpers running inside a migration (backfill). */
  get lockWatch(): LockWatch | undefined {
    return this.watch;
  }

  get retries(): boolean {
    return this.settings.lockTimeoutMs > 0;
  }

  /** Session level, at the start of each migration: transactions inherit it, statements outside one use it. */
  async applySession(db: Knex): Promise<void> {
    if (this.settings.lockTimeoutMs > 0) await db.raw('SELECT set_config(?, ?, false)', ['lock_timeout', `${this.settings.lockTimeoutMs}ms`]);
  }

  /** Inside a migration's transaction, before its first statement. */
  async applyTransaction(trx: Knex): Promise<void> {
    if (this.settings.statementTimeoutMs > 0) await trx.raw('SELECT set_config(?, ?, true)', ['statement_timeout', `${this.settings.statementTimeoutMs}ms`]);
  }

  /** Runs fn, retrying on lock timeouts when `retry` (a transaction or a lone statement). */
  run<T>(label: string, fn: (attempt: number) => Promise<T>, retry = true): Promise<T> {
    if (!this.retries) return fn(1);
    return withLockRetry({ settings: this.settings, logger: this.logger, label, watch: this.watch, retry }, fn);
  }

  async close(): Promise<void> {
    await this.watch?.close();
  }
}
