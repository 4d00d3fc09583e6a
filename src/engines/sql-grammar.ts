import type { Effect } from './migrations-contract.ts';

/**
 * The server's own reading of migration SQL where an engine has it (PostgreSQL: libpg_query, its
 * grammar compiled to WebAssembly): where statements end and which ones are transaction control.
 * The runner and the shadow use it instead of hand-written scanners (issue 15, point 4); an engine
 * without one (MySQL/MariaDB) keeps the scanner of migrations/sql-split.ts.
 */

/**
 * A statement that opens or ends a transaction block: BEGIN/START, COMMIT/END, ROLLBACK/ABORT (not
 * savepoints, not two-phase commit). `chain`: COMMIT/ROLLBACK AND CHAIN, which opens the next block
 * at once.
 */
export interface TransactionControl {
  kind: 'begin' | 'commit' | 'rollback';
  chain: boolean;
}

export interface SqlGrammar {
  /** Loads the grammar (costly: done on the first call only, and only for a run of this engine). */
  load(): Promise<void>;
  /**
   * Where each statement of `sql` ends as the server's grammar splits it: the character offset of
   * its terminating semicolon, or sql.length for a last statement without one. Undefined when the
   * grammar refuses the text (a syntax error: the caller splits it another way and lets the server
   * report the error). Throws when load() has not finished: a caller that forgot it.
   */
  statementEnds(sql: string): number[] | undefined;
  /** The transaction control `sql` (one statement) is, undefined for any other statement or text the grammar refuses. Throws when load() has not finished. */
  transactionControl(sql: string): TransactionControl | undefined;
  /**
   * What one statement leaves behind that the server can be asked about (migrations/effect.ts):
   * `effects` undefined when it has nothing checkable; undefined when the grammar refuses the text.
   * Throws when load() has not finished.
   */
  effects(sql: string): { effects: Effect[] | undefined } | undefined;
}
