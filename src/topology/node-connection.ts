import { Socket } from 'node:net';
import type mysql from 'mysql2/promise';
import type { NodeConfig } from '../config/index.ts';
import type { Flavor } from '../engines/index.ts';
import { connectionError, MigrateError } from '../errors.ts';
import { redact } from '../log/index.ts';

export type NodeConnection = mysql.Connection;

/**
 * How long a node may take to answer a statement that is instant on a healthy server (status
 * reads, SET GLOBAL, STOP SLAVE...). A server that is stopped (SIGSTOP), hung or swapping keeps
 * its TCP connections open and never answers: without a deadline the coordinator would wait
 * forever, holding the cluster lock.
 */
export const NODE_ANSWER_MS = 8_000;

/**
 * One dedicated connection per node: the coordinator needs session state (sql_log_bin=0, locks)
 * to stay on the connection it set it on, which a pool cannot promise.
 */
export async function openNode(node: NodeConfig, opts: { connectTimeoutMs?: number } = {}): Promise<NodeConnection> {
  // The driver loads with the first node connection, not with the topology index: the apply and
  // topology commands import that index at CLI start.
  const { default: driver } = await import('mysql2/promise');
  try {
    return await driver.createConnection({
      host: node.host,
      port: node.port,
      user: node.user,
      password: node.password ?? '',
      connectTimeout: opts.connectTimeoutMs ?? 5000,
      multipleStatements: false,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'ER_ACCESS_DENIED_ERROR') {
      throw connectionError(
        `Node ${node.name} (${node.host}:${node.port}) refused the login of "${node.user}".`,
        `Check the user and passwordEnv/passwordFile of node ${node.name} in the config.`,
        e,
      );
    }
    throw connectionError(
      `Cannot reach node ${node.name} at ${node.host}:${node.port} (${redact(err.code ?? err.message ?? String(e))}).`,
      `Check that the server is running and that host/port of node ${node.name} in the config are right.`,
      e,
    );
  }
}

export async function queryRows(conn: NodeConnection, sql: string): Promise<Record<string, unknown>[]> {
  const [rows] = await conn.query(sql);
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
}

export async function queryOne(conn: NodeConnection, sql: string): Promise<Record<string, unknown> | undefined> {
  return (await queryRows(conn, sql))[0];
}

/** The socket under a promise connection; `end()` would queue a QUIT behind a query that never returns. */
interface WithStream {
  connection?: { stream?: { destroy?: () => void } };
}

/**
 * The file descriptor of the TCP socket under a connection, to hand the session to another
 * process (see watchdog.ts). Node keeps it on the socket's internal handle; passing the socket
 * object itself to spawn() would stop this process reading from it.
 */
export function socketFdOf(conn: NodeConnection): number | undefined {
  const s = (conn as unknown as WithStream).connection?.stream;
  const fd = s instanceof Socket ? (s as unknown as { _handle?: { fd?: unknown } })._handle?.fd : undefined;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Closes the connection's socket at once; a query still waiting on it fails with PROTOCOL_CONNECTION_LOST. */
export function closeNow(conn: NodeConnection): void {
  (conn as unknown as WithStream).connection?.stream?.destroy?.();
}

/** Ends a connection politely, or closes it after `ms` when the server does not answer the QUIT. */
export async function endWithin(conn: NodeConnection, ms = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    conn.end().catch(() => undefined),
    new Promise<void>((r) => {
      timer = setTimeout(() => {
        closeNow(conn);
        r();
      }, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** A node that kept a connection open but did not answer in time (stopped, hung, overloaded). */
export class NodeSilentError extends MigrateError {
  constructor(
    readonly node: string,
    readonly what: string,
    readonly waitedMs: number,
  ) {
    super(
      'work',
      `Node ${node} did not answer ${what} within ${(waitedMs / 1000).toFixed(1)} s: its server is stopped, hung or overloaded.`,
      `Check that the server of ${node} runs and answers (\`migrate topology\`), then run again.`,
    );
    this.name = 'NodeSilentError';
  }
}

/**
 * Runs a statement that must answer within `ms`. Past it the connection is closed (the statement
 * may or may not have run on the server) and a NodeSilentError names the node and the statement.
 */
export async function queryRowsWithin(
  conn: NodeConnection,
  sql: string,
  ms: number,
  node: string,
  what = `"${sql.slice(0, 60)}"`,
): Promise<Record<string, unknown>[]> {
  let timer: NodeJS.Timeout | undefined;
  let silent = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        silent = true;
        closeNow(conn);
        reject(new NodeSilentError(node, what, ms));
      },
      Math.max(1, ms),
    );
  });
  try {
    return await Promise.race([queryRows(conn, sql), deadline]);
  } catch (e) {
    if (silent && !(e instanceof NodeSilentError)) throw new NodeSilentError(node, what, ms);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export async function queryOneWithin(conn: NodeConnection, sql: string, ms: number, node: string, what?: string): Promise<Record<string, unknown> | undefined> {
  return (await queryRowsWithin(conn, sql, ms, node, what))[0];
}

/** The connection died under a statement (server killed, restarted, network gone), as opposed to an SQL error. */
export function isConnectionLoss(e: unknown): boolean {
  if (e instanceof NodeSilentError) return true;
  const code = (e as { code?: string } | null)?.code ?? '';
  const cause = (e as { cause?: unknown } | null)?.cause;
  if (
    [
      'PROTOCOL_CONNECTION_LOST',
      'ECONNRESET',
      'ECONNREFUSED',
      'EPIPE',
      'ETIMEDOUT',
      'ER_CONNECTION_KILLED',
      'ER_SERVER_SHUTDOWN',
      'PROTOCOL_SEQUENCE_TIMEOUT',
      'EHOSTUNREACH',
    ].includes(code)
  )
    return true;
  if (/closed state|Connection lost|connection is in closed state/i.test((e as Error | null)?.message ?? '')) return true;
  return cause !== undefined && cause !== e && isConnectionLoss(cause);
}

/** Why a connection died, in the operator's words rather than the driver's. */
export function lossReason(e: unknown): string {
  if (e instanceof NodeSilentError) return `no answer within ${(e.waitedMs / 1000).toFixed(1)} s`;
  const code = (e as { code?: string } | null)?.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused: the server is down';
  if (code === 'ER_SERVER_SHUTDOWN') return 'the server is shutting down';
  if (isConnectionLoss(e)) return 'the server closed the connection: it went away';
  return e instanceof Error ? e.message : String(e);
}

/**
 * Runs `fn` on a fresh connection to a node that may be gone (crashed, stopped, restarting):
 * `unreachable` when no connection opens, else what `fn` returns; the connection is closed after,
 * within `endMs` even if the node stops answering.
 */
export async function onNodeIfReachable<T, U>(
  node: NodeConfig,
  fn: (c: NodeConnection) => Promise<T>,
  unreachable: U,
  opts: { connectTimeoutMs?: number; endMs?: number } = {},
): Promise<T | U> {
  const c = await openNode(node, opts.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: opts.connectTimeoutMs }).catch(() => undefined);
  if (!c) return unreachable;
  try {
    return await fn(c);
  } finally {
    await endWithin(c, opts.endMs);
  }
}

/** Whether the node refuses writes (read_only), with the usual answer deadline. */
export async function isReadOnly(c: NodeConnection, flavor: Pick<Flavor, 'readOnlyQuery'>, node: string): Promise<boolean> {
  return Number((await queryOneWithin(c, flavor.readOnlyQuery(), NODE_ANSWER_MS, node, 'read_only'))?.['ro']) === 1;
}
