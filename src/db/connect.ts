import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import type { ConnectionConfig, Dialect } from '../config/index.ts';
import { DRIVERS } from './drivers.ts';
import { connectionError, MigrateError } from '../errors.ts';
import { redact } from '../log/index.ts';

function debugLog(msg: unknown): void {
  if (process.env['MIGRATE_DEBUG']) process.stderr.write(`${redact(`knex: ${String(msg)}`)}\n`);
}

type KnexFactory = typeof import('knex').knex;
let loadedFactory: KnexFactory | undefined;

/**
 * knex (and through it the database driver) is loaded on the first connection rather than at
 * start-up: every CLI command imports this module, and `--help` or a config error never connects.
 * knex is CommonJS, so require() loads it synchronously and createKnex keeps its signature.
 * The compiled build (dist/) has knex and mysql2 bundled into one file by `npm run build`
 * (scripts/bundle-knex.mjs): the same code, loaded in about half the time of their ~500 files.
 * From the sources there is no such file, and node_modules/knex is loaded.
 */
function knexFactory(): KnexFactory {
  if (!loadedFactory) {
    const require = createRequire(import.meta.url);
    const bundled = fileURLToPath(new URL('../vendor/knex.cjs', import.meta.url));
    loadedFactory = (require(existsSync(bundled) ? bundled : 'knex') as { knex: KnexFactory }).knex;
  }
  return loadedFactory;
}

/**
 * Builds a knex instance for a dialect. Connections are lazy in knex, so callers that need a
 * clear error before doing anything call verifyConnection() first.
 */
export function createKnex(
  dialect: Dialect,
  conn: ConnectionConfig,
  opts: {
    pool?: { min: number; max: number };
    applicationName?: string;
    sessionSql?: string[];
    /** The server's SELECT VERSION(), when the caller read it already: knex then does not ask again on connecting. */
    serverVersion?: string;
  } = {},
): Knex {
  const pool: Knex.PoolConfig = { ...(opts.pool ?? { min: 0, max: 4 }) };
  const sessionSql = opts.sessionSql ?? [];
  if (sessionSql.length) {
    // Every connection of the pool, also one opened again after the pool dropped an idle one.
    // Best effort: the caller checks the outcome where it matters.
    pool.afterCreate = (raw: { query(sql: string, cb: (err: unknown) => void): void }, done: (err: Error | null, conn: unknown) => void) => {
      const next = (i: number): void => {
        if (i >= sessionSql.length) {
          done(null, raw);
          return;
        }
        raw.query(sessionSql[i]!, () => next(i + 1));
      };
      next(0);
    };
  }
  const driver = DRIVERS[dialect];
  const version = opts.serverVersion ? driver.knexVersion(opts.serverVersion) : undefined;
  return knexFactory()({
    client: driver.client,
    ...(version ? { version } : {}),
    connection: {
      host: conn.host,
      port: conn.port,
      user: conn.user,
      password: conn.password ?? '',
      database: conn.database,
      ...driver.connectionOptions(opts),
    },
    pool,
    acquireConnectionTimeout: 10000,
    // knex prints driver errors with stacks on its own; ours are mapped and printed once, so its
    // logger only speaks with MIGRATE_DEBUG (and through redact, like everything else).
    log: {
      warn: debugLog,
      error: debugLog,
      deprecate: debugLog,
      debug: debugLog,
    },
  });
}

/** The server's SELECT VERSION() ("10.11.19-MariaDB-...", "8.0.36", "PostgreSQL 15.19 ..."). */
export async function selectVersion(db: Knex, dialect: Dialect): Promise<string> {
  const r = (await db.raw('SELECT VERSION() AS v')) as unknown;
  const row = DRIVERS[dialect].rows<{ v: string }>(r)[0];
  return row?.v ?? '';
}

/** A pool on the server for server-wide work (the engine says which database that needs). */
export function createAdminKnex(dialect: Dialect, server: ConnectionConfig, opts: Parameters<typeof createKnex>[2] = {}): Knex {
  return createKnex(dialect, DRIVERS[dialect].adminConnection(server), opts);
}

/** Runs a trivial query; maps driver errors to messages that name the problem and the fix. */
export async function verifyConnection(db: Knex, dialect: Dialect, conn: ConnectionConfig): Promise<void> {
  try {
    await db.raw('select 1');
  } catch (e) {
    throw mapConnectionError(e, dialect, conn);
  }
}

interface DriverError {
  code?: string;
  errno?: number;
  message?: string;
}

export function mapConnectionError(e: unknown, dialect: Dialect, conn: ConnectionConfig): MigrateError {
  if (e instanceof MigrateError) return e;
  const err = (e ?? {}) as DriverError;
  const where = `${conn.user}@${conn.host}:${conn.port}/${conn.database}`;
  const code = err.code ?? '';
  const msg = redact(err.message ?? String(e));
  const kind = DRIVERS[dialect].connectionErrorKind(code);
  if (kind === 'database-denied') {
    return connectionError(
      `User "${conn.user}" may not use the database "${conn.database}" on ${conn.host}:${conn.port} (the login itself worked).`,
      `Grant the user access (GRANT ALL ON ${conn.database}.* TO ...) or correct "database" in the config.`,
      e,
    );
  }
  if (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH' ||
    code === 'ETIMEDOUT' ||
    code === 'ECONNRESET' ||
    /Timeout acquiring|connect ETIMEDOUT|timeout expired|Connection terminated/i.test(msg)
  ) {
    return connectionError(
      `Cannot reach the ${DRIVERS[dialect].label} server at ${conn.host}:${conn.port} (${code || msg}).`,
      'Check that the server is running and that host and port in the config (or DATABASE_URL) are right.',
      e,
    );
  }
  if (kind === 'login-refused' || /password authentication failed|Access denied for user/i.test(msg)) {
    return connectionError(
      `The server at ${conn.host}:${conn.port} refused the login of user "${conn.user}" (wrong user or password).`,
      'Check the user and the password source (passwordEnv / passwordFile / DATABASE_URL) in the config.',
      e,
    );
  }
  if (kind === 'no-database') {
    return connectionError(
      `The database "${conn.database}" does not exist on ${conn.host}:${conn.port}.`,
      `Create it first (CREATE DATABASE ${conn.database}) or correct "database" in the config.`,
      e,
    );
  }
  return connectionError(`Could not connect as ${where}: ${msg}`, 'Check the connection settings in the config.', e);
}
