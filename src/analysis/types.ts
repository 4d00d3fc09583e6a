import type { Algorithm, CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexSnapshot, TableSnapshot } from '../engines/index.ts';

/**
 * The shapes the analysis engine passes between its stages. Snapshots are plain JSON so they can be
 * cached on disk keyed by content; changes and findings are discriminated unions so rules switch on
 * `kind` and the compiler checks that every case is handled.
 */

// The schema snapshot is what an engine reads from a server, so its types live in src/engines;
// re-exported here for the analysis code that names them through this file.
export type {
  Algorithm,
  CheckSnapshot,
  ColumnSnapshot,
  ForeignKeySnapshot,
  IndexSnapshot,
  SchemaSnapshot,
  TableSnapshot,
  ViewSnapshot,
} from '../engines/index.ts';

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

export type Strategy = 'in-place' | 'replica-first' | 'refused';

/**
 * What the shadow server said when a migration's up or down raised an error: the server's message
 * (first line, secrets masked), the statement it was running (masked) and where that is.
 */
export interface ShadowFailure {
  direction: 'up' | 'down';
  error: string;
  statement?: string;
  /** Absolute path of the file holding the statement (the TS file for a TypeScript migration). */
  file?: string;
  /** 1-based line of the statement in `file` (SQL migrations). */
  line?: number;
}

/**
 * analysed: the verdict's fields are what the shadow run established. failed: its up raised an
 * error on the shadow (see `failure`); the fields hold the worst case and the gate fails.
 * not-analysed: an earlier migration failed, so the schema this one expects never existed.
 */
export type VerdictOutcome = 'analysed' | 'failed' | 'not-analysed';

export interface MigrationVerdict {
  id: string;
  /** Absent means analysed (verdicts built before the outcome existed, hand-made ones in tests). */
  outcome?: VerdictOutcome;
  /** outcome failed: what the server said. */
  failure?: ShadowFailure;
  /** outcome not-analysed: the migration that failed before it. */
  notAnalysedAfter?: string;
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
