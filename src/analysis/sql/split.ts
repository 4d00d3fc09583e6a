import { engineFor, type Dialect } from '../../engines/index.ts';
/**
 * Splits a string holding several SQL statements. Knex raw() calls in TS migrations may send a
 * multi-statement string, and each statement must be probed and captured on its own.
 * Handles quotes, comments and PG dollar quoting; not a full parser, but never splits inside a literal.
 */
export function splitStatements(sql: string, dialect: Dialect = 'mysql'): string[] {
  const syntax = engineFor(dialect).syntax;
  const out: string[] = [];
  let cur = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      cur += sql.slice(i, stop);
      i = stop;
      continue;
    }
    // "#" starts a comment only in MySQL; in PG it is an operator.
    if (c === '#' && syntax.hashComments) {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      cur += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      cur += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === "'" || c === '"' || (c === '`' && syntax.backtickIdentifiers)) {
      // Backslash escapes exist in MySQL strings; PG standard strings treat it literally.
      const j = closingQuote(sql, i, c !== '`' && syntax.backslashEscapes);
      cur += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '$' && syntax.dollarQuotes) {
      const m = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (m) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        const stop = end === -1 ? n : end + tag.length;
        cur += sql.slice(i, stop);
        i = stop;
        continue;
      }
    }
    if (c === ';') {
      if (stripComments(cur, dialect).trim()) out.push(cur.trim());
      cur = '';
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  if (stripComments(cur, dialect).trim()) out.push(cur.trim());
  return out;
}

/** Removes comments outside literals (a rough pass, enough to decide emptiness and to classify). */
export function stripComments(sql: string, dialect: Dialect = 'mysql'): string {
  const out = sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|\s)--[^\n]*/g, '$1');
  return engineFor(dialect).syntax.hashComments ? out.replace(/(^|\s)#[^\n]*/g, '$1') : out;
}

/**
 * The index of the quote that closes the literal or quoted name opening at `start` (a doubled
 * quote stays inside; with `backslash`, so does an escaped character), or the last index when it
 * never closes.
 */
export function closingQuote(sql: string, start: number, backslash: boolean): number {
  const q = sql[start];
  let j = start + 1;
  while (j < sql.length) {
    if (backslash && sql[j] === '\\') {
      j += 2;
      continue;
    }
    if (sql[j] === q) {
      if (sql[j + 1] === q) {
        j += 2;
        continue;
      }
      return j;
    }
    j++;
  }
  return j;
}
