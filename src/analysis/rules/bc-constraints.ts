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

/** BC110, unless the check is on columns this migration added. */
export function checkAdded(c: ChangeOf<'check_added'>, { ctx, st, addedColumns }: RuleScope): Finding[] {
  const t = ctx.after.tables[c.table];
  // MariaDB adds json_valid() checks to JSON columns, and a check on columns added here constrains no old write.
  const onNewColumnsOnly = t ? t.columns.filter((x) => c.check.expression.includes(x.name)).every((x) => addedColumns.has(`${c.table}.${x.name}`)) : false;
  if (onNewColumnsOnly) return [];
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
