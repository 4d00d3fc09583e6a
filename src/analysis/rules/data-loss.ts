import { isLossless } from '../sql/typecompat.ts';
import type { Finding } from '../types.ts';
import { finding, statementFor, type RuleContext, type RuleDialect } from './context.ts';

/**
 * DL: does `up` destroy or alter stored values? A rewrite that keeps every value (a widening, a
 * rename, an index) is not data loss, however heavy it is.
 */
export function dataLossRules(ctx: RuleContext, db: RuleDialect): Finding[] {
  const out: Finding[] = [];
  const st = (table?: string, column?: string): string | undefined => statementFor(ctx.statements, table, column);
  for (const c of ctx.changes) {
    switch (c.kind) {
      case 'table_dropped':
        out.push(
          finding('DL101', {
            message: `Drops table ${c.table} and every row in it; a down migration can recreate the table but not the rows.`,
            table: c.table,
            statement: st(c.table),
          }),
        );
        break;
      case 'column_dropped':
        out.push(
          finding('DL102', {
            message: `Drops column ${c.table}.${c.column.name} and its values; a down migration can re-add the column but not the values.`,
            table: c.table,
            column: c.column.name,
            statement: st(c.table, c.column.name),
          }),
        );
        break;
      case 'column_type_changed': {
        if (isLossless(c.from, c.to)) break;
        const what = `${c.from.type}${c.from.charset ? ` ${c.from.charset}` : ''} -> ${c.to.type}${c.to.charset ? ` ${c.to.charset}` : ''}`;
        // Within a family the loss is truncation or rounding (DECIMAL(10,2) -> (10,1) rounds); across families, a lossy cast.
        if (c.change !== 'family-change') {
          out.push(
            finding('DL103', {
              message: `Converts ${c.table}.${c.column} ${what}: stored values that do not fit are truncated, rounded or clipped${db.narrowingFailure}.`,
              table: c.table,
              column: c.column,
              statement: st(c.table, c.column),
            }),
          );
        } else {
          out.push(
            finding('DL104', {
              message: `Converts ${c.table}.${c.column} ${what}: the conversion is lossy, some stored values change (become 0, NULL, truncated, lose their sign or time part) or make the ALTER fail.`,
              table: c.table,
              column: c.column,
              statement: st(c.table, c.column),
            }),
          );
        }
        break;
      }
      case 'column_enum_changed':
      case 'enum_type_changed': {
        if (!c.enumChange.removed.length) break;
        const where = c.kind === 'column_enum_changed' ? `${c.table}.${c.column}` : `type ${c.enumType}`;
        out.push(
          finding('DL105', {
            message: `Removes ${c.enumChange.removed.map((v) => `'${v}'`).join(', ')} from ${where}: rows holding ${c.enumChange.removed.length > 1 ? 'these values' : 'this value'} lose it ('' in non-strict MySQL) or make the change fail.`,
            table: c.kind === 'column_enum_changed' ? c.table : undefined,
            column: c.kind === 'column_enum_changed' ? c.column : undefined,
            statement: c.kind === 'column_enum_changed' ? st(c.table, c.column) : undefined,
          }),
        );
        break;
      }
      default:
        break;
    }
  }
  for (const s of ctx.statements) {
    if (s.kind !== 'dml' || !s.wholeTable || !s.table || ctx.createdTables.has(s.table)) continue;
    if (!/^\s*(truncate|delete)\b/i.test(s.sql)) continue;
    out.push(
      finding('DL106', { message: `Deletes every row of ${s.table} (${s.sql.split(/\s+/).slice(0, 3).join(' ')} ...).`, table: s.table, statement: s.sql }),
    );
  }
  return out;
}
