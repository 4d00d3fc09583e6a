import type { Dialect } from '../../config/types.ts';
import { blockingMysqlRules, migrationAlgorithm } from './blocking-mysql.ts';
import { blockingPostgresRules } from './blocking-postgres.ts';
import type { RuleContext, RuleDialect, VerdictDialect } from './context.ts';

/*
 * The per-database handlers the rules are given. This is the one place under rules/ that looks at
 * the dialect; each handler belongs to its engine (src/engines/mysql, src/engines/postgres) once
 * that exists, and ruleDialectFor() then asks the engine instead.
 */

export function mysqlRuleDialect(mariadb: boolean): RuleDialect {
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

/** PostgreSQL physical replicas cannot be altered first: no typeConversionVariable, no RF family. */
export const postgresRuleDialect: RuleDialect = {
  unknownColumnError: (column) => `column "${column}" does not exist`,
  missingValueOutcome: (column) => `"null value in column \"${column}\" violates not-null constraint"; the ALTER itself also fails as soon as the table has rows`,
  lockFreeNotNull: (column) => ` (ADD CONSTRAINT ... CHECK (${column} IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL, so no long lock is taken)`,
  narrowingFailure: ' (or make the ALTER fail)',
  blockingRules: blockingPostgresRules,
};

export function ruleDialectFor(ctx: Pick<RuleContext, 'dialect' | 'mariadb'>): RuleDialect {
  return ctx.dialect === 'mysql' ? mysqlRuleDialect(ctx.mariadb) : postgresRuleDialect;
}

const MYSQL_VERDICT: VerdictDialect = {
  replicasAlterFirst: true,
  refusedReason: (blockers, unsafe) => `It blocks writes in place (${blockers.join(', ')}) and is not replica-first safe (${unsafe.join(', ') || 'replica-first not applicable'}).`,
};

const POSTGRES_VERDICT: VerdictDialect = {
  replicasAlterFirst: false,
  refusedReason: (blockers) => `It blocks reads or writes on PostgreSQL (${blockers.join(', ')}), and PostgreSQL physical replicas cannot be altered first: rewrite it with the safe alternatives listed.`,
};

export function verdictDialectFor(dialect: Dialect): VerdictDialect {
  return dialect === 'mysql' ? MYSQL_VERDICT : POSTGRES_VERDICT;
}
