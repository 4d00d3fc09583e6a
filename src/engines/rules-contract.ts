import type { RuleDialect, VerdictDialect } from '../analysis/rules/context.ts';
import type { ServerKind } from './contract.ts';

/**
 * The per-database handlers of the analysis rules (src/analysis/rules) and of the verdict: the
 * server's wording, the blocking family, whether replicas can be altered first. Engine.rules holds
 * one of these per engine; rules/dialects.ts hands them to the rules.
 */
export interface RulesEngine {
  /** The rules' handler for a server of this engine (MariaDB names its variables differently). */
  ruleDialect(server: Pick<ServerKind, 'mariadb'>): RuleDialect;
  readonly verdict: VerdictDialect;
}
