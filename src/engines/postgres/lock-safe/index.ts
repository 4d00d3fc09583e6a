// PostgreSQL lock-safe execution: the retry loop, the lock watch, INVALID-index cleanup, and the
// run's session guard. It knows nothing of the migration running: the migrations side passes in
// the settings, the logger, the label and the watch (migrations/run-concurrently.ts).
import type { Knex } from 'knex';
import { dropLeftoverIndexes } from './invalid-index.ts';
import { type RetryOptions, withLockRetry } from './retry.ts';

export { concurrentTarget, dropLeftoverIndexes, findLeftovers, type ConcurrentTarget, type InvalidIndex } from './invalid-index.ts';
export { backoffMs, isLockWaitExhausted, LockWaitExhausted, retryableReason, withLockRetry, type RetryOptions } from './retry.ts';
export { PgLockSafety } from './session.ts';
export { describeWait, LockWatch, readLockWait, type LockHolder, type LockWait } from './watch.ts';

/**
 * Runs one statement that cannot run in a transaction (CREATE INDEX CONCURRENTLY, REINDEX ...
 * CONCURRENTLY, ...): an INVALID index a failed earlier try left is dropped first, and a lock
 * timeout is retried with backoff.
 */
export async function runConcurrentStatement(knex: Knex, sql: string, retry: RetryOptions): Promise<void> {
  await withLockRetry(retry, async () => {
    await dropLeftoverIndexes(knex, sql, retry.logger, retry.label);
    await knex.raw(sql.replace(/\?/g, '\\?'));
  });
}
