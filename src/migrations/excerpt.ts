import { maskSubstitutedValues } from './layouts/envsub.ts';

/**
 * One line of a statement for an error message, so the reader sees which one without opening
 * the file. String literals of statements that set passwords are masked: messages end up in CI logs.
 */
export function statementExcerpt(sql: string, max = 80): string {
  const s = maskSecretLiterals(sql.replace(/\s+/g, ' ').trim());
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/**
 * The statement with every string literal masked when it sets a password (CREATE/ALTER USER ...
 * IDENTIFIED BY '...', SET PASSWORD, ... PASSWORD '...'): what machine-readable output (check
 * --format json) may print of it; the literal is never needed there to tell statements apart.
 */
export function maskSecretLiterals(sql: string): string {
  // A value goose ENVSUB put into the statement is shown as the reference the file holds.
  const s = maskSubstitutedValues(sql);
  return /\b(IDENTIFIED|PASSWORD)\b/i.test(s) ? s.replace(/'(?:[^'\\]|\\.|'')*'/g, "'***'") : s;
}
