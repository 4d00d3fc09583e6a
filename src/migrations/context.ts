import { AsyncLocalStorage } from 'node:async_hooks';
import type { Dialect } from '../config/index.ts';
import type { Logger } from '../log/index.ts';
import type { LockSafety } from '../config/index.ts';
import type { LockWatch } from '../engines/index.ts';

/** What helpers called from inside a running migration (backfill, withLockRetry) can know about it. */
export interface MigrationRunContext {
  id: string;
  direction: 'up' | 'down';
  dialect: Dialect;
  logger: Logger;
  /** PostgreSQL lock-safe settings of the run, when they are on. */
  lockSafety?: LockSafety;
  /** Names the holder of a lock the run's session waits for (PostgreSQL). */
  lockWatch?: LockWatch;
  /** Whether the migration runs inside the runner's transaction. */
  transactional: boolean;
}

// On globalThis: a TypeScript migration imports helpers through its own loader, which may give
// it a second copy of this module; both copies must see the same store.
const KEY = Symbol.for('migrate-coordinator.migration-context');

function store(): AsyncLocalStorage<MigrationRunContext> {
  const g = globalThis as unknown as Record<symbol, AsyncLocalStorage<MigrationRunContext> | undefined>;
  let s = g[KEY];
  if (!s) {
    s = new AsyncLocalStorage<MigrationRunContext>();
    g[KEY] = s;
  }
  return s;
}

/** The migration the runner is executing in this async context, if any. */
export function currentMigration(): MigrationRunContext | undefined {
  return store().getStore();
}

export function runInMigration<T>(ctx: MigrationRunContext, fn: () => Promise<T>): Promise<T> {
  return store().run(ctx, fn);
}
