import { createRequire } from 'node:module';
import type pg from 'pg';
import type { ClusterConfig, NodeConfig } from '../../config/index.ts';
import { connectionError, MigrateError, workError } from '../../errors.ts';
import { redact } from '../../log/index.ts';
import type { InPlaceCluster, ReplayReport, ReplayWatch } from '../contract.ts';
import { PG_APPLICATION_NAME } from './migrations.ts';

// What `migrate apply` needs of a PostgreSQL cluster (one primary, streaming replicas): its
// state before the run, one coordinator per cluster, and the replicas' replay after each migration.

/**
 * pg is loaded on first use: engines/index.ts imports this file for every command, a check on
 * MySQL too, and loading pg costs ~25 ms of start-up that such a command never needs.
 */
const loadPg = (): typeof pg => createRequire(import.meta.url)('pg') as typeof pg;

/** A statement that is instant on a healthy server: bounded, so a hung node cannot hold the run. */
const ANSWER_MS = 8_000;

async function openPgNode(node: NodeConfig): Promise<pg.Client> {
  const c = new (loadPg().Client)({
    host: node.host,
    port: node.port,
    user: node.user,
    password: node.password ?? '',
    // Every server has it; the node account is an administrator, not necessarily the app's owner.
    database: 'postgres',
    application_name: PG_APPLICATION_NAME,
    connectionTimeoutMillis: 5_000,
    statement_timeout: ANSWER_MS,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch (e) {
    await c.end().catch(() => undefined);
    throw connectionError(
      redact(`Cannot reach PostgreSQL node ${node.name} at ${node.host}:${node.port} as "${node.user}" (${e instanceof Error ? e.message : String(e)}).`),
      `Check that the server is running and that host, port, user and password of node ${node.name} in the config are right.`,
      e,
    );
  }
  return c;
}

async function withNode<T>(node: NodeConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await openPgNode(node);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

function primaryOf(cluster: ClusterConfig): NodeConfig {
  const p = cluster.nodes.find((n) => n.role === 'primary');
  if (!p) throw workError(`Cluster ${cluster.name} has no node with role "primary".`, 'Mark the PostgreSQL primary "role": "primary" in the config.');
  return p;
}

/**
 * The live state against the config: the primary out of recovery, each replica in recovery with
 * its WAL receiver streaming. Answers the server version of the primary, and what is wrong.
 */
async function inspect(cluster: ClusterConfig): Promise<{ version: string; problems: string[] }> {
  const problems: string[] = [];
  let version = '';
  for (const node of cluster.nodes) {
    if (node.role === 'active' || node.role === 'passive') {
      problems.push(`${node.name}: role "${node.role}" is master-master, which PostgreSQL clusters do not have (use primary / replica)`);
      continue;
    }
    await withNode(node, async (c) => {
      const r = await c.query<{ rec: boolean; v: string; status: string | null }>(
        `SELECT pg_is_in_recovery() AS rec, current_setting('server_version') AS v,
                (SELECT status FROM pg_stat_wal_receiver) AS status`,
      );
      const row = r.rows[0];
      if (node.role === 'primary') {
        version = row?.v ?? '';
        if (row?.rec) problems.push(`${node.name}: configured as primary but in recovery (a standby)`);
      } else if (!row?.rec) problems.push(`${node.name}: configured as replica but not in recovery (it takes writes)`);
      else if (row.status !== 'streaming') problems.push(`${node.name}: its WAL receiver is ${row.status ?? 'not running'}, not streaming from the primary`);
    });
  }
  return { version, problems };
}

/** One key for the coordinator of a cluster; the runner's per-database lock uses two int4 keys, so they never meet. */
const coordinatorKey = (cluster: string): string => `migrate:coordinator:${cluster}`;

/**
 * One coordinator per cluster: a session advisory lock on the primary, held on a session of its
 * own for the whole run (the runner takes its per-database lock for each migration beside it).
 */
async function lock(cluster: ClusterConfig, holderHint?: () => string | undefined): Promise<{ release(): Promise<void> }> {
  const node = primaryOf(cluster);
  const c = await openPgNode(node);
  const key = coordinatorKey(cluster.name);
  try {
    const got = await c.query<{ got: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS got', [key]);
    if (got.rows[0]?.got !== true) {
      const h = await c.query<{ pid: number; usename: string; addr: string | null; app: string; age: number }>(
        `SELECT a.pid, a.usename, host(a.client_addr) AS addr, a.application_name AS app, extract(epoch FROM now() - a.backend_start)::int AS age
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
            AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended($1, 0)`,
        [key],
      );
      const holder = h.rows[0];
      const hint = holderHint?.();
      throw new MigrateError(
        'lock',
        `Another coordinator is running on cluster ${cluster.name}: the primary ${node.name} has its advisory lock held by pid ${holder?.pid ?? '?'} (${holder?.usename ?? '?'} from ${holder?.addr ?? 'a local socket'}, application_name "${holder?.app ?? ''}", connected ${holder?.age ?? '?'} s)${hint ? `; ${hint}` : ''}. Nothing was changed.`,
        `Wait for it to finish (see \`migrate runs\`), or if it died, end its session (SELECT pg_terminate_backend(${holder?.pid ?? '<pid>'})) and run \`migrate resume\`.`,
      );
    }
  } catch (e) {
    await c.end().catch(() => undefined);
    throw e;
  }
  return {
    release: async () => {
      // Ending the session releases the lock as well; unlocking first says so in the server's log.
      await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]).catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

/**
 * Waits until every replica replayed the primary's WAL up to now (taken after the migration
 * committed), so reads on a replica see the new schema. The replicas are watched side by side,
 * so each one's wait and staleness are its own. Bounded: past `timeoutMs` a typed error names a
 * replica behind and by how much. `watch` (the read pool) hears of a replica still behind after
 * its bound and of it once it has replayed.
 */
async function waitForReplay(cluster: ClusterConfig, timeoutMs: number, watch?: ReplayWatch): Promise<ReplayReport> {
  const replicas = cluster.nodes.filter((n) => n.role === 'replica');
  if (replicas.length === 0) return { lsn: '', replicas: [] };
  // The insert position, not pg_current_wal_lsn() (the write position): with synchronous_commit
  // off the commit returns before its record is written, and the write position can still be
  // before it (seen here: the replica "caught up" without the new column).
  const lsn = await withNode(primaryOf(cluster), async (c) => (await c.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]?.l ?? '');
  const started = Date.now();
  // One replica past the bound ends the wait for all: the others stop polling (and draining).
  const run = { started, timeoutMs, failed: false };
  const waited = await Promise.all(
    replicas.map((node) =>
      withNode(node, (c) => replayedBy(c, node, lsn, run, watch)).catch((e: unknown) => {
        run.failed = true;
        throw e;
      }),
    ),
  );
  return { lsn, replicas: replicas.map((n, i) => ({ node: n.name, waitedMs: waited[i] ?? 0 })) };
}

/** Polls one replica until it replayed `lsn`; answers the ms since `started`. */
async function replayedBy(
  c: pg.Client,
  node: NodeConfig,
  lsn: string,
  run: { started: number; timeoutMs: number; failed: boolean },
  watch?: ReplayWatch,
): Promise<number> {
  const { started, timeoutMs } = run;
  let stale = false;
  for (;;) {
    if (run.failed) return Date.now() - started;
    const r = await c.query<{ done: boolean; behind: string | null }>(
      'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done, pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::text AS behind',
      [lsn],
    );
    const row = r.rows[0];
    if (row?.done) {
      const ms = Date.now() - started;
      if (stale) await watch?.replayed(node);
      return ms;
    }
    if (Date.now() - started > timeoutMs)
      throw workError(
        `Replica ${node.name} has not replayed the primary's WAL up to ${lsn} after ${Math.round(timeoutMs / 1000)} s (${row?.behind ?? '?'} bytes behind): reads there do not see the migration yet.`,
        `The migration is committed on the primary. Look at why ${node.name} lags (pg_stat_replication on the primary, its log), then run \`migrate resume\` to go on; --catch-up-timeout sets the bound.`,
      );
    if (watch && !stale && Date.now() - started > watch.staleAfterMs) {
      stale = true;
      await watch.stale(node, row?.behind ?? '?');
    }
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * A replica's replay lag in whole seconds: 0 when it replayed all it received, else the age of
 * the last transaction it replayed (the usual measure; it overstates after an idle primary).
 * A replica that replayed no transaction since it started has no such timestamp: what it last
 * replayed is older than its start, so that age is the bound (it was taken as 0, and a replica
 * paused with the migration's WAL unreplayed went back to the pool serving the old schema).
 * Polled until at most maxLagSeconds, for at most timeoutMs.
 */
async function waitCaughtUp(node: NodeConfig, maxLagSeconds: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  return withNode(node, async (c) => {
    for (;;) {
      const r = await c.query<{ lag: number }>(
        `SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                     ELSE floor(extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(), pg_postmaster_start_time()))) END::int AS lag`,
      );
      const lag = r.rows[0]?.lag ?? 0;
      if (lag <= maxLagSeconds) return lag;
      if (Date.now() >= until)
        throw workError(
          `${node.name} is ${lag} s behind in replay after ${Math.round(timeoutMs / 1000)} s of waiting to return it to the read pool (bound: ${maxLagSeconds} s of lag); it stays out of the pool.`,
          `Let ${node.name} catch up (pg_stat_replication on the primary shows its replay_lag), then run \`migrate resume\`: it returns ${node.name} to the read pool once its lag is under the bound.`,
        );
      await new Promise((res) => setTimeout(res, 200));
    }
  });
}

export const postgresInPlaceCluster: InPlaceCluster = { inspect, lock, waitForReplay, waitCaughtUp };
