import { blockingMysqlRules, migrationAlgorithm } from '../../analysis/rules/blocking-mysql.ts';
import type { RuleDialect } from '../../analysis/rules/context.ts';
import type { RulesEngine } from '../rules-contract.ts';

function mysqlRuleDialect(mariadb: boolean): RuleDialect {
  return {
    unknownColumnError: (column) => `Unknown column '${column}'`,
    missingValueOutcome: (column) => `"Field '${column}' doesn't have a default value" in strict mode; without strict mode the rows silently get '' or 0`,
    lockFreeNotNull: () => '',
    narrowingFailure: ' (or make the ALTER fail in strict mode)',
    blockingRules: blockingMysqlRules,
    algorithm: migrationAlgorithm,
    typeConversionVariable: mariadb ? 'slave_type_conversions' : 'replica_type_conversions',
  };
}

export const mysqlRules: RulesEngine = {
  ruleDialect: (server) => mysqlRuleDialect(server.mariadb),
  verdict: {
    replicasAlterFirst: true,
    refusedReason: (blockers, unsafe) => `It blocks writes in place (${blockers.join(', ')}) and is not replica-first safe (${unsafe.join(', ') || 'replica-first not applicable'}).`,
  },
};
