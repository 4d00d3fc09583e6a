/**
 * The sandbox's public shapes: what `up` is asked for, what it leaves behind in state.json, what
 * `status` reports, and the provider interface each backend (local binaries, Docker) implements.
 */

import type { ConnectionConfig, Dialect } from '../config/index.ts';
import type { ClusterFlavor } from '../engines/index.ts';

/**
 * The topologies a sandbox directory can hold. The two `-shadow` ones are the throwaway server of
 * `migrate shadow up` (one node, no binary log / WAL for replicas, no durability at all), started
 * only through that command.
 */
export type TopologyName = 'primary-replica' | 'master-master' | 'postgres' | 'single' | 'mariadb-shadow' | 'postgres-shadow';
/** What `migrate sandbox up --topology` accepts. */
export const TOPOLOGY_NAMES: readonly TopologyName[] = ['primary-replica', 'master-master', 'postgres', 'single'];
export const SHADOW_TOPOLOGIES: readonly TopologyName[] = ['mariadb-shadow', 'postgres-shadow'];

/** The node's server, spelled as in the config file (state.json keeps it). */
export type SandboxFlavor = ClusterFlavor;
export type SandboxRole = 'primary' | 'replica' | 'active' | 'passive';
export type ProviderKind = 'local' | 'docker';

export interface UpRequest {
  topology: TopologyName;
  /** Replica count: primary-replica (>= 1) and postgres (0 = a single node). */
  replicas: number;
  /** Put an HAProxy writer endpoint in front of the primary/active node. */
  proxy: boolean;
  /** Absolute state directory. */
  dir: string;
  /** Absolute migrations directory written into migrate.config.json. */
  migrationsDir: string;
}

export interface SandboxNode {
  name: string;
  role: SandboxRole;
  flavor: SandboxFlavor;
  host: string;
  port: number;
  /** Unix socket (MariaDB: the socket file; PostgreSQL: the socket directory). */
  socket?: string;
  datadir?: string;
  pid?: number;
  pidFile?: string;
  logFile?: string;
  /** Admin account (replication privileges): root for MySQL/MariaDB, postgres for PostgreSQL. */
  user: string;
  /** Absolute path of the file holding the admin password (mode 0600). */
  passwordFile: string;
  serverId?: number;
  gtidDomainId?: number;
  /** Docker provider only. */
  containerId?: string;
}

export type SandboxWriter =
  | { type: 'direct'; node: string; host: string; port: number }
  | {
      type: 'haproxy';
      host: string;
      port: number;
      /** Runtime API socket, `level admin`. */
      socket: string;
      backend: string;
      /** Server currently enabled in the backend. */
      node: string;
      /** The read pool's frontend (the replicas), when this HAProxy has one. */
      readers?: { host: string; port: number; backend: string };
      pid?: number;
      pidFile: string;
      configFile: string;
    };

export interface SandboxState {
  version: 1;
  provider: ProviderKind;
  /**
   * `starting` while `up` runs, so `down` can clean up after an interrupted `up`; `failed` when
   * `up` gave up (its processes already stopped, the logs kept for reading).
   */
  status: 'starting' | 'ready' | 'failed';
  topology: TopologyName;
  flavor: SandboxFlavor;
  replicas: number;
  proxy: boolean;
  dir: string;
  /**
   * Unix sockets live here: `<dir>/run`, or a short directory under the system temp dir when
   * `<dir>` is too deep for the 107-byte socket path limit (removed by `down` as well).
   */
  runDir: string;
  createdAt: string;
  readyInMs?: number;
  serverVersion?: string;
  nodes: SandboxNode[];
  writer: SandboxWriter;
  /** The application account (no SUPER / READ ONLY ADMIN): the config's `connection`. */
  app: { user: string; database: string; passwordFile: string };
  configPath: string;
}

export interface NodeStatus {
  name: string;
  role: SandboxRole;
  host: string;
  port: number;
  up: boolean;
  /** Why the node counts as down or degraded. */
  error?: string;
  readOnly?: boolean;
  /** Replicas only: replication threads (MariaDB IO/SQL; PostgreSQL WAL receiver). */
  ioRunning?: boolean;
  sqlRunning?: boolean;
  /** Seconds behind (MariaDB) / bytes of WAL not yet replayed (PostgreSQL). */
  lag?: number | null;
  lagUnit?: 'seconds' | 'bytes';
  /** MariaDB @@gtid_current_pos; MySQL @@gtid_executed; PostgreSQL the current / replayed WAL LSN. */
  position?: string;
  replicationError?: string;
}

export interface WriterStatus {
  type: SandboxWriter['type'];
  host: string;
  port: number;
  up: boolean;
  /** Servers of the HAProxy backend and their admin state, from `show servers state`. */
  servers?: { name: string; address: string; state: 'ready' | 'maint' | 'drain' | 'other' }[];
  error?: string;
}

export interface SandboxStatus {
  dir: string;
  topology: TopologyName;
  provider: ProviderKind;
  /** The state.json status: a `failed` or interrupted `up` is never healthy. */
  phase: SandboxState['status'];
  healthy: boolean;
  nodes: NodeStatus[];
  writer: WriterStatus;
  configPath: string;
}

export interface DownReport {
  /** Processes (or containers) stopped, with how. */
  stopped: { what: string; pid?: number; how: 'signal' | 'already-gone' | 'not-ours' | 'container' }[];
}

/** One backend that can start, inspect and stop a topology. */
export interface SandboxProvider {
  readonly kind: ProviderKind;
  /** Why this provider cannot serve the request, or undefined if it can. */
  unsupported(req: UpRequest): string | undefined;
  /**
   * Starts the topology. `record` is called whenever a process was started, with the state so
   * far, so an interrupted `up` leaves a state.json that `down` can clean up from.
   */
  up(req: UpRequest, record: (partial: SandboxState) => void, progress: (msg: string) => void): Promise<SandboxState>;
  status(state: SandboxState): Promise<SandboxStatus>;
  down(state: SandboxState): Promise<DownReport>;
  /**
   * Stops one node cleanly and starts it again with the same settings; returns the new pid.
   * MariaDB nodes come back read-only whatever their role (my.cnf says read_only=ON), except
   * the shadow server's single node, which has nothing to protect.
   */
  restartNode?(state: SandboxState, name: string): Promise<number>;
}

/** A migrate_shadow_* database or account on a shadow server (`migrate shadow status`). */
export interface ShadowObject {
  kind: 'database' | 'account';
  name: string;
  /** Owner process and start time from the name, when it carries them. */
  pid?: number;
  startedAt?: number;
  /** Why it counts as a leftover (the next run removes it); undefined while its run may still be going. */
  leftover?: string;
}

/**
 * Lists the migrate_shadow_* objects on a server. The analysis owns the naming and the leftover
 * policy (src/analysis/shadow-run.ts) and sits above the sandbox, so the caller passes it in.
 */
export type ShadowObjectLister = (dialect: Dialect, server: ConnectionConfig) => Promise<ShadowObject[]>;
