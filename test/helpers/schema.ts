import type { ColumnSnapshot, TableSnapshot } from '../../src/analysis/types.ts';

/** A nullable column snapshot as the MySQL snapshot reports it; `extra` overrides any field. */
export const col = (name: string, position: number, type = 'int(11)', extra: Partial<ColumnSnapshot> = {}): ColumnSnapshot => ({
  name,
  position,
  type,
  dataType: type.replace(/\(.*$/, ''),
  nullable: true,
  default: 'NULL',
  ...extra,
});

/** A table snapshot with primary key `id` and nothing else; `extra` overrides any field. */
export const table = (name: string, columns: ColumnSnapshot[], extra: Partial<TableSnapshot> = {}): TableSnapshot => ({
  name,
  columns,
  primaryKey: ['id'],
  indexes: [],
  foreignKeys: [],
  checks: [],
  ...extra,
});
