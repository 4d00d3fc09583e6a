import type { SqlGrammar, TransactionControl } from '../sql-grammar.ts';
import { pgEffects } from './effects.ts';
import { firstWord, GRAMMAR_MAX_CHARS, loadPgParser, type PgNode, PgSyntaxError, pgStatementEnds } from './parser.ts';

/** TransactionStmt kinds that open or end a transaction block (ABORT parses as ROLLBACK, END as COMMIT). */
const CONTROL: Record<string, TransactionControl['kind']> = {
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'begin',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
};

/** What a TransactionStmt can start with: anything else is not one, without parsing it. */
const CONTROL_WORDS = new Set(['begin', 'start', 'commit', 'end', 'abort', 'rollback']);

/** The statements' ends, or undefined when PostgreSQL's grammar refuses the text. */
function ends(sql: string): { stmt: PgNode; end: number }[] | undefined {
  if (sql.length > GRAMMAR_MAX_CHARS) return undefined;
  try {
    return pgStatementEnds(sql);
  } catch (e) {
    if (e instanceof PgSyntaxError) return undefined;
    throw e;
  }
}

/**
 * PostgreSQL's own grammar over migration SQL: statement boundaries (dollar quotes, BEGIN ATOMIC
 * bodies, nested comments, E'' strings, multi-action rules as the server sees them) and
 * TransactionStmt kinds, so neither the runner nor the shadow reads BEGIN/COMMIT with a regex.
 */
export const pgGrammar: SqlGrammar = {
  load: loadPgParser,
  statementEnds: (sql) => ends(sql)?.map((s) => s.end),
  transactionControl(sql) {
    if (!CONTROL_WORDS.has(firstWord(sql))) return undefined;
    const stmts = ends(sql);
    if (stmts?.length !== 1) return undefined;
    const t = stmts[0]?.stmt['TransactionStmt'] as { kind?: unknown; chain?: unknown } | undefined;
    const kind = typeof t?.kind === 'string' ? CONTROL[t.kind] : undefined;
    return kind ? { kind, chain: t?.chain === true } : undefined;
  },
  effects: pgEffects,
};
