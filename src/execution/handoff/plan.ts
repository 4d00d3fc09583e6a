import type { ProjectConfig, VerifyConfig } from '../../config/index.ts';
import { formatMs } from '../../config/index.ts';
import { workError, type MigrateError } from '../../errors.ts';
import { redact } from '../../log/index.ts';
import type { ApplyStep } from '../plan-steps.ts';
import type { HandoffSteps } from './types.ts';

/** The hand-off options apply takes: each given as a flag overrides the config's "handoff" key. */
export interface HandoffOptions {
  config: ProjectConfig;
  deployCommand?: string;
  verify?: VerifyConfig;
  rollbackCommand?: string;
  /**
   * The hand-off flags as the operator gave them (`--verify-url`, `http://...`): repeated in the
   * next command a failed hand-off prints, which must deploy and verify the same way.
   */
  handoffArgs?: string[];
}

export function handoffSteps(o: HandoffOptions): HandoffSteps {
  const c = o.config.handoff ?? {};
  const deploy = o.deployCommand ?? c.deploy;
  const verify = o.verify ?? c.verify;
  const rollback = o.rollbackCommand ?? c.rollback;
  return { ...(deploy ? { deploy } : {}), ...(verify ? { verify } : {}), ...(rollback ? { rollback } : {}) };
}

/** A word as /bin/sh reads it back unchanged. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The exact command that takes a stopped hand-off up again: `migrate continue` for this config
 * and cluster with the hand-off flags given to this run (a password in them shows as ***).
 */
export function continueCommand(o: HandoffOptions, cluster: string): string {
  const words = ['migrate', ...(o.config.source === 'DATABASE_URL' ? [] : ['--config', o.config.source]), 'continue', '--cluster', cluster];
  return redact([...words, ...(o.handoffArgs ?? [])].map(shellWord).join(' '));
}

export function describeVerify(v: VerifyConfig): string {
  if (v.kind === 'command') return `the command ${v.command}`;
  return `${v.url} answers ${v.status} within ${v.retries} tries ${formatMs(v.intervalMs)} apart, then stays healthy for ${formatMs(v.windowMs)} (timeout ${formatMs(v.timeoutMs)} a request)`;
}

/** The hand-off as --dry-run shows it, between the expand and the contract phase. */
export function describeHandoff(steps: HandoffSteps, phases: 'all' | 'post-deploy'): string[] {
  const out = ['', '# hand-off to the code deploy'];
  if (!steps.deploy && phases === 'all') {
    out.push('stop here: the run waits for the code deploy and `migrate continue`');
    if (steps.verify) out.push(`then \`migrate continue\` verifies: ${describeVerify(steps.verify)}`);
    return out.map(redact);
  }
  out.push(steps.deploy ? `deploy (MIGRATE_PHASE=deploy): ${steps.deploy}` : 'deploy: none (the code was deployed by hand)');
  out.push(steps.verify ? `verify (MIGRATE_PHASE=verify): ${describeVerify(steps.verify)}` : 'verify: none (the deploy command exiting 0 is taken as success)');
  if (steps.verify || steps.deploy) {
    out.push(
      steps.rollback
        ? `on failure: rollback (MIGRATE_PHASE=rollback): ${steps.rollback}${steps.verify ? ', then verify the old release (MIGRATE_PHASE=verify-rollback)' : ''}; the contract phase does not run; exit 1`
        : 'on failure: no rollback command: the contract phase does not run; exit 1',
    );
  }
  return out.map(redact);
}

/**
 * An in-place expand runs through the runner up to its id, which applies every pending migration
 * before it: a contract migration numbered earlier (one left pending by a failed hand-off, say)
 * would run with it, before the code deploy and its verify. Refused before anything changes.
 */
export function contractAheadOfExpand(steps: readonly ApplyStep[]): MigrateError | undefined {
  const contract = steps.findIndex((s) => s.phase === 'post-deploy');
  const expand = contract < 0 ? undefined : steps.slice(contract + 1).find((s) => s.phase === 'pre-deploy' && s.strategy === 'in-place');
  if (!expand) return undefined;
  const ahead = steps[contract]!.id;
  return workError(
    `${ahead} (post-deploy) is pending before ${expand.id} (pre-deploy, in place): applying ${expand.id} would apply ${ahead} with it, before the code deploy and its verify.`,
    `Run \`migrate continue\` first (it deploys, verifies, then runs ${ahead}), or give ${expand.id} an id that sorts before ${ahead}. Nothing was changed.`,
  );
}
