import type { LockSafety } from './lock-safety.ts';

import type { AdoptSource, ClusterFlavor, ConnectionConfig, Dialect } from './dialects.ts';

/** The validated, resolved configuration every command works from. */
export type { ClusterFlavor, ConnectionConfig, Dialect };

export type NodeRole = 'primary' | 'replica' | 'active' | 'passive';

export interface NodeConfig {
  name: string;
  role: NodeRole;
  host: string;
  port: number;
  user: string;
  password?: string;
}

export interface WriterEndpointConfig {
  type: 'haproxy' | 'command' | 'none';
  /** haproxy: runtime API socket path, backend name, frontend host:port. */
  socket?: string;
  backend?: string;
  host?: string;
  port?: number;
  /** command: run with MIGRATE_NEW_PRIMARY_HOST / _PORT in env. */
  command?: string;
}

export interface ClusterConfig {
  name: string;
  flavor: ClusterFlavor;
  topology: 'primary-replica' | 'master-master' | 'single';
  nodes: NodeConfig[];
  writer?: WriterEndpointConfig;
}

export interface ProjectConfig {
  dialect: Dialect;
  connection: ConnectionConfig;
  /** Absolute path of the migrations directory. */
  migrationsDir: string;
  /** Name of our ledger table. */
  ledgerTable: string;
  /** knex's own ledger table to adopt history from, when the project used knex migrations. */
  adoptKnexTable?: string;
  /**
   * Another tool's ledger read as ours while our ledger table does not exist (`"adopt"`, or
   * `"adoptKnex"` as {tool: 'knex'}); copied into ours by the first command that writes.
   */
  adopt?: AdoptSource;
  clusters: ClusterConfig[];
  /** PostgreSQL lock_timeout / retries / statement_timeout for migrations (docs/postgres.md). */
  lockSafety?: Partial<LockSafety>;
  /** Where the config came from, for messages (never its contents). */
  source: string;
}
