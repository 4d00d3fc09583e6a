import { engineFor } from '../engines/index.ts';
import type { Dialect } from '../config/index.ts';
import { closingQuote, stripComments } from './sql/split.ts';

/**
 * What a migration statement does outside its own database, read from its text before it runs on
 * a shadow. This is not what keeps other data safe (the instance or the account's privileges do
 * that, DESIGN "Lessons"); it decides how the analysis runs a history correctly:
 *
 * - the history's home database (the one it was written for: `USE app` in a mysqldump baseline,
 *   `app.orders` in a qualified name) is the shadow database under another name;
 * - statements on objects of the whole server (accounts, roles, other databases, global settings)
 *   are "server-wide": on a throwaway server they run one at a time across runs, and the objects
 *   they create are dropped at the end of the run.
 */

const IDENT = '(?:`(?:[^`]|``)+`|"(?:[^"]|"")+"|[A-Za-z_$][\\w$]*)';

function unquoteIdent(id: string): string {
  if (id.startsWith('`')) return id.slice(1, -1).replace(/``/g, '`');
  if (id.startsWith('"')) return id.slice(1, -1).replace(/""/g, '"');
  return id;
}

function clean(sql: string, dialect: Dialect): string {
  return stripComments(sql, dialect).trim().replace(/;\s*$/, '').trim();
}

/** The database a MySQL `USE` statement switches to, if the statement is one. */
export function useTarget(sql: string): string | undefined {
  const m = new RegExp(`^use\\s+(${IDENT})$`, 'i').exec(clean(sql, 'mysql'));
  return m ? unquoteIdent(m[1]!) : undefined;
}

export type HomeAlias =
  /** Run this instead (`USE <shadow>`, a no-op, the qualifiers rewritten). */
  | { sql: string }
  /** `USE other`: a database that is not the home one. */
  | { otherDatabase: string };

/**
 * A MySQL statement as it runs on the shadow database `shadow` when `home` is the database the
 * history was written for (undefined: the statement runs as written):
 *   USE home                             -> USE `shadow`
 *   CREATE DATABASE [IF NOT EXISTS] home -> DO 0 (the shadow database exists)
 *   ALTER DATABASE home ...              -> ALTER DATABASE `shadow` ...
 *   home.t, `home`.`t`                   -> `shadow`.t, `shadow`.`t`
 * `USE other` comes back as { otherDatabase }.
 */
export function aliasHome(sql: string, home: string | undefined, shadow: string): HomeAlias | undefined {
  const s = clean(sql, 'mysql');
  const quoted = `\`${shadow.replace(/`/g, '``')}\``;
  const use = useTarget(s);
  if (use !== undefined) {
    if (use === shadow) return undefined;
    return use === home ? { sql: `USE ${quoted}` } : { otherDatabase: use };
  }
  if (home === undefined) return undefined;
  const create = new RegExp(`^create\\s+(?:database|schema)\\s+(?:if\\s+not\\s+exists\\s+)?(${IDENT})`, 'i').exec(s);
  if (create) return unquoteIdent(create[1]!) === home ? { sql: 'DO 0' } : undefined;
  const alter = new RegExp(`^(alter\\s+(?:database|schema)\\s+)(${IDENT})([\\s\\S]*)$`, 'i').exec(s);
  if (alter) return unquoteIdent(alter[2]!) === home ? { sql: `${alter[1]}${quoted}${alter[3]}` } : undefined;
  const rewritten = rewriteHomeQualifiers(sql, home, shadow);
  return rewritten === sql ? undefined : { sql: rewritten };
}

/**
 * The home database of a MySQL history that names none (`migrate check` has no target): the first
 * database a statement USEs. TypeScript migrations are read as text: a string starting with `USE x`.
 */
export function firstUse(statements: Iterable<string>): string | undefined {
  for (const sql of statements) {
    const db = useTarget(sql);
    if (db !== undefined) return db;
  }
  return undefined;
}

export function firstUseInSource(text: string): string | undefined {
  const m = /['"`]\s*use\s+(`[^`]+`|[A-Za-z_$][\w$]*)\s*;?\s*['"`]/i.exec(text);
  return m ? unquoteIdent(m[1]!) : undefined;
}

/** Objects outside any one database, per dialect: what a statement creates, drops or changes. */
const SERVER_WIDE: Record<Dialect, [RegExp, string][]> = {
  mysql: [
    [/\b(?:create|drop|alter|rename)\s+user\b/i, 'accounts'],
    [/\b(?:create|drop)\s+role\b/i, 'roles'],
    [/\bset\s+default\s+role\b/i, 'roles'],
    [/^(?:grant|revoke)\b/i, 'privileges'],
    [/\b(?:grant|revoke)\s+[\s\S]*\b(?:on|to|from)\b/i, 'privileges'],
    [/\bset\s+password\b/i, 'accounts'],
    [/\bset\s+(?:global|persist|persist_only)\b|@@global\./i, 'global settings'],
    [/\b(?:install|uninstall)\s+(?:plugin|soname|component)\b/i, 'plugins'],
    [/\b(?:create|alter|drop)\s+(?:server|tablespace|logfile\s+group)\b/i, 'server objects'],
    [/^flush\b/i, 'server state'],
    [/\b(?:change\s+(?:master|replication\s+source)|(?:start|stop|reset)\s+(?:slave|replica|master))\b/i, 'replication'],
  ],
  postgres: [
    [/\b(?:create|drop|alter)\s+(?:role|user|group)\b/i, 'roles'],
    [/\b(?:create|drop|alter)\s+(?:database|tablespace|subscription)\b/i, 'databases'],
    [/\balter\s+system\b/i, 'global settings'],
    [/^(?:grant|revoke)\b(?![\s\S]*\bon\b)/i, 'role membership'],
    [/\b(?:comment|security\s+label)\s+on\s+(?:role|database|tablespace)\b/i, 'roles'],
  ],
};

/**
 * Why a statement acts on the whole server (accounts, roles, other databases, global settings), or
 * undefined. The patterns are searched anywhere in the statement, so a role created inside a DO
 * block, a procedure or a PREPAREd string counts too: a false alarm only costs parallelism.
 * For MySQL, `home` (and the shadow's own name) are not "other" databases.
 */
export function serverWideReason(sql: string, dialect: Dialect, home?: string): string | undefined {
  const s = clean(sql, dialect);
  if (engineFor(dialect).switchesDatabases) {
    const use = useTarget(s);
    if (use !== undefined) return use === home ? undefined : `switches to the database ${use}`;
    const db = new RegExp(`^(create|drop|alter)\\s+(?:database|schema)(?:\\s+if\\s+(?:not\\s+)?exists)?(?:\\s+(${IDENT}))?`, 'i').exec(s);
    if (db) {
      // ALTER DATABASE CHARACTER SET ...: the options start where a name would be.
      const option = db[2] && /^(?:character|charset|default|collate|comment|read|encryption|upgrade)$/i.test(db[2]);
      const name = db[2] && !option ? unquoteIdent(db[2]) : undefined;
      // ALTER DATABASE without a name is the current one: the shadow.
      if (name === home || (name === undefined && db[1]!.toLowerCase() === 'alter')) return undefined;
      return `${db[1]!.toLowerCase()}s the database ${name ?? ''}`.trim();
    }
  }
  for (const [re, what] of SERVER_WIDE[dialect]) if (re.test(s)) return `changes ${what}`;
  return undefined;
}

/** The same test on a TypeScript migration's source text (its SQL is only known when it runs). */
export function serverWideInSource(text: string, dialect: Dialect, home?: string): string | undefined {
  const use = /['"`]\s*use\s+(`[^`]+`|[A-Za-z_$][\w$]*)/gi;
  for (const m of text.matchAll(use)) {
    const db = unquoteIdent(m[1]!);
    if (db !== home) return `switches to the database ${db}`;
  }
  for (const [re, what] of SERVER_WIDE[dialect]) {
    // Only the unanchored patterns mean anything in source text.
    if (re.source.startsWith('^')) continue;
    if (re.test(text)) return `changes ${what}`;
  }
  if (engineFor(dialect).switchesDatabases && /\b(?:create|drop)\s+(?:database|schema)\b/i.test(text)) return 'creates or drops a database';
  return undefined;
}

/**
 * Rewrites qualified names of the home database (`home`.t, home.t) to the shadow database, outside
 * strings and comments. MySQL only: a PostgreSQL qualifier is a schema inside the database.
 */
export function rewriteHomeQualifiers(sql: string, home: string, shadow: string): string {
  if (!sql.includes(home)) return sql;
  let out = '';
  let i = 0;
  const n = sql.length;
  const quoted = `\`${shadow.replace(/`/g, '``')}\``;
  let prevSignificant = '';
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    // Comments and strings are copied as they are.
    if ((c === '-' && next === '-') || c === '#') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      out += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === "'" || c === '"') {
      const j = closingQuote(sql, i, true);
      out += sql.slice(i, j + 1);
      i = j + 1;
      prevSignificant = c;
      continue;
    }
    let ident: string | undefined;
    let end = i;
    if (c === '`') {
      let j = i + 1;
      while (j < n) {
        if (sql[j] === '`') {
          if (sql[j + 1] === '`') {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      ident = sql.slice(i + 1, j).replace(/``/g, '`');
      end = j + 1;
    } else if (/[A-Za-z_$0-9]/.test(c) && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const m = /^[A-Za-z_$0-9][\w$]*/.exec(sql.slice(i));
      ident = m![0];
      end = i + ident.length;
    }
    if (ident !== undefined) {
      // A database qualifier: followed by a dot, not itself after a dot (t.col, db.t.col).
      const after = /^\s*\./.test(sql.slice(end));
      if (ident === home && after && prevSignificant !== '.') out += quoted;
      else out += sql.slice(i, end);
      i = end;
      prevSignificant = 'x';
      continue;
    }
    if (!/\s/.test(c)) prevSignificant = c;
    out += c;
    i++;
  }
  return out;
}
