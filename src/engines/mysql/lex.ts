/**
 * The MySQL/MariaDB lexis the statement readers of this folder need: where a quoted string or name
 * ends and where a comment starts, so that a `--`, `#` or `/*` inside '...', "..." or `...` stays
 * text. It follows the server's lexer (and the runner's splitter, src/migrations/sql-split.ts,
 * which the engines layer cannot import): backslash escapes and doubled quotes inside strings,
 * doubled backticks inside names, `--` a comment only when whitespace or the end follows it, and
 * an executable comment (`/*! ... *\/`, `/*M! ... *\/`, with or without a version) is statement
 * text the server runs, so only its markers go.
 */

/** Where something other than plain text may start: a quote or a comment opener. */
const SPECIAL = /['"`#/-]/g;
const EXECUTABLE_OPENER = /\/\*M?!\d*/y;

/** `sql` with its comments taken out (a block comment becomes a space, a line comment ends before its newline). */
export function stripMysqlComments(sql: string): string {
  return scan(sql, (quoted) => quoted);
}

/**
 * `sql` with its comments taken out and the contents of its strings ('...' and "...") emptied, names
 * kept: for reading clauses (ALGORITHM=, LOCK=) that must not be found inside a string.
 */
export function maskMysqlStrings(sql: string): string {
  return scan(sql, (quoted) => (quoted[0] === '`' ? quoted : `${quoted[0]}${quoted[0]}`));
}

/** One pass over `sql`: plain text copied in slices, comments dropped, each quoted run passed through `quoted`. */
function scan(sql: string, quoted: (text: string) => string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    SPECIAL.lastIndex = i;
    const m = SPECIAL.exec(sql);
    const at = m ? m.index : sql.length;
    out += sql.slice(i, at);
    if (at >= sql.length) break;
    const executable = executableBody(sql, at);
    if (executable) {
      out += ` ${scan(executable.body, quoted)} `;
      i = executable.end;
      continue;
    }
    const comment = commentEnd(sql, at);
    if (comment > at) {
      if (sql[at] === '/') out += ' ';
      i = comment;
      continue;
    }
    const next = quotedEnd(sql, at);
    out += next > at + 1 ? quoted(sql.slice(at, next)) : sql[at];
    i = next;
  }
  return out;
}

/** The body of the executable comment opening at `i` and the index just past it, or null. */
function executableBody(sql: string, i: number): { body: string; end: number } | null {
  EXECUTABLE_OPENER.lastIndex = i;
  const m = EXECUTABLE_OPENER.exec(sql);
  if (!m) return null;
  const start = i + m[0].length;
  const close = sql.indexOf('*/', start);
  return close === -1 ? { body: sql.slice(start), end: sql.length } : { body: sql.slice(start, close), end: close + 2 };
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
  // indexOf jumps over the text between quotes and escapes: a multi-megabyte seed string costs no per-character loop.
  for (;;) {
    const close = sql.indexOf(q, k);
    if (close === -1) return sql.length;
    // An escape only matters before the quote found: searching the span alone keeps the scan linear.
    const backslash = q === '`' ? -1 : sql.slice(k, close).indexOf('\\');
    if (backslash !== -1) {
      k = k + backslash + 2;
      continue;
    }
    if (sql[close + 1] !== q) return close + 1;
    k = close + 2;
  }
}
