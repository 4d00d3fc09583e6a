import type { MigrationVerdict } from '../../src/analysis/types.ts';

/** A hand-made verdict for the report-format tests: a harmless in-place migration unless overridden. */
export function verdict(id: string, over: Partial<MigrationVerdict> = {}): MigrationVerdict {
  return {
    id,
    phase: 'pre-deploy',
    phaseSource: 'declared',
    backwardCompatible: true,
    reversible: true,
    dataLoss: false,
    blocking: false,
    replicaFirstSafe: true,
    replicaFirstReverseSafe: true,
    strategy: 'in-place',
    findings: [],
    sql: [],
    changes: [],
    ...over,
  };
}
