import type { FitEngine } from '../../engines/index.ts';
import { num } from '../../engines/index.ts';
import type { SchemaSnapshot } from '../types.ts';
import { type FitBudget, type FitResult, measureFit, type Narrowing, type RowQuery } from './fit.ts';

/** The shadow holds the history's own inserts; beyond this many rows a table is not copied. */
const MAX_COPY_ROWS = 100_000;

/** How many rows a table holds on the shadow, up to MAX_COPY_ROWS + 1 (a bounded read). */
export type RowCount = (table: string) => Promise<number>;

/**
 * The rows of each table on the shadow, read at most once per statement of an up: the copy taken
 * before an ALTER and the constraint-violation counts (shadow-violations.ts) both need them, and
 * an empty table (most tables of a history, which inserts few rows) needs nothing more. Call
 * `reset()` before each statement: the previous one may have inserted or deleted rows.
 */
export class StatementRowCounts {
  private readonly memo = new Map<string, Promise<number>>();

  constructor(
    private readonly fit: FitEngine,
    private readonly query: RowQuery,
  ) {}

  reset(): void {
    this.memo.clear();
  }

  readonly count: RowCount = (table) => {
    let n = this.memo.get(table);
    if (!n) {
      n = this.query(`SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM ${this.fit.ident(table)} LIMIT ${MAX_COPY_ROWS + 1}) fit_rows`).then(
        ([r]) => num(r?.n) ?? 0,
      );
      this.memo.set(table, n);
    }
    return n;
  };
}

/**
 * On the shadow, the rows a narrowing ALTER converts are gone (truncated, rounded) once it ran, and
 * which columns it narrows is known only from the diff after it. So before each ALTER TABLE of an
 * analysed up, the table's rows are copied into a session-private temporary table (not in any
 * schema snapshot); after the up the fit of each narrowed column is counted on that copy.
 */
export class ShadowFitCopies {
  private readonly copies = new Map<string, { name: string; rows: number } | { skipped: string }>();
  private counter = 0;

  constructor(
    private readonly fit: FitEngine,
    private readonly before: SchemaSnapshot,
    private readonly query: RowQuery,
    private readonly run: (sql: string) => Promise<void>,
    private readonly rowCount: RowCount,
  ) {}

  /** Called before each statement of the up runs on the shadow; false when a query of its own failed. */
  async beforeStatement(sql: string, table: string | undefined): Promise<boolean> {
    if (!table || !/^\s*alter\s+(?:online\s+|ignore\s+)*table\b/i.test(sql) || this.copies.has(table) || !this.before.tables[table]) return true;
    try {
      const rows = await this.rowCount(table);
      if (rows > MAX_COPY_ROWS) {
        this.copies.set(table, { skipped: `${table} holds more than ${MAX_COPY_ROWS.toLocaleString('en-US')} rows on the shadow (not copied)` });
        return true;
      }
      if (rows === 0) {
        this.copies.set(table, { name: '', rows: 0 });
        return true;
      }
      const name = `migrate_fit_${++this.counter}`;
      await this.run(this.fit.copySql(name, table, this.before.tables[table]?.columns));
      this.copies.set(table, { name, rows });
      return true;
    } catch (e) {
      this.copies.set(table, { skipped: `its rows could not be copied before the change (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` });
      return false;
    }
  }

  /** Counts, per narrowing, the copied rows whose value does not fit the new type. */
  async measure(narrowings: Narrowing[], budget: FitBudget): Promise<FitResult[]> {
    const out: FitResult[] = [];
    for (const n of narrowings) {
      const c = this.copies.get(n.table);
      if (!c)
        out.push({
          table: n.table,
          column: n.column,
          measured: false,
          reason: `the change did not come from an ALTER TABLE the shadow could copy ${n.table} before`,
        });
      else if ('skipped' in c) out.push({ table: n.table, column: n.column, measured: false, reason: c.skipped });
      else if (c.rows === 0)
        out.push({
          table: n.table,
          column: n.column,
          measured: false,
          reason: `the shadow holds no rows of ${n.table} before the change (the history inserts none)`,
        });
      else
        out.push(
          await measureFit(this.query, this.fit, n, {
            source: c.name,
            keyColumns: this.before.tables[n.table]?.primaryKey ?? [],
            rows: c.rows,
            where: "checked on the shadow's rows before the change",
            budget,
          }),
        );
    }
    return out;
  }

  /** Drops the copies (they would also go with the session). */
  async drop(): Promise<void> {
    for (const c of this.copies.values()) if ('name' in c && c.name) await this.run(this.fit.dropCopySql(c.name)).catch(() => undefined);
    this.copies.clear();
  }
}
