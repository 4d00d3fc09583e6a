import { configError } from '../errors.ts';
import { registerSecret } from '../log/index.ts';
import { dialectNamed } from './dialects.ts';
import type { ConnectionConfig, Dialect } from './types.ts';

const ENCODE_HINT =
  'Percent-encode the special characters of the user and password ("/" as %2F, "@" as %40, ":" as %3A, "#" as %23, "?" as %3F, "%" as %25), e.g. with encodeURIComponent().';

/**
 * A component of the URL, percent-decoded. A malformed escape ("%" not followed by two hex digits)
 * is refused naming the component, never its text: it is usually the password.
 */
function decoded(part: string, what: string, source: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw configError(`The ${what} in ${source} holds a malformed percent-escape (a "%" not followed by two hex digits).`, ENCODE_HINT);
  }
}

/**
 * Parses mysql://user:pass@host:port/db (also mariadb://, postgres://, postgresql://). Hosts may be
 * IPv6 literals in brackets ([::1]). No message quotes the URL or any part of it but the scheme
 * and the database name: a password that was not percent-encoded can end up in any part.
 */
export function parseDatabaseUrl(url: string, source: string): { dialect: Dialect; connection: ConnectionConfig } {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  const invalid = (): never => {
    throw configError(
      `${source} is not a valid database URL.`,
      `Write it as mysql://user@host:3306/database or postgres://user@host:5432/database (a password goes after the user, separated by a colon). ${ENCODE_HINT}`,
    );
  };
  if (scheme === undefined) return invalid();
  const dialect = dialectNamed(scheme);
  if (!dialect) throw configError(`${source} uses the scheme "${scheme}", which is not supported.`, 'Use mysql://, mariadb://, postgres:// or postgresql://.');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return invalid();
  }
  // A "/", "?" or "#" in the password ends the host part early, and the rest of the password
  // becomes the path (taken for the database name), the query or the fragment: an "@" there
  // gives it away. Refused without quoting either part.
  if (/@/.test(u.pathname + u.search + u.hash)) {
    throw configError(`${source} has an "@" after its host part: the user or password holds a "/", "?" or "#" that is not percent-encoded.`, ENCODE_HINT);
  }
  const password = u.password ? decoded(u.password, 'password', source) : undefined;
  registerSecret(password);
  const user = decoded(u.username, 'user name', source);
  const database = decoded(u.pathname.replace(/^\//, ''), 'database name', source);
  if (!database) throw configError(`${source} names no database.`, 'Add the database after the host: mysql://user@host:3306/app.');
  if (!user) throw configError(`${source} names no user.`, 'Add the user before the host: mysql://app@host:3306/app.');
  // WHATWG URL keeps the brackets of an IPv6 host; the drivers want the bare address.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    dialect,
    connection: {
      host: host || '127.0.0.1',
      port: u.port ? Number(u.port) : 0,
      user,
      password,
      database,
    },
  };
}
