import { blankStatement, engineFor, type StatementInfo } from '../../engines/index.ts';
import type { Dialect } from '../../config/index.ts';

/**
 * Statements described as their database reads them (the types and what they answer:
 * engines/statement-info.ts): each engine has its own parser (PostgreSQL: the server's grammar,
 * libpg-query; MySQL/MariaDB: node-sql-parser, with a regex classifier for what its grammar does
 * not cover).
 */
export type { AlterAction, StatementInfo, StatementKind } from '../../engines/index.ts';
export { splitTopLevel, unqualify, unquote } from '../../engines/index.ts';

/**
 * Describes one statement as `dialect`'s server reads it, by the engine's own parser (call
 * loadStatementParser first). An engine without one leaves every statement opaque: the caller
 * re-reads the whole schema after it.
 */
export function parseStatement(raw: string, dialect: Dialect): StatementInfo {
  const parser = engineFor(dialect).statementParser;
  if (parser) return parser.describe(raw);
  return { ...blankStatement(raw), opaque: true };
}

/** Loads `dialect`'s own statement parser, if it has one, before parseStatement is called (lazily: it costs start-up time). */
export async function loadStatementParser(dialect: Dialect): Promise<void> {
  await engineFor(dialect).statementParser?.load();
}

/** Whether a statement text names a table (and a column), for attributing a finding to a statement. */
export function mentions(sql: string, name: string): boolean {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w$])[\`"]?${esc}[\`"]?($|[^\\w$])`, 'i').test(sql);
}
