import type { ConnectionConfig, Dialect } from '../config/index.ts';

/**
 * The database driver behind each dialect: which knex client, its connection options, the shape
 * of a raw() result, and what its connection error codes mean. Plumbing only; what differs in the
 * databases themselves is their engine's (src/engines, built on this).
 */
export interface Driver {
  /** For messages: "MySQL/MariaDB", "PostgreSQL". */
  readonly label: string;
  readonly client: 'mysql2' | 'pg';
  connectionOptions(opts: { applicationName?: string }): Record<string, unknown>;
  /** The rows of a knex raw() result. */
  rows<T>(raw: unknown): T[];
  /** The connection for server-wide work (no database on MySQL; PostgreSQL always connects to one: postgres). */
  adminConnection(server: ConnectionConfig): ConnectionConfig;
  /** What a driver error code on connecting means; undefined: not one of these. */
  connectionErrorKind(code: string): ConnectionErrorKind | undefined;
  /**
   * The server's SELECT VERSION() as knex's `version` setting takes it (knex reads it to tell
   * MariaDB from MySQL and which PostgreSQL features exist), so a pool given it skips knex's own
   * `select version()` on its first connection; undefined when the string is not understood.
   */
  knexVersion(serverVersion: string): string | undefined;
}

export type ConnectionErrorKind = 'database-denied' | 'login-refused' | 'no-database';

const MYSQL_CONNECT_ERRORS: Partial<Record<string, ConnectionErrorKind>> = {
  ER_DBACCESS_DENIED_ERROR: 'database-denied',
  ER_ACCESS_DENIED_ERROR: 'login-refused',
  ER_BAD_DB_ERROR: 'no-database',
};

/** SQLSTATEs a connection attempt ends with. */
const PG_CONNECT_ERRORS: Partial<Record<string, ConnectionErrorKind>> = {
  '42501': 'database-denied',
  '28P01': 'login-refused',
  '28000': 'login-refused',
  '3D000': 'no-database',
};

export const DRIVERS: Record<Dialect, Driver> = {
  mysql: {
    label: 'MySQL/MariaDB',
    client: 'mysql2',
    // Our SQL migrations may hold many statements in one file.
    connectionOptions: () => ({ multipleStatements: true, connectTimeout: 5000 }),
    rows: <T>(raw: unknown): T[] => (raw as [T[]])[0],
    adminConnection: (server) => ({ ...server, database: '' }),
    connectionErrorKind: (code) => MYSQL_CONNECT_ERRORS[code],
    // knex parses the whole string itself ("10.11.19-MariaDB-..." -> MariaDB 10.11.19).
    knexVersion: (v) => (/\d+\.\d+\.\d+/.test(v) ? v : undefined),
  },
  postgres: {
    label: 'PostgreSQL',
    client: 'pg',
    connectionOptions: (opts) => ({ connectionTimeoutMillis: 5000, application_name: opts.applicationName ?? 'migrate' }),
    rows: <T>(raw: unknown): T[] => (raw as { rows: T[] }).rows,
    adminConnection: (server) => ({ ...server, database: server.database || 'postgres' }),
    connectionErrorKind: (code) => PG_CONNECT_ERRORS[code],
    // What knex's own check keeps: "PostgreSQL 15.19 (Debian ...) ..." -> "15.19".
    knexVersion: (v) => /^PostgreSQL (.*?)(?: |$)/.exec(v)?.[1] || undefined,
  },
};
