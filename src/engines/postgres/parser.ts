/**
 * PostgreSQL's own parser (libpg_query: the server's grammar and lexer compiled to WebAssembly),
 * so that what a statement names is read the way the server reads it: unquoted names folded to
 * lower case, dollar-quoted bodies and nested comments skipped, every statement form the server
 * knows. The hand-written regex scanners it replaces got each of those wrong somewhere (issue 15,
 * B2: `ON Posts` was not table `posts`).
 *
 * Loading it costs about 0.1 s of CPU and 10 MB in a cold `migrate check` (measured on this
 * project's 2-core machines), which a MySQL run or a command that never parses PostgreSQL must not
 * pay: the module is imported on the first loadPgParser() call only, never at start-up.
 */
import { setFlagsFromString } from 'node:v8';
import { MigrateError } from '../../errors.ts';

type LibPgQuery = typeof import('libpg-query');

/** A node of the parse tree: `{ NodeType: { ...fields } }`, read loosely (the tree is JSON). */
export type PgNode = Record<string, unknown>;

export interface PgRawStatement {
  /** The statement's node, e.g. `{ IndexStmt: {...} }`. */
  stmt: PgNode;
  /** Its text in the input, without the terminating semicolon, comments before it included. */
  text: string;
}

/** One lexical token; start/end are byte offsets in the UTF-8 text (libpg_query counts bytes). */
export interface PgToken {
  start: number;
  end: number;
  text: string;
}

let lib: LibPgQuery | undefined;
let loading: Promise<void> | undefined;

/** Imports and instantiates the parser once; later calls return the same promise. */
export function loadPgParser(): Promise<void> {
  loading ??= (async () => {
    // WebAssembly gets V8's baseline compiler (Liftoff) only: optimising the parser's hot
    // functions in the background cost about 0.5 s of CPU per cold check on 2 cores, and parses
    // were no faster for it (a migration's statements are few and short). The flag is read when
    // a module is compiled; the only other WebAssembly in the process is undici's HTTP parser
    // (fetch, used by deploy hand-off checks), for which baseline code is ample.
    setFlagsFromString('--liftoff-only');
    const m = (await import('libpg-query')) as LibPgQuery;
    await m.loadModule();
    lib = m;
  })();
  return loading;
}

function loaded(): LibPgQuery {
  if (!lib) throw new Error('PostgreSQL parser used before loadPgParser() finished (a caller must await it first)');
  return lib;
}

/** PostgreSQL's own refusal of a statement: the syntax error the server would give for it. */
export class PgSyntaxError extends MigrateError {
  /** Character offset in the text where PostgreSQL stopped, when it said. */
  readonly position: number | undefined;
  constructor(message: string, position: number | undefined, cause: unknown) {
    super('work', `PostgreSQL cannot parse this SQL: ${message}.`, 'Correct the statement: the server itself gives the same syntax error when it runs it.', {
      cause,
    });
    this.name = 'PgSyntaxError';
    this.position = position;
  }
}

type RawTree = { stmts?: { stmt?: PgNode; stmt_location?: number; stmt_len?: number }[] };

/** The parse tree of `sql` (`bytes` is its UTF-8 encoding); throws PgSyntaxError for text the grammar refuses. */
function parseTree(sql: string, bytes: Buffer): RawTree {
  // Outside the try: a caller that did not load the parser is a bug to surface, not a syntax error.
  const parser = loaded();
  try {
    return parser.parseSync(sql) as RawTree;
  } catch (e) {
    const details = (e as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    const at = details?.cursorPosition;
    throw new PgSyntaxError(details?.message ?? String((e as Error).message ?? e), at === undefined ? undefined : charOffset(bytes, at), e);
  }
}

/** A statement's [start, end) in bytes; stmt_len 0 (left out) means "to the end of the input" (a last statement without a semicolon). */
function byteSpan(s: { stmt_location?: number; stmt_len?: number }, total: number): [number, number] {
  const start = s.stmt_location ?? 0;
  return [start, s.stmt_len ? start + s.stmt_len : total];
}

/**
 * The statements of `sql` as PostgreSQL splits and parses them (semicolons inside literals,
 * dollar quotes, comments and BEGIN ATOMIC bodies do not split). Throws PgSyntaxError for text
 * the server's grammar refuses.
 */
export function parsePg(sql: string): PgRawStatement[] {
  const bytes = Buffer.from(sql, 'utf8');
  return (parseTree(sql, bytes).stmts ?? []).map((s) => {
    const [start, end] = byteSpan(s, bytes.length);
    return { stmt: s.stmt ?? {}, text: bytes.subarray(start, end).toString('utf8') };
  });
}

/**
 * Each statement of `sql` with where it ends: the character offset of its terminating semicolon,
 * or sql.length for a last one without. Empty statements (`;;`) are not statements. Throws
 * PgSyntaxError for text the server's grammar refuses.
 */
export function pgStatementEnds(sql: string): { stmt: PgNode; end: number }[] {
  const bytes = Buffer.from(sql, 'utf8');
  const stmts = parseTree(sql, bytes).stmts ?? [];
  const ascii = bytes.length === sql.length;
  // Byte offsets to character offsets in one pass: a statement ends at a semicolon or at the end
  // of the text, never inside a character, so each stretch decodes on its own.
  let byteAt = 0;
  let charAt = 0;
  return stmts.map((s) => {
    const end = byteSpan(s, bytes.length)[1];
    if (!ascii) {
      charAt += bytes.subarray(byteAt, end).toString('utf8').length;
      byteAt = end;
    }
    return { stmt: s.stmt ?? {}, end: ascii ? end : charAt };
  });
}

/** PostgreSQL's lexer over `sql`, comments left out. */
export function scanPg(sql: string): PgToken[] {
  return loaded()
    .scanSync(sql)
    .tokens.filter((t) => !/COMMENT/.test(t.tokenName))
    .map((t) => ({ start: t.start, end: t.end, text: t.text }));
}

/** The character offset in the string of a byte offset in its UTF-8 encoding. */
export function charOffset(bytes: Buffer, byteOffset: number): number {
  return bytes.subarray(0, byteOffset).toString('utf8').length;
}

/**
 * Past this size a text is left to the scanner and the regexes instead: the parse tree of a multi-megabyte data
 * file costs seconds and hundreds of MB (review: 8.3 s and 890 MB for 12.6 MB of INSERTs), and
 * such files are rows, not the statements the grammar reads better (dollar quotes and comments
 * the scanner knows too; multi-action rules, BEGIN ATOMIC bodies).
 */
export const GRAMMAR_MAX_CHARS = 1 << 20;

/** The first word of a statement, after leading whitespace and comments (nested, as PostgreSQL nests them). */
export function firstWord(sql: string): string {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      let depth = 0;
      do {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < sql.length);
    } else break;
  }
  return /^[A-Za-z_]+/.exec(sql.slice(i, i + 32))?.[0].toLowerCase() ?? '';
}
