import { finding } from '../rules/context.ts';
import type { StatementInfo } from '../sql/parse.ts';
import type { Change, ColumnSnapshot, Finding, SchemaSnapshot } from '../types.ts';
import type { WorkloadQuery } from './parse.ts';

/**
 * The workload check: every statement the application runs is PREPARED (never executed) on the
 * shadow in each schema state, and a migration is judged by what changes across it. A statement
 * that prepared before and is refused after is a break the server itself reports; one that was
 * refused already before is not this migration's doing and is only mentioned (WL100 / WL200).
 * An INSERT that omits a column which became NOT NULL without default prepares fine (the error
 * only comes at execution), so that case is read from the snapshots instead.
 */

/** Prepare outcome per query number: null = prepared, string = the server's error. */
export type PrepareStatus = Map<number, string | null>;

export interface Preparer {
  /** Prepares and deallocates; returns the server's message when the statement is refused. */
  tryPrepare(sql: string): Promise<string | null>;
}

export async function prepareAll(
  p: Preparer,
  queries: WorkloadQuery[],
  prev?: PrepareStatus,
  affected?: (q: WorkloadQuery) => boolean,
): Promise<PrepareStatus> {
  const out: PrepareStatus = new Map();
  for (const q of queries) {
    if (prev && affected && !affected(q) && prev.has(q.n)) out.set(q.n, prev.get(q.n)!);
    else out.set(q.n, await p.tryPrepare(q.sql));
  }
  return out;
}

/** Which queries a set of table/view names can affect (lower-cased); undefined names = all. */
export function affectedBy(names: string[] | undefined): (q: WorkloadQuery) => boolean {
  if (names === undefined) return () => true;
  const set = names.map((n) => n.toLowerCase());
  return (q) => set.some((n) => q.idents.has(n));
}

/** Table names a list of changes touches (renames count under both names). */
export function changedTables(changes: Change[]): string[] {
  const out = new Set<string>();
  for (const c of changes) {
    if ('table' in c) out.add(c.table);
    if (c.kind === 'table_renamed') out.add(c.from);
    if (c.kind === 'view_added' || c.kind === 'view_dropped' || c.kind === 'view_changed') out.add(c.view);
  }
  return [...out];
}

function required(c: ColumnSnapshot): boolean {
  return !c.nullable && (c.default === null || c.default === 'NULL') && !c.autoFilled && !c.generated;
}

/** Columns of `table` that must be set in `after` but need not be (or did not exist) in `before`. */
export function newlyRequired(before: SchemaSnapshot, after: SchemaSnapshot, table: string): ColumnSnapshot[] {
  const t = findTable(after, table);
  if (!t) return [];
  const b = findTable(before, table);
  return t.columns.filter((c) => {
    if (!required(c)) return false;
    const old = b?.columns.find((x) => x.name === c.name);
    return !old || !required(old);
  });
}

function findTable(s: SchemaSnapshot, name: string) {
  return s.tables[name] ?? Object.values(s.tables).find((t) => t.name.toLowerCase() === name.toLowerCase());
}

function omitted(q: WorkloadQuery, cols: ColumnSnapshot[]): ColumnSnapshot[] {
  const list = q.insert?.columns;
  // Without a column list the INSERT supplies every column positionally; a count change is a prepare error.
  if (!list) return [];
  const given = new Set(list.map((c) => c.toLowerCase()));
  return cols.filter((c) => !given.has(c.name.toLowerCase()));
}

function shortSql(s: string, max = 300): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 3)}...` : one;
}

/** A markdown code span that survives backticks inside the query (MySQL digests quote with them). */
function span(s: string): string {
  return s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``;
}

function statementFor(statements: StatementInfo[], q: WorkloadQuery): string | undefined {
  const ddl = statements.filter((s) => s.kind !== 'dml' && s.kind !== 'session');
  return (ddl.find((s) => s.tables.some((t) => q.idents.has(t.toLowerCase()))) ?? ddl[0])?.sql;
}

function tableOf(q: WorkloadQuery, tables: string[]): string | undefined {
  return q.insert?.table ?? tables.find((t) => q.idents.has(t.toLowerCase()));
}

export interface UpWorkloadInput {
  queries: WorkloadQuery[];
  before: PrepareStatus;
  after: PrepareStatus;
  schemaBefore: SchemaSnapshot;
  schemaAfter: SchemaSnapshot;
  changes: Change[];
  statements: StatementInfo[];
  /** Queries that prepared in some earlier state: their break was reported where it happened. */
  validEarlier?: Set<number>;
  /** Queries already reported as never valid (WL100): reported once per run. Updated here. */
  reportedInvalid?: Set<number>;
}

/** WL1xx: the running (old) release's statements across `up`. */
export function oldCodeFindings(i: UpWorkloadInput): Finding[] {
  const out: Finding[] = [];
  const touched = changedTables(i.changes);
  for (const q of i.queries) {
    const before = i.before.get(q.n);
    const after = i.after.get(q.n);
    const query = { text: shortSql(q.text), source: q.source };
    if (after !== null && after !== undefined) {
      if (before === null) {
        out.push(
          finding('WL101', {
            message: `The running release runs ${span(query.text)} (${q.source}). It prepared against the schema before this migration; after it the server refuses it: "${after}". Every call fails until the deploy finishes.`,
            table: tableOf(q, touched),
            statement: statementFor(i.statements, q),
          }),
        );
        out[out.length - 1]!.query = { ...query, error: after };
      } else if (!i.validEarlier?.has(q.n) && !i.reportedInvalid?.has(q.n) && touched.some((t) => q.idents.has(t.toLowerCase()))) {
        i.reportedInvalid?.add(q.n);
        const f = finding('WL100', {
          message: `Ignored for this migration: ${span(query.text)} (${q.source}) is refused after it ("${after}") but was refused before it too ("${before ?? after}"), so it was never valid against this schema.`,
          table: tableOf(q, touched),
        });
        f.query = { ...query, error: after };
        out.push(f);
      }
      continue;
    }
    if (before !== null || !q.insert) continue;
    const missing = omitted(q, newlyRequired(i.schemaBefore, i.schemaAfter, q.insert.table));
    if (missing.length) {
      const names = missing.map((c) => c.name).join(', ');
      const f = finding('WL102', {
        message: `The running release inserts into ${q.insert.table} with ${span(query.text)} (${q.source}), which does not set ${names}. After this migration ${missing.length > 1 ? 'these columns are' : 'the column is'} NOT NULL without a default, so the INSERT fails ("Field '${missing[0]!.name}' doesn't have a default value" / "null value in column violates not-null constraint").`,
        table: q.insert.table,
        column: missing[0]!.name,
        statement: statementFor(i.statements, q),
        safeAlternative: `1. Add ${names} as NULL or with a DEFAULT (pre-deploy). 2. Deploy code whose INSERT sets ${names}. 3. Backfill. 4. Make ${names} NOT NULL in a post-deploy migration.`,
      });
      f.query = query;
      out.push(f);
    }
  }
  return out;
}

export interface DeployWindowInput {
  queries: WorkloadQuery[];
  /** New-code status before this migration's up: the schema a post-deploy migration leaves the new release until it runs. */
  before: PrepareStatus;
  /** ... and after it. */
  after: PrepareStatus;
  changes: Change[];
  statements: StatementInfo[];
}

/**
 * WL203: the new release's statements that need this migration. Reported for every migration; the
 * verdict keeps them only when the migration is post-deploy, where the new release runs before it
 * (from the deploy until the contract), and leaves them out of a pre-deploy one.
 */
export function deployWindowFindings(i: DeployWindowInput): Finding[] {
  const out: Finding[] = [];
  const touched = changedTables(i.changes);
  for (const q of i.queries) {
    const before = i.before.get(q.n);
    if (typeof before !== 'string' || i.after.get(q.n) !== null) continue;
    const query = { text: shortSql(q.text), source: q.source };
    const f = finding('WL203', {
      message: `The new release runs ${span(query.text)} (${q.source}). It prepares against the schema after this migration but not before it: "${before}". This migration is post-deploy, so it runs after the code deploy: from the deploy until it has run, every call of the new release fails.`,
      table: tableOf(q, touched),
      statement: statementFor(i.statements, q),
    });
    f.query = { ...query, error: before };
    out.push(f);
  }
  return out;
}

export interface DownWorkloadInput {
  queries: WorkloadQuery[];
  /** Status at the schema after up (what the new code was written for). */
  atUp: PrepareStatus;
  afterDown: PrepareStatus;
  schemaUp: SchemaSnapshot;
  schemaDown: SchemaSnapshot;
  downStatements: StatementInfo[];
  /** Tables the migration (up) touched: for the WL200 note. */
  touched: string[];
  /** Whether this is the last migration (the schema the new code runs against). */
  last: boolean;
}

/** WL2xx: the new release's statements across `down`. */
export function newCodeFindings(i: DownWorkloadInput): Finding[] {
  const out: Finding[] = [];
  for (const q of i.queries) {
    const up = i.atUp.get(q.n);
    const down = i.afterDown.get(q.n);
    const query = { text: shortSql(q.text), source: q.source };
    if (up !== null) {
      if (i.last && up !== undefined) {
        const f = finding('WL200', {
          message: `Ignored: the new code's ${span(query.text)} (${q.source}) does not prepare against the schema after this migration either ("${up}").`,
          table: tableOf(q, i.touched),
        });
        f.query = { ...query, error: up };
        out.push(f);
      }
      continue;
    }
    if (down !== null && down !== undefined) {
      const f = finding('WL201', {
        message: `The new release runs ${span(query.text)} (${q.source}). It prepares against the schema after this migration, but after its down the server refuses it: "${down}". Rolling back while the new code is live breaks every call.`,
        table: tableOf(q, i.touched),
        statement: statementFor(i.downStatements, q),
      });
      f.query = { ...query, error: down };
      out.push(f);
      continue;
    }
    if (!q.insert) continue;
    const missing = omitted(q, newlyRequired(i.schemaUp, i.schemaDown, q.insert.table));
    if (missing.length) {
      const names = missing.map((c) => c.name).join(', ');
      const f = finding('WL202', {
        message: `The new release inserts into ${q.insert.table} with ${span(query.text)} (${q.source}) without setting ${names}; after the down ${missing.length > 1 ? 'these columns are' : 'the column is'} NOT NULL without a default again, so a rollback makes the INSERT fail.`,
        table: q.insert.table,
        column: missing[0]!.name,
      });
      f.query = query;
      out.push(f);
    }
  }
  return out;
}
