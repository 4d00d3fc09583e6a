import { describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/analysis/gate.ts';
import { reversibilityRules } from '../../src/analysis/rules/index.ts';
import { buildVerdict, failedVerdict, notAnalysedVerdict, type MigrationFacts } from '../../src/analysis/verdict.ts';

/**
 * The gate on reversibility and on migrations that did not run (issue 15): an acknowledged RV101
 * (no down) passes, a down that fails (RV103) does not even acknowledged, a failed migration and
 * the ones not analysed after it always fail it. The findings come from the RV rules themselves.
 */
function facts(id: string, status: 'missing' | 'failed'): MigrationFacts {
  const findings = reversibilityRules(id, { status, error: 'boom', remaining: [], downChanges: [], upChanges: [], downSql: [] });
  return {
    id,
    dialect: 'mysql',
    findings,
    replicaFirst: { safe: true, reverseSafe: true, safeWithSettings: false },
    sql: [],
    changes: [],
    declaredPhase: 'pre-deploy',
  };
}

describe('gate: reversibility and failed migrations', () => {
  it('no down (RV101): not reversible and fails the gate; acknowledged, still not reversible but passes', () => {
    const plain = buildVerdict(facts('0002_x', 'missing'), []);
    expect(plain.reversible).toBe(false);
    expect(evaluateGate([plain]).pass).toBe(false);
    const acked = buildVerdict(facts('0002_x', 'missing'), [{ rule: 'RV101', reason: 'one-way by design' }]);
    expect(acked.reversible).toBe(false);
    expect(evaluateGate([acked])).toEqual({ pass: true, reasons: [] });
  });

  it('a down that fails (RV103) fails the gate even acknowledged', () => {
    const acked = buildVerdict(facts('0002_x', 'failed'), [{ rule: 'RV103', reason: 'we never roll back' }]);
    expect(acked.findings.find((f) => f.rule === 'RV103')?.acknowledged).toEqual({ reason: 'we never roll back' });
    expect(evaluateGate([acked]).reasons).toEqual([{ migration: '0002_x', reason: 'is not reversible (see RV findings)' }]);
  });

  it('a failed migration and the ones after it fail the gate, one reason each, whatever is acknowledged', () => {
    const failed = failedVerdict('0003_y', undefined, { direction: 'up', error: "Can't DROP COLUMN `nickname`; check that it exists" });
    const after = notAnalysedVerdict('0004_z', 'post-deploy', '0003_y');
    const gate = evaluateGate([failed, after]);
    expect(gate.pass).toBe(false);
    expect(gate.reasons).toEqual([
      {
        migration: '0003_y',
        rule: 'SH301',
        reason: "Fails on the shadow database: Can't DROP COLUMN `nickname`; check that it exists. The migrations after it were not analysed.",
      },
      { migration: '0004_z', reason: 'not analysed: 0003_y failed before it' },
    ]);
    expect(after.phase).toBe('post-deploy');
  });
});
