/**
 * What the analysis needs to know about one migration statement, whichever database parsed it.
 * The schema diff is the truth about what changed; this only answers what a diff cannot: which
 * tables to re-snapshot, what was renamed (a drop + add looks the same as a rename), and how a
 * statement was written (CONCURRENTLY, NOT VALID, ALGORITHM=...), which decides locking.
 * PostgreSQL fills it from the server's own parse tree (engines/postgres/statements.ts), MySQL
 * and MariaDB from node-sql-parser's tree, with a regex classifier for what its grammar refuses
 * (engines/mysql/statements.ts, classify.ts).
 */
export type StatementKind =
  | 'create_table'
  | 'drop_table'
  | 'alter_table'
  | 'rename_table'
  | 'create_index'
  | 'drop_index'
  | 'create_view'
  | 'drop_view'
  | 'create_type'
  | 'alter_type'
  | 'drop_type'
  | 'dml'
  | 'session'
  | 'other';

export type AlterAction =
  | { op: 'add_column'; column: string; definition: string }
  | { op: 'drop_column'; column: string }
  | { op: 'rename_column'; from: string; to: string }
  /** MySQL CHANGE old new def / MODIFY col def (from === to). */
  | { op: 'change_column'; from: string; to: string; definition: string }
  | { op: 'alter_column_type'; column: string; definition: string }
  | { op: 'set_not_null'; column: string }
  | { op: 'drop_not_null'; column: string }
  | { op: 'set_default'; column: string; expression: string }
  | { op: 'drop_default'; column: string }
  | { op: 'add_constraint'; constraint: 'foreign' | 'check' | 'unique' | 'primary' | 'exclude' | 'other'; notValid: boolean; usingIndex: boolean; text: string }
  | { op: 'add_index'; unique: boolean; text: string }
  | { op: 'drop_index'; name: string }
  | { op: 'drop_constraint'; name: string }
  | { op: 'validate_constraint'; name: string }
  | { op: 'rename_table'; to: string }
  | { op: 'algorithm'; value: string }
  | { op: 'lock'; value: string }
  | { op: 'other'; text: string };

export interface StatementInfo {
  sql: string;
  kind: StatementKind;
  /** The main table (ALTER/CREATE/DROP/INDEX target). */
  table?: string;
  /** Every table whose definition this statement may change. */
  tables: string[];
  /** Indexes dropped by name only (PG DROP INDEX): the table is found from the previous snapshot. */
  droppedIndexes: string[];
  /** True when we cannot tell what it changes: the caller re-snapshots everything. */
  opaque: boolean;
  tableRenames: { from: string; to: string }[];
  columnRenames: { table: string; from: string; to: string }[];
  actions: AlterAction[];
  concurrently: boolean;
  unique: boolean;
  /** DML without a WHERE clause (a whole-table backfill or purge). */
  wholeTable: boolean;
  /**
   * MySQL/MariaDB: the DML's table is qualified with a database name (`other_db.orders`). The
   * snapshots cover the migration's own database only, so `table` (unqualified) may name another
   * table than this one: rules about that table's rows leave such a statement alone.
   */
  otherDatabase?: boolean;
  /** PG: enum type name for CREATE/ALTER/DROP TYPE. */
  typeName?: string;
  /** PG: the setting a `SET [LOCAL|SESSION] name = value` gives a value (lower case), e.g. lock_timeout. */
  setting?: string;
}

/** A statement nothing is known of yet: kind 'other', no tables. */
export function blankStatement(sql: string): StatementInfo {
  return {
    sql: sql.trim(),
    kind: 'other',
    tables: [],
    droppedIndexes: [],
    opaque: false,
    tableRenames: [],
    columnRenames: [],
    actions: [],
    concurrently: false,
    unique: false,
    wholeTable: false,
  };
}

/**
 * An engine that describes statements with the database's own parser. Loading it costs start-up
 * time (PostgreSQL's parser is a WebAssembly module), so it is loaded only when an analysis of
 * that dialect starts: `load()` first, then `describe` is synchronous.
 */
export interface StatementParser {
  load(): Promise<void>;
  /** Throws when load() has not finished: a caller that forgot it, not a user error. */
  describe(sql: string): StatementInfo;
}

/**
 * Adds one ALTER TABLE action of `table` to `info`, with what it implies for the names the
 * statement touches: a column or table rename, and the table a new foreign key references.
 */
export function addAlterAction(info: StatementInfo, table: string, action: AlterAction, referenced?: string): void {
  info.actions.push(action);
  if (action.op === 'rename_column') info.columnRenames.push({ table, from: action.from, to: action.to });
  if (action.op === 'change_column' && action.from !== action.to) info.columnRenames.push({ table, from: action.from, to: action.to });
  if (action.op === 'rename_table') {
    info.tableRenames.push({ from: table, to: action.to });
    info.tables.push(action.to);
  }
  if (action.op === 'add_constraint' && action.constraint === 'foreign' && referenced) info.tables.push(referenced);
}
