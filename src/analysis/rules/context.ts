import type { Dialect } from '../../config/types.ts';
import type { ProbeResult } from '../probe/mysql.ts';
import { mentions, type StatementInfo } from '../sql/parse.ts';
import type { Change, Finding, SchemaSnapshot, Severity } from '../types.ts';
import { ruleDoc } from './catalog.ts';

/** Everything a rule family may look at for one migration. Rules are pure functions of this. */
export interface RuleContext {
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
  return (ddl.find((s) => s.table === table || s.tables.includes(table)) ?? ddl.find((s) => mentions(s.sql, table)))?.sql;
}

export function q(name: string): string {
  return `\`${name}\``;
}
