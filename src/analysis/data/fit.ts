import type { ColumnSnapshot, FitEngine, Row } from '../../engines/index.ts';
import { num, str } from '../../engines/index.ts';
import type { Change } from '../types.ts';

/**
 * Data-aware verdicts (issue 16): a narrowing change (BIGINT -> INT, VARCHAR(100) -> VARCHAR(50),
 * to latin1, an ENUM value removed, a DECIMAL scale cut) loses data only when a stored value does
 * not fit. These helpers count the values that do not, with the engine's SQL, on rows as they are
 * before the change: the shadow's (copied before its ALTER ran) or a target's (read-only).
 */

/** One column whose type a change narrows. */
export interface Narrowing {
  table: string;
  column: string;
  from: ColumnSnapshot;
  to: ColumnSnapshot;
}

/** What was measured for one narrowing, or why nothing was. */
export type FitResult =
  | {
      table: string;
      column: string;
      measured: true;
      /** Rows read; equals the table's rows unless `sampled`. */
      rows: number;
      misfits: number;
      /** Key values of some rows that do not fit (at most EXAMPLES). */
      examples: string[];
      keyColumns: string[];
      sampled: boolean;
      /** The misfit in words: "exceed 30 characters". */
      what: string;
      /** Where and when: "the shadow's rows before the change" or "<target> at <time>". */
      where: string;
    }
  | { table: string; column: string; measured: false; reason: string };

export interface FitBudget {
  /** The server-side bound of each query. */
  statementMs: number;
  /** Tables with more rows than this are read through a sample of this many rows. */
  maxRows: number;
}

export const DEFAULT_FIT_BUDGET: FitBudget = { statementMs: 2000, maxRows: 1_000_000 };
const EXAMPLES = 5;

/** Runs a read-only query and returns its rows; the caller decides on which session. */
export type RowQuery = (sql: string) => Promise<Row[]>;

/** The narrowings among a migration's changes that the data can decide (type kept in its family, or enum values removed). */
export function narrowingsOf(changes: Change[], fit: FitEngine): Narrowing[] {
  const out: Narrowing[] = [];
  for (const c of changes) {
    if (c.kind === 'column_type_changed' && c.change !== 'family-change') out.push({ table: c.table, column: c.column, from: c.from, to: c.to });
    else if (c.kind === 'column_enum_changed' && c.enumChange.removed.length) {
      // The enum's values are all the check needs; the type text names the family.
      const col = (values: string[]): ColumnSnapshot => ({
        name: c.column,
        position: 0,
        type: `enum(${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')})`,
        dataType: 'enum',
        nullable: true,
        default: null,
        enumValues: values,
      });
      out.push({ table: c.table, column: c.column, from: col(c.from), to: col(c.to) });
    }
  }
  return out.filter((n) => fit.misfit(fit.ident(n.column), n.from, n.to) !== undefined);
}

export function fitKey(table: string, column: string): string {
  return `${table}\u0000${column}`;
}

/**
 * Counts the rows of `source` (the table itself on a target, its copy on the shadow) whose value of
 * the narrowed column does not fit. Plain SELECTs, each bounded by the budget; above `maxRows`
 * the first `maxRows` rows are read and the result says it was a sample.
 */
export async function measureFit(
  query: RowQuery,
  fit: FitEngine,
  n: Narrowing,
  o: { source: string; keyColumns: string[]; rows: number | null; where: string; budget: FitBudget },
): Promise<FitResult> {
  const col = fit.ident(n.column);
  const pred = fit.misfit(col, n.from, n.to);
  if (!pred) return { table: n.table, column: n.column, measured: false, reason: 'no check of this type pair' };
  const { sql: misfit, what } = pred;
  const sampled = o.rows !== null && o.rows > o.budget.maxRows;
  const from = sampled ? `(SELECT * FROM ${fit.ident(o.source)} LIMIT ${o.budget.maxRows}) fit_sample` : fit.ident(o.source);
  try {
    const [count] = await query(`SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN ${misfit} THEN 1 ELSE 0 END), 0) AS bad FROM ${from}`);
    const rows = num(count?.total) ?? 0;
    const misfits = num(count?.bad) ?? 0;
    let examples: string[] = [];
    if (misfits > 0 && o.keyColumns.length) {
      const keys = o.keyColumns.map((k) => fit.ident(k)).join(', ');
      const found = await query(`SELECT ${keys} FROM ${from} WHERE ${misfit} LIMIT ${EXAMPLES}`);
      examples = found.map((r) => o.keyColumns.map((k) => str(r[k]) ?? 'NULL').join('/'));
    }
    return { table: n.table, column: n.column, measured: true, rows, misfits, examples, keyColumns: o.keyColumns, sampled, what, where: o.where };
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { table: n.table, column: n.column, measured: false, reason: `the query did not finish within its bound (${why})` };
  }
}

/** "0 of 1,200 rows exceed 50 characters", "37 of 1,200 rows exceed 50 characters (e.g. id 17, 204, ...)" */
export function describeFit(r: Extract<FitResult, { measured: true }>): string {
  const of = `${r.misfits.toLocaleString('en-US')} of ${r.rows.toLocaleString('en-US')}${r.sampled ? ' sampled' : ''} row${r.rows === 1 ? '' : 's'} ${r.what}`;
  const eg = r.examples.length ? ` (e.g. ${r.keyColumns.join('/')} ${r.examples.join(', ')}${r.misfits > r.examples.length ? ', ...' : ''})` : '';
  return `${of}${eg}`;
}
