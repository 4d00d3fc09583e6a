import type { Algorithm, Finding } from '../types.ts';
import { backwardCompatRules } from './backward-compat.ts';
import { blockingMysqlRules, migrationAlgorithm } from './blocking-mysql.ts';
import { blockingPostgresRules } from './blocking-postgres.ts';
import type { RuleContext } from './context.ts';
import { dataLossRules } from './data-loss.ts';
import { replicaFirstRules, type ReplicaFirstAssessment } from './replica-first.ts';

export { CATALOG, catalogMarkdown, ruleDoc, type RuleDoc } from './catalog.ts';
export type { RuleContext, ReversalOutcome } from './context.ts';
export { reversibilityRules } from './reversibility.ts';

/** The findings of every family that is decided by the up run alone (reversibility comes later). */
export interface UpAssessment {
  findings: Finding[];
  replicaFirst: ReplicaFirstAssessment;
  algorithm?: Algorithm;
}

export function assessUp(ctx: RuleContext): UpAssessment {
  const replicaFirst = replicaFirstRules(ctx);
  const findings = [
    ...backwardCompatRules(ctx),
    ...dataLossRules(ctx),
    ...(ctx.dialect === 'mysql' ? blockingMysqlRules(ctx) : blockingPostgresRules(ctx)),
    ...replicaFirst.findings,
  ];
  const out: UpAssessment = { findings, replicaFirst };
  if (ctx.dialect === 'mysql') {
    const algorithm = migrationAlgorithm(ctx);
    if (algorithm) out.algorithm = algorithm;
  }
  return out;
}
