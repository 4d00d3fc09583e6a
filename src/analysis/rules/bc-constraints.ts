import type { Finding } from '../types.ts';
import { finding, type ChangeOf, type RuleScope } from './context.ts';

/** BC109: a unique index, which old writes creating duplicates now fail. */
export function indexAdded(c: ChangeOf<'index_added'>, { st }: RuleScope): Finding[] {
  if (!c.index.unique) return [];
  return [
    finding('BC109', {
      message: `Adds unique index ${c.index.name} on ${c.table}(${c.index.columns.join(', ')}). The change fails if existing rows hold duplicates, and writes of the running release that create duplicates start failing.`,
      table: c.table,
      statement: st(c.table, c.index.name),
    }),
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
            .replace(/^\s*check\b/, ''),
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
  // A check that replaces one it widens (a value added to the allowed list) rejects no write the old one let through.
  const kept = new Set((t?.checks ?? []).map((x) => `${x.name}\0${x.expression}`));
  const replaced = (ctx.before.tables[c.table]?.checks ?? []).filter((x) => !kept.has(`${x.name}\0${x.expression}`));
  if (replaced.some((old) => checkWidens(old.expression, c.check.expression))) return [];
  return [
    finding('BC110', {
      message: `Adds check ${c.check.name} (${c.check.expression}) on ${c.table}. Existing rows that violate it make the change fail, and writes of the running release that violate it start failing.`,
      table: c.table,
      statement: st(c.table, c.check.name),
    }),
  ];
}

/** BC111, unless the key is on columns this migration added. */
export function foreignKeyAdded(c: ChangeOf<'foreign_key_added'>, { st, addedColumns }: RuleScope): Finding[] {
  const fk = c.foreignKey;
  // A key on a column added in this migration: the running release never writes that column.
  if (fk.columns.every((col) => addedColumns.has(`${c.table}.${col}`))) return [];
  return [
    finding('BC111', {
      message: `Adds foreign key ${fk.name} ${c.table}(${fk.columns.join(', ')}) -> ${fk.refTable}(${fk.refColumns.join(', ')}). Orphan rows make the change fail, and writes of the running release that leave orphans or delete referenced rows start failing.`,
      table: c.table,
      statement: st(c.table, fk.name),
    }),
  ];
}

/** BC114: an error when a key is replaced, a warning when the table had none. */
export function primaryKeyChanged(c: ChangeOf<'primary_key_changed'>, { st }: RuleScope): Finding[] {
  const fromNone = c.from.length === 0;
  return [
    finding('BC114', {
      message: fromNone
        ? `Adds a primary key (${c.to.join(', ')}) to ${c.table}: the change fails on duplicates or NULLs, and writes of the running release that create duplicates start failing.`
        : `Changes the primary key of ${c.table} from (${c.from.join(', ')}) to (${c.to.join(', ') || 'none'}). Upserts (ON DUPLICATE KEY / ON CONFLICT), lookups and ORM identity of the running release use the old key.`,
      table: c.table,
      statement: st(c.table),
      severity: fromNone ? 'warning' : 'error',
    }),
  ];
}
