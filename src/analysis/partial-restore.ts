import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import type { MigrationSource } from '../migrations/index.ts';
import { mentions, parseStatement } from './sql/parse.ts';
import type { SchemaSnapshot } from './types.ts';

/**
 * Dump surgery for re-planning after a few new migrations: restore only the tables they can touch
 * next to the cached snapshot instead of the whole schema (analyse.ts, cached runs). How a dump is
 * cut and merged is the engine's (engines/<engine>/dump.ts); which tables is decided here.
 */
export interface PartialPlan {
  tables: string[];
  /** The statements restoring just those tables. */
  restore: string[];
  /** The complete cached dump they were cut from. */
  full: string[];
}

/** The tables the SQL of `ms` names, or undefined when that cannot be known beforehand. */
function namedTables(ms: MigrationSource[], snapshot: SchemaSnapshot, dialect: Dialect): Set<string> | undefined {
  const names = new Set<string>();
  const all = Object.keys(snapshot.tables);
  const indexOwner = new Map(Object.values(snapshot.tables).flatMap((t) => t.indexes.map((ix) => [ix.name, t.name] as const)));
  for (const m of ms) {
    if (m.format !== 'sql' || !m.upSql) return undefined;
    for (const sql of [...m.upSql, ...(m.downSql ?? [])]) {
      const st = parseStatement(sql, dialect);
      if (st.opaque || st.kind === 'create_view' || st.kind === 'drop_view') return undefined;
      for (const t of st.tables) names.add(t);
      if (st.table) names.add(st.table);
      for (const ix of st.droppedIndexes) {
        const owner = indexOwner.get(ix);
        if (owner) names.add(owner);
      }
      for (const t of all) if (!names.has(t) && mentions(sql, t)) names.add(t);
    }
  }
  return names;
}

/** `names` closed over foreign keys in both directions. */
function closeOverForeignKeys(names: Set<string>, snapshot: SchemaSnapshot): void {
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of Object.values(snapshot.tables)) {
      const linked = names.has(t.name) ? t.foreignKeys.map((fk) => fk.refTable) : t.foreignKeys.some((fk) => names.has(fk.refTable)) ? [t.name] : [];
      for (const n of linked) {
        if (!names.has(n)) {
          names.add(n);
          grew = true;
        }
      }
    }
  }
}

/**
 * The tables the new migrations can touch: every table their SQL names, closed over foreign keys in
 * both directions (an ALTER of a referenced column, a DROP of a referenced table, all depend on the
 * other side). Undefined when that cannot be known beforehand: a TypeScript migration (its SQL is
 * only known by running it), a view, an opaque statement.
 */
export function partialPlan(ms: MigrationSource[], snapshot: SchemaSnapshot, dump: string[], dialect: Dialect = 'mysql'): PartialPlan | undefined {
  if (Object.keys(snapshot.views).length && ms.some((m) => (m.upSql ?? []).some((s) => /\bview\b/i.test(s)))) return undefined;
  const names = namedTables(ms, snapshot, dialect);
  if (!names) return undefined;
  closeOverForeignKeys(names, snapshot);
  const tables = [...names].filter((n) => snapshot.tables[n]);
  // Only worth it when it saves most of the schema.
  if (tables.length > Math.max(8, Object.keys(snapshot.tables).length / 3)) return undefined;
  const restore = engineFor(dialect).partialDump(dump, tables, Object.keys(snapshot.views).length > 0);
  return restore === undefined ? undefined : { tables, restore, full: dump };
}

/** The next full dump after a partial run: the cached one with the restored tables as they are now. */
export function mergeDumps(dialect: Dialect, full: string[], fresh: string[], restoredTables: string[]): string[] {
  return engineFor(dialect).mergeDumps(full, fresh, restoredTables);
}
