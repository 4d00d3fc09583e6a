import type { Dialect } from '../config/index.ts';
import { engineFor, type SqlSyntax } from '../engines/index.ts';
import type { SqlStatement } from './types.ts';

/** A `--` / `#` / block comment, kept so directives (`-- migrate:phase ...`) can be read from it. */
export interface SqlComment {
  /** The comment body without its markers, trimmed. */
  text: string;
  line: number;
}

export interface SqlScan {
  statements: SqlStatement[];
  comments: SqlComment[];
}

/** Splits a SQL file into statements; see scanSql. */
export function splitSql(text: string, dialect: Dialect): SqlStatement[] {
  return scanSql(text, dialect).statements;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const STORED_PROGRAM_KINDS = new Set(['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT', 'PACKAGE']);
const NON_PROGRAM_OBJECTS = new Set(['TABLE', 'VIEW', 'INDEX', 'DATABASE', 'SCHEMA', 'USER', 'ROLE', 'SEQUENCE', 'SERVER', 'TABLESPACE']);
const END_OF_BLOCK_STATEMENT = new Set(['IF', 'LOOP', 'WHILE', 'REPEAT']);

/**
 * Splits SQL into statements. Where the engine has its server's grammar (PostgreSQL), the grammar
 * says where statements end (SqlGrammar.statementEnds; load it first) and the scanner below only
 * reads each statement's first line, comments and words; where the grammar refuses the text (a
 * syntax error) or the engine has none (MySQL/MariaDB), the scanner splits too, at top-level
 * semicolons, the way the server's own client would, so that no DELIMITER trick is needed:
 * - quotes: '...' (backslash escapes on MySQL and in PostgreSQL E'...'), "...", `...` (MySQL);
 * - comments: `-- `, `#` (MySQL), nested /* *\/ (PostgreSQL); MySQL `/*! ... *\/` executable
 *   comments count as statement text;
 * - PostgreSQL dollar quoting ($$ ... $$, $tag$ ... $tag$) and `BEGIN ATOMIC ... END` bodies;
 * - MySQL/MariaDB stored programs (CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT with BEGIN ... END,
 *   MariaDB `BEGIN NOT ATOMIC ... END`), whose bodies hold semicolons.
 * A refused file is still split, so that it runs up to the refused statement and the server's own
 * error is reported with its line. Each statement keeps the line its first token is on, so
 * findings and errors can point there.
 */
export function scanSql(input: string, dialect: Dialect): SqlScan {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const engine = engineFor(dialect);
  const ends = engine.sqlGrammar?.statementEnds(text);
  if (!ends) return new SqlScanner(text, engine.syntax).run();
  // One scanner pass per statement, from the previous statement's semicolon to its own, that
  // does not split; the text after the last one holds comments only.
  const scan: SqlScan = { statements: [], comments: [] };
  let from = 0;
  let line = 1;
  for (const to of [...ends, text.length]) {
    if (to < from) continue;
    const part = new SqlScanner(text, engine.syntax, { from, to, line });
    const { statements, comments } = part.run();
    scan.statements.push(...statements);
    scan.comments.push(...comments);
    from = to;
    line = part.lineAt;
  }
  return scan;
}

/** A stretch of the text one scanner pass reads as a single statement: [from, to), from `line`. */
interface Stretch {
  from: number;
  to: number;
  line: number;
}

/**
 * One scanSql pass. Each `scan*` method consumes the lexical element at the cursor when it starts
 * one there and says whether it did; `step` tries them in a fixed order, which decides what wins
 * where two could start (a `--` comment before a bare `-`, a quote before a word).
 */
class SqlScanner {
  private readonly statements: SqlStatement[] = [];
  private readonly comments: SqlComment[] = [];
  private readonly text: string;
  /** Where the pass stops: the text's end, or the end of the stretch it reads. */
  private readonly n: number;
  private readonly mysql: boolean;
  /** False when the grammar already split the text: semicolons do not end statements. */
  private readonly splits: boolean;
  private i = 0;
  private line = 1;
  /** Where the current statement's first token is, -1 between statements. */
  private start = -1;
  private startLine = 0;
  /** The current statement's words so far, upper-cased: what needsNoTransaction and the BEGIN checks read. */
  private words: string[] = [];
  /** Nesting of BEGIN/CASE ... END inside a stored-program body; semicolons there do not split. */
  private depth = 0;

  constructor(text: string, syntax: SqlSyntax, stretch?: Stretch) {
    this.text = text;
    this.n = stretch?.to ?? text.length;
    this.i = stretch?.from ?? 0;
    this.line = stretch?.line ?? 1;
    this.splits = stretch === undefined;
    // The MySQL lexis comes as a whole (backticks, # comments, backslash escapes, executable
    // comments, BEGIN ... END bodies): backtick quoting stands for all of it.
    this.mysql = syntax.backtickIdentifiers;
  }

  run(): SqlScan {
    while (this.i < this.n) this.step();
    this.finish(this.n);
    return { statements: this.statements, comments: this.comments };
  }

  private step(): void {
    const c = this.text[this.i] ?? '';
    if (c === '\n' || c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      this.advanceTo(this.i + 1);
      return;
    }
    if (this.scanLineComment(c) || this.scanBlockComment(c) || this.scanQuoted(c) || this.scanDollarQuoted(c)) return;
    if (c === ';') this.scanSemicolon();
    else if (WORD_START.test(c)) this.scanWord();
    else {
      this.markStart();
      this.advanceTo(this.i + 1);
    }
  }

  /** The line the cursor is on (after run(): the line the pass stopped on). */
  get lineAt(): number {
    return this.line;
  }

  /** Moves the cursor to `end` (never past where the pass stops), counting the newlines passed over. */
  private advanceTo(end: number): void {
    const stop = Math.min(end, this.n);
    for (let k = this.i; k < stop; k++) if (this.text.charCodeAt(k) === 10) this.line++;
    this.i = stop;
  }

  private markStart(): void {
    if (this.start < 0) {
      this.start = this.i;
      this.startLine = this.line;
    }
  }

  /** Ends the current statement (if one started) just before `end`. */
  private finish(end: number): void {
    if (this.start >= 0) {
      const sql = this.text.slice(this.start, end).trimEnd();
      if (sql) this.statements.push({ sql, line: this.startLine, noTransaction: !this.mysql && needsNoTransaction(this.words) });
    }
    this.start = -1;
    this.words = [];
    this.depth = 0;
  }

  private scanLineComment(c: string): boolean {
    const { text, i, n } = this;
    // MySQL only treats "--" as a comment when followed by whitespace or the end of input.
    const dashes = c === '-' && text[i + 1] === '-' && (!this.mysql || i + 2 >= n || /\s/.test(text[i + 2] ?? ''));
    if (!dashes && !(this.mysql && c === '#')) return false;
    let e = text.indexOf('\n', i);
    if (e < 0 || e > n) e = n;
    this.comments.push({ text: text.slice(i + (c === '#' ? 1 : 2), e).trim(), line: this.line });
    this.advanceTo(e);
    return true;
  }

  private scanBlockComment(c: string): boolean {
    const { text, i } = this;
    if (c !== '/' || text[i + 1] !== '*') return false;
    const executable = this.mysql && (text[i + 2] === '!' || text[i + 2] === '+' || (text[i + 2] === 'M' && text[i + 3] === '!'));
    const end = blockCommentEnd(text, i, !this.mysql);
    if (executable) this.markStart();
    else this.comments.push({ text: text.slice(i + 2, Math.max(i + 2, end - 2)).trim(), line: this.line });
    this.advanceTo(end);
    return true;
  }

  private scanQuoted(c: string): boolean {
    const backslash = this.quoteTakesBackslash(c);
    if (backslash === undefined) return false;
    this.markStart();
    this.advanceTo(quotedEnd(this.text, this.i, c, backslash));
    return true;
  }

  /** Whether backslash escapes inside the quote `c` opens at the cursor; undefined when `c` opens none here. */
  private quoteTakesBackslash(c: string): boolean | undefined {
    if (c === "'") return this.mysql || isEscapeStringPrefix(this.text, this.i);
    if (c === '"') return this.mysql;
    if (c === '`' && this.mysql) return false;
    return undefined;
  }

  private scanDollarQuoted(c: string): boolean {
    const { text, i } = this;
    // A `$` right after a word character belongs to the word (identifiers may hold `$`).
    if (c !== '$' || this.mysql || (i > 0 && WORD_CHAR.test(text[i - 1] ?? ''))) return false;
    DOLLAR_TAG.lastIndex = i;
    const m = DOLLAR_TAG.exec(text);
    if (!m) return false;
    this.markStart();
    const tag = m[0];
    const close = text.indexOf(tag, i + tag.length);
    this.advanceTo(close < 0 ? this.n : close + tag.length);
    return true;
  }

  private scanSemicolon(): void {
    if (this.splits && this.depth === 0) this.finish(this.i);
    this.advanceTo(this.i + 1);
  }

  private scanWord(): void {
    this.markStart();
    const e = this.wordEnd(this.i);
    const word = this.text.slice(this.i, e).toUpperCase();
    this.words.push(word);
    this.advanceTo(e);
    if (word === 'BEGIN') this.enterBegin();
    else if (this.depth > 0 && word === 'CASE') this.depth++;
    else if (this.depth > 0 && word === 'END') this.leaveEnd();
  }

  /** Index just past the word whose first character is at `from`. */
  private wordEnd(from: number): number {
    let e = from + 1;
    while (e < this.n && WORD_CHAR.test(this.text[e] ?? '')) e++;
    return e;
  }

  /** The next word after position p, skipping whitespace only (enough for END IF, BEGIN ATOMIC). */
  private peekWord(p: number): { word: string; end: number } | undefined {
    let k = p;
    while (k < this.n && /\s/.test(this.text[k] ?? '')) k++;
    if (k >= this.n || !WORD_START.test(this.text[k] ?? '')) return undefined;
    const e = this.wordEnd(k);
    return { word: this.text.slice(k, e).toUpperCase(), end: e };
  }

  /** A BEGIN just read: opens a stored-program body, or a nested block inside one. */
  private enterBegin(): void {
    if (this.depth > 0) {
      // Nested BEGIN ... END blocks inside a stored program (MySQL).
      if (this.mysql) this.depth++;
    } else if (opensCompoundBody(this.words, this.peekWord(this.i)?.word, this.mysql)) {
      this.depth = 1;
    }
  }

  /** An END just read inside a body: closes a level, unless it ends a statement that opened none. */
  private leaveEnd(): void {
    const after = this.peekWord(this.i);
    if (after && END_OF_BLOCK_STATEMENT.has(after.word)) {
      // END IF / END LOOP / ...: closes a statement that did not open a level.
      this.takeWord(after);
      return;
    }
    if (after?.word === 'CASE') this.takeWord(after);
    this.depth--;
  }

  private takeWord(w: { word: string; end: number }): void {
    this.words.push(w.word);
    this.advanceTo(w.end);
  }
}

/** Index just past the end of a block comment starting at `from` (nested on PostgreSQL). */
function blockCommentEnd(text: string, from: number, nested: boolean): number {
  let level = 0;
  let k = from;
  while (k < text.length) {
    if (text[k] === '/' && text[k + 1] === '*') {
      if (level === 0 || nested) level++;
      k += 2;
    } else if (text[k] === '*' && text[k + 1] === '/') {
      level--;
      k += 2;
      if (level === 0) return k;
    } else k++;
  }
  return text.length;
}

/** Index just past the closing quote; a doubled quote is an escaped quote. */
function quotedEnd(text: string, from: number, quote: string, backslash: boolean): number {
  let k = from + 1;
  while (k < text.length) {
    const ch = text[k];
    if (backslash && ch === '\\') {
      k += 2;
      continue;
    }
    if (ch === quote) {
      if (text[k + 1] === quote) {
        k += 2;
        continue;
      }
      return k + 1;
    }
    k++;
  }
  return text.length;
}

/** PostgreSQL E'...' strings take backslash escapes; standard strings do not. */
function isEscapeStringPrefix(text: string, quoteAt: number): boolean {
  const p = text[quoteAt - 1];
  if (p !== 'E' && p !== 'e') return false;
  return !(quoteAt >= 2 && WORD_CHAR.test(text[quoteAt - 2] ?? ''));
}

function opensCompoundBody(words: string[], nextWord: string | undefined, mysql: boolean): boolean {
  if (mysql) {
    // MariaDB anonymous block: BEGIN NOT ATOMIC ... END (a plain BEGIN starts a transaction).
    if (words.length === 1) return nextWord === 'NOT';
    if (words[0] !== 'CREATE') return false;
    for (const w of words.slice(1, 12)) {
      if (STORED_PROGRAM_KINDS.has(w)) return true;
      if (NON_PROGRAM_OBJECTS.has(w)) return false;
    }
    return false;
  }
  // PostgreSQL 14+ SQL-standard function bodies.
  return words[0] === 'CREATE' && nextWord === 'ATOMIC';
}

/** PostgreSQL statements that fail with "cannot run inside a transaction block". */
export function needsNoTransaction(words: readonly string[]): boolean {
  const [a, b, c] = words;
  if (a === 'VACUUM') return true;
  if (a === 'CREATE' && b === 'INDEX' && c === 'CONCURRENTLY') return true;
  if (a === 'CREATE' && b === 'UNIQUE' && c === 'INDEX' && words[3] === 'CONCURRENTLY') return true;
  if (a === 'DROP' && b === 'INDEX' && c === 'CONCURRENTLY') return true;
  if (a === 'REINDEX' && words.includes('CONCURRENTLY')) return true;
  if (a === 'ALTER' && b === 'TYPE' && words.some((w, k) => w === 'ADD' && words[k + 1] === 'VALUE')) return true;
  if (a === 'ALTER' && b === 'TABLE' && words.some((w, k) => w === 'DETACH' && words[k + 1] === 'PARTITION') && words.includes('CONCURRENTLY')) return true;
  if ((a === 'CREATE' || a === 'DROP') && (b === 'DATABASE' || b === 'TABLESPACE')) return true;
  if (a === 'ALTER' && b === 'SYSTEM') return true;
  return false;
}

/** A 1-based, inclusive range of lines; `terminator` ends its statement (default `;`). */
export interface LineRange {
  from: number;
  to: number;
  terminator?: string;
}

const DELIMITER_LINE = /^\s*DELIMITER\s+(\S+)\s*$/i;

/**
 * The mysql client's `DELIMITER x` lines, as Flyway's MySQL parser honours them: each statement
 * written while the delimiter is not `;` is a block ending at the line that ends with it. The
 * DELIMITER lines themselves are not SQL (`skip`).
 */
export function delimiterBlocks(lines: readonly string[]): { blocks: LineRange[]; skip: Set<number> } {
  const blocks: LineRange[] = [];
  const skip = new Set<number>();
  let delimiter = ';';
  let start: number | undefined;
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    const m = DELIMITER_LINE.exec(line);
    if (m && start === undefined) {
      skip.add(n);
      delimiter = m[1] ?? ';';
      continue;
    }
    if (delimiter === ';' || (start === undefined && !line.trim())) continue;
    start ??= n;
    if (line.trimEnd().endsWith(delimiter)) {
      blocks.push({ from: start, to: n, terminator: delimiter });
      start = undefined;
    }
  }
  if (start !== undefined) blocks.push({ from: start, to: lines.length, terminator: delimiter });
  return { blocks, skip };
}

/** `text` with every line outside `keep` blanked: line numbers stay those of the file. */
export function keepLines(lines: readonly string[], keep: (line: number) => boolean): string {
  return lines.map((l, i) => (keep(i + 1) ? l : '')).join('\n');
}

/**
 * scanSql over the lines `keep` selects, where each of `blocks` is one statement whatever it
 * holds (goose's `-- +goose StatementBegin` ... `StatementEnd`: the tool sends the block as is,
 * so no splitting inside it). A block's statement starts at its first token; one final `;`
 * (and what follows it on its line) is dropped, as the splitter drops terminators.
 */
export function scanSqlWithBlocks(text: string, dialect: Dialect, keep: (line: number) => boolean, blocks: readonly LineRange[]): SqlScan {
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
  const inBlock = (n: number): boolean => blocks.some((b) => n >= b.from && n <= b.to);
  const outside = scanSql(
    keepLines(lines, (n) => keep(n) && !inBlock(n)),
    dialect,
  );
  const statements = [...outside.statements];
  const comments = [...outside.comments];
  for (const b of blocks) {
    const inner = scanSql(
      keepLines(lines, (n) => n >= b.from && n <= b.to),
      dialect,
    );
    comments.push(...inner.comments);
    const first = inner.statements[0];
    if (!first) continue;
    const text = lines
      .slice(first.line - 1, b.to)
      .join('\n')
      .trim();
    const body = (
      b.terminator && b.terminator !== ';'
        ? text.endsWith(b.terminator)
          ? text.slice(0, -b.terminator.length)
          : text
        : text.replace(/;[ \t]*(?:--[^\n]*)?$/, '')
    ).trimEnd();
    statements.push({ sql: body, line: first.line, noTransaction: inner.statements.some((s) => s.noTransaction) });
  }
  statements.sort((a, b) => a.line - b.line);
  comments.sort((a, b) => a.line - b.line);
  return { statements, comments };
}
