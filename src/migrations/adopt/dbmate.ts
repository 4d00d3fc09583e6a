import type { Knex } from 'knex';
import type { AdoptSource } from '../../config/index.ts';
import { str, type Row } from '../../engines/index.ts';
import { emptyToolLedger, requireColumns, type ToolLedger } from './tool-ledger.ts';

/**
 * dbmate keeps `schema_migrations(version varchar)`: one row per applied migration, its version
 * as the file name starts (the digits, zeros kept). No time or state is recorded.
 */
export function readDbmate(db: Knex, source: AdoptSource): Promise<ToolLedger> {
  return readVersionRows(db, source, 'dbmate\'s table is schema_migrations(version): check "adopt.table".');
}

/**
 * pop (gobuffalo/soda, and the Ory projects built on it) keeps `schema_migration(version)`: the
 * same shape as dbmate's, one row per applied version, the digit string as the file name starts.
 */
export function readPop(db: Knex, source: AdoptSource): Promise<ToolLedger> {
  return readVersionRows(db, source, 'pop\'s table is schema_migration(version): check "adopt.table".');
}

/** One applied version per row and nothing else; a golang-migrate table (a dirty column) is named as the likely mix-up. */
async function readVersionRows(db: Knex, source: AdoptSource, shapeHint: string): Promise<ToolLedger> {
  await requireColumns(db, source, ['version'], shapeHint);
  const info = (await db(source.table).columnInfo()) as Record<string, unknown>;
  const out = emptyToolLedger();
  if (Object.keys(info).some((c) => c.toLowerCase() === 'dirty')) {
    out.notes.push(
      `${source.table} has a "dirty" column, as golang-migrate's table does: if golang-migrate wrote it, set "adopt": {"tool": "golang-migrate"} (it reads one row as "every version up to this one").`,
    );
  }
  const rows = (await db(source.table).select('version')) as Row[];
  for (const r of rows) {
    const version = str(r['version'])?.trim();
    if (version) out.applied.push({ version, name: version, appliedAt: null });
  }
  return out;
}
