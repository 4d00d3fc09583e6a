import { spawn } from 'node:child_process';
import type { NodeConfig } from '../../config/index.ts';
import { workError } from '../../errors.ts';
import { redact } from '../../log/index.ts';
import type { ReadPool } from './contract.ts';

/** Runs the user's command to take a replica out of the read pool or put it back (DNS, ProxySQL, a load balancer's API...). */
export class CommandReadPool implements ReadPool {
  readonly kind = 'command';
  constructor(
    private readonly command: string,
    readonly maxLagSeconds: number,
    private readonly timeoutMs = 60_000,
  ) {}

  async preflight(): Promise<void> {
    if (!this.command.trim()) throw workError('readPool.command is empty.', 'Set readPool.command to the command that drains or readies a replica.');
  }

  async members(): Promise<undefined> {
    return undefined;
  }

  drain(node: NodeConfig): Promise<void> {
    return this.run('drain', node);
  }

  leave(node: NodeConfig): Promise<void> {
    return this.run('drain', node);
  }

  ready(node: NodeConfig): Promise<void> {
    return this.run('ready', node);
  }

  describe(action: 'drain' | 'leave' | 'ready', node: NodeConfig): string {
    return `run: ${this.command}  (MIGRATE_READ_POOL_ACTION=${action === 'ready' ? 'ready' : 'drain'} MIGRATE_NODE=${node.name} MIGRATE_NODE_HOST=${node.host} MIGRATE_NODE_PORT=${node.port})`;
  }

  private run(action: 'drain' | 'ready', node: NodeConfig): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', this.command], {
        stdio: ['ignore', 'inherit', 'pipe'],
        env: { ...process.env, MIGRATE_READ_POOL_ACTION: action, MIGRATE_NODE: node.name, MIGRATE_NODE_HOST: node.host, MIGRATE_NODE_PORT: String(node.port) },
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return resolve();
        reject(
          workError(
            `The read-pool command failed to ${action} ${node.name} (${signal ? `killed by ${signal}` : `exit ${code}`}): ${redact(stderr.trim().slice(0, 500))}`,
            'Fix the command in readPool.command; it receives MIGRATE_READ_POOL_ACTION=drain|ready and MIGRATE_NODE / _HOST / _PORT and must exit 0.',
          ),
        );
      });
    });
  }
}
