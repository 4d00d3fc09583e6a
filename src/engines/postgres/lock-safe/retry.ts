import type { Logger } from '../../../log/index.ts';
import { formatMs, type LockSafety } from '../../../config/index.ts';
import { describeWait, type LockWait, type LockWatch } from './watch.ts';

/** Why a try failed in a way that a later try may not: the lock was not free in time, or a deadlock. */
export type RetryableReason = 'lock-timeout' | 'deadlock';

/** The driver error code (PostgreSQL SQLSTATE, MySQL code name or errno), looking through causes. */
function codesOf(e: unknown): Array<string | number> {
  const out: Array<string | number> = [];
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && typeof cur === 'object' && cur !== null; depth++) {
    const r = cur as Record<string, unknown>;
    if (typeof r['code'] === 'string') out.push(r['code']);
    if (typeof r['errno'] === 'number') out.push(r['errno']);
    cur = r['cause'];
  }
  return out;
}

/**
 * PostgreSQL 55P03 lock_not_available (lock_timeout, NOWAIT) and 40P01 deadlock_detected;
 * MySQL/MariaDB 1205 lock wait timeout and 1213 deadlock. A statement_timeout (57014) is not
 * retried: it is the guard doing its job.
 */
export function retryableReason(e: unknown): RetryableReason | undefined {
  for (const c of codesOf(e)) {
    if (c === '55P03' || c === 'ER_LOCK_WAIT_TIMEOUT' || c === 1205) return 'lock-timeout';
    if (c === '40P01' || c === 'ER_LOCK_DEADLOCK' || c === 1213) return 'deadlock';
  }
  return undefined;
}

/** The wait before try `attempt + 1`: base * 2^(attempt-1), capped, jittered to 50-100 %. */
export function backoffMs(attempt: number, s: Pick<LockSafety, 'retryBaseMs' | 'retryMaxMs'>, random: () => number = Math.random): number {
  const exp = Math.min(s.retryMaxMs, s.retryBaseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** Every try of a transaction or statement failed on a lock (or it was not to be retried). */
export class LockWaitExhausted extends Error {
  readonly attempts: number;
  readonly waitedMs: number;
  readonly wait: LockWait | undefined;
  readonly reason: RetryableReason;
  readonly retried: boolean;
  readonly lockTimeoutMs: number;

  constructor(
    cause: unknown,
    o: { attempts: number; waitedMs: number; wait: LockWait | undefined; reason: RetryableReason; retried: boolean; lockTimeoutMs: number },
  ) {
    super(o.reason === 'deadlock' ? 'deadlock detected' : 'lock timeout', { cause });
    this.name = 'LockWaitExhausted';
    this.attempts = o.attempts;
    this.waitedMs = o.waitedMs;
    this.wait = o.wait;
    this.reason = o.reason;
    this.retried = o.retried;
    this.lockTimeoutMs = o.lockTimeoutMs;
  }

  /** The pid a user could end, when one was seen. */
  get holderPid(): number | undefined {
    return this.wait?.holders[0]?.pid;
  }

  /** "could not get ... within lock_timeout 2 s in 10 attempts over 41 s: the lock on table t was held by pid 1 (...)" */
  describe(): string {
    const what =
      this.reason === 'deadlock'
        ? 'ran into a deadlock'
        : `could not get its lock within ${this.lockTimeoutMs > 0 ? `lock_timeout ${formatMs(this.lockTimeoutMs)}` : 'the lock wait timeout'}`;
    const tries = this.retried
      ? ` in ${this.attempts} attempt${this.attempts === 1 ? '' : 's'} over ${formatMs(this.waitedMs)}`
      : ' (not retried: it runs outside a transaction, so a retry could repeat what it already did)';
    return `${what}${tries}; it was waiting for ${describeWait(this.wait)}.`;
  }

  fix(command: string): string {
    const pid = this.holderPid;
    const end =
      pid !== undefined
        ? `Wait for the session holding the lock to finish, or end it (SELECT pg_terminate_backend(${pid});), then run "${command}" again`
        : `Find the long transaction holding the lock (pg_stat_activity, pg_locks), wait for it or end it, then run "${command}" again`;
    return `${end}; or allow more time with --lock-timeout / --lock-retries (MIGRATE_LOCK_TIMEOUT, MIGRATE_LOCK_RETRIES).`;
  }
}

/**
 * A LockWaitExhausted, also one thrown by another copy of this module (a TypeScript migration
 * imports the helpers through its own loader, so `instanceof` cannot be trusted).
 */
export function isLockWaitExhausted(e: unknown): e is LockWaitExhausted {
  return (
    e instanceof LockWaitExhausted || (e instanceof Error && e.name === 'LockWaitExhausted' && typeof (e as Partial<LockWaitExhausted>).describe === 'function')
  );
}

export interface RetryOptions {
  settings: LockSafety;
  logger: Logger;
  /** What is being tried, for the wait messages: "0005_add_flag", "0006_idx (statement 2, line 4)". */
  label: string;
  watch?: LockWatch;
  /** false: a lock timeout is reported (with its holder) but the work is not run again. */
  retry?: boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs fn (one transaction, or one statement outside a transaction) until it succeeds, retrying
 * when it fails on a lock timeout or deadlock, each time after a backoff, reporting what it
 * waited for. fn must leave nothing behind when it fails (a rolled-back transaction does not).
 */
export async function withLockRetry<T>(o: RetryOptions, fn: (attempt: number) => Promise<T>): Promise<T> {
  const attempts = o.retry === false ? 1 : Math.max(1, o.settings.attempts);
  const started = Date.now();
  const sleep = o.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    const token = o.watch?.begin() ?? 0;
    let result: T;
    try {
      result = await fn(attempt);
    } catch (e) {
      const wait = await o.watch?.end(token);
      // An inner retry loop (a backfill batch) already gave up: its report stands.
      if (isLockWaitExhausted(e)) throw e;
      const reason = retryableReason(e);
      if (!reason) throw e;
      if (attempt >= attempts) {
        throw new LockWaitExhausted(e, {
          attempts: attempt,
          waitedMs: Date.now() - started,
          wait,
          reason,
          retried: o.retry !== false,
          lockTimeoutMs: o.settings.lockTimeoutMs,
        });
      }
      const delay = backoffMs(attempt, o.settings, o.random);
      const what =
        reason === 'deadlock'
          ? `deadlock detected while waiting for ${describeWait(wait)}`
          : `waiting for ${describeWait(wait)}; gave up after ${o.settings.lockTimeoutMs > 0 ? `lock_timeout ${formatMs(o.settings.lockTimeoutMs)}` : 'the lock wait timeout'}`;
      o.logger.warn(`${o.label}: ${what}, attempt ${attempt + 1}/${attempts}, retrying in ${formatMs(delay)}`);
      await sleep(delay);
      continue;
    }
    await o.watch?.end(token);
    return result;
  }
}
