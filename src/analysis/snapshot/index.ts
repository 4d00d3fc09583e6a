import type { Knex } from 'knex';
import { engineFor, FULL_SCOPE, type Dialect, type ServerKind, type Snapshotter, type SnapshotScope } from '../../engines/index.ts';
import type { StatementInfo } from '../sql/parse.ts';
import type { SchemaSnapshot } from '../types.ts';

/** The engine's snapshot reader (each engine reads its catalog its own way: engines/<engine>/snapshot*.ts). */
export function createSnapshotter(db: Knex, dialect: Dialect, schema: string, server: ServerKind): Snapshotter {
  return engineFor(dialect).createSnapshotter(db, schema, server);
}

export function emptySnapshot(dialect: Dialect): SchemaSnapshot {
  return { dialect, tables: {}, views: {}, enumTypes: {} };
}

/**
 * The tables a migration's statements may have changed, or undefined when some statement is
 * opaque (a DO block, a procedure call) and everything must be read again. Tables whose foreign
 * keys point at a changed table are included: a rename or a DROP ... CASCADE changes them too.
 */
export function touchedTables(statements: StatementInfo[], prev: SchemaSnapshot): SnapshotScope {
  const out = new Set<string>();
  const views = engineFor(prev.dialect).alwaysSnapshotViews || statements.some((s) => s.kind === 'create_view' || s.kind === 'drop_view');
  for (const s of statements) {
    if (s.opaque) return FULL_SCOPE;
    for (const t of s.tables) out.add(t);
    for (const idx of s.droppedIndexes) {
      for (const t of Object.values(prev.tables)) if (t.indexes.some((i) => i.name === idx)) out.add(t.name);
    }
    if (s.kind === 'alter_type' || s.kind === 'drop_type') {
      // Columns of the type change with it; the merge re-resolves enum values, but a dropped type drops columns.
      for (const t of Object.values(prev.tables)) if (t.columns.some((c) => c.dataType === s.typeName)) out.add(t.name);
    }
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of Object.values(prev.tables)) {
      if (out.has(t.name)) continue;
      if (t.foreignKeys.some((fk) => out.has(fk.refTable))) {
        out.add(t.name);
        grew = true;
      }
    }
  }
  return { tables: [...out], views };
}

/** prev with the scoped tables replaced by what the partial snapshot found (absent = dropped). */
export function mergeSnapshot(prev: SchemaSnapshot, partial: SchemaSnapshot, scope: SnapshotScope): SchemaSnapshot {
  if (scope.tables === undefined) return partial;
  const tables = { ...prev.tables };
  for (const name of scope.tables) delete tables[name];
  Object.assign(tables, partial.tables);
  const merged: SchemaSnapshot = { dialect: prev.dialect, tables, views: scope.views ? partial.views : prev.views, enumTypes: partial.enumTypes };
  // An ALTER TYPE ... ADD VALUE changes the columns of every table using it without touching them
  // (named enum types: PostgreSQL; a MySQL snapshot's enumTypes is always empty, its enums inline).
  for (const [name, t] of Object.entries(tables)) {
    if (!t.columns.some((c) => c.enumValues && partial.enumTypes[c.dataType] && !sameList(c.enumValues, partial.enumTypes[c.dataType]!))) continue;
    tables[name] = {
      ...t,
      columns: t.columns.map((c) => (c.enumValues && partial.enumTypes[c.dataType] ? { ...c, enumValues: [...partial.enumTypes[c.dataType]!] } : c)),
    };
  }
  return merged;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
