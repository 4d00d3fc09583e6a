import type { Dialect } from '../../config/types.ts';
import { engineFor } from '../../engines/index.ts';
import type { RuleContext, RuleDialect, VerdictDialect } from './context.ts';

/*
 * The per-database handlers the rules are given. Each engine builds its own
 * (src/engines/mysql/rules.ts, src/engines/postgres/rules.ts); no rule looks at the dialect.
 */

export function ruleDialectFor(ctx: Pick<RuleContext, 'dialect' | 'mariadb'>): RuleDialect {
  return engineFor(ctx.dialect).rules.ruleDialect(ctx);
}

export function verdictDialectFor(dialect: Dialect): VerdictDialect {
  return engineFor(dialect).rules.verdict;
}
