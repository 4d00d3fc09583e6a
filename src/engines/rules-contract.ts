/** How the server words what the analysis rules quote or advise (analysis/rules/context.ts RuleDialect). */
export interface RuleWording {
  /** The server's error for a query naming a column that does not exist (BC102, BC104). */
  unknownColumnError(column: string): string;
  /** The server's error for a query naming a table or view that does not exist (BC101, BC116, BC203). */
  unknownTableError(table: string): string;
  /** What INSERTs omitting a NOT NULL column without a default get, as BC107 quotes it. */
  missingValueOutcome(column: string): string;
  /** How to make `column` NOT NULL without a long lock, appended to BC107's last step ('' when the plain ALTER is fine). */
  lockFreeNotNull(column: string): string;
  /** Appended to DL103: what a stored value that does not fit the narrower type does to the ALTER. */
  narrowingFailure: string;
  /** BC112: what a write of an ENUM value the change removed gets. */
  removedEnumValueWrite: string;
  /** DL105 / DL107: what rows holding an ENUM value the change removes get, e.g. "lose it ('' without strict mode) or make the ALTER fail". */
  removedEnumValueOutcome: string;
  /**
   * An INSERT that omits a NOT NULL ENUM column without a default stores the column's first value
   * instead of failing: MariaDB 10.11 does it in every sql_mode (strict, TRADITIONAL, none: corpus
   * m32); MySQL fails in strict mode (its default since 5.7); PostgreSQL fails. Decides BC115.
   */
  omittedEnumTakesFirstValue: boolean;
  /**
   * An integer column rounds a decimal written as text ('1.55', as drivers send parameters) instead
   * of refusing it: MySQL/MariaDB round it, PostgreSQL refuses it ("invalid input syntax for type
   * integer"), measured in the corpus (m71, p51). Decides whether DECIMAL -> INT breaks old writes.
   */
  integerRoundsDecimalText: boolean;
  /**
   * The server variable that lets row events convert column types; absent where replicas cannot
   * be altered first, which makes the replica-first family not applicable.
   */
  typeConversionVariable?: string;
}

/** What the verdict words or decides per database (analysis/rules/context.ts VerdictDialect). */
export interface VerdictWording {
  /** Replicas can be altered first, so a blocking migration may run replica-first instead of being refused. */
  replicasAlterFirst: boolean;
  /** Why a blocking migration is refused: the blocking rules, and the replica-first rules that make it unsafe. */
  refusedReason(blockers: string[], unsafe: string[]): string;
}

/**
 * The per-database part of the analysis rules and the verdict. Engine.rules holds one of these per
 * engine; analysis/rules/dialects.ts adds the engine's blocking family and hands it to the rules.
 */
export interface RulesEngine {
  /** The server's wording (MariaDB names its variables differently). */
  wording(server: { mariadb: boolean }): RuleWording;
  /** Which blocking rule family judges this engine's ALTERs (finding codes MY..., PG...). */
  readonly blockingFamily: 'MY' | 'PG';
  readonly verdict: VerdictWording;
}
