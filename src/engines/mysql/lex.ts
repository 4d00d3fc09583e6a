/**
 * The MySQL/MariaDB lexis the statement readers of this folder need: where a quoted string or name
 * ends and where a comment starts, so that a `--`, `#` or `/*` inside '...', "..." or `...` stays
 * text. It follows the server's lexer (and the runner's splitter, src/migrations/sql-split.ts,
 * which the engines layer cannot import): backslash escapes and doubled quotes inside strings,
 * doubled backticks inside names, `--` a comment only when whitespace or the end follows it.
 */

/** `sql` with its comments taken out (a block comment becomes a space, a line comment ends before its newline). */
export function stripMysqlComments(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const comment = commentEnd(sql, i);
    if (comment > i) {
      if (sql[i] === '/') out += ' ';
      i = comment;
      continue;
    }
    const next = quotedEnd(sql, i);
    out += sql.slice(i, next);
    i = next;
  }
  return out;
}

/** Index just past the comment starting at `i`, or `i` when none starts there. */
function commentEnd(sql: string, i: number): number {
  const c = sql[i];
  if (c === '#' || (c === '-' && sql[i + 1] === '-' && (i + 2 >= sql.length || /\s/.test(sql[i + 2]!)))) {
    const nl = sql.indexOf('\n', i);
    return nl === -1 ? sql.length : nl;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end === -1 ? sql.length : end + 2;
  }
  return i;
}

/** Index just past the quoted string or name opening at `i` (unclosed: the end), or i + 1 when no quote opens there. */
function quotedEnd(sql: string, i: number): number {
  const q = sql[i];
  if (q !== "'" && q !== '"' && q !== '`') return i + 1;
  let k = i + 1;
  while (k < sql.length) {
    if (sql[k] === '\\' && q !== '`') k += 2;
    else if (sql[k] === q && sql[k + 1] === q) k += 2;
    else if (sql[k] === q) return k + 1;
    else k++;
  }
  return sql.length;
}
