/** SQL string literal for MySQL/MariaDB: backslashes and quotes escaped (NO_BACKSLASH_ESCAPES off). */
export function mysqlString(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\0/g, '\\0')}'`;
}

/** Identifier for MySQL/MariaDB. */
export function mysqlIdent(v: string): string {
  return `\`${v.replace(/`/g, '``')}\``;
}
