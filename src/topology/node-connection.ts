import mysql from 'mysql2/promise';
import type { NodeConfig } from '../config/types.ts';
import { connectionError } from '../errors.ts';
import { redact } from '../log/redact.ts';

export type NodeConnection = mysql.Connection;

/**
 * One dedicated connection per node: the coordinator needs session state (sql_log_bin=0, locks)
 * to stay on the connection it set it on, which a pool cannot promise.
 */
export async function openNode(node: NodeConfig, opts: { connectTimeoutMs?: number } = {}): Promise<NodeConnection> {
  try {
    return await mysql.createConnection({
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
      throw connectionError(`Node ${node.name} (${node.host}:${node.port}) refused the login of "${node.user}".`, `Check the user and passwordEnv/passwordFile of node ${node.name} in the config.`, e);
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
