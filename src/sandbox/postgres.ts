import { appendFileSync, chownSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { MigrateError, messageOf } from '../errors.ts';
import { redact } from '../log/index.ts';
import type { PostgresBinaries } from './binaries.ts';
import type { NodeStatus, SandboxNode } from './contract.ts';
import { isRoot, lookupUser, readPidFile, run, stopServer, type OsUser, type StopOutcome } from './process.ts';
import { readSecret } from './secrets.ts';
import type { NodePlan } from './topologies.ts';

export const PG_ADMIN_USER = 'postgres';

export interface PostgresNodeSpec {
  plan: NodePlan;
  nodeDir: string;
  datadir: string;
  /** Directory holding the .s.PGSQL.<port> socket. */
  socketDir: string;
  logFile: string;
  port: number;
  passwordFile: string;
}

export function pgNodeSpec(plan: NodePlan, nodeDir: string, port: number, passwordFile: string): PostgresNodeSpec {
  return { plan, nodeDir, datadir: join(nodeDir, 'data'), socketDir: nodeDir, logFile: join(nodeDir, 'postgres.log'), port, passwordFile };
}

/**
 * PostgreSQL refuses to run as root: as root we run its programs as the `postgres` account
 * (spawn with its uid/gid) and hand it the node directory; as anyone else, as ourselves.
 */
export function serverAccount(): OsUser | undefined {
  if (!isRoot()) return undefined;
  const u = lookupUser('postgres');
  if (!u) {
    throw new MigrateError(
      'sandbox',
      'PostgreSQL cannot run as root and there is no `postgres` account to run it as.',
      'Install the postgresql package (it creates the account), or run the sandbox as a non-root user.',
    );
  }
  return u;
}

async function prepareNodeDir(s: PostgresNodeSpec, as: OsUser | undefined): Promise<void> {
  // Parents open for traversal (recursive mkdir would give them the 0700 too), the node itself private.
  mkdirSync(dirname(s.nodeDir), { recursive: true, mode: 0o755 });
  mkdirSync(s.nodeDir, { mode: 0o700 });
  if (as) {
    chownSync(s.nodeDir, as.uid, as.gid);
    // The account must reach the directory through every parent (a 0700 /root or mkdtemp dir stops it).
    await run('/bin/sh', ['-c', 'test -w "$1" && test -x "$1"', 'sh', s.nodeDir], { as, what: 'checking access', timeoutMs: 5_000 }).catch(() => {
      throw new MigrateError(
        'sandbox',
        `The ${as.name} account cannot reach ${s.nodeDir}: a parent directory is closed to other users.`,
        'Pass --dir (or set MIGRATE_SANDBOX_DIR for `migrate sandbox`, MIGRATE_SHADOW_DIR for `migrate shadow`) pointing into a directory every user can traverse, e.g. under /tmp.',
      );
    });
  }
}

/**
 * A throwaway cluster: durability off for speed, WAL and standby settings for streaming replicas.
 * The shadow server (`migrate shadow up`) has no replicas: its WAL carries only what crash
 * recovery needs (wal_level minimal, which requires max_wal_senders = 0), so a CREATE TABLE
 * followed by its data in one transaction writes no WAL for the data at all.
 */
function serverSettings(s: PostgresNodeSpec): string {
  const shadow = s.plan.profile === 'shadow';
  return [
    '',
    shadow ? '# Written by `migrate shadow up`: a throwaway server for shadow databases; never put real data here.' : '# Written by `migrate sandbox up`.',
    `port = ${s.port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${s.socketDir}'`,
    // Local (socket) logins are trusted by pg_hba: only the server account and root may use the socket.
    'unix_socket_permissions = 0700',
    // wal_keep_size: a checkpoint during pg_basebackup -X stream of the second replica once
    // removed the segment the clone still streamed from ("requested WAL segment ... has already
    // been removed"); kept segments also carry a replica whose replay a test paused.
    ...(shadow
      ? ['wal_level = minimal', 'max_wal_senders = 0']
      : ['wal_level = replica', 'max_wal_senders = 10', 'hot_standby = on', "wal_keep_size = '128MB'"]),
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'shared_buffers = 32MB',
    'max_connections = 50',
    '',
  ].join('\n');
}

export async function initPrimary(bins: PostgresBinaries, s: PostgresNodeSpec, as: OsUser | undefined): Promise<void> {
  await prepareNodeDir(s, as);
  await run(
    bins.initdb,
    ['-D', s.datadir, '-U', PG_ADMIN_USER, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-instructions', '--no-sync'],
    { as, what: 'initialising the PostgreSQL data directory', timeoutMs: 60_000 },
  );
  appendFileSync(join(s.datadir, 'postgresql.conf'), serverSettings(s));
}

/** A streaming replica cloned from the running primary over its socket (trusted locally). */
export async function initReplica(bins: PostgresBinaries, s: PostgresNodeSpec, primary: PostgresNodeSpec, as: OsUser | undefined): Promise<void> {
  await prepareNodeDir(s, as);
  await run(
    bins.basebackup,
    ['-D', s.datadir, '-h', primary.socketDir, '-p', String(primary.port), '-U', PG_ADMIN_USER, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
    { as, what: `cloning replica ${s.plan.name} from the primary`, timeoutMs: 60_000 },
  );
  // Later lines win: the copied postgresql.conf carries the primary's port and socket directory.
  appendFileSync(join(s.datadir, 'postgresql.conf'), serverSettings(s));
  appendFileSync(
    join(s.datadir, 'postgresql.auto.conf'),
    `primary_conninfo = 'host=${primary.socketDir} port=${primary.port} user=${PG_ADMIN_USER} application_name=${s.plan.name}'\n`,
  );
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-12).join('\n');
  } catch {
    return '(no log written)';
  }
}

export class PgPortInUseError extends Error {}

/** pg_ctl start -w: returns once the server accepts connections; the postmaster pid comes from its pid file. */
export async function startPostgres(bins: PostgresBinaries, s: PostgresNodeSpec, as: OsUser | undefined): Promise<number> {
  try {
    await run(bins.pgCtl, ['-D', s.datadir, '-l', s.logFile, '-w', '-t', '30', 'start'], {
      as,
      what: `starting PostgreSQL node ${s.plan.name}`,
      timeoutMs: 40_000,
    });
  } catch (e) {
    const log = logTail(s.logFile);
    if (/could not bind|Address already in use/i.test(log)) throw new PgPortInUseError(`port ${s.port} in use`);
    throw new MigrateError('sandbox', redact(`PostgreSQL node ${s.plan.name} did not start:\n${log}`), `See ${s.logFile} for the full log.`, { cause: e });
  }
  const pid = readPidFile(join(s.datadir, 'postmaster.pid'));
  if (!pid) throw new MigrateError('sandbox', `PostgreSQL node ${s.plan.name} started but wrote no postmaster.pid.`, `See ${s.logFile}.`);
  return pid;
}

async function withClient<T>(cfg: pg.ClientConfig, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionTimeoutMillis: 3_000, ...cfg });
  // An idle client whose server goes away emits 'error'; without a listener that kills the process.
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function bootstrapPostgres(
  s: PostgresNodeSpec,
  adminPassword: string,
  appUser: string,
  appPassword: string,
  appDatabase: string,
): Promise<string> {
  return withClient({ host: s.socketDir, port: s.port, user: PG_ADMIN_USER, database: 'postgres' }, async (c) => {
    // A shadow server holds nothing but the analysis's own databases (src/analysis/shadow-run.ts).
    const app =
      s.plan.profile === 'shadow'
        ? []
        : [
            `CREATE ROLE ${c.escapeIdentifier(appUser)} LOGIN PASSWORD ${c.escapeLiteral(appPassword)}`,
            `CREATE DATABASE ${c.escapeIdentifier(appDatabase)} OWNER ${c.escapeIdentifier(appUser)}`,
          ];
    const stmts = [`ALTER ROLE ${PG_ADMIN_USER} PASSWORD ${c.escapeLiteral(adminPassword)}`, ...app];
    for (const sql of stmts) {
      try {
        await c.query(sql);
      } catch (e) {
        throw new MigrateError('sandbox', redact(`Setting up accounts on PostgreSQL node ${s.plan.name} failed: ${messageOf(e)}`), `See ${s.logFile}.`, {
          cause: e,
        });
      }
    }
    const r = await c.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return `PostgreSQL ${r.rows[0]?.v ?? ''}`;
  });
}

const adminClientConfig = (node: SandboxNode): pg.ClientConfig => ({
  host: node.host,
  port: node.port,
  user: node.user,
  password: readSecret(node.passwordFile),
  database: 'postgres',
});

/** Waits until a replica's WAL receiver streams from the primary. */
export async function waitStreaming(node: SandboxNode, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  await withClient(adminClientConfig(node), async (c) => {
    for (;;) {
      const r = await c.query<{ status: string }>('SELECT status FROM pg_stat_wal_receiver');
      if (r.rows[0]?.status === 'streaming') return;
      if (Date.now() > until) {
        throw new MigrateError('sandbox', `PostgreSQL replica ${node.name} is not streaming after ${timeoutMs / 1000} s.`, `See ${node.logFile ?? 'its log'}.`);
      }
      await new Promise((r2) => setTimeout(r2, 50));
    }
  });
}

export async function postgresNodeStatus(node: SandboxNode): Promise<NodeStatus> {
  const base: NodeStatus = { name: node.name, role: node.role, host: node.host, port: node.port, up: false };
  try {
    return await withClient({ ...adminClientConfig(node), connectionTimeoutMillis: 2_000 }, async (c) => {
      const r = await c.query<{ rec: boolean; ro: string }>("SELECT pg_is_in_recovery() AS rec, current_setting('default_transaction_read_only') AS ro");
      const rec = r.rows[0]?.rec === true;
      const st: NodeStatus = { ...base, up: true, readOnly: rec || r.rows[0]?.ro === 'on' };
      if (!rec) {
        const p = await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
        st.position = p.rows[0]?.lsn;
        return st;
      }
      const q = await c.query<{ lsn: string | null; lag: string | null; status: string | null; paused: boolean }>(
        `SELECT pg_last_wal_replay_lsn()::text AS lsn,
                pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text AS lag,
                (SELECT status FROM pg_stat_wal_receiver) AS status,
                pg_is_wal_replay_paused() AS paused`,
      );
      const row = q.rows[0];
      st.position = row?.lsn ?? undefined;
      st.ioRunning = row?.status === 'streaming';
      st.sqlRunning = row ? !row.paused : false;
      st.lag = row?.lag === null || row?.lag === undefined ? null : Number(row.lag);
      st.lagUnit = 'bytes';
      return st;
    });
  } catch (e) {
    return { ...base, error: redact(messageOf(e)) };
  }
}

export async function stopPostgresNode(node: SandboxNode): Promise<{ pid?: number; how: StopOutcome }> {
  if (!node.datadir) return { how: 'already-gone' };
  // SIGINT is PostgreSQL's "fast" shutdown: sessions are ended, no waiting for clients.
  return stopServer(join(node.datadir, 'postmaster.pid'), node.pid, node.datadir, 'SIGINT', 30_000);
}
