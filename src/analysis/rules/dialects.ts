import type { Dialect } from '../../config/index.ts';
import { engineFor } from '../../engines/index.ts';
import { blockingMysqlRules, migrationAlgorithm } from './blocking-mysql.ts';
import { blockingPostgresRules } from './blocking-postgres.ts';
import type { RuleContext, RuleDialect, VerdictDialect } from './context.ts';

/*
 * The per-database handlers the rules are given: the engine's wording (src/engines/mysql/rules.ts,
 * src/engines/postgres/rules.ts) and the blocking family it names. No rule looks at the dialect.
 */

const BLOCKING_FAMILIES: Record<'MY' | 'PG', Pick<RuleDialect, 'blockingRules' | 'algorithm'>> = {
  MY: { blockingRules: blockingMysqlRules, algorithm: migrationAlgorithm },
  PG: { blockingRules: blockingPostgresRules },
};

export function ruleDialectFor(ctx: Pick<RuleContext, 'dialect' | 'mariadb'>): RuleDialect {
  const rules = engineFor(ctx.dialect).rules;
  return { ...rules.wording(ctx), ...BLOCKING_FAMILIES[rules.blockingFamily] };
}

export function verdictDialectFor(dialect: Dialect): VerdictDialect {
  return engineFor(dialect).rules.verdict;
}
