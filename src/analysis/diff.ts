import { compareTypes } from './sql/typecompat.ts';
import type { Change, ColumnSnapshot, EnumChange, IndexSnapshot, SchemaSnapshot, TableSnapshot } from './types.ts';

/**
 * Diffs two schema snapshots into typed changes. A snapshot cannot tell a rename from a drop plus
 * an add, so renames come in as hints parsed from the SQL the migration ran; a hint is used only
 * when the snapshots agree with it (old name gone or replaced, new name present).
 */
export interface RenameHints {
  tables: { from: string; to: string }[];
  columns: { table: string; from: string; to: string }[];
}

export const NO_HINTS: RenameHints = { tables: [], columns: [] };

export function diffSnapshots(before: SchemaSnapshot, after: SchemaSnapshot, hints: RenameHints = NO_HINTS): Change[] {
  const changes: Change[] = [];
  const tableMap = matchTables(before, after, hints);
  const matchedBefore = new Set(tableMap.values());

  for (const [name, t] of Object.entries(before.tables)) {
    if (!matchedBefore.has(name)) changes.push({ kind: 'table_dropped', table: name, before: t });
  }
  for (const [name, t] of Object.entries(after.tables)) {
    const from = tableMap.get(name);
    if (from === undefined) {
      changes.push({ kind: 'table_added', table: name, after: t });
      continue;
    }
    if (from !== name) changes.push({ kind: 'table_renamed', table: name, from });
    const bt = before.tables[from]!;
    // Snapshots are merged per migration: a table it did not touch is the very same object.
    if (bt === t) continue;
    const colHints = hints.columns.filter((h) => h.table === from || h.table === name);
    diffTable(bt, t, colHints, changes);
  }

  for (const name of Object.keys(before.views)) if (!after.views[name]) changes.push({ kind: 'view_dropped', view: name });
  for (const [name, v] of Object.entries(after.views)) {
    const bv = before.views[name];
    if (!bv) changes.push({ kind: 'view_added', view: name });
    else if (normalizeWs(bv.definition) !== normalizeWs(v.definition)) changes.push({ kind: 'view_changed', view: name });
  }

  for (const [name, values] of Object.entries(before.enumTypes)) {
    if (!after.enumTypes[name]) changes.push({ kind: 'enum_type_dropped', enumType: name, values });
  }
  for (const [name, values] of Object.entries(after.enumTypes)) {
    const old = before.enumTypes[name];
    if (!old) changes.push({ kind: 'enum_type_added', enumType: name, values });
    else if (!sameList(old, values)) changes.push({ kind: 'enum_type_changed', enumType: name, from: old, to: values, enumChange: enumChange(old, values) });
  }
  return changes;
}

/** after-name -> before-name for every table that exists on both sides. */
function matchTables(before: SchemaSnapshot, after: SchemaSnapshot, hints: RenameHints): Map<string, string> {
  const map = new Map<string, string>();
  // Follow chains (a -> b, b -> c) so the end result maps c to a.
  const origin = new Map<string, string>();
  for (const { from, to } of hints.tables) {
    const root = origin.get(from) ?? from;
    origin.delete(from);
    origin.set(to, root);
  }
  for (const [to, from] of origin) {
    if (from !== to && before.tables[from] && after.tables[to]) map.set(to, from);
  }
  const renamedFrom = new Set(map.values());
  for (const name of Object.keys(after.tables)) {
    if (map.has(name)) continue;
    if (before.tables[name] && !renamedFrom.has(name)) map.set(name, name);
  }
  return map;
}

/** How the columns of a table before map onto those after (renames from the hints), and a name mapper. */
interface ColumnMapping {
  /** after-name -> before column */
  colMap: Map<string, ColumnSnapshot>;
  /** Before-names that survive (under their old or a new name). */
  survivingBefore: Set<string>;
  /** A before-name as it is called after. */
  rename: (n: string) => string;
}

function mapColumns(b: TableSnapshot, a: TableSnapshot, hints: RenameHints['columns']): ColumnMapping {
  const origin = new Map<string, string>();
  for (const { from, to } of hints) {
    const root = origin.get(from) ?? from;
    origin.delete(from);
    origin.set(to, root);
  }
  const bCols = new Map(b.columns.map((c) => [c.name, c]));
  const aCols = new Map(a.columns.map((c) => [c.name, c]));
  /** after-name -> before column */
  const colMap = new Map<string, ColumnSnapshot>();
  for (const [to, from] of origin) {
    const bc = bCols.get(from);
    if (from !== to && bc && aCols.has(to)) colMap.set(to, bc);
  }
  const renamedFrom = new Set([...colMap.values()].map((c) => c.name));
  for (const c of a.columns) {
    if (colMap.has(c.name)) continue;
    const bc = bCols.get(c.name);
    if (bc && !renamedFrom.has(c.name)) colMap.set(c.name, bc);
  }
  const survivingBefore = new Set([...colMap.values()].map((c) => c.name));
  const rename = (n: string): string => {
    for (const [to, bc] of colMap) if (bc.name === n) return to;
    return n;
  };
  return { colMap, survivingBefore, rename };
}

/** Columns dropped, added, moved, renamed and changed, in that order. */
function diffColumns(table: string, b: TableSnapshot, a: TableSnapshot, { colMap, survivingBefore, rename }: ColumnMapping, out: Change[]): void {
  const aCols = new Map(a.columns.map((c) => [c.name, c]));
  // Dropped columns: "last" when only dropped columns follow it in the old order.
  b.columns.forEach((c, i) => {
    if (survivingBefore.has(c.name)) return;
    const wasLast = b.columns.slice(i + 1).every((x) => !survivingBefore.has(x.name));
    out.push({ kind: 'column_dropped', table, column: c, wasLast });
  });
  a.columns.forEach((c, i) => {
    if (colMap.has(c.name)) return;
    const atEnd = a.columns.slice(i + 1).every((x) => !colMap.has(x.name));
    out.push({ kind: 'column_added', table, column: c, atEnd });
  });

  // Moves: the surviving columns in their old order versus their new order.
  const oldOrder = b.columns.filter((c) => survivingBefore.has(c.name)).map((c) => rename(c.name));
  const newOrder = a.columns.filter((c) => colMap.has(c.name)).map((c) => c.name);
  newOrder.forEach((name, i) => {
    const oldIdx = oldOrder.indexOf(name);
    if (oldIdx !== i) out.push({ kind: 'column_moved', table, column: name, fromPosition: colMap.get(name)!.position, toPosition: aCols.get(name)!.position });
  });

  for (const ac of a.columns) {
    const bc = colMap.get(ac.name);
    if (!bc) continue;
    if (bc.name !== ac.name) out.push({ kind: 'column_renamed', table, column: ac.name, from: bc.name });
    diffColumn(table, bc, ac, out);
  }
}

/** Primary key, indexes, foreign keys and checks. */
function diffConstraints(table: string, b: TableSnapshot, a: TableSnapshot, { colMap, rename }: ColumnMapping, out: Change[]): void {
  const pkBefore = b.primaryKey.map(rename);
  if (!sameList(pkBefore, a.primaryKey)) out.push({ kind: 'primary_key_changed', table, from: b.primaryKey, to: a.primaryKey });

  const sig = (i: IndexSnapshot, map: (n: string) => string): string => `${i.unique ? 'u' : 'i'}:${i.columns.map(map).join(',')}:${i.where ?? ''}`;
  const bIdx = new Map(b.indexes.map((i) => [sig(i, rename), i]));
  const aIdx = new Map(a.indexes.map((i) => [sig(i, (n) => n), i]));
  for (const [s, i] of bIdx) if (!aIdx.has(s)) out.push({ kind: 'index_dropped', table, index: i });
  for (const [s, i] of aIdx) if (!bIdx.has(s)) out.push({ kind: 'index_added', table, index: i });

  const fkSig = (f: TableSnapshot['foreignKeys'][number], map: (n: string) => string): string =>
    `${f.columns.map(map).join(',')}>${f.refTable}(${f.refColumns.join(',')})`;
  const bFk = new Map(b.foreignKeys.map((f) => [fkSig(f, rename), f]));
  const aFk = new Map(a.foreignKeys.map((f) => [fkSig(f, (n) => n), f]));
  for (const [s, f] of bFk) if (!aFk.has(s)) out.push({ kind: 'foreign_key_dropped', table, foreignKey: f });
  for (const [s, f] of aFk) {
    const old = bFk.get(s);
    // NOT VALID -> VALIDATE on PG shows as validated flipping; a new constraint is one not there before.
    if (!old) out.push({ kind: 'foreign_key_added', table, foreignKey: f });
  }

  const bChk = new Map(b.checks.map((c) => [c.name, c]));
  const aChk = new Map(a.checks.map((c) => [c.name, c]));
  for (const [n, c] of bChk) if (!aChk.has(n) && !renamedCheck(c.name, colMap)) out.push({ kind: 'check_dropped', table, check: c });
  for (const [n, c] of aChk) {
    const old = bChk.get(n) ?? findRenamedCheck(n, colMap, bChk);
    if (!old) out.push({ kind: 'check_added', table, check: c });
    // A column rename rewrites the expression text; only an edit on unrenamed columns is a new check.
    else if (normalizeWs(old.expression) !== normalizeWs(c.expression) && ![...colMap].some(([to, bc]) => to !== bc.name)) {
      out.push({ kind: 'check_dropped', table, check: old }, { kind: 'check_added', table, check: c });
    }
  }
}

function diffTable(b: TableSnapshot, a: TableSnapshot, hints: RenameHints['columns'], out: Change[]): void {
  const table = a.name;
  const mapping = mapColumns(b, a, hints);
  diffColumns(table, b, a, mapping, out);
  diffConstraints(table, b, a, mapping, out);
  if (b.storageId !== undefined && a.storageId !== undefined && b.storageId !== a.storageId) out.push({ kind: 'table_rewritten', table });
}

/** MariaDB names a column-level CHECK after its column, so renaming the column renames the check. */
function renamedCheck(name: string, colMap: Map<string, ColumnSnapshot>): boolean {
  for (const [to, bc] of colMap) if (bc.name === name && to !== name) return true;
  return false;
}

function findRenamedCheck(
  name: string,
  colMap: Map<string, ColumnSnapshot>,
  before: Map<string, TableSnapshot['checks'][number]>,
): TableSnapshot['checks'][number] | undefined {
  const bc = colMap.get(name);
  return bc && bc.name !== name ? before.get(bc.name) : undefined;
}

function diffColumn(table: string, b: ColumnSnapshot, a: ColumnSnapshot, out: Change[]): void {
  const column = a.name;
  const typeDiffers = b.type.toLowerCase() !== a.type.toLowerCase() || (b.charset ?? null) !== (a.charset ?? null);
  if (b.enumValues && a.enumValues) {
    if (!sameList(b.enumValues, a.enumValues)) {
      out.push({ kind: 'column_enum_changed', table, column, from: b.enumValues, to: a.enumValues, enumChange: enumChange(b.enumValues, a.enumValues) });
    }
  } else if (typeDiffers) {
    const change = compareTypes(b, a);
    if (change !== 'cosmetic' || b.charset !== a.charset) out.push({ kind: 'column_type_changed', table, column, from: b, to: a, change });
  }
  if (b.nullable !== a.nullable) out.push({ kind: 'column_nullability_changed', table, column, nullable: a.nullable, to: a });
  if (!sameDefault(b.default, a.default, b.nullable, a.nullable) && !(b.generated || a.generated)) {
    out.push({ kind: 'column_default_changed', table, column, from: b.default, to: a.default, after: a });
  }
}

/** Defaults equal up to the implicit NULL default that nullable columns get. */
function sameDefault(b: string | null, a: string | null, bNullable: boolean, aNullable: boolean): boolean {
  const norm = (d: string | null, nullable: boolean): string | null => (d === 'NULL' && nullable ? null : d === null ? null : normalizeDefault(d));
  return norm(b, bNullable) === norm(a, aNullable);
}

/** PG prints 'x'::character varying for a default on a varchar; the cast is not part of the value. */
function normalizeDefault(d: string): string {
  return d.replace(/::[a-z ]+(\(\d+(,\d+)?\))?(\[\])?$/i, '').trim();
}

export function enumChange(from: string[], to: string[]): EnumChange {
  const removed = from.filter((v) => !to.includes(v));
  const added = to.filter((v) => !from.includes(v));
  const appendedOnly = removed.length === 0 && from.every((v, i) => to[i] === v);
  const shifted = from.some((v, i) => to.includes(v) && to.indexOf(v) !== i);
  return { added, removed, appendedOnly, shifted };
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function normalizeWs(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Changes that matter when comparing a schema with the one it should equal (the reversibility check). */
export function structuralChanges(changes: Change[]): Change[] {
  return changes.filter((c) => c.kind !== 'table_rewritten');
}

/** A one-line description of a change, for messages. */
export function describeChange(c: Change): string {
  switch (c.kind) {
    case 'table_added':
      return `table ${c.table} added`;
    case 'table_dropped':
      return `table ${c.table} dropped`;
    case 'table_renamed':
      return `table ${c.from} renamed to ${c.table}`;
    case 'table_rewritten':
      return `table ${c.table} rewritten`;
    case 'column_added':
      return `column ${c.table}.${c.column.name} added`;
    case 'column_dropped':
      return `column ${c.table}.${c.column.name} dropped`;
    case 'column_renamed':
      return `column ${c.table}.${c.from} renamed to ${c.column}`;
    case 'column_moved':
      return `column ${c.table}.${c.column} moved from position ${c.fromPosition} to ${c.toPosition}`;
    case 'column_type_changed':
      return `column ${c.table}.${c.column} type ${c.from.type} -> ${c.to.type}`;
    case 'column_nullability_changed':
      return `column ${c.table}.${c.column} became ${c.nullable ? 'NULL' : 'NOT NULL'}`;
    case 'column_default_changed':
      return `column ${c.table}.${c.column} default ${c.from ?? 'none'} -> ${c.to ?? 'none'}`;
    case 'column_enum_changed':
      return `column ${c.table}.${c.column} values (${c.from.join(', ')}) -> (${c.to.join(', ')})`;
    case 'enum_type_added':
      return `type ${c.enumType} added`;
    case 'enum_type_dropped':
      return `type ${c.enumType} dropped`;
    case 'enum_type_changed':
      return `type ${c.enumType} values (${c.from.join(', ')}) -> (${c.to.join(', ')})`;
    case 'index_added':
      return `index ${c.index.name} on ${c.table} added`;
    case 'index_dropped':
      return `index ${c.index.name} on ${c.table} dropped`;
    case 'primary_key_changed':
      return `primary key of ${c.table} (${c.from.join(', ')}) -> (${c.to.join(', ')})`;
    case 'foreign_key_added':
      return `foreign key ${c.foreignKey.name} on ${c.table} added`;
    case 'foreign_key_dropped':
      return `foreign key ${c.foreignKey.name} on ${c.table} dropped`;
    case 'check_added':
      return `check ${c.check.name} on ${c.table} added`;
    case 'check_dropped':
      return `check ${c.check.name} on ${c.table} dropped`;
    case 'view_added':
      return `view ${c.view} added`;
    case 'view_dropped':
      return `view ${c.view} dropped`;
    case 'view_changed':
      return `view ${c.view} changed`;
  }
}
