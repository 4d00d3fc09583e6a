import type { FitEngine } from '../../engines/index.ts';
import { num, str } from '../../engines/index.ts';
import { finding } from '../rules/context.ts';
import type { Change, Finding } from '../types.ts';
import type { FitBudget, RowQuery } from './fit.ts';

/**
 * Issue 16 point 2: a new FOREIGN KEY or UNIQUE index on an existing table makes its ALTER fail when
 * the stored rows already violate it. `plan` counts those rows on the target (read-only, bounded like
 * the narrowing checks) so the finding says how many and which, instead of "may fail".
 */
export interface AddedConstraint {
  kind: 'foreign key' | 'unique' | 'not null' | 'check';
  table: string;
  name: string;
  columns: string[];
  parent?: { table: string; columns: string[] };
  /** PostgreSQL partial unique index: only rows matching it are constrained. */
  where?: string;
  /** CHECK: the boolean expression over the table's columns. */
  expression?: string;
}

export type ViolationResult =
  | { measured: true; rows: number; bad: number; groups?: number; examples: string[]; sampled: boolean }
  | { measured: false; reason: string };

const EXAMPLES = 5;

/** The expression alone: PostgreSQL's constraint definition wraps it in CHECK (...). */
function checkBody(expression: string): string {
  const m = /^\s*CHECK\s*\(([\s\S]*)\)(?:\s+NOT VALID)?\s*$/i.exec(expression);
  return m ? m[1]! : expression;
}

/** A predicate over a row `c` of the constrained table that is true when the row violates `k`; undefined for UNIQUE (a property of groups). */
function rowViolates(k: AddedConstraint, q: (name: string) => string): string | undefined {
  const present = k.columns.map((col) => `c.${q(col)} IS NOT NULL`).join(' AND ');
  if (k.kind === 'foreign key' && k.parent) {
    const parent = k.parent;
    const match = k.columns.map((col, i) => `p.${q(parent.columns[i] ?? col)} = c.${q(col)}`).join(' AND ');
    return `${present} AND NOT EXISTS (SELECT 1 FROM ${q(parent.table)} p WHERE ${match})`;
  }
  if (k.kind === 'not null') return `c.${q(k.name)} IS NULL`;
  // A CHECK passes on NULL (unknown): only a false result rejects the row.
  if (k.kind === 'check') return `NOT (${k.expression})`;
  return undefined;
}

export function constraintsOf(changes: Change[]): AddedConstraint[] {
  const out: AddedConstraint[] = [];
  for (const c of changes) {
    if (c.kind === 'foreign_key_added')
      out.push({
        kind: 'foreign key',
        table: c.table,
        name: c.foreignKey.name,
        columns: c.foreignKey.columns,
        parent: { table: c.foreignKey.refTable, columns: c.foreignKey.refColumns },
      });
    else if (c.kind === 'index_added' && c.index.unique)
      out.push({ kind: 'unique', table: c.table, name: c.index.name, columns: c.index.columns, ...(c.index.where ? { where: c.index.where } : {}) });
    else if (c.kind === 'column_nullability_changed' && !c.nullable) out.push({ kind: 'not null', table: c.table, name: c.column, columns: [c.column] });
    // NOT VALID (PostgreSQL) leaves the stored rows unchecked: its ALTER cannot fail on them.
    else if (c.kind === 'check_added' && c.check.validated !== false)
      out.push({ kind: 'check', table: c.table, name: c.check.name, columns: [], expression: checkBody(c.check.expression) });
  }
  return out;
}

/** "table" and "table.column" for every table and column the pending migrations create: not on the target yet. */
export function createdByPending(changes: Change[]): Set<string> {
  const out = new Set<string>();
  for (const c of changes) {
    if (c.kind === 'table_added') out.add(c.table);
    else if (c.kind === 'column_added') out.add(`${c.table}.${c.column.name}`);
  }
  return out;
}

/**
 * Whether `k` names a table or column the pending migrations create: the target has no rows for it to
 * reject (a column added with the constraint gets its values from the same ALTER; MariaDB adds a
 * json_valid() CHECK to a new JSON column), and a query naming it would only fail.
 */
export function onPendingSchema(k: AddedConstraint, created: Set<string>): boolean {
  if (created.has(k.table) || (k.parent && created.has(k.parent.table))) return true;
  if (k.columns.some((c) => created.has(`${k.table}.${c}`))) return true;
  if (k.parent?.columns.some((c) => created.has(`${k.parent?.table}.${c}`))) return true;
  const prefix = `${k.table}.`;
  const words = new Set((k.expression ?? '').match(/[\w$]+/g) ?? []);
  return [...created].some((x) => x.startsWith(prefix) && words.has(x.slice(prefix.length)));
}

/**
 * Counts the rows of the constrained table that violate `k`. A foreign key is checked only on rows whose
 * key columns are all non-NULL (MATCH SIMPLE, both servers); a unique key ignores NULLs likewise.
 */
export async function measureViolations(
  query: RowQuery,
  fit: FitEngine,
  k: AddedConstraint,
  o: { rows: number | null; keyColumns: string[]; budget: FitBudget },
): Promise<ViolationResult> {
  const q = fit.ident;
  const sampled = o.rows !== null && o.rows > o.budget.maxRows;
  const from = sampled ? `(SELECT * FROM ${q(k.table)} LIMIT ${o.budget.maxRows}) c` : `${q(k.table)} c`;
  const present = k.columns.map((col) => `c.${q(col)} IS NOT NULL`).join(' AND ');
  const violates = rowViolates(k, q);
  try {
    if (violates) {
      const [count] = await query(`SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN ${violates} THEN 1 ELSE 0 END), 0) AS bad FROM ${from}`);
      const bad = num(count?.bad) ?? 0;
      let examples: string[] = [];
      if (bad > 0 && o.keyColumns.length) {
        const found = await query(`SELECT ${o.keyColumns.map((x) => `c.${q(x)}`).join(', ')} FROM ${from} WHERE ${violates} LIMIT ${EXAMPLES}`);
        examples = found.map((r) => o.keyColumns.map((x) => str(r[x]) ?? 'NULL').join('/'));
      }
      return { measured: true, rows: num(count?.total) ?? 0, bad, examples, sampled };
    }
    const where = k.where ? `${present} AND (${k.where})` : present;
    const cols = k.columns.map((col) => `c.${q(col)}`).join(', ');
    const [total] = await query(`SELECT COUNT(*) AS total FROM ${from}`);
    const [dup] = await query(
      `SELECT COUNT(*) AS grp, COALESCE(SUM(d.n), 0) AS bad FROM (SELECT ${fit.manyGroups}COUNT(*) AS n FROM ${from} WHERE ${where} GROUP BY ${cols} HAVING COUNT(*) > 1) d`,
    );
    const bad = num(dup?.bad) ?? 0;
    let examples: string[] = [];
    if (bad > 0) {
      const found = await query(`SELECT ${fit.manyGroups}${cols} FROM ${from} WHERE ${where} GROUP BY ${cols} HAVING COUNT(*) > 1 LIMIT ${EXAMPLES}`);
      examples = found.map((r) => k.columns.map((x) => str(r[x]) ?? 'NULL').join('/'));
    }
    return { measured: true, rows: num(total?.total) ?? 0, bad, groups: num(dup?.grp) ?? 0, examples, sampled };
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { measured: false, reason: `the query failed or did not finish within its bound: ${why}` };
  }
}

/** The constraint and, for a row-wise one, its violation in words ("rows of orders <what>") and the fix. */
function describe(k: AddedConstraint): { head: string; what: string; fix: string } {
  const cols = k.columns.join(', ');
  if (k.kind === 'foreign key')
    return {
      head: `New foreign key ${k.name} on ${k.table}(${cols}) -> ${k.parent?.table}`,
      what: `have a ${cols} with no row in ${k.parent?.table}`,
      fix: `Delete or fix those rows, or insert the missing ${k.parent?.table} rows, before adding the key.`,
    };
  if (k.kind === 'not null')
    return {
      head: `${k.table}.${k.name} made NOT NULL`,
      what: `hold NULL in ${k.name}`,
      fix: `Backfill ${k.name} on those rows first (MariaDB/MySQL outside strict mode would store the type's empty value instead of failing).`,
    };
  if (k.kind === 'check')
    return {
      head: `New check ${k.name} (${k.expression}) on ${k.table}`,
      what: 'fail the check',
      fix: 'Fix those rows first (PostgreSQL: add it NOT VALID, fix the rows, then VALIDATE).',
    };
  return {
    head: `New unique index ${k.name} on ${k.table}(${cols})`,
    what: `share a value of (${cols}) with another row`,
    fix: 'Remove or change the duplicates before adding the index.',
  };
}

/** DL108: an error quoting the count and examples when rows violate the new constraint, info when none do, a warning when nothing was measured. */
export function violationFinding(k: AddedConstraint, r: ViolationResult, o: { where: string; keyColumns: string[]; statement?: string }): Finding {
  const at = { table: k.table, ...(k.kind === 'not null' ? { column: k.name } : {}), ...(o.statement ? { statement: o.statement } : {}) };
  const { head, what, fix } = describe(k);
  if (!r.measured)
    return finding('DL108', { severity: 'warning', message: `${head}: not checked on data (${r.reason}); the ALTER fails if stored rows violate it.`, ...at });
  const of = `${r.rows.toLocaleString('en-US')}${r.sampled ? ' sampled' : ''} row${r.rows === 1 ? '' : 's'} of ${k.table}`;
  if (r.bad === 0) return finding('DL108', { severity: 'info', message: `${head}: 0 of ${of} ${what} (${o.where}): no stored row violates it.`, ...at });
  const unique = k.kind === 'unique';
  const more = (unique ? (r.groups ?? 0) : r.bad) > r.examples.length ? ', ...' : '';
  const eg = r.examples.length ? ` (e.g. ${unique ? k.columns.join(', ') : o.keyColumns.join('/')} ${r.examples.join(', ')}${more})` : '';
  const groups = unique ? `, in ${r.groups ?? 0} group${r.groups === 1 ? '' : 's'}` : '';
  return finding('DL108', {
    severity: 'error',
    message: `${head}: ${r.bad.toLocaleString('en-US')} of ${of} ${what}${groups}${eg} (${o.where}): the ALTER fails on them. ${fix}`,
    ...at,
  });
}
