import type { LockSafety } from './lock-safety.ts';

import type { AdoptSource, ClusterFlavor, ConnectionConfig, Dialect, LayoutChoice } from './dialects.ts';

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

/**
 * The cluster's read endpoint (docs/read-pool.md): replicas are drained from it while their
 * replica-first ALTER stalls their replication. HAProxy server names in the backend = node names.
 */
export interface ReadPoolConfig {
  type: 'haproxy' | 'command';
  /** haproxy: runtime API socket path (level admin) and the backend of the replicas. */
  socket?: string;
  backend?: string;
  /** command: run with MIGRATE_READ_POOL_ACTION=drain|ready and MIGRATE_NODE / _HOST / _PORT. */
  command?: string;
  /** A drained replica returns once its lag is at most this (seconds, default 1). */
  maxLagSeconds?: number;
  /** How long a draining replica's sessions may take to end before it goes to maint anyway (seconds, default 30). */
  drainTimeoutSeconds?: number;
}

export interface ClusterConfig {
  name: string;
  flavor: ClusterFlavor;
  topology: 'primary-replica' | 'master-master' | 'single';
  nodes: NodeConfig[];
  writer?: WriterEndpointConfig;
  readPool?: ReadPoolConfig;
}

/** How the hand-off checks a release: a command that exits 0, or an HTTP endpoint (docs/handoff.md). */
export type VerifyConfig =
  | { kind: 'command'; command: string }
  | {
      kind: 'http';
      url: string;
      /** The status a healthy release answers with. */
      status: number;
      /** Polls (one every intervalMs) until the first healthy answer. */
      retries: number;
      intervalMs: number;
      /** After the first healthy answer, every poll for this long must be healthy too. */
      windowMs: number;
      /** Per request. */
      timeoutMs: number;
    };

/** The code hand-off between the expand and contract phases: deploy, verify, rollback. */
export interface HandoffConfig {
  deploy?: string;
  verify?: VerifyConfig;
  rollback?: string;
}

export interface ProjectConfig {
  dialect: Dialect;
  connection: ConnectionConfig;
  /** Absolute path of the migrations directory. */
  migrationsDir: string;
  /** How the migration files are laid out (migrations.layout, or --layout); absent means auto. */
  migrationsLayout?: LayoutChoice;
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
  /** The "handoff" key: the deploy, verify and rollback steps (flags override each). */
  handoff?: HandoffConfig;
  /** Where the config came from, for messages (never its contents). */
  source: string;
}
