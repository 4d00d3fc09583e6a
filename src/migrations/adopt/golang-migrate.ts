import type { Knex } from 'knex';
import type { AdoptSource } from '../../config/index.ts';
import { str, type Row } from '../../engines/index.ts';
import { emptyToolLedger, flag, requireColumns, type ToolLedger } from './tool-ledger.ts';
import { compareVersions, versionKey } from './versions.ts';

/**
 * golang-migrate keeps one row, `schema_migrations(version bigint, dirty boolean)`: every
 * migration whose version is at most `version` is applied. It sets dirty = true before running a
 * migration and clears it after, so a dirty row means the run that went to `version` stopped
 * half-way: the up of that version (or the down of the one after it) may have left part of itself.
 * No time is recorded.
 */
export async function readGolangMigrate(db: Knex, source: AdoptSource): Promise<ToolLedger> {
  await requireColumns(
    db,
    source,
    ['version', 'dirty'],
    'golang-migrate\'s table has the columns version and dirty; a table with only "version" is dbmate\'s: set "adopt": {"tool": "dbmate"}.',
  );
  const rows = (await db(source.table).select('version', 'dirty')) as Row[];
  const out = emptyToolLedger();
  const versions = rows.flatMap((r) => {
    const v = versionKey(str(r['version']) ?? '', 'golang-migrate');
    return v === undefined ? [] : [{ version: v, dirty: flag(r['dirty']) }];
  });
  if (versions.length === 0) return out;
  versions.sort((a, b) => compareVersions(b.version, a.version, 'golang-migrate'));
  const top = versions[0];
  if (!top) return out;
  if (versions.length > 1)
    out.notes.push(
      `${source.table} holds ${versions.length} rows where golang-migrate keeps one; the highest version, ${top.version}, is taken as the last applied.`,
    );
  // NilVersion (-1): nothing applied; dirty, it was the down of the first migration that stopped.
  if (top.version === '-1') {
    if (top.dirty)
      out.unfinished.push({
        version: '-1',
        name: '-1',
        appliedAt: null,
        what: `golang-migrate marked version -1 dirty in ${source.table}: the down of the first migration was interrupted`,
      });
    return out;
  }
  out.upTo = { version: top.version, name: top.version, appliedAt: null, named: true };
  if (top.dirty)
    out.unfinished.push({
      version: top.version,
      name: top.version,
      appliedAt: null,
      what: `golang-migrate marked version ${top.version} dirty in ${source.table}: the run that went to it was interrupted (its up, or the down of the migration after it), so part of it may be in place`,
    });
  return out;
}
