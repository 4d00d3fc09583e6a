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
  kind: 'foreign key' | 'unique';
  table: string;
  name: string;
  columns: string[];
  parent?: { table: string; columns: string[] };
  /** PostgreSQL partial unique index: only rows matching it are constrained. */
  where?: string;
}

export type ViolationResult =
  | { measured: true; rows: number; bad: number; groups?: number; examples: string[]; sampled: boolean }
  | { measured: false; reason: string };

const EXAMPLES = 5;

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
  }
  return out;
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
  try {
    if (k.kind === 'foreign key' && k.parent) {
      const parent = k.parent;
      const match = k.columns.map((col, i) => `p.${q(parent.columns[i] ?? col)} = c.${q(col)}`).join(' AND ');
      const orphan = `${present} AND NOT EXISTS (SELECT 1 FROM ${q(parent.table)} p WHERE ${match})`;
      const [count] = await query(`SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN ${orphan} THEN 1 ELSE 0 END), 0) AS bad FROM ${from}`);
      const bad = num(count?.bad) ?? 0;
      let examples: string[] = [];
      if (bad > 0 && o.keyColumns.length) {
        const found = await query(`SELECT ${o.keyColumns.map((x) => `c.${q(x)}`).join(', ')} FROM ${from} WHERE ${orphan} LIMIT ${EXAMPLES}`);
        examples = found.map((r) => o.keyColumns.map((x) => str(r[x]) ?? 'NULL').join('/'));
      }
      return { measured: true, rows: num(count?.total) ?? 0, bad, examples, sampled };
    }
    const where = k.where ? `${present} AND (${k.where})` : present;
    const cols = k.columns.map((col) => `c.${q(col)}`).join(', ');
    const [total] = await query(`SELECT COUNT(*) AS total FROM ${from}`);
    const [dup] = await query(
      `SELECT COUNT(*) AS grp, COALESCE(SUM(d.n), 0) AS bad FROM (SELECT COUNT(*) AS n FROM ${from} WHERE ${where} GROUP BY ${cols} HAVING COUNT(*) > 1) d`,
    );
    const bad = num(dup?.bad) ?? 0;
    let examples: string[] = [];
    if (bad > 0) {
      const found = await query(`SELECT ${cols} FROM ${from} WHERE ${where} GROUP BY ${cols} HAVING COUNT(*) > 1 LIMIT ${EXAMPLES}`);
      examples = found.map((r) => k.columns.map((x) => str(r[x]) ?? 'NULL').join('/'));
    }
    return { measured: true, rows: num(total?.total) ?? 0, bad, groups: num(dup?.grp) ?? 0, examples, sampled };
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { measured: false, reason: `the query did not finish within its bound (${why})` };
  }
}

/** DL108: an error quoting the count and examples when rows violate the new constraint, info when none do, a warning when nothing was measured. */
export function violationFinding(k: AddedConstraint, r: ViolationResult, o: { where: string; keyColumns: string[]; statement?: string }): Finding {
  const at = { table: k.table, ...(o.statement ? { statement: o.statement } : {}) };
  const cols = k.columns.join(', ');
  const head =
    k.kind === 'foreign key' ? `New foreign key ${k.name} on ${k.table}(${cols}) -> ${k.parent?.table}` : `New unique index ${k.name} on ${k.table}(${cols})`;
  if (!r.measured)
    return finding('DL108', { severity: 'warning', message: `${head}: not checked on data (${r.reason}); the ALTER fails if stored rows violate it.`, ...at });
  const of = `${r.rows.toLocaleString('en-US')}${r.sampled ? ' sampled' : ''} row${r.rows === 1 ? '' : 's'} of ${k.table}`;
  const more = r.bad > r.examples.length ? ', ...' : '';
  if (k.kind === 'foreign key') {
    const what = `have a ${cols} with no row in ${k.parent?.table}`;
    if (r.bad === 0) return finding('DL108', { severity: 'info', message: `${head}: 0 of ${of} ${what} (${o.where}): every row has its parent.`, ...at });
    const eg = r.examples.length ? ` (e.g. ${o.keyColumns.join('/')} ${r.examples.join(', ')}${more})` : '';
    return finding('DL108', {
      severity: 'error',
      message: `${head}: ${r.bad.toLocaleString('en-US')} of ${of} ${what}${eg} (${o.where}): the ALTER fails on them. Delete or fix those rows, or insert the missing ${k.parent?.table} rows, before adding the key.`,
      ...at,
    });
  }
  const what = `share a value of (${cols}) with another row`;
  if (r.bad === 0) return finding('DL108', { severity: 'info', message: `${head}: 0 of ${of} ${what} (${o.where}): no duplicates.`, ...at });
  const eg = r.examples.length ? ` (e.g. ${cols} ${r.examples.join(', ')}${(r.groups ?? 0) > r.examples.length ? ', ...' : ''})` : '';
  return finding('DL108', {
    severity: 'error',
    message: `${head}: ${r.bad.toLocaleString('en-US')} of ${of} ${what}, in ${r.groups ?? 0} group${r.groups === 1 ? '' : 's'}${eg} (${o.where}): the ALTER fails on them. Remove or change the duplicates before adding the index.`,
    ...at,
  });
}
