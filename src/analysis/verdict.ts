import { maskSecretLiterals } from '../migrations/index.ts';
import type { Dialect } from '../config/index.ts';
import type { Acknowledgement, Phase } from '../migrations/index.ts';
import { ackCovers, factsOf, isWildcardAck } from './rules/catalog.ts';
import { verdictDialectFor } from './rules/dialects.ts';
import type { ReplicaFirstAssessment } from './rules/replica-first.ts';
import type { Algorithm, Change, Finding, MigrationVerdict, Severity, ShadowFailure, Strategy } from './types.ts';

/**
 * What the shadow run established about one migration, before any policy is applied. This is what
 * the cache stores: acknowledgements and severity policy are applied on top each time, so changing
 * an acknowledgement never needs a re-run.
 */
export interface MigrationFacts {
  id: string;
  dialect: Dialect;
  declaredPhase?: Phase;
  findings: Finding[];
  replicaFirst: Omit<ReplicaFirstAssessment, 'findings'>;
  algorithm?: Algorithm;
  sql: string[];
  downSql?: string[];
  changes: Change[];
}

/** Findings about the code that runs before the deploy: BC (from the schema) and WL1 (from its real queries). */
const oldCode = (f: Finding): boolean => factsOf(f.rule)?.oldCode === true;
const isBlocking = (f: Finding): boolean => factsOf(f.rule)?.blocking === true;
/** Old -> new is what replica-first runs first; the reverse direction only decides the hold period. */
const forwardUnsafe = (f: Finding): boolean => {
  const rf = factsOf(f.rule)?.replicaFirst;
  return rf?.direction === 'old-to-new' && rf.unsafe === true;
};

export interface AckInput {
  rule: string;
  reason: string;
  migration?: string;
}

function ackMatches(ack: AckInput, f: Finding, id: string): boolean {
  if (ack.migration && ack.migration !== id) return false;
  // A wildcard never covers an error: acknowledging a table drop or a data loss must name its rule,
  // so `*` or `DL*` written for the warnings cannot pass the gate on a finding nobody read.
  if (isWildcardAck(ack.rule) && f.severity === 'error') return false;
  return ackCovers(ack.rule, f.rule);
}

export function inferPhase(findings: Finding[]): Phase {
  return findings.some((f) => factsOf(f.rule)?.forcesPhase === 'post-deploy') ? 'post-deploy' : 'pre-deploy';
}

/**
 * The findings that hold in this phase. Those about the new release running before the migration
 * (a rename's BC2xx, WL203) describe the window between the deploy and a post-deploy migration: a
 * pre-deploy migration has run before the new release starts, so they do not apply to it.
 */
function findingsForPhase(findings: Finding[], phase: Phase): Finding[] {
  return phase === 'post-deploy' ? findings : findings.filter((f) => factsOf(f.rule)?.newCodeBeforeUp !== true);
}

export function buildVerdict(facts: MigrationFacts, migrationAcks: Acknowledgement[], extraAcks: AckInput[] = []): MigrationVerdict {
  const phase: Phase = facts.declaredPhase ?? inferPhase(facts.findings);
  // Every report format prints a finding's statement: a password it sets is masked here, once.
  const findings: Finding[] = findingsForPhase(facts.findings, phase).map((f) =>
    f.statement === undefined ? { ...f } : { ...f, statement: maskSecretLiterals(f.statement) },
  );
  const acks: AckInput[] = [...migrationAcks, ...extraAcks];
  for (const f of findings) {
    const ack = acks.find((a) => ackMatches(a, f, facts.id));
    if (ack) f.acknowledged = { reason: ack.reason };
  }

  const blocking = findings.some(isBlocking);
  const dataLoss = findings.some((f) => factsOf(f.rule)?.family === 'data-loss' && !factsOf(f.rule)?.notLoss);
  const reversible = !findings.some((f) => factsOf(f.rule)?.irreversible === true);
  // Acknowledging a BC finding asserts the running code does not depend on the object.
  const backwardCompatible = !findings.some((f) => oldCode(f) && f.severity === 'error' && !f.acknowledged);

  const rf = facts.replicaFirst;
  let strategy: Strategy = 'in-place';
  let refusedReason: string | undefined;
  let replicaSettings: Record<string, string> | undefined;
  if (blocking) {
    const db = verdictDialectFor(facts.dialect);
    if (db.replicasAlterFirst && (rf.safe === true || rf.safeWithSettings)) {
      strategy = 'replica-first';
      if (rf.safe !== true && rf.settings) replicaSettings = rf.settings;
    } else if (findings.filter(isBlocking).every((f) => f.acknowledged)) {
      // Every blocking finding acknowledged by its rule: the user's word that the block is
      // acceptable here (a small table, a quiet hour), so it runs in place rather than refused.
      strategy = 'in-place';
    } else {
      strategy = 'refused';
      const blockers = findings.filter(isBlocking).map((f) => f.rule);
      const unsafe = findings.filter(forwardUnsafe).map((f) => f.rule);
      refusedReason = db.refusedReason([...new Set(blockers)], [...new Set(unsafe)]);
    }
  }

  for (const f of findings) adjustSeverity(f, { phase, blocking, strategy });

  const v: MigrationVerdict = {
    id: facts.id,
    outcome: 'analysed',
    phase,
    phaseSource: facts.declaredPhase ? 'declared' : 'inferred',
    backwardCompatible,
    reversible,
    dataLoss,
    blocking,
    replicaFirstSafe: rf.safe,
    replicaFirstReverseSafe: rf.reverseSafe,
    strategy,
    findings,
    sql: facts.sql,
    changes: facts.changes,
  };
  if (refusedReason) v.refusedReason = refusedReason;
  if (replicaSettings) v.replicaSettings = replicaSettings;
  const forwardSettings = rf.safe !== true && rf.safeWithSettings ? rf.settings : undefined;
  if (forwardSettings || rf.reverseSettings) {
    v.replicaFirstSettings = {
      ...(forwardSettings ? { forward: forwardSettings } : {}),
      ...(rf.reverseSettings ? { reverse: rf.reverseSettings } : {}),
    };
  }
  if (facts.algorithm) v.algorithm = facts.algorithm;
  if (facts.downSql) v.downSql = facts.downSql;
  return v;
}

/** The fields of a verdict nothing was established for: the worst case, so nothing downstream runs it. */
function unknownVerdict(id: string, declaredPhase: Phase | undefined, refusedReason: string): MigrationVerdict {
  return {
    id,
    phase: declaredPhase ?? 'pre-deploy',
    phaseSource: declaredPhase ? 'declared' : 'inferred',
    backwardCompatible: false,
    reversible: false,
    dataLoss: false,
    blocking: false,
    replicaFirstSafe: null,
    replicaFirstReverseSafe: null,
    strategy: 'refused',
    refusedReason,
    findings: [],
    sql: [],
    changes: [],
  };
}

/**
 * A migration whose up raised an error on the shadow: its verdict is the error (SH301, with the
 * statement so every format points at its line). Acknowledgements do not apply: nothing about
 * the migration is known but that it does not run.
 */
export function failedVerdict(id: string, declaredPhase: Phase | undefined, failure: ShadowFailure): MigrationVerdict {
  const v = unknownVerdict(id, declaredPhase, `it fails on the shadow database: ${failure.error}`);
  v.outcome = 'failed';
  v.failure = failure;
  const f: Finding = {
    rule: 'SH301',
    severity: 'error',
    message: `Fails on the shadow database: ${failure.error}. The migrations after it were not analysed.`,
    safeAlternative: 'Fix the migration so it applies to the schema the migrations before it leave (run it against a copy of that schema to see the error).',
  };
  if (failure.statement !== undefined) f.statement = failure.statement;
  v.findings.push(f);
  return v;
}

/** A migration after one that failed: the schema it expects never existed on the shadow. */
export function notAnalysedVerdict(id: string, declaredPhase: Phase | undefined, failedId: string): MigrationVerdict {
  const v = unknownVerdict(id, declaredPhase, `not analysed: ${failedId} failed before it`);
  v.outcome = 'not-analysed';
  v.notAnalysedAfter = failedId;
  return v;
}

function demote(f: Finding, to: Severity, note: string): void {
  const order: Record<Severity, number> = { info: 0, warning: 1, error: 2 };
  if (order[f.severity] <= order[to]) return;
  f.severity = to;
  f.message = `${f.message} ${note}`;
}

/** Severity is policy: the same fact matters or not depending on phase and strategy. */
function adjustSeverity(f: Finding, ctx: { phase: Phase; blocking: boolean; strategy: Strategy }): void {
  const facts = factsOf(f.rule);
  if (!facts) return;
  const rfDirection = facts.replicaFirst?.direction;
  if (facts.oldCode && ctx.phase === 'post-deploy') {
    demote(f, 'info', '(Post-deploy: it runs once no code from before this release is running.)');
  } else if (facts.newCodeOnRollback && ctx.phase === 'pre-deploy') {
    // An expand step is rolled back after the code (an aborted deploy): the order matters, the step is fine.
    demote(f, 'warning', '(Pre-deploy: roll the code back first, then this migration.)');
  } else if (facts.blocking && ctx.strategy === 'replica-first') {
    // Only MySQL-family migrations run replica-first, so this is MY101/MY102, never a PG rule.
    demote(f, 'warning', 'The plan runs it replica-first instead, so the primary is not blocked.');
  } else if (rfDirection === 'old-to-new' && !ctx.blocking) {
    demote(f, 'info', '(Informational: this migration runs in place, not replica-first.)');
  } else if (rfDirection === 'new-to-old') {
    demote(f, ctx.blocking ? 'warning' : 'info', ctx.blocking ? '' : '(Informational: this migration runs in place.)');
  }
}
