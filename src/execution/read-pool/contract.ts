import type { NodeConfig } from '../../config/index.ts';

/**
 * The cluster's read endpoint: which replicas take the application's reads. Implementations: an
 * HAProxy backend driven through its runtime API, and a user command. A replica running its
 * replica-first ALTER stalls its replication, so it leaves the pool for that time.
 */
export interface ReadPool {
  readonly kind: 'haproxy' | 'command';
  /** A drained replica returns once its lag is at most this. */
  readonly maxLagSeconds: number;
  /** Checks the pool can be driven (socket and backend there, command set) before anything changes. */
  preflight(): Promise<void>;
  /**
   * Each node's state in the pool, by name; a node the pool does not list is absent. undefined:
   * the pool cannot be asked (a command hook), every configured replica is taken as serving.
   */
  members(): Promise<Map<string, string> | undefined>;
  /** Out of the pool for a while: no new sessions, a bounded wait for the open ones, then out. */
  drain(node: NodeConfig, log: (m: string) => void): Promise<void>;
  /** Out at once (the new primary: its reads are fresh, its open sessions may finish). */
  leave(node: NodeConfig): Promise<void>;
  /** Back in (or into) the pool. */
  ready(node: NodeConfig): Promise<void>;
  /** What drain / leave / ready send, for --dry-run. */
  describe(action: 'drain' | 'leave' | 'ready', node: NodeConfig): string;
}
