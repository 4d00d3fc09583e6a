// PostgreSQL lock-safe execution: settings, the retry loop, the lock watch, INVALID-index cleanup,
// and a helper for TypeScript migrations that run CONCURRENTLY statements themselves.
import type { Knex } from 'knex';
import { consoleLogger } from '../../log/index.ts';
import { currentMigration } from '../context.ts';
import { dropLeftoverIndexes } from './invalid-index.ts';
import { withLockRetry } from './retry.ts';
import { DEFAULT_LOCK_SAFETY } from '../../config/index.ts';

export { concurrentTarget, dropLeftoverIndexes, findLeftovers, type ConcurrentTarget, type InvalidIndex } from './invalid-index.ts';
export { backoffMs, isLockWaitExhausted, LockWaitExhausted, retryableReason, withLockRetry, type RetryOptions } from './retry.ts';
export { PgLockSafety } from './session.ts';
export { DEFAULT_LOCK_SAFETY, LOCK_SAFETY_ENV, lockSafetyFromEnv, parseDurationMs, resolveLockSafety, type LockSafety } from '../../config/index.ts';
export { describeWait, LockWatch, readLockWait, type LockHolder, type LockWait } from './watch.ts';

/**
 * For TypeScript migrations with `export const transaction = false`: runs one statement that
 * cannot run in a transaction (CREATE INDEX CONCURRENTLY, REINDEX ... CONCURRENTLY, ...) the way
 * the runner runs such statements of SQL files: an INVALID index a failed earlier try left is
 * dropped first, and a lock timeout is retried with backoff (the run's lock_timeout applies).
 */
export async function runConcurrently(knex: Knex, sql: string): Promise<void> {
  const ctx = currentMigration();
  const logger = ctx?.logger ?? consoleLogger;
  const label = ctx?.id ?? 'runConcurrently';
  const settings = ctx?.lockSafety ?? { ...DEFAULT_LOCK_SAFETY, lockTimeoutMs: 0, attempts: 1 };
  await withLockRetry({ settings, logger, label, watch: ctx?.lockWatch }, async () => {
    await dropLeftoverIndexes(knex, sql, logger, label);
    await knex.raw(sql.replace(/\?/g, '\\?'));
  });
}
