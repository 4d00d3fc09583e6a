import type { Knex } from 'knex';
import type { AdoptSource } from '../../config/index.ts';
import { num, str, type Row } from '../../engines/index.ts';
import { emptyToolLedger, flag, requireColumns, timeOf, type ToolLedger, type ToolRow } from './tool-ledger.ts';
import { compareVersions, versionKey } from './versions.ts';

const COLUMNS = ['installed_rank', 'version', 'description', 'type', 'script', 'installed_on', 'success'];

type Last = { state: 'applied' | 'failed'; row: ToolRow; what?: string };

/** "R__views.sql" -> "R__views": a repeatable is known by its script, our id is the stem. */
function stem(script: string): string {
  return (script.split('/').at(-1) ?? script).replace(/\.[^.]*$/, '');
}

/**
 * Flyway appends one row per migration run to `flyway_schema_history`, in installed_rank order:
 * type SQL/JDBC/... with success = true applied the version, success = false failed part-way;
 * an UNDO_* row (success = true) or a DELETE row (written by `flyway repair`) cancels it. A
 * BASELINE row means every version up to it counts as applied; the SCHEMA row is Flyway's own.
 * Repeatable migrations have no version: their row is matched by script name.
 */
export async function readFlyway(db: Knex, source: AdoptSource): Promise<ToolLedger> {
  await requireColumns(
    db,
    source,
    COLUMNS,
    'Flyway\'s table is flyway_schema_history (installed_rank, version, type, script, success, ...): check "adopt.table".',
  );
  const info = (await db(source.table).columnInfo()) as Record<string, unknown>;
  const withChecksum = Object.keys(info).some((c) => c.toLowerCase() === 'checksum');
  const rows = (await db(source.table)
    .select(withChecksum ? [...COLUMNS, 'checksum'] : COLUMNS)
    .orderBy('installed_rank')) as Row[];
  const out = emptyToolLedger();
  const last = new Map<string, Last>();
  for (const r of rows) {
    const type = (str(r['type']) ?? '').toUpperCase();
    const rawVersion = str(r['version']);
    const script = str(r['script']) ?? '';
    const at = timeOf(r['installed_on']);
    const ok = flag(r['success']);
    if (type === 'SCHEMA') continue;
    const version = rawVersion === null ? undefined : versionKey(rawVersion, 'flyway');
    if (type === 'BASELINE' || type === 'SQL_BASELINE') {
      if (version !== undefined && ok && (!out.upTo || compareVersions(version, out.upTo.version, 'flyway') > 0))
        out.upTo = { version, name: `V${version}`, appliedAt: at, named: false };
      continue;
    }
    const key = version !== undefined ? `v:${version}` : `r:${stem(script)}`;
    const checksum = num(r['checksum']);
    const row: ToolRow = {
      ...(version !== undefined ? { version, name: stem(script) || `V${version}` } : { id: stem(script), name: stem(script) }),
      appliedAt: at,
      ...(checksum === null ? {} : { checksum }),
    };
    if (type === 'DELETE' || type.startsWith('UNDO')) {
      if (type === 'DELETE' || ok) last.delete(key);
      else last.set(key, { state: 'failed', row, what: failed(source, r, 'its undo failed') });
      continue;
    }
    last.set(key, ok ? { state: 'applied', row } : { state: 'failed', row, what: failed(source, r, 'it failed') });
  }
  for (const l of last.values()) {
    if (l.state === 'applied') out.applied.push(l.row);
    else out.unfinished.push({ ...l.row, what: l.what ?? '' });
  }
  return out;
}

function failed(source: AdoptSource, r: Row, how: string): string {
  const at = timeOf(r['installed_on']);
  return `Flyway recorded in ${source.table} (installed_rank ${num(r['installed_rank']) ?? '?'}${at ? `, ${at.toISOString()}` : ''}) that ${how}, so part of it may be in place`;
}
