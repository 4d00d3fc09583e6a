import type { Knex } from 'knex';
import { configError, messageOf } from '../../errors.ts';
import type { DigestQuery, StatementDigests } from '../digests.ts';

const FIX =
  'Add pg_stat_statements to shared_preload_libraries in postgresql.conf and restart the server, then run CREATE EXTENSION pg_stat_statements in the target database (as a superuser); statements are recorded from then on. Or pass the statements with --queries FILE.';

/**
 * The statements PostgreSQL ran in the connected database, from pg_stat_statements (read-only).
 * The window starts at pg_stat_statements_info.stats_reset (PostgreSQL 14+): the last
 * pg_stat_statements_reset(), or when the statistics began.
 */
export async function readPostgresDigests(db: Knex, q: DigestQuery): Promise<StatementDigests> {
  const ext = (await db.raw("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")) as { rows: unknown[] };
  if (!ext.rows.length) throw configError(`The pg_stat_statements extension is not installed in database ${q.schema} of the --queries-from server.`, FIX);
  let rows: { text: string; n: string | number }[];
  try {
    // Our own read of pg_stat_statements is recorded too: left out.
    const r = (await db.raw(
      `SELECT s.query AS text, s.calls AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = current_database() AND s.calls >= ? AND s.query NOT LIKE '%pg_stat_statements%'
        ORDER BY s.calls DESC`,
      [q.minCount],
    )) as { rows: { text: string; n: string | number }[] };
    rows = r.rows;
  } catch (e) {
    // Installed but not preloaded: "pg_stat_statements must be loaded via shared_preload_libraries".
    throw configError(`pg_stat_statements cannot be read on the --queries-from server: ${serverReason(messageOf(e))}.`, FIX);
  }
  let since: Date | null = null;
  const info = (await db.raw("SELECT to_regclass('pg_stat_statements_info') IS NOT NULL AS has")) as { rows: { has: boolean }[] };
  if (info.rows[0]?.has) {
    const r = (await db.raw('SELECT stats_reset AS t FROM pg_stat_statements_info')) as { rows: { t: Date | null }[] };
    since = r.rows[0]?.t ?? null;
  }
  return { rows: rows.map((r) => ({ text: r.text, count: Number(r.n), digest: false })), since, source: 'pg_stat_statements', countColumn: 'calls' };
}

/**
 * knex puts the statement it sent before the server's message ("SELECT ... - <message>"): the
 * statement is migrate's own and only buries the reason, so the user is shown the reason alone.
 */
function serverReason(message: string): string {
  const cut = message.indexOf(' - ');
  const reason = message.startsWith('SELECT s.query') && cut >= 0 ? message.slice(cut + 3) : message;
  return reason.replace(/\.$/, '');
}
