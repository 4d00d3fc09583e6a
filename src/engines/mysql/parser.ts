/**
 * node-sql-parser's MySQL grammar (a maintained PEG parser, not the server's own), so that what a
 * statement names is read from a parse tree rather than from regexes over its text: a column named
 * `locked` is not a LOCK= clause, a string 'where' is not a WHERE, backtick names are names.
 *
 * Its MySQL grammar is used for MariaDB too: it accepts more of the statements migrations run
 * (ADD CONSTRAINT, DROP CHECK, UPDATE ... LIMIT) than its MariaDB grammar (docs/check.md has the
 * share of the corpus each parses). What neither accepts falls back to classify.ts.
 *
 * The grammar module is imported on the first loadMysqlParser() call only, never at start-up: a
 * PostgreSQL run or a command that never parses MySQL does not pay for it.
 */
type Grammar = typeof import('node-sql-parser/build/mysql.js');
type ParserInstance = InstanceType<Grammar['Parser']>;

/** A node of the parse tree, read loosely (its shapes differ per statement). */
export type MyNode = Record<string, unknown>;

let parser: ParserInstance | undefined;
let loading: Promise<void> | undefined;

/** Imports the grammar once; later calls return the same promise. */
export function loadMysqlParser(): Promise<void> {
  loading ??= (async () => {
    const m = (await import('node-sql-parser/build/mysql.js')) as Grammar & { default?: Grammar };
    const P = m.Parser ?? m.default!.Parser;
    parser = new P();
  })();
  return loading;
}

export function mysqlParserLoaded(): boolean {
  return parser !== undefined;
}

/**
 * The statements of `sql` as node-sql-parser reads them, or undefined when its grammar refuses
 * the text (which the server may still accept: its grammar is not the server's).
 */
export function parseMysql(sql: string): MyNode[] | undefined {
  if (!parser) throw new Error('MySQL parser used before loadMysqlParser() finished (a caller must await it first)');
  try {
    const ast = parser.astify(sql, { database: 'MySQL' }) as unknown;
    return (Array.isArray(ast) ? ast : [ast]) as MyNode[];
  } catch {
    return undefined;
  }
}
