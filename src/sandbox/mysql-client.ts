import mysql from 'mysql2/promise';
import type { SandboxNode } from './contract.ts';
import { readSecret } from './secrets.ts';

export type MysqlConnection = mysql.Connection;

export interface MysqlTarget {
  host?: string;
  port?: number;
  socketPath?: string;
  user: string;
  password?: string;
  database?: string;
}

export function connectMysql(t: MysqlTarget, timeoutMs = 3_000): Promise<MysqlConnection> {
  return mysql.createConnection({
    ...(t.socketPath ? { socketPath: t.socketPath } : { host: t.host ?? '127.0.0.1', port: t.port }),
    user: t.user,
    password: t.password ?? '',
    database: t.database,
    connectTimeout: timeoutMs,
    multipleStatements: false,
  });
}

/** The admin account over TCP, as the coordinator will connect. */
export function connectAdmin(node: SandboxNode, timeoutMs = 3_000): Promise<MysqlConnection> {
  return connectMysql({ host: node.host, port: node.port, user: node.user, password: readSecret(node.passwordFile) }, timeoutMs);
}

export async function withConnection<T>(open: Promise<MysqlConnection>, fn: (c: MysqlConnection) => Promise<T>): Promise<T> {
  const c = await open;
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

export async function queryRows(c: MysqlConnection, sql: string, values?: unknown[]): Promise<Record<string, unknown>[]> {
  const [rows] = await c.query(sql, values);
  return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
}
