import type { Dialect } from '../config/types.ts';

/**
 * The shapes the analysis engine passes between its stages. Snapshots are plain JSON so they can be
 * cached on disk keyed by content; changes and findings are discriminated unions so rules switch on
 * `kind` and the compiler checks that every case is handled.
 */

export interface ColumnSnapshot {
  name: string;
  /** 1-based order in the table: row-based replication maps columns by position, not by name. */
  position: number;
  /** The full type as the server prints it, e.g. "varchar(100)", "int(10) unsigned", "character varying(100)". */
  type: string;
  /** The base type name, lower case: "varchar", "int", "character varying", or the enum type name on PG. */
  dataType: string;
  nullable: boolean;
  /** Default expression as the server stores it; "NULL" for a nullable column without one; null = no default. */
  default: string | null;
  charset?: string | null;
  collation?: string | null;
  /** ENUM/SET values (MySQL) or the values of the column's enum type (PG), in order. */
  enumValues?: string[];
  /** Generation expression of a generated column. */
  generated?: string | null;
  /** AUTO_INCREMENT, serial/identity: the server fills it, so "NOT NULL without default" does not apply. */
  autoFilled?: boolean;
}

export interface IndexSnapshot {
  name: string;
  unique: boolean;
  columns: string[];
  /** PG: predicate of a partial index. */
  where?: string | null;
  /** PG: false for an index left invalid by a failed CREATE INDEX CONCURRENTLY. */
  valid?: boolean;
}

export interface ForeignKeySnapshot {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onUpdate: string;
  onDelete: string;
  /** PG: false while NOT VALID. */
  validated?: boolean;
}

export interface CheckSnapshot {
  name: string;
  expression: string;
  validated?: boolean;
}

export interface TableSnapshot {
  name: string;
  columns: ColumnSnapshot[];
  primaryKey: string[];
  indexes: IndexSnapshot[];
  foreignKeys: ForeignKeySnapshot[];
  checks: CheckSnapshot[];
  /** PG relfilenode: it changes exactly when the table is rewritten, which is the ground truth for "rewrite". */
  storageId?: string;
  engine?: string | null;
  collation?: string | null;
}

export interface ViewSnapshot {
  name: string;
  definition: string;
}

export interface SchemaSnapshot {
  dialect: Dialect;
  tables: Record<string, TableSnapshot>;
  views: Record<string, ViewSnapshot>;
  /** PG enum types and their values in sort order. */
  enumTypes: Record<string, string[]>;
}

/** How a column type change relates the old and the new type. */
export type TypeChangeKind =
  /** every old value fits unchanged (INT -> BIGINT, VARCHAR(50) -> VARCHAR(100)) */
  | 'widening'
  /** same family, some old values do not fit (VARCHAR(100) -> VARCHAR(50), BIGINT -> INT, scale reduced) */
  | 'narrowing'
  /** same family, neither contains the other (signed <-> unsigned of the same size) */
  | 'incompatible'
  /** different families (INT -> VARCHAR, DATETIME -> DATE) */
  | 'family-change'
  /** only attributes that do not affect values changed (display width, collation of the same charset) */
  | 'cosmetic';

export interface EnumChange {
  added: string[];
  removed: string[];
  /** True when every old value keeps its position: only appended at the end. */
  appendedOnly: boolean;
  /** True when an existing value moved (an insert in the middle or a reorder). */
  shifted: boolean;
}

export type Change =
  | { kind: 'table_added'; table: string; after: TableSnapshot }
  | { kind: 'table_dropped'; table: string; before: TableSnapshot }
  | { kind: 'table_renamed'; table: string; from: string }
  | { kind: 'table_rewritten'; table: string }
  | { kind: 'column_added'; table: string; column: ColumnSnapshot; atEnd: boolean }
  | { kind: 'column_dropped'; table: string; column: ColumnSnapshot; wasLast: boolean }
  | { kind: 'column_renamed'; table: string; column: string; from: string }
  | { kind: 'column_moved'; table: string; column: string; fromPosition: number; toPosition: number }
  | { kind: 'column_type_changed'; table: string; column: string; from: ColumnSnapshot; to: ColumnSnapshot; change: TypeChangeKind }
  | { kind: 'column_nullability_changed'; table: string; column: string; nullable: boolean; to: ColumnSnapshot }
  | { kind: 'column_default_changed'; table: string; column: string; from: string | null; to: string | null; after: ColumnSnapshot }
  | { kind: 'column_enum_changed'; table: string; column: string; from: string[]; to: string[]; enumChange: EnumChange }
  | { kind: 'enum_type_added'; enumType: string; values: string[] }
  | { kind: 'enum_type_dropped'; enumType: string; values: string[] }
  | { kind: 'enum_type_changed'; enumType: string; from: string[]; to: string[]; enumChange: EnumChange }
  | { kind: 'index_added'; table: string; index: IndexSnapshot }
  | { kind: 'index_dropped'; table: string; index: IndexSnapshot }
  | { kind: 'primary_key_changed'; table: string; from: string[]; to: string[] }
  | { kind: 'foreign_key_added'; table: string; foreignKey: ForeignKeySnapshot }
  | { kind: 'foreign_key_dropped'; table: string; foreignKey: ForeignKeySnapshot }
  | { kind: 'check_added'; table: string; check: CheckSnapshot }
  | { kind: 'check_dropped'; table: string; check: CheckSnapshot }
  | { kind: 'view_added'; view: string }
  | { kind: 'view_dropped'; view: string }
  | { kind: 'view_changed'; view: string };

export type ChangeKind = Change['kind'];

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  /** Stable code from rules/catalog.ts, e.g. "BC102". */
  rule: string;
  severity: Severity;
  /** Self-contained: a reviewer understands it without the docs. */
  message: string;
  table?: string;
  column?: string;
  /** The statement the finding is about, as captured on the shadow. */
  statement?: string;
  /** The expand/contract recipe that reaches the same end state safely. */
  safeAlternative?: string;
  /** Replica-first findings: which way row events flow (new -> old is the master-master hold period). */
  direction?: 'old-to-new' | 'new-to-old';
  /** Set when the migration (or the command line) acknowledged this rule; kept in the report. */
  acknowledged?: { reason: string };
  /** Workload findings (WL): the application query, where it came from, and the server's answer. */
  query?: { text: string; source: string; error?: string };
}

/** MySQL/MariaDB ALTER algorithm as the server accepted it on the shadow. */
export type Algorithm = 'INSTANT' | 'NOCOPY' | 'INPLACE' | 'COPY' | 'UNKNOWN';

export type Strategy = 'in-place' | 'replica-first' | 'refused';

export interface MigrationVerdict {
  id: string;
  phase: 'pre-deploy' | 'post-deploy';
  /** Whether the phase was declared by the migration or inferred from its changes. */
  phaseSource: 'declared' | 'inferred';
  backwardCompatible: boolean;
  reversible: boolean;
  dataLoss: boolean;
  blocking: boolean;
  replicaFirstSafe: boolean | null;
  /** The master-master hold period: rows from the new schema applied to the old one. */
  replicaFirstReverseSafe: boolean | null;
  strategy: Strategy;
  /** Why the strategy is "refused". */
  refusedReason?: string;
  /** Server settings the executor must apply on the altered replicas for replica-first to be safe. */
  replicaSettings?: Record<string, string>;
  /**
   * Settings that make replica-first safe, whatever the chosen strategy (so a forced
   * `--strategy replica-first` can use them): `forward` on the altered replicas while the primary
   * still has the old schema, `reverse` on the old side during a master-master hold. Absent when
   * replica-first needs no setting or no setting helps.
   */
  replicaFirstSettings?: { forward?: Record<string, string>; reverse?: Record<string, string> };
  /** The slowest algorithm among the migration's ALTERs on pre-existing tables (MySQL/MariaDB). */
  algorithm?: Algorithm;
  findings: Finding[];
  /** The SQL the migration ran on the shadow, in order. */
  sql: string[];
  /** The SQL its down ran, when reversibility was checked. */
  downSql?: string[];
  changes: Change[];
}
