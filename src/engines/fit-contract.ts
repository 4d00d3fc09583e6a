import type { ColumnSnapshot } from './schema.ts';

/**
 * Does each stored value of a column fit the type a narrowing change gives it? The SQL differs per
 * database (string length and charset round trips, integer ranges, decimal rounding, enum values),
 * so each engine writes it; src/analysis/data runs it, on the shadow or, read-only, on a target.
 */
export interface FitEngine {
  /**
   * A boolean SQL expression over `column` (already quoted) that is true for a stored value the new
   * type cannot hold unchanged; undefined when this engine cannot tell for this pair of types.
   */
  misfit(column: string, from: ColumnSnapshot, to: ColumnSnapshot): string | undefined;
  /** Identifier quoting of this engine. */
  ident(name: string): string;
  /** A statement copying a table's rows into a session-private table (invisible to schema snapshots). */
  copySql(copy: string, table: string): string;
  /** Drops such a copy. */
  dropCopySql(copy: string): string;
  /**
   * Statements for a plain, bounded read: `setup` runs first on the same session (PostgreSQL's
   * statement_timeout), then `query` (MariaDB: SET STATEMENT max_statement_time ... FOR).
   */
  bounded(query: string, budgetMs: number): { setup: string[]; query: string; reset: string[] };
}
