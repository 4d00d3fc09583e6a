import type { ColumnSnapshot } from './schema.ts';

/**
 * Does each stored value of a column fit the type a narrowing change gives it? The SQL differs per
 * database (string length and charset round trips, integer ranges, decimal rounding, enum values),
 * so each engine writes it; src/analysis/data runs it, on the shadow or, read-only, on a target.
 */
export interface Misfit {
  sql: string;
  what: string;
}

export interface FitEngine {
  /**
   * `sql`: a boolean SQL expression over `column` (already quoted) that is true for a stored value
   * the new type cannot hold unchanged; `what`: those values in words, as in "rows <what>" ("exceed
   * 30 characters"). Undefined when this engine cannot tell for this pair of types.
   */
  misfit(column: string, from: ColumnSnapshot, to: ColumnSnapshot): Misfit | undefined;
  /** Identifier quoting of this engine. */
  ident(name: string): string;
  /**
   * A statement copying a table's rows into a session-private table (invisible to schema snapshots).
   * `columns` (the table's, before the change) let an engine copy a value of a type the migration may
   * drop as a value of a built-in type, so the copy does not keep that type alive.
   */
  copySql(copy: string, table: string, columns?: ColumnSnapshot[]): string;
  /** The primary key columns of a table of the connection's schema, in key order, as rows of `k`. */
  primaryKeySql(table: string): string;
  /** Drops such a copy. */
  dropCopySql(copy: string): string;
  /**
   * A plain read bounded in time, run inside a transaction of its own: `setup` first (PostgreSQL:
   * READ ONLY, statement_timeout and lock_timeout for this transaction), then `query` (MariaDB:
   * SET STATEMENT max_statement_time, lock_wait_timeout FOR; MySQL: a MAX_EXECUTION_TIME hint).
   */
  bounded(query: string, budgetMs: number, server: { mariadb: boolean }): { setup: string[]; query: string };
  /**
   * Written after SELECT in a GROUP BY with about one group per row (the duplicate count of a new
   * UNIQUE key): MariaDB/MySQL group in a temporary table that spills to disk past tmp_table_size
   * (5 s on 200,000 rows, past the bound); SQL_BIG_RESULT makes them sort instead (0.5 s).
   */
  manyGroups: string;
}
