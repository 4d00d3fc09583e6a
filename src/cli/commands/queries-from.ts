import { workloadFromDigests, type Workload } from '../../analysis/index.ts';
import { countOption, loadConfig, parseDatabaseUrl, type ConnectionConfig, type Dialect } from '../../config/index.ts';
import { createKnex, verifyConnection } from '../../db/index.ts';
import { engineFor, type StatementDigests } from '../../engines/index.ts';
import { configError, usageError } from '../../errors.ts';

/**
 * `--queries-from <url or cluster>`: the old code's statements read from the servers it runs
 * against (performance_schema digests, pg_stat_statements) instead of a file. Every node of a
 * cluster is read (a replica serves reads the primary never sees); only SELECTs of the statistics
 * are sent. The window is the one every node covers: from the latest of their start times.
 */
export interface QueriesFrom {
  workload: Workload;
  /** For the report: what was read, how many statements, which window. */
  note: string;
}

interface Source {
  label: string;
  connection: ConnectionConfig;
}

async function sourcesOf(value: string, dialect: Dialect, configPath: string | undefined): Promise<Source[]> {
  const label = (c: ConnectionConfig) => `${c.host}:${c.port}`;
  if (value.includes('://')) {
    const { dialect: d, connection } = parseDatabaseUrl(value, '--queries-from');
    if (engineFor(d) !== engineFor(dialect))
      throw usageError(`--queries-from names a ${d} server, but the migrations are checked as ${dialect}.`, `Pass a ${engineFor(dialect).urlScheme} URL.`);
    return [{ label: label(connection), connection }];
  }
  const config = await loadConfig({ configPath }).catch((e: unknown) => {
    throw usageError(
      `--queries-from ${value} is not a URL, and no configuration with clusters could be read to find a cluster of that name (${e instanceof Error ? e.message : String(e)}).`,
      'Pass a URL (mysql://user@host:3306/app, postgres://user@host:5432/app) or the name of a cluster of migrate.config, run where that file is (or with --config).',
    );
  });
  const cluster = config.clusters.find((c) => c.name === value);
  if (!cluster) {
    const names = config.clusters.map((c) => c.name);
    throw usageError(
      `--queries-from ${value}: ${config.source} has no cluster of that name.`,
      names.length ? `Use one of: ${names.join(', ')}, or a URL.` : 'Pass a URL (mysql://user@host:3306/app), or describe the cluster in the configuration.',
    );
  }
  return cluster.nodes.map((n) => {
    const connection: ConnectionConfig = { host: n.host, port: n.port, user: n.user, database: config.connection.database };
    if (n.password !== undefined) connection.password = n.password;
    return { label: `${n.name} (${label(connection)})`, connection };
  });
}

async function readNode(s: Source, dialect: Dialect, minCount: number): Promise<StatementDigests> {
  const db = createKnex(dialect, s.connection, { pool: { min: 0, max: 1 } });
  try {
    await verifyConnection(db, dialect, s.connection);
    return await engineFor(dialect).readStatementDigests(db, { schema: s.connection.database, minCount });
  } finally {
    await db.destroy();
  }
}

function utc(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export async function readQueriesFrom(value: string, dialect: Dialect, minCountFlag: string | undefined, configPath?: string): Promise<QueriesFrom> {
  const minCount = minCountFlag === undefined ? 1 : countOption(minCountFlag, '--min-count', 'flag');
  const sources = await sourcesOf(value, dialect, configPath);
  const merged = new Map<string, { text: string; count: number; digest: boolean }>();
  let since: Date | null = null;
  let unknownStart = false;
  let read: StatementDigests | undefined;
  for (const s of sources) {
    read = await readNode(s, dialect, minCount);
    for (const r of read.rows) {
      const m = merged.get(r.text);
      if (m) m.count += r.count;
      else merged.set(r.text, { ...r });
    }
    if (read.since === null) unknownStart = true;
    else if (!since || read.since > since) since = read.since;
  }
  const schema = sources[0]!.connection.database;
  const where = `${schema} on ${sources.map((s) => s.label).join(', ')}`;
  const source = read?.source ?? 'statement statistics';
  if (!merged.size) {
    throw configError(
      `--queries-from: ${source} of ${where} hold no statement run at least ${minCount} time${minCount === 1 ? '' : 's'}.`,
      `Check that ${schema} is the database the application uses, lower --min-count, or let the application run before checking.`,
    );
  }
  const window = since && !unknownStart ? `seen since ${utc(since)}` : `recorded so far (the server does not say since when)`;
  const rows = [...merged.values()].sort((a, b) => b.count - a.count);
  const workload = workloadFromDigests(rows, source, `${window} in ${where}`, dialect, schema);
  const note = `--queries-from: ${workload.queries.length} statement${workload.queries.length === 1 ? '' : 's'} of the running release from ${source} of ${where} (${read?.countColumn ?? 'count'} >= ${minCount}${workload.skipped.length ? `, ${workload.skipped.length} not data statements or cut short, skipped` : ''}), window: ${since && !unknownStart ? `since ${utc(since)}` : 'start unknown'}`;
  return { workload, note };
}
