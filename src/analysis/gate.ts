import type { MigrationVerdict } from './types.ts';

/**
 * The CI gate over verdicts (issue 3, "Phases and the gate"): it fails when a pre-deploy migration
 * is not backward compatible, a migration is not reversible, a migration was refused, or an error
 * finding is not acknowledged. Every reason names the migration and the rule.
 */
export interface GateResult {
  pass: boolean;
  reasons: { migration: string; rule?: string; reason: string }[];
}

export function evaluateGate(verdicts: MigrationVerdict[]): GateResult {
  const reasons: GateResult['reasons'] = [];
  for (const v of verdicts) {
    if (v.phase === 'pre-deploy' && !v.backwardCompatible) {
      reasons.push({ migration: v.id, reason: 'runs before the code deploy but breaks the code that is still running (see the BC/WL findings)' });
    }
    if (!v.reversible) reasons.push({ migration: v.id, reason: 'is not reversible (see RV findings)' });
    if (v.strategy === 'refused') reasons.push({ migration: v.id, reason: `cannot be run safely: ${v.refusedReason ?? 'refused'}` });
    for (const f of v.findings) {
      if (f.severity === 'error' && !f.acknowledged) reasons.push({ migration: v.id, rule: f.rule, reason: f.message });
    }
  }
  return { pass: reasons.length === 0, reasons };
}
