import type { Effect, Ident } from '../migrations-contract.ts';
import { firstWord, GRAMMAR_MAX_CHARS, type PgNode, PgSyntaxError, parsePg } from './parser.ts';

/**
 * What a PostgreSQL statement leaves behind (migrations/effect.ts), read from the server's parse
 * tree: names folded and unquoted as the server resolves them, IF [NOT] EXISTS / OR REPLACE /
 * TEMP read from the statement's flags, not from its first words.
 */

type Fields = Record<string, unknown>;

const fields = (v: unknown): Fields => (typeof v === 'object' && v !== null ? (v as Fields) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A name part as SQL text: quoted unless it reads the same unquoted. */
function quotePart(s: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`;
}

/** An Ident of name parts ([catalog.][schema.]name); raw is the quoted reference to_regclass/to_regtype read. */
function identOf(parts: readonly string[]): Ident | undefined {
  const name = parts.at(-1);
  if (name === undefined) return undefined;
  const raw = parts.map(quotePart).join('.');
  return parts.length > 1 ? { raw, schema: parts.at(-2)!, name } : { raw, name };
}

/** The svals of a list of String nodes (a qualified name). */
function names(v: unknown): string[] {
  return list(v)
    .map((n) => fields(fields(n)['String'])['sval'] as string | undefined)
    .filter((s): s is string => typeof s === 'string');
}

function rangeVar(rv: unknown, relname?: string): Ident | undefined {
  const f = fields(rv);
  const name = relname ?? f['relname'];
  if (typeof name !== 'string') return undefined;
  return identOf(typeof f['schemaname'] === 'string' ? [f['schemaname'], name] : [name]);
}

const temporary = (rv: unknown): boolean => fields(rv)['relpersistence'] === 't';

const one = <T>(x: T | undefined): T[] | undefined => (x === undefined ? undefined : [x]);

/** DROP TABLE/INDEX/VIEW/TYPE a, b: each object is gone (IF EXISTS: nothing to check). */
function dropEffects(f: Fields): Effect[] | undefined {
  if (f['missing_ok'] === true) return undefined;
  const objects = list(f['objects']);
  const qualified = objects.map((o) => identOf(names(fields(fields(o)['List'])['items'])));
  const typed = objects.map((o) => identOf(names(fields(fields(o)['TypeName'])['names'])));
  const all = <T>(xs: (T | undefined)[]): T[] | undefined => (xs.length && xs.every((x) => x !== undefined) ? (xs as T[]) : undefined);
  switch (f['removeType']) {
    case 'OBJECT_TABLE':
      return all(qualified.map((object) => (object ? { kind: 'table' as const, object, present: false } : undefined)));
    case 'OBJECT_VIEW':
    case 'OBJECT_MATVIEW':
      return all(qualified.map((object) => (object ? { kind: 'view' as const, object, present: false } : undefined)));
    case 'OBJECT_INDEX':
      return all(qualified.map((index) => (index ? { kind: 'index' as const, index, present: false } : undefined)));
    case 'OBJECT_TYPE':
      return all(typed.map((object) => (object ? { kind: 'type' as const, object, present: false } : undefined)));
    default:
      return undefined;
  }
}

/** ALTER TABLE: its first ADD/DROP COLUMN (without IF [NOT] EXISTS); the statement is atomic, so one shows all of it ran. */
function alterTableEffects(f: Fields): Effect[] | undefined {
  const table = rangeVar(f['relation']);
  if (f['missing_ok'] === true || !table || f['objtype'] !== 'OBJECT_TABLE') return undefined;
  for (const c of list(f['cmds'])) {
    const cmd = fields(fields(c)['AlterTableCmd']);
    if (cmd['missing_ok'] === true) continue;
    if (cmd['subtype'] === 'AT_AddColumn') {
      const column = fields(fields(cmd['def'])['ColumnDef'])['colname'];
      if (typeof column === 'string') return [{ kind: 'column', table, column, present: true }];
    }
    if (cmd['subtype'] === 'AT_DropColumn' && typeof cmd['name'] === 'string') return [{ kind: 'column', table, column: cmd['name'], present: false }];
  }
  return undefined;
}

/** ALTER TABLE/INDEX ... RENAME: the new name is there (in the schema of the old one). */
function renameEffects(f: Fields): Effect[] | undefined {
  const newname = f['newname'];
  if (f['missing_ok'] === true || typeof newname !== 'string') return undefined;
  const relation = rangeVar(f['relation']);
  switch (f['renameType']) {
    case 'OBJECT_TABLE':
      return one(rangeVar(f['relation'], newname))?.map((object) => ({ kind: 'table' as const, object, present: true }));
    case 'OBJECT_INDEX':
      return one(rangeVar(f['relation'], newname))?.map((index) => ({ kind: 'index' as const, index, present: true }));
    case 'OBJECT_COLUMN':
      return relation && f['relationType'] === 'OBJECT_TABLE' ? [{ kind: 'column', table: relation, column: newname, present: true }] : undefined;
    default:
      return undefined;
  }
}

/** CREATE TABLE / TABLE AS / MATERIALIZED VIEW / VIEW / INDEX: the new object (not IF NOT EXISTS, OR REPLACE or TEMP forms). */
function createEffects(type: string, f: Fields): Effect[] | undefined {
  switch (type) {
    case 'CreateStmt':
      if (f['if_not_exists'] === true || temporary(f['relation'])) return undefined;
      return one(rangeVar(f['relation']))?.map((object) => ({ kind: 'table' as const, object, present: true }));
    case 'CreateTableAsStmt': {
      const rel = fields(f['into'])['rel'];
      const kind = f['objtype'] === 'OBJECT_MATVIEW' ? 'view' : f['objtype'] === 'OBJECT_TABLE' ? 'table' : undefined;
      if (!kind || f['if_not_exists'] === true || temporary(rel)) return undefined;
      return one(rangeVar(rel))?.map((object) => ({ kind, object, present: true }));
    }
    case 'ViewStmt':
      if (f['replace'] === true || temporary(f['view'])) return undefined;
      return one(rangeVar(f['view']))?.map((object) => ({ kind: 'view' as const, object, present: true }));
    case 'IndexStmt': {
      const table = rangeVar(f['relation']);
      if (f['if_not_exists'] === true || typeof f['idxname'] !== 'string' || !table) return undefined;
      // An index lives in its table's schema.
      const index = identOf(table.schema !== undefined ? [table.schema, f['idxname']] : [f['idxname']]);
      return index ? [{ kind: 'index', index, table, present: true }] : undefined;
    }
    default:
      return undefined;
  }
}

/** CREATE TYPE (enum, composite, range, base, shell) and ALTER TYPE ... ADD VALUE. */
function typeEffects(type: string, f: Fields): Effect[] | undefined {
  const created =
    type === 'CreateEnumStmt' || type === 'CreateRangeStmt'
      ? identOf(names(f['typeName']))
      : type === 'CompositeTypeStmt'
        ? rangeVar(f['typevar'])
        : type === 'DefineStmt' && f['kind'] === 'OBJECT_TYPE'
          ? identOf(names(f['defnames']))
          : undefined;
  if (created) return [{ kind: 'type', object: created, present: true }];
  if (type !== 'AlterEnumStmt' || f['skipIfNewValExists'] === true || f['oldVal'] !== undefined || typeof f['newVal'] !== 'string') return undefined;
  return one(identOf(names(f['typeName'])))?.map((t) => ({ kind: 'enum-value' as const, type: t, value: f['newVal'] as string, present: true as const }));
}

/**
 * The effects of one statement (all of them hold once it ran): `{ effects: undefined }` when it
 * has none migrate can check; undefined when PostgreSQL's grammar refuses the text.
 */
/** First words of statements that change rows only. */
const DATA_WORDS = new Set(['insert', 'update', 'delete', 'copy', 'merge']);

export function pgEffects(sql: string): { effects: Effect[] | undefined } | undefined {
  // Rows leave nothing checkable; a data statement is not parsed for it (a seed's INSERT may be megabytes).
  if (DATA_WORDS.has(firstWord(sql))) return { effects: undefined };
  if (sql.length > GRAMMAR_MAX_CHARS) return undefined;
  let stmts: { stmt: PgNode }[];
  try {
    stmts = parsePg(sql);
  } catch (e) {
    if (e instanceof PgSyntaxError) return undefined;
    throw e;
  }
  const [type, node] = Object.entries(stmts[0]?.stmt ?? {})[0] ?? [];
  if (stmts.length !== 1 || !type) return { effects: undefined };
  const f = fields(node);
  const effects =
    type === 'DropStmt'
      ? dropEffects(f)
      : type === 'AlterTableStmt'
        ? alterTableEffects(f)
        : type === 'RenameStmt'
          ? renameEffects(f)
          : (createEffects(type, f) ?? typeEffects(type, f));
  return { effects };
}
