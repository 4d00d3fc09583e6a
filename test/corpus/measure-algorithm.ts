/**
 * The algorithm MariaDB runs a case's up with, asked of the server (scripts/corpus-measure.ts; method in
 * README.md). Written for the measurement, apart from the engine's probe (src/engines/mysql/probe.ts):
 * the measurement must not take the engine's reading of a statement as given.
 * It shares only the MySQL lexer (src/engines/mysql/lex.ts: where strings and comments are), not
 * the probe nor any rule.
 */
import { maskMysqlStrings, stripMysqlComments } from '../../src/engines/mysql/lex.ts';

/** Slowest last: a case's algorithm is the slowest over its statements. */
export const ALGORITHMS = ['INSTANT', 'NOCOPY', 'INPLACE', 'COPY'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export interface AlgorithmMeasurement {
  value: Algorithm | null | 'unmeasured';
  evidence: string;
  /** Per statement that alters a table that existed before the up: what each algorithm got. */
  statements?: { statement: string; algorithm: Algorithm; refused: string[] }[];
}

export interface Runner {
  query(sql: string): Promise<Record<string, unknown>[]>;
}

const NAME = String.raw`(?:\x60(?:[^\x60]|\x60\x60)+\x60|[A-Za-z_$][\w$]*)`;
const ALTER = new RegExp(String.raw`^\s*alter\s+(?:online\s+)?(?:ignore\s+)?table\s+(${NAME})`, 'i');
const CREATE_INDEX = new RegExp(String.raw`^\s*create\s+(?:unique\s+|fulltext\s+|spatial\s+)?index\s+${NAME}\s+on\s+(${NAME})`, 'i');
const DROP_INDEX = new RegExp(String.raw`^\s*drop\s+index\s+(?:if\s+exists\s+)?(${NAME})\s+on\s+(${NAME})\s*;?\s*$`, 'i');
const PREPARE = /^\s*prepare\s+(\w+)\s+from\s+(@\w+|'(?:[^']|'')*')\s*;?\s*$/i;
const EXECUTE = /^\s*execute\s+(\w+)\s*;?\s*$/i;
const DECLARES = /(^|[\s,])(algorithm|lock)\s*=?\s*(default|instant|inplace|nocopy|copy|none|shared|exclusive)\b/i;

const bare = (name: string) => name.replace(/^`|`$/g, '').replace(/``/g, '`').toLowerCase();

/**
 * The statement rewritten to ask for one algorithm, or null when it alters no table. Writes continue
 * under INSTANT always, under NOCOPY and INPLACE only with LOCK=NONE (INPLACE with a shared lock blocks
 * them as a copy does), so the in-between algorithms are asked with LOCK=NONE. MariaDB 10.11's DROP
 * INDEX takes no ALGORITHM clause (a syntax error, tried), so it is asked as the ALTER TABLE ... DROP
 * INDEX it is.
 */
export function variant(sql: string, algorithm: Algorithm): { table: string; sql: string } | null {
  // Comments out: a trailing `-- note` would swallow the appended clause, and the server's default would pass for INSTANT.
  const body = stripMysqlComments(sql).trim().replace(/;\s*$/, '');
  const clause = algorithm === 'INSTANT' || algorithm === 'COPY' ? `ALGORITHM=${algorithm}` : `ALGORITHM=${algorithm}, LOCK=NONE`;
  const drop = DROP_INDEX.exec(body);
  if (drop) return { table: bare(drop[2]!), sql: `ALTER TABLE ${drop[2]} DROP INDEX ${drop[1]}, ${clause}` };
  const alter = ALTER.exec(body);
  if (alter) return { table: bare(alter[1]!), sql: `${body}, ${clause}` };
  const index = CREATE_INDEX.exec(body);
  if (index) return { table: bare(index[1]!), sql: `${body} ${clause.replace(',', '')}` };
  return null;
}

/** The server refused the algorithm before doing any work (ER_ALTER_OPERATION_NOT_SUPPORTED[_REASON], SQLSTATE 0A000). */
function refusal(e: unknown): boolean {
  const err = e as { errno?: number; sqlState?: string };
  return err.errno === 1845 || err.errno === 1846 || err.sqlState === '0A000';
}

const firstLine = (e: unknown) => (e as Error).message.split('\n')[0]!;

/** Tries each algorithm, fastest first; the first the server accepts has applied the statement. */
async function askServer(db: Runner, sql: string): Promise<{ algorithm: Algorithm; refused: string[] }> {
  const refused: string[] = [];
  for (const algorithm of ALGORITHMS) {
    const v = variant(sql, algorithm)!;
    try {
      await db.query(v.sql);
      return { algorithm, refused };
    } catch (e) {
      if (!refusal(e)) throw new Error(`${v.sql} failed for another reason than the algorithm: ${firstLine(e)}`);
      refused.push(`${algorithm}: ${firstLine(e)}`);
    }
  }
  throw new Error(`${sql}: the server refused every algorithm (${refused.join('; ')})`);
}

/**
 * Runs the up's statements in order on a database holding the before-schema, each statement that alters
 * a table of `existing` asked for INSTANT, NOCOPY, INPLACE, COPY in turn (a refusal changes nothing, so
 * the state needs no restoring), the others as written. A statement run through PREPARE/EXECUTE is asked
 * in the text it was prepared from. Throws when a statement fails other than by refusing an algorithm.
 */
export async function measureAlgorithm(db: Runner, up: string[], existing: Set<string>): Promise<AlgorithmMeasurement> {
  const prepared = new Map<string, string>();
  const statements: NonNullable<AlgorithmMeasurement['statements']> = [];
  for (const s of up) {
    const prep = PREPARE.exec(s);
    if (prep) prepared.set(prep[1]!.toLowerCase(), await preparedText(db, prep[2]!));
    const exec = EXECUTE.exec(s);
    const text = exec ? (prepared.get(exec[1]!.toLowerCase()) ?? s) : s;
    const v = variant(text, 'COPY');
    if (!v || !existing.has(v.table)) {
      await db.query(s);
      continue;
    }
    if (DECLARES.test(maskMysqlStrings(text))) return { value: 'unmeasured', evidence: `${text} declares its own ALGORITHM/LOCK: nothing to ask the server` };
    statements.push({ statement: text, ...(await askServer(db, text)) });
  }
  if (!statements.length) return { value: null, evidence: 'no statement of the up alters a table that existed before it' };
  const slowest = statements.reduce((a, b) => (ALGORITHMS.indexOf(b.algorithm) > ALGORITHMS.indexOf(a.algorithm) ? b : a));
  return {
    value: slowest.algorithm,
    evidence: `the server accepted ${slowest.statement} first with ALGORITHM=${slowest.algorithm}${slowest.refused.length ? ` after refusing ${slowest.refused.join('; ')}` : ''} (slowest of ${statements.length} statement(s) on existing tables)`,
    statements,
  };
}

async function preparedText(db: Runner, source: string): Promise<string> {
  if (source.startsWith("'")) return source.slice(1, -1).replace(/''/g, "'");
  const [row] = await db.query(`SELECT ${source} AS t`);
  return String(row?.['t'] ?? '');
}
