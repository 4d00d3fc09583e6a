import { workError } from '../../errors.ts';
import type { ApplyRun } from '../apply-run.ts';
import { writerNode } from '../apply-run.ts';
import type { MachineStep } from '../step-machine.ts';
import { runHandoffCommand } from './commands.ts';
import { httpCheck } from './http-check.ts';
import { continueCommand, describeVerify, handoffSteps } from './plan.ts';
import type { HandoffContext, HandoffPhase, HandoffProgress, HandoffSteps, Outcome } from './types.ts';

export type HandoffStage = 'deploy' | 'verify' | 'rollback' | 'verify-rollback' | 'handoff-failed';

/** What the hand-off of one run found, step by step. */
interface State {
  steps: HandoffSteps;
  progress?: HandoffProgress;
  /** Why the release failed (its deploy or its verify): set, the contract phase never runs. */
  failed?: string;
  rollback?: Outcome;
  verifyRollback?: Outcome;
}

const states = new WeakMap<ApplyRun, State>();

function state(r: ApplyRun): State {
  let s = states.get(r);
  if (!s) {
    const progress = r.o.resumedHandoff;
    s = { steps: handoffSteps(r.o), ...(progress ? { progress } : {}), ...(progress?.failed ? { failed: progress.failed } : {}) };
    states.set(r, s);
  }
  return s;
}

/** Whether `resume` picks the run up at one of `steps` (no progress: a fresh hand-off, every step runs). */
const resumesAt = (r: ApplyRun, ...steps: HandoffProgress['next'][]): boolean => {
  const p = state(r).progress;
  return !p || steps.includes(p.next);
};

function context(r: ApplyRun, schemaVersion: string): HandoffContext {
  const writer = writerNode(r.cluster);
  return {
    planId: r.planId,
    cluster: r.cluster.name,
    newPrimary: writer.name,
    newPrimaryHost: writer.host,
    newPrimaryPort: writer.port,
    schemaVersion,
  };
}

async function verifyRelease(r: ApplyRun, phase: 'verify' | 'verify-rollback', schemaVersion: string): Promise<Outcome> {
  const v = state(r).steps.verify!;
  const out = v.kind === 'command' ? await runHandoffCommand(phase, v.command, context(r, schemaVersion), r.log) : await httpCheck(v, r.log);
  if (out.ok) r.log(`hand-off: ${phase}: passed${out.detail ? `: ${out.detail}` : ''}`);
  return out;
}

/** A failed outcome as the step's error: the journal's fail entry carries the reason. */
const orThrow = (out: Outcome): void => {
  if (!out.ok) throw workError(out.why, 'See docs/handoff.md.');
};

/** Records a failure the run goes on from (to the rollback): the journal already wrote `fail`. */
const noting =
  (key: 'failed' | 'rollback' | 'verifyRollback') =>
  async (r: ApplyRun, e: unknown): Promise<boolean> => {
    const why = e instanceof Error && 'problem' in e ? String(e.problem) : String(e);
    if (key === 'failed') state(r).failed = why;
    else state(r)[key] = { ok: false, why };
    return true;
  };

/**
 * deploy -> verify -> (the contract phase after these) or, when either fails, rollback ->
 * verify-rollback -> the run stops for `migrate continue` and exits 1. `handsOver` says whether this
 * run reaches the hand-off at all; `schemaVersion` is what the commands get as MIGRATE_SCHEMA_VERSION.
 */
export function handoffStages(
  handsOver: (r: ApplyRun) => boolean,
  schemaVersion: (r: ApplyRun) => string,
  beforeDeploy?: (r: ApplyRun) => void,
): MachineStep<HandoffStage, ApplyRun>[] {
  const run = (r: ApplyRun, phase: HandoffPhase, command: string) => runHandoffCommand(phase, command, context(r, schemaVersion(r)), r.log).then(orThrow);
  return [
    {
      name: 'deploy',
      when: (r) => handsOver(r) && state(r).steps.deploy !== undefined && resumesAt(r, 'deploy'),
      before: (r) => beforeDeploy?.(r),
      data: (r) => ({ command: state(r).steps.deploy, verify: Boolean(state(r).steps.verify), rollback: Boolean(state(r).steps.rollback) }),
      do: (r) => run(r, 'deploy', state(r).steps.deploy!),
      survive: noting('failed'),
    },
    {
      name: 'verify',
      when: (r) => handsOver(r) && state(r).steps.verify !== undefined && !state(r).failed && resumesAt(r, 'deploy', 'verify', 'contract'),
      data: (r) => ({
        check: describeVerify(state(r).steps.verify!),
        ...(state(r).progress?.next === 'contract' ? { verifiedIn: state(r).progress!.run } : {}),
      }),
      do: async (r) => {
        const p = state(r).progress;
        // Verified by the run this one resumes (its journal holds verify's end): not checked twice.
        if (p?.next === 'contract') return r.log(`hand-off: verify passed in run ${p.run}; going on with the contract phase`);
        orThrow(await verifyRelease(r, 'verify', schemaVersion(r)));
      },
      survive: noting('failed'),
    },
    {
      name: 'rollback',
      when: (r) => handsOver(r) && state(r).failed !== undefined && state(r).steps.rollback !== undefined && resumesAt(r, 'deploy', 'verify', 'rollback'),
      before: (r) => r.log(`hand-off: ${state(r).failed}; rolling the code back`),
      data: (r) => ({ command: state(r).steps.rollback, because: state(r).failed }),
      do: async (r) => {
        await run(r, 'rollback', state(r).steps.rollback!);
        state(r).rollback = { ok: true };
      },
      survive: noting('rollback'),
    },
    {
      name: 'verify-rollback',
      when: (r) =>
        handsOver(r) &&
        state(r).failed !== undefined &&
        state(r).steps.verify !== undefined &&
        (state(r).rollback?.ok === true || state(r).progress?.next === 'verify-rollback'),
      do: async (r) => {
        // The old release serves the old code against the expanded schema: MIGRATE_SCHEMA_VERSION stays the expand's.
        orThrow(await verifyRelease(r, 'verify-rollback', schemaVersion(r)));
        state(r).verifyRollback = { ok: true };
      },
      survive: noting('verifyRollback'),
    },
    {
      name: 'handoff-failed',
      journal: false,
      when: (r) => handsOver(r) && state(r).failed !== undefined,
      do: async (r) => {
        // The run waits for the next deploy: `migrate continue` deploys, verifies, then contracts.
        r.journal.write('awaiting-deploy', 'begin', { schemaVersion: schemaVersion(r), after: 'failed hand-off' });
        throw failedHandoff(r);
      },
    },
  ];
}

/** The error a failed hand-off ends with: what failed, what the code state is, the exact next command. */
function failedHandoff(r: ApplyRun): Error {
  const s = state(r);
  const next = continueCommand(r.o, r.cluster.name);
  const kept = 'The expand migrations stay (they are backward compatible); no contract migration ran.';
  const rolledBack = s.rollback?.ok || s.progress?.next === 'verify-rollback';
  let code: string;
  if (!s.steps.rollback) code = 'No rollback command is configured: whatever the deploy left is live.';
  else if (!rolledBack && s.rollback && !s.rollback.ok) code = `The rollback failed too (${s.rollback.why}): the code state is unknown.`;
  else if (s.verifyRollback && !s.verifyRollback.ok)
    code = `The code was rolled back, but the old release fails verify too (${s.verifyRollback.why}): check it now.`;
  else if (s.progress?.next === 'stop') code = `The rollback ran in run ${s.progress.run}; its journal says how it went.`;
  else code = `The code was rolled back${s.steps.verify ? ' and the old release passed verify' : ''}.`;
  const byHand = s.rollback?.ok === false || s.verifyRollback?.ok === false ? '; first bring a working release back by hand' : '';
  // With no contract migration waiting, `migrate continue` would find nothing to run (and so deploy nothing).
  const fix = r.report.steps.some((x) => x.phase === 'post-deploy')
    ? `Fix the release, then run: ${next} (it deploys, verifies, then runs the contract phase)${byHand}.`
    : `Fix the release and deploy it again by your usual means${byHand}: no contract migration waits, so \`migrate continue\` has nothing to run.`;
  return workError(`The hand-off failed: ${s.failed}. ${code} ${kept}`, fix);
}
