/**
 * Splits a string holding several SQL statements. Knex raw() calls in TS migrations may send a
 * multi-statement string, and each statement must be probed and captured on its own.
 * Handles quotes, comments and PG dollar quoting; not a full parser, but never splits inside a literal.
 */
export function splitStatements(sql: string, dialect: 'mysql' | 'postgres' = 'mysql'): string[] {
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
    if (c === '#' && dialect === 'mysql') {
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
    if (c === "'" || c === '"' || (c === '`' && dialect === 'mysql')) {
      let j = i + 1;
      while (j < n) {
        // Backslash escapes exist in MySQL strings; PG standard strings treat it literally.
        if (sql[j] === '\\' && c !== '`' && dialect === 'mysql') {
          j += 2;
          continue;
        }
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      cur += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '$' && dialect === 'postgres') {
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
export function stripComments(sql: string, dialect: 'mysql' | 'postgres' = 'mysql'): string {
  const out = sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|\s)--[^\n]*/g, '$1');
  return dialect === 'mysql' ? out.replace(/(^|\s)#[^\n]*/g, '$1') : out;
}
