import { existsSync } from 'node:fs';
import type { NodeConfig } from '../../config/index.ts';
import { workError } from '../../errors.ts';
import { haproxyPoolMembers, haproxyRuntime } from '../../topology/index.ts';
import type { ReadPool } from './contract.ts';

const POLL_MS = 200;

/**
 * A backend of replicas, servers named after the nodes. Draining is HAProxy's `state drain` (no
 * new sessions, the open ones go on), then `state maint` once `show stat` counts none of them,
 * or when the bound runs out: a session left open then keeps reading from the replica while
 * its data ages, and the log says how many.
 */
export class HaproxyReadPool implements ReadPool {
  readonly kind = 'haproxy';
  constructor(
    private readonly socket: string,
    private readonly backend: string,
    readonly maxLagSeconds: number,
    private readonly drainTimeoutMs: number,
  ) {}

  async preflight(): Promise<void> {
    if (!existsSync(this.socket))
      throw workError(
        `HAProxy's runtime socket ${this.socket} (the read pool) does not exist.`,
        'Start HAProxy with "stats socket <path> level admin" and set readPool.socket in the config to that path.',
      );
    await haproxyPoolMembers(this.socket, this.backend);
  }

  async members(): Promise<Map<string, string>> {
    return new Map((await haproxyPoolMembers(this.socket, this.backend)).map((m) => [m.name, m.state]));
  }

  async drain(node: NodeConfig, log: (m: string) => void): Promise<void> {
    await this.set(node, 'drain');
    const until = Date.now() + this.drainTimeoutMs;
    for (;;) {
      const me = (await haproxyPoolMembers(this.socket, this.backend)).find((m) => m.name === node.name);
      const open = me?.sessions ?? 0;
      if (open === 0) break;
      if (Date.now() >= until) {
        log(
          `read pool: ${node.name} still has ${open} session(s) after ${Math.round(this.drainTimeoutMs / 1000)} s of draining; put in maint anyway (those sessions keep reading from it until they close)`,
        );
        break;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    await this.set(node, 'maint');
  }

  leave(node: NodeConfig): Promise<void> {
    return this.set(node, 'maint');
  }

  ready(node: NodeConfig): Promise<void> {
    return this.set(node, 'ready');
  }

  describe(action: 'drain' | 'leave' | 'ready', node: NodeConfig): string {
    const srv = `${this.backend}/${node.name}`;
    if (action === 'drain')
      return `haproxy ${this.socket}: set server ${srv} state drain; wait (<= ${Math.round(this.drainTimeoutMs / 1000)} s) until show stat counts no session on it; set server ${srv} state maint`;
    return `haproxy ${this.socket}: set server ${srv} state ${action === 'leave' ? 'maint' : 'ready'}`;
  }

  private async set(node: NodeConfig, state: 'drain' | 'maint' | 'ready'): Promise<void> {
    const cmd = `set server ${this.backend}/${node.name} state ${state}`;
    const answer = await haproxyRuntime(this.socket, cmd);
    // The runtime API answers an empty line on success and a sentence on failure.
    // Its sentences end with a full stop already ("No such server."): one, not two.
    const said = answer.replace(/\.$/, '');
    if (answer)
      throw workError(
        `HAProxy refused "${cmd}": ${said}.`,
        `Check that ${node.name} is declared as a server of the read-pool backend ${this.backend}, named as in the config.`,
      );
  }
}
