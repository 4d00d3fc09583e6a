import type { Knex } from 'knex';
import type { Dialect } from '../../config/index.ts';
import { engineFor, str } from '../../engines/index.ts';
import { factsOf } from '../rules/catalog.ts';
import { narrowingDecision } from '../rules/data-loss.ts';
import { ruleDialectFor } from '../rules/dialects.ts';
import type { Finding, MigrationVerdict } from '../types.ts';
import { DEFAULT_FIT_BUDGET, type FitBudget, type FitResult, measureFit, type Narrowing, narrowingsOf, type RowQuery } from './fit.ts';
import { constraintsOf, createdByPending, measureViolations, onPendingSchema, violationFinding } from './violations.ts';

const DECIDED_ON_DATA = new Set(['DL103', 'DL105', 'DL107']);

export interface TargetFitOptions {
  /** How the target is named in findings, e.g. "app@db1:3306/app". */
  target: string;
  /** The target's version string (MariaDB or MySQL decides the time bound's syntax); read from the target when absent. */
  version?: string;
  budget?: FitBudget;
  /**
   * apply's gate analyses the applied history too (no baseline): only these migrations are
   * pending, so only they are measured, and a table an applied one created is on the target.
   */
  pending?: ReadonlySet<string>;
}

/**
 * `plan`: decides each pending narrowing on the target's rows instead of the shadow's (which holds
 * the schema only). Every query is a plain SELECT in a transaction of its own, bounded by the
 * server (statement and lock-wait time), so it never holds a lock a writer waits for; a table
 * above the budget's rows is sampled, and a query over its time leaves the type-based warning.
 */
export async function decideOnTarget(db: Knex, dialect: Dialect, verdicts: MigrationVerdict[], o: TargetFitOptions): Promise<void> {
  const engine = engineFor(dialect);
  // MariaDB and MySQL bound a statement differently: without the version, ask the server.
  const server = engine.serverKind(o.version ?? (await engine.targetVersionForShadow(db)) ?? '');
  const budget = o.budget ?? DEFAULT_FIT_BUDGET;
  const query: RowQuery = (sql) =>
    db.transaction(async (trx) => {
      const b = engine.fit.bounded(sql, budget.statementMs, server);
      for (const s of b.setup) await trx.raw(s);
      // knex reads `?` as a binding; the SQL carries its literals inline.
      return engine.rows<Record<string, unknown>>(await trx.raw(b.query.replace(/\?/g, '\\?')));
    });
  const pending = verdicts.filter((v) => (v.outcome ?? 'analysed') === 'analysed' && (!o.pending || o.pending.has(v.id)));
  const narrowings = pending.flatMap((v) => narrowingsOf(v.changes, engine.fit).map((n) => ({ v, n })));
  const created = createdByPending(pending.flatMap((v) => v.changes));
  const constraints = pending.flatMap((v) => constraintsOf(v.changes).map((k) => ({ v, k }))).filter(({ k }) => !onPendingSchema(k, created));
  if (!narrowings.length && !constraints.length) return;
  const sizes = await engine.tableSizes(db, [...new Set([...narrowings.map((x) => x.n.table), ...constraints.map((x) => x.k.table)])]);
  const keyCache = new Map<string, string[]>();
  const keys = async (table: string): Promise<string[]> => {
    if (!keyCache.has(table))
      keyCache.set(
        table,
        (await query(engine.fit.primaryKeySql(table)).catch(() => [])).map((r) => str(r['k']) ?? ''),
      );
    return keyCache.get(table) ?? [];
  };
  const where = (): string => `checked on ${o.target} at ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`;
  for (const { v, k } of constraints) {
    const size = sizes.get(k.table);
    // A table missing from the target has no rows to violate anything.
    if (!size) continue;
    const keyColumns = await keys(k.table);
    const result = await measureViolations(query, engine.fit, k, { rows: size.rows, keyColumns, budget });
    const statement = v.findings.find((f) => /^BC1(0[89]|1[01])$/.test(f.rule) && f.table === k.table)?.statement;
    const f = violationFinding(k, result, { where: where(), keyColumns, ...(statement ? { statement } : {}) });
    v.findings.push(f);
    // Its ALTER would fail on those rows: the run stops before anything changes, with the counts.
    if (f.severity === 'error') refuseOnData(v, f);
  }
  for (const { v, n } of narrowings) {
    const size = sizes.get(n.table);
    let result: FitResult;
    if (!size) result = { table: n.table, column: n.column, measured: false, reason: `${n.table} is not on ${o.target} yet` };
    else {
      result = await measureFit(query, engine.fit, n, {
        source: n.table,
        keyColumns: await keys(n.table),
        rows: size.rows,
        where: where(),
        budget,
      });
    }
    replaceFinding(v, n, result, ruleDialectFor({ dialect, mariadb: server.mariadb }));
  }
}

function replaceFinding(v: MigrationVerdict, n: Narrowing, result: FitResult, db: ReturnType<typeof ruleDialectFor>): void {
  const at = v.findings.findIndex((f) => DECIDED_ON_DATA.has(f.rule) && f.table === n.table && f.column === n.column);
  const change = v.changes.find((c) => (c.kind === 'column_type_changed' || c.kind === 'column_enum_changed') && c.table === n.table && c.column === n.column);
  if (at < 0 || !change) return;
  const old = v.findings[at]!;
  const next = narrowingDecision(change, [result], db, old.statement);
  if (!next) return;
  if (old.acknowledged && old.rule === next.rule) next.acknowledged = old.acknowledged;
  v.findings[at] = next;
  v.dataLoss = v.findings.some((f) => factsOf(f.rule)?.family === 'data-loss' && !factsOf(f.rule)?.notLoss);
  // Rows on the target that the change would truncate: the run stops before anything changes
  // (apply's gate refuses a refused verdict), and the refusal leads with the counts.
  if (result.measured && result.misfits > 0 && next.severity === 'error' && !next.acknowledged) refuseOnData(v, next);
}

/** Rows on the target that the change would truncate or that make its ALTER fail: apply's gate refuses it, the counts first. */
function refuseOnData(v: MigrationVerdict, f: Finding): void {
  v.strategy = 'refused';
  v.refusedReason = `${f.rule}: ${f.message}${v.refusedReason ? ` ${v.refusedReason}` : ''}`;
}
