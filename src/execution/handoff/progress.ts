import type { JournalEntry } from '../journal.ts';
import { workError } from '../../errors.ts';
import type { HandoffProgress, HandoffSteps } from './types.ts';

const last = (entries: JournalEntry[], step: string): JournalEntry | undefined => [...entries].reverse().find((e) => e.step === step);

/**
 * The hand-off's own entries. A replica-first switchover journals its check of the new primary as
 * `switchover-verify`; journals written before that name was given to it call it `verify`, as the
 * hand-off's step is called, so a `verify` entry is the hand-off's only when the begin it closes
 * carries the hand-off's `check` (every hand-off verify has written one): such a journal still
 * resumes at the right step.
 */
function handoffEntries(entries: JournalEntry[]): JournalEntry[] {
  let handoffVerify = false;
  return entries.filter((e) => {
    if (e.step !== 'verify') return e.step === 'deploy' || e.step === 'rollback' || e.step === 'verify-rollback';
    if (e.phase === 'begin') handoffVerify = e.data?.['check'] !== undefined;
    return handoffVerify;
  });
}

/**
 * Where an interrupted run's hand-off stood, read from its journal; undefined when it never
 * began one (resume then runs the whole hand-off, as apply would).
 *
 * - deploy begun, never ended (a crash mid-deploy): the code state is unknown, so the deploy runs
 *   again (deploy commands must be safe to repeat, as they are after a failed deploy anyway);
 * - deploy ended: verify next; verify begun, never ended: verify again;
 * - verify ended: the contract phase, without deploying or verifying again;
 * - deploy or verify failed: rollback next; rollback begun, never ended: rollback again;
 * - rollback ended: verify the old release (verify-rollback), again if it was cut off;
 * - verify-rollback ended (or failed), or the rollback failed: nothing is left to run; the run
 *   stops for `migrate continue` as it would have.
 * Nothing here ever leads to the contract phase unless the journal holds verify's end.
 */
export function handoffProgress(run: string, all: JournalEntry[]): HandoffProgress | undefined {
  const entries = handoffEntries(all);
  const deploy = last(entries, 'deploy');
  const verify = last(entries, 'verify');
  const rollback = last(entries, 'rollback');
  const again = last(entries, 'verify-rollback');
  if (!deploy && !verify) return undefined;
  // The deploy's begin entry says which steps the run had; a run without a deploy (continue) had a verify.
  const planned = [...entries].reverse().find((e) => e.step === 'deploy' && e.phase === 'begin')?.data;
  const had = { hadVerify: planned ? planned['verify'] === true : true, hadRollback: planned?.['rollback'] === true || rollback !== undefined };
  const failedEntry = [deploy, verify].find((e) => e?.phase === 'fail');
  if (failedEntry) {
    const failed = `${failedEntry.step} failed in run ${run}: ${String(failedEntry.data?.['error'] ?? 'see its journal')}`;
    if (again && again.phase !== 'begin') return { run, next: 'stop', failed, ...had };
    if (rollback?.phase === 'fail') return { run, next: 'stop', failed, ...had };
    if (rollback?.phase === 'end') return { run, next: 'verify-rollback', failed, ...had };
    return { run, next: 'rollback', failed, ...had };
  }
  if (verify?.phase === 'end') return { run, next: 'contract', ...had };
  if (verify) return { run, next: 'verify', ...had };
  return { run, next: deploy?.phase === 'end' ? 'verify' : 'deploy', ...had };
}

/**
 * Resume picks a run up mid-hand-off only with the steps it had: without them it would skip one
 * (a verify, a rollback) and could go straight on to the contract phase. Checked before the
 * resumed run is taken over, so a refusal leaves it for the next `migrate resume`.
 */
export function refuseMissingSteps(p: HandoffProgress, steps: HandoffSteps): void {
  if (p.next === 'contract' || p.next === 'stop') return;
  const missing = [
    ...(p.next === 'deploy' && !steps.deploy ? ['a deploy command'] : []),
    ...(p.hadVerify && !steps.verify && p.next !== 'rollback' ? ['a verify step'] : []),
    ...(p.hadRollback && !steps.rollback && (p.next === 'deploy' || p.next === 'verify' || p.next === 'rollback') ? ['a rollback command'] : []),
  ];
  if (missing.length)
    throw workError(
      `Run ${p.run} was interrupted in its hand-off (${p.next} was next), and this resume has none (${missing.join(', ')}).`,
      'Run `migrate resume` again with the same hand-off flags the run had (--deploy-command, --verify-command or --verify-url, --rollback-command), or put them in the config\'s "handoff" key. Nothing was changed.',
    );
}
