import { spawn } from 'node:child_process';
import { workError } from '../errors.ts';
import { redact } from '../log/index.ts';

export interface HandoffContext {
  planId: string;
  cluster: string;
  newPrimary: string;
  newPrimaryHost: string;
  newPrimaryPort: number;
  /** The id of the last migration applied: the schema version the new code may rely on. */
  schemaVersion: string;
}

/** Runs the user's deploy step; the code rollout is theirs, we only wait for its exit status. */
export function runDeployCommand(command: string, ctx: HandoffContext, log: (m: string) => void, timeoutMs = 3_600_000): Promise<void> {
  log(`hand-off: running the deploy step: ${command}`);
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        MIGRATE_PLAN_ID: ctx.planId,
        MIGRATE_CLUSTER: ctx.cluster,
        MIGRATE_NEW_PRIMARY: ctx.newPrimary,
        MIGRATE_NEW_PRIMARY_HOST: ctx.newPrimaryHost,
        MIGRATE_NEW_PRIMARY_PORT: String(ctx.newPrimaryPort),
        MIGRATE_SCHEMA_VERSION: ctx.schemaVersion,
      },
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          workError(
            redact(`The deploy step failed (${signal ? `killed by ${signal}` : `exit ${code}`}).`),
            `The pre-deploy migrations are in place and backward compatible, so the old code keeps working. Fix the deploy and run \`migrate continue ${ctx.planId}\`, or roll the schema back with \`migrate down --to <first pre-deploy id>\`.`,
          ),
        );
    });
  });
}
