import type { Knex } from 'knex';
import { workError } from '../../../errors.ts';
import type { Logger } from '../../../log/index.ts';
import { num, rawRows, str } from '../../rows.ts';
import { loadPgParser, parsePg } from '../parser.ts';

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

type Fields = Record<string, unknown>;

/** A RangeVar of the parse tree as a name: the schema only when the statement gave one. */
function qualifiedName(rv: unknown): QualifiedName | undefined {
  const f = (rv ?? {}) as Fields;
  if (typeof f['relname'] !== 'string') return undefined;
  return typeof f['schemaname'] === 'string' ? { schema: f['schemaname'], name: f['relname'] } : { name: f['relname'] };
}

/**
 * REINDEX's option list turns CONCURRENTLY on, as the server's defGetBoolean reads it: no value,
 * the integer 1, or the words true/on (any case). libpg_query leaves zero and false values out of
 * its JSON (`(CONCURRENTLY 0)` is `{Integer: {}}`), so a node without its value is 0/false, not
 * "no value". Anything else (2, 1.0, 'yes') the server refuses: the REINDEX builds nothing.
 */
function concurrentlyOption(params: unknown): boolean {
  const option = (Array.isArray(params) ? params : []).map((p) => ((p as Fields)['DefElem'] ?? {}) as Fields).find((d) => d['defname'] === 'concurrently');
  if (!option) return false;
  const arg = option['arg'] as Fields | undefined;
  if (arg === undefined) return true;
  if ('Integer' in arg) return ((arg['Integer'] as Fields | undefined)?.['ival'] ?? 0) === 1;
  if ('Boolean' in arg) return ((arg['Boolean'] as Fields | undefined)?.['boolval'] ?? false) === true;
  const word = (arg['String'] as Fields | undefined)?.['sval'];
  return typeof word === 'string' && /^(true|on)$/i.test(word);
}

/**
 * What a CREATE INDEX CONCURRENTLY / REINDEX ... CONCURRENTLY statement builds; undefined for
 * anything else. Read from PostgreSQL's own parse tree (loadPgParser first), so names are quoted
 * and folded exactly as the server resolves them.
 */
export function concurrentTarget(sql: string): ConcurrentTarget | undefined {
  let stmt: Fields | undefined;
  try {
    stmt = parsePg(sql)[0]?.stmt as Fields | undefined;
  } catch {
    // Not a statement PostgreSQL accepts: it builds nothing, and running it reports the error.
    return undefined;
  }
  const index = stmt?.['IndexStmt'] as Fields | undefined;
  if (index) {
    const table = qualifiedName(index['relation']);
    if (index['concurrent'] !== true || !table) return undefined;
    return { kind: 'create-index', index: typeof index['idxname'] === 'string' ? index['idxname'] : undefined, table };
  }
  const reindex = stmt?.['ReindexStmt'] as Fields | undefined;
  const name = qualifiedName(reindex?.['relation']);
  if (!reindex || !name || !concurrentlyOption(reindex['params'])) return undefined;
  if (reindex['kind'] === 'REINDEX_OBJECT_INDEX') return { kind: 'reindex-index', index: name };
  if (reindex['kind'] === 'REINDEX_OBJECT_TABLE') return { kind: 'reindex-table', table: name };
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
  await loadPgParser();
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
