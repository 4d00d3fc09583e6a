import type { Algorithm, Finding } from '../types.ts';
import { backwardCompatRules } from './backward-compat.ts';
import type { RuleContext, RuleDialect } from './context.ts';
import { dataLossRules } from './data-loss.ts';
import { ruleDialectFor } from './dialects.ts';
import { replicaFirstRules, type ReplicaFirstAssessment } from './replica-first.ts';

export { CATALOG, catalogMarkdown, ruleDoc, type RuleDoc } from './catalog.ts';
export type { RuleContext, RuleDialect, ReversalOutcome } from './context.ts';
export { ruleDialectFor } from './dialects.ts';
export { reversibilityRules } from './reversibility.ts';

/** The findings of every family that is decided by the up run alone (reversibility comes later). */
export interface UpAssessment {
  findings: Finding[];
  replicaFirst: ReplicaFirstAssessment;
  algorithm?: Algorithm;
}

/** `db` is what differs per database; by default built from the context's dialect (rules/dialects.ts). */
export function assessUp(ctx: RuleContext, db: RuleDialect = ruleDialectFor(ctx)): UpAssessment {
  const replicaFirst = replicaFirstRules(ctx, db);
  const findings = [...backwardCompatRules(ctx, db), ...dataLossRules(ctx, db), ...db.blockingRules(ctx), ...replicaFirst.findings];
  const out: UpAssessment = { findings, replicaFirst };
  const algorithm = db.algorithm?.(ctx);
  if (algorithm) out.algorithm = algorithm;
  return out;
}
