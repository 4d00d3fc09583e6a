import type { RulesEngine } from '../rules-contract.ts';

export const mysqlRules: RulesEngine = {
  wording: (server) => ({
    unknownColumnError: (column) => `Unknown column '${column}'`,
    // The server qualifies the name with the database, which the rules do not know.
    unknownTableError: (table) => `Table '<database>.${table}' doesn't exist`,
    missingValueOutcome: (column) => `"Field '${column}' doesn't have a default value" in strict mode; without strict mode the rows silently get '' or 0`,
    lockFreeNotNull: () => '',
    narrowingFailure: ' (or make the ALTER fail in strict mode)',
    removedEnumValueWrite: "rejected in strict mode, stored as '' otherwise",
    removedEnumValueOutcome: "lose it ('' without strict mode) or make the ALTER fail (strict mode)",
    omittedEnumTakesFirstValue: server.mariadb,
    integerRoundsDecimalText: true,
    typeConversionVariable: server.mariadb ? 'slave_type_conversions' : 'replica_type_conversions',
  }),
  blockingFamily: 'MY',
  verdict: {
    replicasAlterFirst: true,
    refusedReason: (blockers, unsafe) =>
      `It blocks writes in place (${blockers.join(', ')}) and is not replica-first safe (${unsafe.join(', ') || 'replica-first not applicable'}); to run it in place anyway, acknowledge ${blockers.join(' and ')} with the reason the block is acceptable (-- migrate:ack <rule> <reason>).`,
  },
};
