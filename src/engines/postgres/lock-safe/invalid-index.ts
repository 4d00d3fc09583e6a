import type { Knex } from 'knex';
import { workError } from '../../../errors.ts';
import type { Logger } from '../../../log/index.ts';
import { num, rawRows, str } from '../../rows.ts';

/** A schema-qualified (or search_path-resolved) name as written in a statement. */
export interface QualifiedName {
  schema?: string;
  name: string;
}

/**
 * What a CONCURRENTLY statement builds, so that what a failed earlier try left behind can be
 * found: CREATE INDEX CONCURRENTLY leaves its index INVALID; REINDEX CONCURRENTLY leaves
 * INVALID <index>_ccnew (and, after the swap, <index>_ccold) indexes.
 */
export type ConcurrentTarget =
  | { kind: 'create-index'; index: string | undefined; table: QualifiedName }
  | { kind: 'reindex-index'; index: QualifiedName }
  | { kind: 'reindex-table'; table: QualifiedName };

interface Tok {
  text: string;
  quoted: boolean;
}

/** Words, "quoted identifiers" and punctuation, skipping comments and string literals. */
function tokens(sql: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const e = sql.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 0;
      while (i < n) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
          if (depth === 0) break;
        } else i++;
      }
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < n) {
        if (sql[j] === '"') {
          if (sql[j + 1] === '"') {
            text += '"';
            j += 2;
            continue;
          }
          break;
        }
        text += sql[j];
        j++;
      }
      out.push({ text, quoted: true });
      i = j + 1;
    } else if (c === "'") {
      let j = i + 1;
      while (j < n && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      out.push({ text: "'", quoted: false });
      i = j + 1;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] ?? '')) j++;
      // Unquoted identifiers fold to lower case.
      out.push({ text: sql.slice(i, j).toLowerCase(), quoted: false });
      i = j;
    } else {
      out.push({ text: c, quoted: false });
      i++;
    }
  }
  return out;
}

class Cursor {
  private k = 0;
  constructor(private readonly toks: Tok[]) {}
  peek(o = 0): Tok | undefined {
    return this.toks[this.k + o];
  }
  /** Consumes an unquoted keyword if it is next. */
  word(w: string): boolean {
    const t = this.peek();
    if (t && !t.quoted && t.text === w) {
      this.k++;
      return true;
    }
    return false;
  }
  ident(): string | undefined {
    const t = this.peek();
    if (!t || (!t.quoted && !/^[a-z_\u0080-\uffff]/.test(t.text))) return undefined;
    this.k++;
    return t.text;
  }
  qualified(): QualifiedName | undefined {
    const a = this.ident();
    if (a === undefined) return undefined;
    if (this.peek()?.text === '.' && !this.peek()?.quoted) {
      this.k++;
      const b = this.ident();
      return b === undefined ? undefined : { schema: a, name: b };
    }
    return { name: a };
  }
  /** Skips a parenthesised group, reporting whether a word occurs in it. */
  group(word: string): boolean {
    let found = false;
    if (this.peek()?.text !== '(') return false;
    let depth = 0;
    do {
      const t = this.peek();
      if (!t) break;
      if (!t.quoted && t.text === '(') depth++;
      else if (!t.quoted && t.text === ')') depth--;
      else if (!t.quoted && t.text === word) found = true;
      this.k++;
    } while (depth > 0);
    return found;
  }
}

/** What a CREATE INDEX CONCURRENTLY / REINDEX ... CONCURRENTLY statement builds; undefined for anything else. */
export function concurrentTarget(sql: string): ConcurrentTarget | undefined {
  const c = new Cursor(tokens(sql));
  if (c.word('create')) {
    c.word('unique');
    if (!c.word('index') || !c.word('concurrently')) return undefined;
    if (c.word('if')) {
      if (!c.word('not') || !c.word('exists')) return undefined;
    }
    let index: string | undefined;
    if (!(c.peek()?.text === 'on' && !c.peek()?.quoted)) index = c.ident();
    if (!c.word('on')) return undefined;
    c.word('only');
    const table = c.qualified();
    return table ? { kind: 'create-index', index, table } : undefined;
  }
  if (c.word('reindex')) {
    let concurrently = c.group('concurrently');
    const kind = c.word('index') ? 'index' : c.word('table') ? 'table' : undefined;
    if (!kind) return undefined;
    if (c.word('concurrently')) concurrently = true;
    if (!concurrently) return undefined;
    const name = c.qualified();
    if (!name) return undefined;
    return kind === 'index' ? { kind: 'reindex-index', index: name } : { kind: 'reindex-table', table: name };
  }
  return undefined;
}

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

function regclassText(q: QualifiedName): string {
  return q.schema !== undefined ? `${quoteIdent(q.schema)}.${quoteIdent(q.name)}` : quoteIdent(q.name);
}

export interface InvalidIndex {
  oid: number;
  schema: string;
  name: string;
  table: string;
}

/** INVALID indexes on a table (resolved through search_path like the statement would be). */
async function invalidIndexesOn(db: Knex, table: QualifiedName): Promise<InvalidIndex[]> {
  const rows = await rawRows(
    db,
    `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, i.indrelid::regclass::text AS tbl
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND i.indrelid = to_regclass(?)`,
    [regclassText(table)],
  );
  return rows.map((r) => ({ oid: num(r['oid']) ?? 0, schema: str(r['schema']) ?? '', name: str(r['name']) ?? '', table: str(r['tbl']) ?? '' }));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The INVALID leftovers of an earlier failed try of this statement. */
export async function findLeftovers(db: Knex, target: ConcurrentTarget): Promise<InvalidIndex[]> {
  switch (target.kind) {
    case 'create-index': {
      if (target.index === undefined) return [];
      const name = target.index;
      return (await invalidIndexesOn(db, target.table)).filter((x) => x.name === name);
    }
    case 'reindex-index': {
      const rows = await rawRows(db, 'SELECT i.indrelid::regclass::text AS tbl FROM pg_index i WHERE i.indexrelid = to_regclass(?)', [
        regclassText(target.index),
      ]);
      const tbl = str(rows[0]?.['tbl']);
      if (!tbl) return [];
      const re = new RegExp(`^${escapeRegExp(target.index.name)}_cc(new|old)\\d*$`);
      const all = await rawRows(
        db,
        `SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, i.indrelid::regclass::text AS tbl
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE NOT i.indisvalid AND i.indrelid = (SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass(?))`,
        [regclassText(target.index)],
      );
      return all
        .map((r) => ({ oid: num(r['oid']) ?? 0, schema: str(r['schema']) ?? '', name: str(r['name']) ?? '', table: str(r['tbl']) ?? '' }))
        .filter((x) => re.test(x.name));
    }
    case 'reindex-table':
      return (await invalidIndexesOn(db, target.table)).filter((x) => /_cc(new|old)\d*$/.test(x.name));
  }
}

/** pids building this index right now (pg_stat_progress_create_index, PostgreSQL 12+). */
async function buildersOf(db: Knex, oid: number): Promise<number[]> {
  try {
    const rows = await rawRows(db, 'SELECT pid FROM pg_stat_progress_create_index WHERE index_relid = ?::oid AND pid <> pg_backend_pid()', [oid]);
    return rows.map((r) => num(r['pid'])).filter((p): p is number => p !== null);
  } catch {
    return [];
  }
}

/**
 * Before a CONCURRENTLY statement runs (again): drops the INVALID index a failed or killed
 * earlier build of it left behind, with DROP INDEX CONCURRENTLY IF EXISTS, so that the build
 * does not fail on "already exists" (or, with IF NOT EXISTS, silently keep an index that is
 * never used). An INVALID index that another session is building right now is left alone.
 * Must run outside a transaction. Returns the names dropped.
 */
export async function dropLeftoverIndexes(db: Knex, sql: string, logger: Logger, label: string): Promise<string[]> {
  const target = concurrentTarget(sql);
  if (!target) return [];
  const dropped: string[] = [];
  for (const idx of await findLeftovers(db, target)) {
    const qualified = `${quoteIdent(idx.schema)}.${quoteIdent(idx.name)}`;
    const builders = await buildersOf(db, idx.oid);
    if (builders.length) {
      throw workError(
        `${label}: the index ${qualified} is INVALID because pid ${builders.join(', ')} is building it right now.`,
        `Wait for that build to finish (or cancel it: SELECT pg_cancel_backend(${builders[0]});), then run migrate again.`,
      );
    }
    const drop = `DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`;
    logger.warn(
      `${label}: found INVALID index ${qualified} on ${idx.table}, left by an earlier failed CONCURRENTLY build; dropping it before building again (${drop})`,
    );
    // knex treats "?" as a binding placeholder; an escaped \? keeps a literal one in a quoted name.
    await db.raw(drop.replace(/\?/g, '\\?'));
    dropped.push(qualified);
  }
  return dropped;
}
