import type { Finding } from '../types.ts';
import { finding, type ChangeOf, type OldStatement, type RuleContext, type RuleScope } from './context.ts';

/**
 * A data-dependent constraint (BC108-BC111) breaks the running release's writes: an error, unless the
 * workload the user gave (--queries) shows no statement of that release can violate it, then a warning
 * saying why. Without a workload nothing shows which writes the running code makes, so it stays an error.
 */
export interface ConstrainedWrite {
  table: string;
  columns: string[];
  /** An INSERT that omits every constrained column still violates it (NOT NULL without a default, a shared non-NULL default under UNIQUE). */
  omitViolates: boolean;
  /** Foreign key: deleting or re-keying a referenced parent row violates it too. */
  parent?: { table: string; columns: string[] };
}

/** Why no statement of the running release's workload can violate the constraint; undefined when one can, or there is no workload. */
export function workloadClears(ctx: RuleContext, w: ConstrainedWrite): string | undefined {
  const workload = ctx.oldWorkload;
  if (!workload) return undefined;
  if (workload.statements.some((q) => canViolate(q, w))) return undefined;
  const parent = w.parent ? `, deletes from ${w.parent.table} or updates ${w.parent.table}(${w.parent.columns.join(', ')})` : '';
  return `No statement of the running release's workload (${workload.name}) writes ${w.table}(${w.columns.join(', ')})${parent}, so none of them can violate it: a warning, not breaking. A statement missing from the workload still can.`;
}

function canViolate(q: OldStatement, w: ConstrainedWrite): boolean {
  if (q.verb === 'select') return false;
  const lower = (xs: string[]): string[] => xs.map((x) => x.toLowerCase());
  const table = w.table.toLowerCase();
  const cols = lower(w.columns);
  if (q.insert) {
    // INSERT ... SELECT from the table reads it: only the target table is written.
    if (q.insert.table.toLowerCase() !== table) return false;
    if (q.insert.columns === null) return true;
    const set = lower(q.insert.columns);
    return cols.some((c) => set.includes(c)) || w.omitViolates;
  }
  // An UPDATE sets only its SET list's columns (a key named in WHERE is read, not written); elsewhere any column it names may be set.
  const assigned = q.verb === 'update' ? updatedColumns(q.sql) : undefined;
  const sets = (xs: string[]): boolean => xs.some((x) => (assigned ? assigned.has(x) : q.idents.has(x)));
  if (w.parent && q.idents.has(w.parent.table.toLowerCase())) {
    if (q.verb === 'delete' || q.verb === 'replace' || sets(lower(w.parent.columns))) return true;
  }
  // A DELETE leaves the remaining rows' values as they were.
  if (!q.idents.has(table) || q.verb === 'delete') return false;
  return sets(cols) || q.verb === 'replace' || q.verb === 'merge' || q.verb === 'with';
}

/** The columns an UPDATE's SET list assigns (lower case, qualifier dropped); undefined when the list cannot be read. */
export function updatedColumns(sql: string): Set<string> | undefined {
  const list = /\bset\s+([\s\S]*?)(?:\bwhere\b|\border\s+by\b|\blimit\b|\breturning\b|\bfrom\b|$)/i.exec(sql.replace(/'(?:[^']|'')*'/g, "''"))?.[1];
  if (!list) return undefined;
  const out = new Set<string>();
  for (const m of list.matchAll(/(?:^|,)\s*(?:[`"]?[\w$]+[`"]?\s*\.\s*)?[`"]?([\w$]+)[`"]?\s*=/g)) out.add(m[1]!.toLowerCase());
  return out.size ? out : undefined;
}

/** The finding of a data-dependent constraint: an error, or a warning with the workload's reason. */
function constraintFinding(rule: string, ctx: RuleContext, w: ConstrainedWrite, f: { message: string; table: string; statement: string | undefined }): Finding {
  const cleared = workloadClears(ctx, w);
  return finding(rule, {
    message: cleared ? `${f.message} ${cleared}` : f.message,
    table: f.table,
    statement: f.statement,
    severity: cleared ? 'warning' : 'error',
  });
}

/** Whether a NOT NULL column has a default an omitted value takes (NULL is none). */
export function hasRealDefault(col: { default: string | null } | undefined): boolean {
  return col !== undefined && col.default !== null && col.default.toUpperCase() !== 'NULL';
}

/** BC109: a unique index, which old writes creating duplicates now fail. */
export function indexAdded(c: ChangeOf<'index_added'>, { ctx, st, addedColumns }: RuleScope): Finding[] {
  if (!c.index.unique) return [];
  const before = ctx.before.tables[c.table];
  // A unique key over a superset of the columns of one that already existed rejects nothing new (the old key already did).
  const keys = [
    ...(before?.indexes ?? []).filter((i) => i.unique && !i.where).map((i) => i.columns),
    ...(before?.primaryKey.length ? [before.primaryKey] : []),
  ];
  if (!c.index.where && keys.some((k) => k.every((col) => c.index.columns.includes(col)))) return [];
  const cols = c.index.columns.map((name) => ctx.after.tables[c.table]?.columns.find((x) => x.name === name));
  // On columns this migration added without a default, old writes leave NULL, which a unique key accepts any number of times.
  if (c.index.columns.every((col) => addedColumns.has(`${c.table}.${col}`)) && !cols.some(hasRealDefault)) return [];
  return [
    constraintFinding(
      'BC109',
      ctx,
      { table: c.table, columns: c.index.columns, omitViolates: cols.some(hasRealDefault) },
      {
        message: `Adds unique index ${c.index.name} on ${c.table}(${c.index.columns.join(', ')}). The change fails if existing rows hold duplicates, and writes of the running release that create duplicates start failing.`,
        table: c.table,
        statement: st(c.table, c.index.name),
      },
    ),
  ];
}

/** A check expression in a form both servers print alike: no casts, identifier quotes or parentheses, lower case outside literals. */
function normaliseCheck(expression: string): string {
  return expression
    .replace(/'(?:[^']|'')*'|[^']+/g, (part) =>
      part.startsWith("'")
        ? part
        : part
            .toLowerCase()
            .replace(/::\s*[a-z_]\w*(?:\s+(?:varying|precision|with(?:out)?\s+time\s+zone))?(?:\[\])?/g, '')
            .replace(/[`"]/g, '')
            .replace(/[()[\]]/g, ' ')
            .replace(/^\s*check\b/, '')
            .replace(/\bnot\s+valid\s*$/, ''),
    )
    .replace(/\s*,\s*/g, ',')
    .replace(/\s+/g, ' ')
    .trim();
}

const LIST_CHECK = /^(.+?) (?:in|= any array) ('(?:[^']|'')*'(?:,'(?:[^']|'')*')*)$/;
const BOUND_CHECK = /^(.+?) (<=|<|>=|>) (-?\d+(?:\.\d+)?)$/;

/**
 * Whether every row the old check accepts also passes the new one, for the forms a widened check
 * takes in practice: a list of allowed values that gained values, a bound that moved outwards.
 */
export function checkWidens(oldExpression: string, newExpression: string): boolean {
  const o = normaliseCheck(oldExpression);
  const n = normaliseCheck(newExpression);
  if (o === n) return true;
  const ol = LIST_CHECK.exec(o);
  const nl = LIST_CHECK.exec(n);
  if (ol && nl && ol[1] === nl[1]) {
    const allowed = new Set(nl[2]!.split(/,(?=')/));
    return ol[2]!.split(/,(?=')/).every((v) => allowed.has(v));
  }
  const ob = BOUND_CHECK.exec(o);
  const nb = BOUND_CHECK.exec(n);
  if (!ob || !nb || ob[1] !== nb[1]) return false;
  const [oop, on, nop, nn] = [ob[2]!, Number(ob[3]), nb[2]!, Number(nb[3])];
  if (oop.startsWith('<') && nop.startsWith('<')) return nn > on || (nn === on && (nop === '<=' || oop === '<'));
  if (oop.startsWith('>') && nop.startsWith('>')) return nn < on || (nn === on && (nop === '>=' || oop === '>'));
  return false;
}

/** BC110, unless the check is on columns this migration added or replaces a check it widens. */
export function checkAdded(c: ChangeOf<'check_added'>, { ctx, st, addedColumns }: RuleScope): Finding[] {
  const t = ctx.after.tables[c.table];
  // MariaDB adds json_valid() checks to JSON columns, and a check on columns added here constrains no old write.
  const onNewColumnsOnly = t ? t.columns.filter((x) => c.check.expression.includes(x.name)).every((x) => addedColumns.has(`${c.table}.${x.name}`)) : false;
  if (onNewColumnsOnly) return [];
  // A check no stricter than one the table already had (the same one renamed, a value added to the allowed list)
  // rejects no write the old one let through, whether the old one is replaced or kept; NOT VALID or not, the old
  // one checked every write.
  if ((ctx.before.tables[c.table]?.checks ?? []).some((old) => checkWidens(old.expression, c.check.expression))) return [];
  const columns = t ? t.columns.filter((x) => c.check.expression.includes(x.name)) : [];
  return [
    constraintFinding(
      'BC110',
      ctx,
      { table: c.table, columns: columns.map((x) => x.name), omitViolates: columns.length === 0 || columns.some(hasRealDefault) },
      {
        message: `Adds check ${c.check.name} (${c.check.expression}) on ${c.table}${c.check.validated === false ? ' NOT VALID (existing rows are not checked, new rows are)' : ''}. Existing rows that violate it make the change fail, and writes of the running release that violate it start failing.`,
        table: c.table,
        statement: st(c.table, c.check.name),
      },
    ),
  ];
}

/** BC111, unless the key is on columns this migration added (the same key validated or renamed is no change: diff.ts). */
export function foreignKeyAdded(c: ChangeOf<'foreign_key_added'>, { ctx, st, addedColumns }: RuleScope): Finding[] {
  const fk = c.foreignKey;
  // A key on a column added in this migration: the running release never writes that column.
  if (fk.columns.every((col) => addedColumns.has(`${c.table}.${col}`))) return [];
  return [
    constraintFinding(
      'BC111',
      ctx,
      { table: c.table, columns: fk.columns, omitViolates: false, parent: { table: fk.refTable, columns: fk.refColumns } },
      {
        message: `Adds foreign key ${fk.name} ${c.table}(${fk.columns.join(', ')}) -> ${fk.refTable}(${fk.refColumns.join(', ')})${fk.validated === false ? ' NOT VALID (existing rows are not checked, new rows are)' : ''}. Orphan rows make the change fail, and writes of the running release that leave orphans or delete referenced rows start failing.`,
        table: c.table,
        statement: st(c.table, fk.name),
      },
    ),
  ];
}

/** BC114: an error (a new key is data-dependent like a unique one: a warning only when the workload cannot violate it). */
export function primaryKeyChanged(c: ChangeOf<'primary_key_changed'>, { ctx, st }: RuleScope): Finding[] {
  if (c.from.length === 0) {
    return [
      constraintFinding(
        'BC114',
        ctx,
        // An INSERT that omits a key column leaves it NULL or at one shared default, which the key refuses the second time.
        { table: c.table, columns: c.to, omitViolates: true },
        {
          message: `Adds a primary key (${c.to.join(', ')}) to ${c.table}: the change fails on duplicates or NULLs, and writes of the running release that create duplicates start failing.`,
          table: c.table,
          statement: st(c.table),
        },
      ),
    ];
  }
  return [
    finding('BC114', {
      message: `Changes the primary key of ${c.table} from (${c.from.join(', ')}) to (${c.to.join(', ') || 'none'}). Upserts (ON DUPLICATE KEY / ON CONFLICT), lookups and ORM identity of the running release use the old key.`,
      table: c.table,
      statement: st(c.table),
      severity: 'error',
    }),
  ];
}
