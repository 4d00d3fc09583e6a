import type { NodeConfig } from '../../config/index.ts';

/**
 * Moves the application's writer endpoint from one node to another. Implementations: the HAProxy
 * runtime API, and a user command. `move` must also end the clients' sessions on the old node, or
 * pooled connections keep writing there.
 */
export interface WriterEndpoint {
  readonly kind: string;
  /** Checks the endpoint can be driven (socket present, command executable) before any write block. */
  preflight(): Promise<void>;
  move(from: NodeConfig, to: NodeConfig): Promise<void>;
  /**
   * The names of the nodes the endpoint sends writes to, where the driver can read it (HAProxy);
   * absent where it cannot (a command).
   */
  writableServers?(): Promise<string[]>;
}
