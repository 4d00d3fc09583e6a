/**
 * One line of a statement for an error message, so the reader sees which one without opening
 * the file. String literals of statements that set passwords are masked: messages end up in CI logs.
 */
export function statementExcerpt(sql: string, max = 80): string {
  let s = sql.replace(/\s+/g, ' ').trim();
  if (/\b(IDENTIFIED|PASSWORD)\b/i.test(s)) s = s.replace(/'(?:[^'\\]|\\.|'')*'/g, "'***'");
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
