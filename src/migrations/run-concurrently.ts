// A helper for TypeScript migrations that run CONCURRENTLY statements themselves. The lock-safe
// execution is the engine's (engines/postgres/lock-safe); what this side adds is the running
// migration (its settings, logger, id and lock watch), which the engines layer cannot see.
import type { Knex } from 'knex';
import { consoleLogger } from '../log/index.ts';
import { currentMigration } from './context.ts';
import { runConcurrentStatement } from '../engines/index.ts';
import { DEFAULT_LOCK_SAFETY } from '../config/index.ts';

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
  await runConcurrentStatement(knex, sql, { settings, logger, label, watch: ctx?.lockWatch });
}
