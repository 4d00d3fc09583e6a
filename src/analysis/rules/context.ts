import type { Dialect } from '../../config/index.ts';
import type { ProbeResult } from '../../engines/index.ts';
import type { FitResult } from '../data/fit.ts';
import { mentions, type StatementInfo } from '../sql/parse.ts';
import type { Algorithm, Change, Finding, SchemaSnapshot, Severity } from '../types.ts';
import { ruleDoc } from './catalog.ts';

/** Everything a rule family may look at for one migration. Rules are pure functions of this. */
export interface RuleContext {
  /** Which handlers the rules get (rules/dialects.ts); no rule reads it. */
  dialect: Dialect;
  mariadb: boolean;
  migrationId: string;
  before: SchemaSnapshot;
  after: SchemaSnapshot;
  /** before -> after */
  changes: Change[];
  /** after -> before, with renames inverted: what a replica with the old schema sees of rows in the new one. */
  reverseChanges: Change[];
  statements: StatementInfo[];
  probes: ProbeResult[];
  /** Tables this migration created: nothing running uses them yet, so changes to them are never breaking or blocking. */
  createdTables: Set<string>;
  /** What the stored rows say about each narrowed column (analysis/data); absent when nothing was measured. */
  fits?: FitResult[];
  /**
   * The running release's statements when the user gave them (--queries): a data-dependent
   * constraint none of them can violate is a warning instead of breaking. Absent: no workload.
   */
  oldWorkload?: { name: string; statements: readonly OldStatement[] };
}

/** What the constraint rules read of one workload statement (workload/parse.ts WorkloadQuery has these fields). */
export interface OldStatement {
  verb: string;
  /** The statement as prepared (an UPDATE's SET list is read from it). */
  sql: string;
  /** Lower-cased identifiers the statement names. */
  idents: ReadonlySet<string>;
  /** INSERT/REPLACE: target table and the columns it sets (null: all of them). */
  insert?: { table: string; columns: string[] | null };
}

/**
 * What differs per database inside the rules, handed to them by the caller (the Atlas sqlcheck way)
 * so that no rule compares dialects: the server's wording, the lock-free recipe, the blocking family
 * and whether replicas can be altered first. Built by ruleDialectFor() in rules/dialects.ts.
 */
export interface RuleDialect {
  /** The server's error for a query naming a column that does not exist (BC102, BC104). */
  unknownColumnError(column: string): string;
  /** The server's error for a query naming a table or view that does not exist (BC101, BC116, BC203). */
  unknownTableError(table: string): string;
  /** What INSERTs omitting a NOT NULL column without a default get, as BC107 quotes it. */
  missingValueOutcome(column: string): string;
  /** How to make `column` NOT NULL without a long lock, appended to BC107's last step ('' when the plain ALTER is fine). */
  lockFreeNotNull(column: string): string;
  /** Appended to DL103: what a stored value that does not fit the narrower type does to the ALTER. */
  narrowingFailure: string;
  /** BC112: what a write of an ENUM value the change removed gets. */
  removedEnumValueWrite: string;
  /** DL105 / DL107: what rows holding an ENUM value the change removes get, e.g. "lose it ('' without strict mode) or make the ALTER fail". */
  removedEnumValueOutcome: string;
  /**
   * An INSERT that omits a NOT NULL ENUM column without a default stores the column's first value
   * instead of failing: MariaDB 10.11 does it in every sql_mode (strict, TRADITIONAL, none: corpus
   * m32); MySQL fails in strict mode (its default since 5.7); PostgreSQL fails. Decides BC115.
   */
  omittedEnumTakesFirstValue: boolean;
  /** An integer column rounds a decimal written as text instead of refusing it (BC106 for DECIMAL -> INT). */
  integerRoundsDecimalText: boolean;
  /** The blocking family of this database (MY or PG). */
  blockingRules(ctx: RuleContext): Finding[];
  /** The slowest ALTER algorithm of the migration, where the server reports one. */
  algorithm?(ctx: RuleContext): Algorithm | undefined;
  /**
   * The server variable that lets row events convert column types (slave_type_conversions or
   * replica_type_conversions); absent where replicas cannot be altered first, which makes the
   * replica-first family not applicable.
   */
  typeConversionVariable?: string;
}

/** What the verdict (verdict.ts) words or decides per database; built by verdictDialectFor() in rules/dialects.ts. */
export interface VerdictDialect {
  /** Replicas can be altered first, so a blocking migration may run replica-first instead of being refused. */
  replicasAlterFirst: boolean;
  /** Why a blocking migration is refused: the blocking rules, and the replica-first rules that make it unsafe. */
  refusedReason(blockers: string[], unsafe: string[]): string;
}

/** The change of one kind, for rules written per change kind. */
export type ChangeOf<K extends Change['kind']> = Extract<Change, { kind: K }>;

/** What a per-change rule gets besides the change. */
export interface RuleScope {
  ctx: RuleContext;
  db: RuleDialect;
  /** The statement that most likely made the change to `table` (and `column`). */
  st(table?: string, column?: string): string | undefined;
  /** `table.column` of every column this migration added: nothing running writes those yet. */
  addedColumns: Set<string>;
}

export function ruleScope(ctx: RuleContext, db: RuleDialect): RuleScope {
  return {
    ctx,
    db,
    st: (table, column) => statementFor(ctx.statements, table, column),
    addedColumns: new Set(ctx.changes.flatMap((c) => (c.kind === 'column_added' ? [`${c.table}.${c.column.name}`] : []))),
  };
}

/** What the down run on the shadow showed, for the reversibility family. */
export interface ReversalOutcome {
  status: 'missing' | 'failed' | 'ran' | 'skipped';
  error?: string;
  /** Structural differences between the schema before up and the schema after up -> down. */
  remaining: Change[];
  /** What down changed, from the schema after up. */
  downChanges: Change[];
  /** What up changed (to tell data the new code wrote from data that existed before). */
  upChanges: Change[];
  downSql: string[];
}

export interface FindingInput {
  message: string;
  table?: string;
  column?: string;
  statement?: string;
  safeAlternative?: string;
  severity?: Severity;
  direction?: Finding['direction'];
}

export function finding(rule: string, f: FindingInput): Finding {
  const doc = ruleDoc(rule);
  const out: Finding = { rule, severity: f.severity ?? doc.severity, message: f.message };
  if (f.table !== undefined) out.table = f.table;
  if (f.column !== undefined) out.column = f.column;
  if (f.statement !== undefined) out.statement = f.statement;
  out.safeAlternative = f.safeAlternative ?? doc.recipe;
  if (f.direction) out.direction = f.direction;
  return out;
}

/** The statement that most likely caused a change to `table` (and `column`), for the report. */
export function statementFor(statements: StatementInfo[], table: string | undefined, column?: string): string | undefined {
  if (!table) return undefined;
  const ddl = statements.filter((s) => s.kind !== 'dml' && s.kind !== 'session');
  if (column) {
    const both = ddl.find((s) => (s.table === table || s.tables.includes(table) || mentions(s.sql, table)) && mentions(s.sql, column));
    if (both) return both.sql;
  }
  return (
    ddl.find((s) => s.table === table || s.tables.includes(table)) ??
    ddl.find((s) => mentions(s.sql, table)) ??
    // DDL built as a string (SET @s = 'DROP TABLE t'; PREPARE ...; EXECUTE ...): the statement holding that text, else any
    // naming the table, so the finding points at its line rather than at the top of the file.
    statements.find((s) => ddlTextNames(s.sql, table)) ??
    statements.find((s) => mentions(s.sql, table))
  )?.sql;
}

/** Whether `sql` holds DDL text on `table` (ALTER/DROP/CREATE/TRUNCATE TABLE t, RENAME TABLE t, ... ON t). */
function ddlTextNames(sql: string, table: string): boolean {
  const esc = table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `\\b(?:(?:alter|drop|create|truncate|rename)\\s+(?:temporary\\s+)?tables?\\s+(?:if\\s+(?:not\\s+)?exists\\s+)?|index\\s+\\S+\\s+on\\s+)(?:[\\w$]+\\.)?[\`"]?${esc}[\`"]?(?![\\w$])`,
    'i',
  ).test(sql);
}

export function q(name: string): string {
  return `\`${name}\``;
}
