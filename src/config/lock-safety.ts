import { configError, usageError, type MigrateError } from '../errors.ts';

// Lives in config, not with the lock-safe execution (engines/postgres/lock-safe): the config
// file's "lockSafety" object and the CLI's lock flags are parsed here, and config sits below
// engines and migrations in the layers (.dependency-cruiser.cjs).

/**
 * How migrations run on PostgreSQL so that a queued ACCESS EXCLUSIVE request never holds other
 * sessions up for long: every statement waits at most `lockTimeoutMs` for a lock; a transaction
 * (or a statement that runs outside one) that hits the timeout is rolled back and tried again
 * after an exponential backoff with jitter, up to `attempts` times.
 */
export interface LockSafety {
  /** lock_timeout for every migration statement; 0 turns lock-safe execution (and retries) off. */
  lockTimeoutMs: number;
  /** Tries per transaction / non-transactional statement, the first included. */
  attempts: number;
  /** Backoff before the 2nd try; doubles each time, capped at retryMaxMs; each wait is jittered to 50-100 %. */
  retryBaseMs: number;
  retryMaxMs: number;
  /**
   * statement_timeout for the statements of a migration's transaction (the ones that hold their
   * locks until commit); 0 leaves the server's setting. CONCURRENTLY builds are never limited.
   */
  statementTimeoutMs: number;
}

export const DEFAULT_LOCK_SAFETY: LockSafety = {
  lockTimeoutMs: 2000,
  attempts: 10,
  retryBaseMs: 500,
  retryMaxMs: 30_000,
  statementTimeoutMs: 0,
};

/** Environment variables read when neither a flag nor the caller sets a value. */
export const LOCK_SAFETY_ENV = {
  lockTimeoutMs: 'MIGRATE_LOCK_TIMEOUT',
  attempts: 'MIGRATE_LOCK_RETRIES',
  statementTimeoutMs: 'MIGRATE_STATEMENT_TIMEOUT',
} as const;

const UNIT_MS: Record<string, number> = { '': 1, ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** "2000", "2000ms", "2s", "1.5s", "5min" -> milliseconds; undefined when not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$/i.exec(text);
  if (!m?.[1]) return undefined;
  const factor = UNIT_MS[(m[2] ?? '').toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(m[1]) * factor);
}

function bad(where: 'flag' | 'env', name: string, value: string, what: string, example: string): MigrateError {
  const problem = `${where === 'flag' ? name : `The environment variable ${name}`} is "${value}", which is not ${what}.`;
  return where === 'flag' ? usageError(problem, `Write e.g. ${name} ${example}.`) : configError(problem, `Set e.g. ${name}=${example}, or unset it.`);
}

/** Parses a duration given to a flag or an environment variable; errors name the flag/variable. */
export function durationOption(value: string, name: string, where: 'flag' | 'env'): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) throw bad(where, name, value, 'a duration', where === 'flag' ? '2s (or 2000, in milliseconds; 0 turns it off)' : '2s');
  return ms;
}

export function countOption(value: string, name: string, where: 'flag' | 'env'): number {
  if (!/^\s*\d+\s*$/.test(value) || Number(value) < 1) throw bad(where, name, value, 'a whole number of at least 1', '10');
  return Number(value);
}

/** The values set by environment variables (MIGRATE_LOCK_TIMEOUT, MIGRATE_LOCK_RETRIES, MIGRATE_STATEMENT_TIMEOUT). */
export function lockSafetyFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<LockSafety> {
  const out: Partial<LockSafety> = {};
  const lt = env[LOCK_SAFETY_ENV.lockTimeoutMs];
  if (lt !== undefined && lt !== '') out.lockTimeoutMs = durationOption(lt, LOCK_SAFETY_ENV.lockTimeoutMs, 'env');
  const at = env[LOCK_SAFETY_ENV.attempts];
  if (at !== undefined && at !== '') out.attempts = countOption(at, LOCK_SAFETY_ENV.attempts, 'env');
  const st = env[LOCK_SAFETY_ENV.statementTimeoutMs];
  if (st !== undefined && st !== '') out.statementTimeoutMs = durationOption(st, LOCK_SAFETY_ENV.statementTimeoutMs, 'env');
  return out;
}

function defined<T extends object>(o: T | undefined): Partial<T> {
  if (!o) return {};
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The settings a run uses: explicit values (CLI flags, API callers) over the environment over
 * the config file's `lockSafety` over the defaults.
 */
export function resolveLockSafety(explicit?: Partial<LockSafety>, fromConfig?: Partial<LockSafety>, env: NodeJS.ProcessEnv = process.env): LockSafety {
  const s: LockSafety = { ...DEFAULT_LOCK_SAFETY, ...defined(fromConfig), ...lockSafetyFromEnv(env), ...defined(explicit) };
  s.attempts = Math.max(1, Math.floor(s.attempts));
  s.retryMaxMs = Math.max(s.retryMaxMs, s.retryBaseMs);
  return s;
}

/** "2 s", "1.3 s", "250 ms". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${s < 10 ? s.toFixed(1).replace(/\.0$/, '') : Math.round(s)} s`;
}

const CONFIG_KEYS: Record<string, { field: keyof LockSafety; kind: 'duration' | 'count' }> = {
  lockTimeout: { field: 'lockTimeoutMs', kind: 'duration' },
  retries: { field: 'attempts', kind: 'count' },
  retryBase: { field: 'retryBaseMs', kind: 'duration' },
  retryMax: { field: 'retryMaxMs', kind: 'duration' },
  statementTimeout: { field: 'statementTimeoutMs', kind: 'duration' },
};

/** The keys of the config's "lockSafety" object (the config schema refuses any other). */
export const LOCK_SAFETY_CONFIG_KEYS: readonly string[] = Object.keys(CONFIG_KEYS);

/**
 * Validates the config file's "lockSafety" object:
 * `{"lockTimeout": "2s", "retries": 10, "retryBase": "500ms", "retryMax": "30s", "statementTimeout": "0"}`
 * (durations as numbers of milliseconds or strings with a unit). Errors name the key.
 */
export function lockSafetyFromConfig(raw: unknown, source: string): Partial<LockSafety> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(
      `"lockSafety" in ${source} must be an object.`,
      'Write it as "lockSafety": {"lockTimeout": "2s", "retries": 10, "statementTimeout": "0"}.',
    );
  }
  const out: Partial<LockSafety> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const spec = CONFIG_KEYS[k];
    if (!spec)
      throw configError(
        `Unknown key "lockSafety.${k}" in ${source}.`,
        `Valid keys are ${Object.keys(CONFIG_KEYS)
          .map((x) => `lockSafety.${x}`)
          .join(', ')}.`,
      );
    const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : undefined;
    const ms =
      text === undefined
        ? undefined
        : spec.kind === 'duration'
          ? parseDurationMs(text)
          : /^\s*\d+\s*$/.test(text) && Number(text) >= 1
            ? Number(text)
            : undefined;
    if (ms === undefined) {
      throw configError(
        `"lockSafety.${k}" in ${source} is ${JSON.stringify(v)}, which is not ${spec.kind === 'duration' ? 'a duration' : 'a whole number of at least 1'}.`,
        spec.kind === 'duration'
          ? `Write a duration such as "2s", "500ms" or a number of milliseconds${k === 'lockTimeout' || k === 'statementTimeout' ? ' (0 turns it off)' : ''}.`
          : 'Write a whole number such as 10.',
      );
    }
    out[spec.field] = ms;
  }
  return out;
}
