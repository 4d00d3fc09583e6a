import type { Dialect } from '../config/types.ts';
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
 * Splits SQL into statements at top-level semicolons, the way the server's own client would, so
 * that no DELIMITER trick is needed:
 * - quotes: '...' (backslash escapes on MySQL and in PostgreSQL E'...'), "...", `...` (MySQL);
 * - comments: `-- `, `#` (MySQL), nested /* *\/ (PostgreSQL); MySQL `/*! ... *\/` executable
 *   comments count as statement text;
 * - PostgreSQL dollar quoting ($$ ... $$, $tag$ ... $tag$) and `BEGIN ATOMIC ... END` bodies;
 * - MySQL/MariaDB stored programs (CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT with BEGIN ... END,
 *   MariaDB `BEGIN NOT ATOMIC ... END`), whose bodies hold semicolons.
 * Each statement keeps the line its first token is on, so findings and errors can point there.
 */
export function scanSql(input: string, dialect: Dialect): SqlScan {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const mysql = dialect === 'mysql';
  const statements: SqlStatement[] = [];
  const comments: SqlComment[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  let start = -1;
  let startLine = 0;
  let words: string[] = [];
  // Nesting of BEGIN/CASE ... END inside a stored-program body; semicolons there do not split.
  let depth = 0;

  const advanceTo = (end: number): void => {
    for (let k = i; k < end; k++) if (text.charCodeAt(k) === 10) line++;
    i = end;
  };
  const markStart = (): void => {
    if (start < 0) {
      start = i;
      startLine = line;
    }
  };
  const finish = (end: number): void => {
    if (start >= 0) {
      const sql = text.slice(start, end).trimEnd();
      if (sql) statements.push({ sql, line: startLine, noTransaction: !mysql && needsNoTransaction(words) });
    }
    start = -1;
    words = [];
    depth = 0;
  };
  /** The next word after position p, skipping whitespace only (enough for END IF, BEGIN ATOMIC). */
  const peekWord = (p: number): { word: string; end: number } | undefined => {
    let k = p;
    while (k < n && /\s/.test(text[k] ?? '')) k++;
    if (k >= n || !WORD_START.test(text[k] ?? '')) return undefined;
    let e = k + 1;
    while (e < n && WORD_CHAR.test(text[e] ?? '')) e++;
    return { word: text.slice(k, e).toUpperCase(), end: e };
  };

  while (i < n) {
    const c = text[i] ?? '';
    const next = text[i + 1] ?? '';

    if (c === '\n' || c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      advanceTo(i + 1);
      continue;
    }

    // MySQL only treats "--" as a comment when followed by whitespace or the end of input.
    if ((c === '-' && next === '-' && (!mysql || i + 2 >= n || /\s/.test(text[i + 2] ?? ''))) || (mysql && c === '#')) {
      let e = text.indexOf('\n', i);
      if (e < 0) e = n;
      comments.push({ text: text.slice(i + (c === '#' ? 1 : 2), e).trim(), line });
      advanceTo(e);
      continue;
    }

    if (c === '/' && next === '*') {
      const executable = mysql && (text[i + 2] === '!' || text[i + 2] === '+' || (text[i + 2] === 'M' && text[i + 3] === '!'));
      const end = blockCommentEnd(text, i, !mysql);
      if (executable) markStart();
      else comments.push({ text: text.slice(i + 2, Math.max(i + 2, end - 2)).trim(), line });
      advanceTo(end);
      continue;
    }

    if (c === "'") {
      markStart();
      const backslash = mysql || isEscapeStringPrefix(text, i);
      advanceTo(quotedEnd(text, i, "'", backslash));
      continue;
    }
    if (c === '"') {
      markStart();
      advanceTo(quotedEnd(text, i, '"', mysql));
      continue;
    }
    if (c === '`' && mysql) {
      markStart();
      advanceTo(quotedEnd(text, i, '`', false));
      continue;
    }

    if (c === '$' && !mysql && !(i > 0 && WORD_CHAR.test(text[i - 1] ?? ''))) {
      DOLLAR_TAG.lastIndex = i;
      const m = DOLLAR_TAG.exec(text);
      if (m) {
        markStart();
        const tag = m[0];
        const close = text.indexOf(tag, i + tag.length);
        advanceTo(close < 0 ? n : close + tag.length);
        continue;
      }
    }

    if (c === ';') {
      if (depth > 0) {
        advanceTo(i + 1);
        continue;
      }
      finish(i);
      advanceTo(i + 1);
      continue;
    }

    if (WORD_START.test(c)) {
      markStart();
      let e = i + 1;
      while (e < n && WORD_CHAR.test(text[e] ?? '')) e++;
      const word = text.slice(i, e).toUpperCase();
      words.push(word);
      advanceTo(e);
      if (word === 'BEGIN') {
        if (depth > 0) {
          // Nested BEGIN ... END blocks inside a stored program (MySQL).
          if (mysql) depth++;
        } else if (opensCompoundBody(words, peekWord(i)?.word, mysql)) {
          depth = 1;
        }
      } else if (depth > 0 && word === 'CASE') {
        depth++;
      } else if (depth > 0 && word === 'END') {
        const after = peekWord(i);
        if (after && END_OF_BLOCK_STATEMENT.has(after.word)) {
          // END IF / END LOOP / ...: closes a statement that did not open a level.
          words.push(after.word);
          advanceTo(after.end);
        } else {
          if (after?.word === 'CASE') {
            words.push(after.word);
            advanceTo(after.end);
          }
          depth--;
        }
      }
      continue;
    }

    markStart();
    advanceTo(i + 1);
  }
  finish(n);
  return { statements, comments };
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
