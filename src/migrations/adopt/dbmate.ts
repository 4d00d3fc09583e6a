import type { Knex } from 'knex';
import type { AdoptSource } from '../../config/index.ts';
import { str, type Row } from '../../engines/index.ts';
import { emptyToolLedger, requireColumns, type ToolLedger } from './tool-ledger.ts';

/**
 * dbmate keeps `schema_migrations(version varchar)`: one row per applied migration, its version
 * as the file name starts (the digits, zeros kept). No time or state is recorded.
 */
export async function readDbmate(db: Knex, source: AdoptSource): Promise<ToolLedger> {
  await requireColumns(db, source, ['version'], 'dbmate\'s table is schema_migrations(version): check "adopt.table".');
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
