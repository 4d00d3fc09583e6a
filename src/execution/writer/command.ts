import { spawn } from 'node:child_process';
import type { NodeConfig } from '../../config/index.ts';
import { workError } from '../../errors.ts';
import { redact } from '../../log/index.ts';
import type { WriterEndpoint } from './contract.ts';

/** Runs the user's command with the new and old primary in its environment (DNS, VIP, ProxySQL...). */
export class CommandWriter implements WriterEndpoint {
  readonly kind = 'command';
  constructor(
    private readonly command: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async preflight(): Promise<void> {
    if (!this.command.trim()) throw workError('writer.command is empty.', 'Set writer.command to the command that moves the writer endpoint.');
  }

  move(from: NodeConfig, to: NodeConfig): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', this.command], {
        stdio: ['ignore', 'inherit', 'pipe'],
        env: {
          ...process.env,
          MIGRATE_NEW_PRIMARY: to.name,
          MIGRATE_NEW_PRIMARY_HOST: to.host,
          MIGRATE_NEW_PRIMARY_PORT: String(to.port),
          MIGRATE_OLD_PRIMARY: from.name,
          MIGRATE_OLD_PRIMARY_HOST: from.host,
          MIGRATE_OLD_PRIMARY_PORT: String(from.port),
        },
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else
          reject(
            workError(
              `The writer command failed (${signal ? `killed by ${signal}` : `exit ${code}`}): ${redact(stderr.trim().slice(0, 500))}`,
              'Fix the command in writer.command; it receives MIGRATE_NEW_PRIMARY_HOST/PORT and must exit 0.',
            ),
          );
      });
    });
  }
}

export class NoWriter implements WriterEndpoint {
  readonly kind = 'none';
  async preflight(): Promise<void> {}
  async move(): Promise<void> {}
}
