import { factsOf } from '../analysis/index.ts';
import type { MigrationVerdict } from '../analysis/index.ts';
import type { MigrationSource } from '../migrations/index.ts';

export type StepStrategy = 'in-place' | 'replica-first';

/** One pending migration and how it will run. */
export interface ApplyStep {
  id: string;
  phase: 'pre-deploy' | 'post-deploy';
  strategy: StepStrategy;
  /** SQL to run per node (replica-first); in-place runs through the runner instead. */
  statements: string[];
  /** The down's SQL, for `migrate rollback` of a held master-master run. */
  downStatements: string[];
  typeConversions?: { forward: string; reverse: string };
  why: string;
}

/**
 * Turns the gate's verdicts into executable steps. A verdict "refused" stops the run before
 * anything changes; a blocking change that is replica-first safe goes replica-first (the whole
 * point: no write block for the ALTER's duration); everything else runs in place.
 */
export function stepsFromVerdicts(
  pending: MigrationSource[],
  verdicts: MigrationVerdict[],
  force?: StepStrategy,
): { steps: ApplyStep[]; refused: { id: string; reason: string }[] } {
  const byId = new Map(verdicts.map((v) => [v.id, v]));
  const steps: ApplyStep[] = [];
  const refused: { id: string; reason: string }[] = [];
  for (const m of pending) {
    const v = byId.get(m.id);
    const phase = m.phase ?? v?.phase ?? 'pre-deploy';
    const statements = m.upStatements?.map((s) => s.sql) ?? v?.sql ?? [];
    const downStatements = m.downStatements?.map((s) => s.sql) ?? v?.downSql ?? [];
    if (!v) {
      steps.push({ id: m.id, phase, strategy: force ?? 'in-place', statements, downStatements, why: 'no verdict (analysis skipped)' });
      continue;
    }
    if (v.strategy === 'refused' && !force) {
      refused.push({ id: m.id, reason: v.refusedReason ?? 'the gate refused it' });
      continue;
    }
    // Forcing replica-first never overrides the replication verdict: an unsafe change there
    // stops replication or, worse, shifts values silently.
    const settings = v.replicaFirstSettings ?? (v.replicaSettings ? { forward: v.replicaSettings } : undefined);
    if (force === 'replica-first' && v.replicaFirstSafe === false && !settings?.forward) {
      const why = v.findings
        .filter((f) => factsOf(f.rule)?.replicaFirst?.direction === 'old-to-new')
        .map((f) => `${f.rule}: ${f.message}`)
        .join(' ');
      refused.push({ id: m.id, reason: `not replica-first safe${why ? ` (${why})` : ''}` });
      continue;
    }
    // Whole-table creates and drops (replicaFirstSafe null) always run in place: run with binlog
    // off on one node, later row events for the table would find nothing on the others.
    const forced = force === 'replica-first' && v.replicaFirstSafe === null ? undefined : force;
    const strategy: StepStrategy = forced ?? (v.strategy === 'replica-first' ? 'replica-first' : 'in-place');
    const conv = settings?.forward ? Object.values(settings.forward)[0] : undefined;
    // The hold period's direction has its own verdict: a reverse setting the rules did not offer
    // (a change no setting makes safe back) is not invented here.
    const back = settings?.reverse ? Object.values(settings.reverse)[0] : undefined;
    steps.push({
      id: m.id,
      phase,
      strategy,
      statements,
      downStatements,
      ...(strategy === 'replica-first' && conv ? { typeConversions: { forward: conv, reverse: back ?? conv } } : {}),
      why: forced
        ? `forced with --strategy ${forced}`
        : v.blocking
          ? `blocking (${v.algorithm ?? 'locks'}); ${strategy === 'replica-first' ? 'replica-first safe' : 'runs in place'}`
          : 'not blocking: runs in place',
    });
  }
  return { steps, refused };
}
