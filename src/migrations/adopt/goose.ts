import type { Knex } from 'knex';
import type { AdoptSource } from '../../config/index.ts';
import { str, type Row } from '../../engines/index.ts';
import { emptyToolLedger, flag, requireColumns, timeOf, type ToolLedger, type ToolRow } from './tool-ledger.ts';
import { versionKey } from './versions.ts';

/**
 * goose appends a row per up (is_applied = true) and per down (is_applied = false) to
 * `goose_db_version(id, version_id, is_applied, tstamp)`: the latest row of a version says
 * whether it is applied. Version 0 is the row goose writes when it creates the table.
 */
export async function readGoose(db: Knex, source: AdoptSource): Promise<ToolLedger> {
  await requireColumns(
    db,
    source,
    ['id', 'version_id', 'is_applied'],
    'goose\'s table is goose_db_version(id, version_id, is_applied, tstamp): check "adopt.table".',
  );
  const rows = (await db(source.table).select('*').orderBy('id')) as Row[];
  const latest = new Map<string, { applied: boolean; row: ToolRow }>();
  for (const r of rows) {
    const raw = str(r['version_id']) ?? '';
    const version = versionKey(raw, 'goose');
    if (version === undefined || version === '0') continue;
    latest.set(version, { applied: flag(r['is_applied']), row: { version, name: version, appliedAt: timeOf(r['tstamp']) } });
  }
  const out = emptyToolLedger();
  for (const { applied, row } of latest.values()) if (applied) out.applied.push(row);
  return out;
}
