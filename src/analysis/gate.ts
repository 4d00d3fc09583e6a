import { factsOf } from './rules/catalog.ts';
import type { MigrationVerdict } from './types.ts';

/**
 * The CI gate over verdicts (issue 3, "Phases and the gate"): it fails when a pre-deploy migration
 * is not backward compatible, a migration is not reversible, a migration was refused, or an error
 * finding is not acknowledged; and when a migration failed on the shadow or was not analysed
 * after one that did. Every reason names the migration and the rule.
 *
 * Not reversible for want of a down (RV101) passes once acknowledged: the team accepts a one-way
 * migration, and a rollback knows before it starts that it cannot undo it. A down that exists but
 * fails or does not restore the schema (RV102, RV103, about the down) still fails the gate: a
 * rollback would stop half way or leave the previous release on a schema it was not written for.
 */
export interface GateResult {
  pass: boolean;
  reasons: { migration: string; rule?: string; reason: string }[];
}

export function evaluateGate(verdicts: MigrationVerdict[]): GateResult {
  const reasons: GateResult['reasons'] = [];
  for (const v of verdicts) {
    if (v.outcome === 'failed') {
      const f = v.findings.find((x) => x.rule === 'SH301');
      reasons.push({ migration: v.id, rule: 'SH301', reason: f?.message ?? `fails on the shadow database: ${v.failure?.error ?? 'unknown error'}` });
      continue;
    }
    if (v.outcome === 'not-analysed') {
      reasons.push({ migration: v.id, reason: v.refusedReason ?? `not analysed: ${v.notAnalysedAfter ?? 'an earlier migration'} failed before it` });
      continue;
    }
    if (v.phase === 'pre-deploy' && !v.backwardCompatible) {
      reasons.push({ migration: v.id, reason: 'runs before the code deploy but breaks the code that is still running (see the BC/WL findings)' });
    }
    const irreversible = v.findings.filter((f) => factsOf(f.rule)?.irreversible === true);
    const accepted = irreversible.length > 0 && irreversible.every((f) => f.acknowledged && factsOf(f.rule)?.aboutDown !== true);
    if (!v.reversible && !accepted) reasons.push({ migration: v.id, reason: 'is not reversible (see RV findings)' });
    if (v.strategy === 'refused') reasons.push({ migration: v.id, reason: `cannot be run safely: ${v.refusedReason ?? 'refused'}` });
    for (const f of v.findings) {
      if (f.severity === 'error' && !f.acknowledged) reasons.push({ migration: v.id, rule: f.rule, reason: f.message });
    }
  }
  return { pass: reasons.length === 0, reasons };
}
