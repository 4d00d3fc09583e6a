import { configError } from '../errors.ts';
import { registerSecret } from '../log/redact.ts';
import type { ConnectionConfig, Dialect } from './types.ts';

const SCHEMES: Record<string, Dialect> = { mysql: 'mysql', mariadb: 'mysql', postgres: 'postgres', postgresql: 'postgres' };

/** Parses mysql://user:pass@host:port/db (also mariadb://, postgres://, postgresql://). */
export function parseDatabaseUrl(url: string, source: string): { dialect: Dialect; connection: ConnectionConfig } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw configError(`${source} is not a valid database URL.`, 'Write it as mysql://user@host:3306/database or postgres://user@host:5432/database (a password goes after the user, separated by a colon).');
  }
  const scheme = u.protocol.replace(/:$/, '');
  const dialect = SCHEMES[scheme];
  if (!dialect) throw configError(`${source} uses the scheme "${scheme}", which is not supported.`, 'Use mysql://, mariadb://, postgres:// or postgresql://.');
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  registerSecret(password);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database) throw configError(`${source} names no database.`, 'Add the database after the host: mysql://user@host:3306/app.');
  if (!u.username) throw configError(`${source} names no user.`, 'Add the user before the host: mysql://app@host:3306/app.');
  return {
    dialect,
    connection: {
      host: u.hostname || '127.0.0.1',
      port: u.port ? Number(u.port) : 0,
      user: decodeURIComponent(u.username),
      password,
      database,
    },
  };
}
