import { spawn } from 'node:child_process';
import { redact } from '../../log/index.ts';
import type { HandoffContext, HandoffPhase, Outcome } from './types.ts';

/** An hour: a deploy may build assets or restart a fleet; past this it is called failed. */
export const COMMAND_TIMEOUT_MS = 3_600_000;

/** The environment every hand-off command gets: what the deploy step always got, plus the phase. */
export function handoffEnv(ctx: HandoffContext, phase: HandoffPhase): Record<string, string> {
  return {
    MIGRATE_PLAN_ID: ctx.planId,
    MIGRATE_CLUSTER: ctx.cluster,
    MIGRATE_NEW_PRIMARY: ctx.newPrimary,
    MIGRATE_NEW_PRIMARY_HOST: ctx.newPrimaryHost,
    MIGRATE_NEW_PRIMARY_PORT: String(ctx.newPrimaryPort),
    MIGRATE_SCHEMA_VERSION: ctx.schemaVersion,
    MIGRATE_PHASE: phase,
  };
}

/**
 * Runs one of the user's hand-off commands through /bin/sh; the code rollout is theirs, we only
 * wait for its exit status. Its output goes to our stderr: stdout carries the run's result (JSON
 * with --format json), which a script's echo must not break.
 */
export function runHandoffCommand(
  phase: HandoffPhase,
  command: string,
  ctx: HandoffContext,
  log: (m: string) => void,
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<Outcome> {
  log(`hand-off: running the ${phase} step: ${command}`);
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 2, 2], env: { ...process.env, ...handoffEnv(ctx, phase) } });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, why: redact(`the ${phase} command could not start (${e.message})`) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true });
      else resolve({ ok: false, why: redact(`the ${phase} command failed (${signal ? `killed by ${signal}` : `exit ${code}`}): ${command}`) });
    });
  });
}
