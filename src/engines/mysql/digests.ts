import type { Knex } from 'knex';
import { configError } from '../../errors.ts';
import type { DigestQuery, StatementDigests } from '../digests.ts';

/**
 * The statements a MySQL/MariaDB server ran in one schema, from
 * performance_schema.events_statements_summary_by_digest: read-only, and the summary table holds
 * one row per normalised statement, so reading it costs nothing on the server. Its window starts
 * at the oldest FIRST_SEEN (server start, or the last TRUNCATE of the table).
 */
export async function readMysqlDigests(db: Knex, q: DigestQuery): Promise<StatementDigests> {
  const [[on]] = (await db.raw('SELECT @@performance_schema AS on_')) as [[{ on_: number | string }]];
  if (Number(on?.on_) !== 1) {
    throw configError(
      'performance_schema is OFF on the --queries-from server, so it records no statement digests.',
      'Set performance_schema=ON in the server configuration ([mysqld] section) and restart it (it cannot be switched on at runtime); digests are collected from then on. Or pass the statements with --queries FILE.',
    );
  }
  const [[consumer]] = (await db.raw("SELECT ENABLED AS e FROM performance_schema.setup_consumers WHERE NAME = 'statements_digest'")) as [
    [{ e: string } | undefined],
  ];
  if (consumer && consumer.e !== 'YES') {
    throw configError(
      'The statements_digest consumer of performance_schema is disabled on the --queries-from server, so no digests are recorded.',
      "Run UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME = 'statements_digest' (and performance-schema-consumer-statements-digest=ON in the configuration to keep it), then let the application run for a while.",
    );
  }
  // Our own reads of performance_schema run in the schema too (the connection's database): left out.
  const [rows] = (await db.raw(
    `SELECT DIGEST_TEXT AS text, COUNT_STAR AS n FROM performance_schema.events_statements_summary_by_digest
      WHERE SCHEMA_NAME = ? AND COUNT_STAR >= ? AND DIGEST_TEXT IS NOT NULL AND DIGEST_TEXT NOT LIKE '%performance_schema%'
      ORDER BY COUNT_STAR DESC`,
    [q.schema, q.minCount],
  )) as [{ text: string; n: number | string }[]];
  const [[first]] = (await db.raw(
    "SELECT DATE_FORMAT(CONVERT_TZ(MIN(FIRST_SEEN), @@session.time_zone, '+00:00'), '%Y-%m-%dT%H:%i:%sZ') AS t FROM performance_schema.events_statements_summary_by_digest",
  )) as [[{ t: string | null }]];
  return {
    rows: rows.map((r) => ({ text: r.text, count: Number(r.n), digest: true })),
    since: first?.t ? new Date(first.t) : null,
    source: 'performance_schema statement digests',
    countColumn: 'COUNT_STAR',
  };
}
