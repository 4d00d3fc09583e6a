import type { Finding } from '../types.ts';
import { finding, type ChangeOf, type RuleScope } from './context.ts';

/** BC112 for removed values, else BC113 for inserted or reordered ones (column ENUMs and PG enum types). */
export function enumChanged(c: ChangeOf<'column_enum_changed' | 'enum_type_changed'>, { st, db }: RuleScope): Finding[] {
  const where = c.kind === 'column_enum_changed' ? `${c.table}.${c.column}` : `type ${c.enumType}`;
  const table = c.kind === 'column_enum_changed' ? c.table : undefined;
  const column = c.kind === 'column_enum_changed' ? c.column : undefined;
  if (c.enumChange.removed.length) {
    return [
      finding('BC112', {
        message: `Removes value${c.enumChange.removed.length > 1 ? 's' : ''} ${c.enumChange.removed.map((v) => `'${v}'`).join(', ')} from ${where}. The running release may still write ${c.enumChange.removed.length > 1 ? 'them' : 'it'}: ${db.removedEnumValueWrite}.`,
        table,
        column,
        statement: table ? st(table, column) : undefined,
      }),
    ];
  }
  if (c.enumChange.shifted) {
    return [
      finding('BC113', {
        message: `Inserts or reorders values of ${where} (${c.from.join(', ')} -> ${c.to.join(', ')}). Stored values are kept, but ORDER BY and comparisons on ${where} change for the running release.`,
        table,
        column,
        statement: table ? st(table, column) : undefined,
      }),
    ];
  }
  return [];
}
