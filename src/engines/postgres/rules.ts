import type { RuleWording, RulesEngine } from '../rules-contract.ts';

/** PostgreSQL physical replicas cannot be altered first: no typeConversionVariable, no RF family. */
const POSTGRES_WORDING: RuleWording = {
  unknownColumnError: (column) => `column "${column}" does not exist`,
  unknownTableError: (table) => `relation "${table}" does not exist`,
  missingValueOutcome: (column) => `"null value in column "${column}" violates not-null constraint"; the ALTER itself also fails as soon as the table has rows`,
  lockFreeNotNull: (column) =>
    ` (ADD CONSTRAINT ... CHECK (${column} IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL, so no long lock is taken)`,
  narrowingFailure: ' (or make the ALTER fail)',
  removedEnumValueWrite: 'rejected (invalid input value for enum)',
  removedEnumValueOutcome:
    'lose it where the USING expression maps them to another value, and otherwise make the change fail (the cast to the new type raises "invalid input value for enum")',
  omittedEnumTakesFirstValue: false,
  integerRoundsDecimalText: false,
};

export const postgresRules: RulesEngine = {
  wording: () => POSTGRES_WORDING,
  blockingFamily: 'PG',
  verdict: {
    replicasAlterFirst: false,
    refusedReason: (blockers) =>
      `It blocks reads or writes on PostgreSQL (${blockers.join(', ')}), and PostgreSQL physical replicas cannot be altered first: rewrite it with the safe alternatives listed, or acknowledge ${blockers.join(' and ')} with the reason the block is acceptable (-- migrate:ack <rule> <reason>) to run it in place.`,
  },
};
