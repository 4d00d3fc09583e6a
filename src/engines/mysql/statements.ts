/**
 * A MySQL/MariaDB statement described from node-sql-parser's parse tree (parser.ts): its kind,
 * the tables it changes, renames, and how it was written (ALGORITHM=, LOCK=, a WHERE or LIMIT on
 * DML). Names come out unquoted (MySQL does not fold them), database qualification dropped except
 * as `otherDatabase` on DML.
 *
 * node-sql-parser's grammar is not MariaDB's: it refuses PREPARE/EXECUTE, procedures, CONVERT TO
 * CHARACTER SET, ALTER ONLINE, DROP COLUMN IF EXISTS and more that the server runs. Such a
 * statement is described by the regex classifier (classify.ts) instead, as all were before.
 * The texts of ALTER TABLE commands (a column's definition, a constraint's text) are the
 * statement's own words, cut at commas outside parentheses and quotes.
 */
import { addAlterAction, type AlterAction, blankStatement, type StatementInfo, type StatementParser } from '../statement-info.ts';
import { splitTopLevel } from '../sql-names.ts';
import { classifyMysqlStatement } from './classify.ts';
import { stripMysqlComments } from './lex.ts';
import { loadMysqlParser, type MyNode, parseMysql } from './parser.ts';

type Fields = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): Fields[] => (Array.isArray(v) ? (v as Fields[]) : []);
const obj = (v: unknown): Fields | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Fields) : undefined);

/** The parser keeps a doubled backtick of a quoted name doubled: `my``t` is table my`t. */
const unescapeName = (name: string): string => name.replace(/``/g, '`');

/** A `{ db, table }` reference's table name. */
const tableOf = (ref: unknown): string | undefined => {
  const t = str(obj(ref)?.['table']);
  return t === undefined ? undefined : unescapeName(t);
};

/** A column_ref's column name (a string, or `{ expr: { value } }` in some forms). */
function columnOf(ref: unknown): string | undefined {
  const c = obj(ref)?.['column'];
  const name = str(c) ?? str(obj(obj(c)?.['expr'])?.['value']);
  return name === undefined ? undefined : unescapeName(name);
}

/** How the statement was described, for the share measured in docs/benchmarks.md. */
export type MysqlDescription = 'ast' | 'classifier';

/** Describes `sql` (one statement): from the parse tree where node-sql-parser reads it, else by the classifier. */
export function describeMysqlStatement(sql: string): StatementInfo {
  return describeWithSource(sql).info;
}

export function describeWithSource(sql: string): { info: StatementInfo; by: MysqlDescription } {
  const hit = described.get(sql);
  if (hit) return { info: structuredClone(hit.info), by: hit.by };
  const r = describeUncached(sql);
  if (described.size >= CACHE_SIZE) described.delete(described.keys().next().value!);
  described.set(sql, r);
  return { info: structuredClone(r.info), by: r.by };
}

/**
 * The analysis describes a statement several times (to scope its snapshot, before running it,
 * again in the down sweep, which replays the history), and node-sql-parser is a PEG parser that
 * takes milliseconds per statement: each text is parsed once (callers get copies).
 */
const described = new Map<string, { info: StatementInfo; by: MysqlDescription }>();
const CACHE_SIZE = 4096;

/**
 * Statements whose description does not depend on anything after their first word: an INSERT,
 * REPLACE or SELECT is DML naming no table whose definition it changes, and the classifier says
 * exactly that. They are not parsed: a history's data loads are its longest statements, and the
 * PEG parser takes about 60 ms per KB of a multi-row INSERT (1.5 s for one of 26 KB in the Kepler
 * history of docs/benchmarks.md). Any other statement over MAX_PARSED characters is left to the
 * classifier for the same reason.
 */
const DATA_ONLY = /^(?:insert|replace|select)\b/i;

/**
 * UPDATE [LOW_PRIORITY] [IGNORE] and DELETE [LOW_PRIORITY] [QUICK] [IGNORE]: node-sql-parser's
 * grammar refuses these modifiers, which change neither the table nor which rows the statement
 * reaches. The statement is parsed without them (its description keeps the text as written).
 */
const DML_MODIFIERS = /^(?:(update)(?:\s+(?:low_priority|ignore)\b)+|(delete)(?:\s+(?:low_priority|quick|ignore)\b)+)/i;
const MAX_PARSED = 16_384;

function describeUncached(sql: string): { info: StatementInfo; by: MysqlDescription } {
  const bare = sql.replace(/^(?:\s+|--[^\n]*|#[^\n]*|\/\*(?!!)[\s\S]*?\*\/)*/, '');
  if (DATA_ONLY.test(bare) || sql.length > MAX_PARSED) return { info: classifyMysqlStatement(sql), by: 'classifier' };
  const nodes = parseMysql(sql.slice(0, sql.length - bare.length) + bare.replace(DML_MODIFIERS, '$1$2'));
  const node = nodes?.length === 1 ? nodes[0] : undefined;
  const info = node ? describeNode(sql, node) : undefined;
  return info ? { info, by: 'ast' } : { info: classifyMysqlStatement(sql), by: 'classifier' };
}

/** Statements that change no table definition. */
const SESSION = new Set(['set', 'transaction', 'use', 'lock', 'unlock', 'grant', 'revoke', 'show']);

/** One parsed statement, or undefined when the tree is not one this knows (the classifier then reads it). */
function describeNode(sql: string, n: MyNode): StatementInfo | undefined {
  const info = blankStatement(sql);
  const type = str(n['type']) ?? '';
  if (SESSION.has(type)) {
    info.kind = 'session';
    return info;
  }
  const handler = HANDLERS[type];
  if (!handler) {
    // CALL, and trees of forms not mapped here: what they change is not known from the text.
    info.opaque = true;
    return info;
  }
  return handler(info, n, sql) === false ? undefined : info;
}

/** Fills `info`; false when the tree has a shape it does not know (the classifier reads the statement then). */
type Handler = (info: StatementInfo, n: MyNode, sql: string) => boolean | undefined;

const HANDLERS: Record<string, Handler> = {
  create: describeCreate,
  drop: describeDrop,
  rename(info, n) {
    info.kind = 'rename_table';
    for (const pair of list(n['table'])) {
      const [fromRef, toRef] = Array.isArray(pair) ? pair : [];
      const from = tableOf(fromRef);
      const to = tableOf(toRef);
      if (!from || !to) return false;
      info.tableRenames.push({ from, to });
      info.tables.push(from, to);
    }
    info.table = info.tableRenames[0]?.from;
    return true;
  },
  alter: describeAlter,
  insert: dml,
  replace: dml,
  select: dml,
  update: describeUpdateOrDelete,
  delete: describeUpdateOrDelete,
  truncate(info, n) {
    info.kind = 'dml';
    info.table = tableOf(list(n['name'])[0]);
    info.tables = info.table ? [info.table] : [];
    info.wholeTable = true;
    return info.table !== undefined;
  },
};

function dml(info: StatementInfo): boolean {
  info.kind = 'dml';
  return true;
}

function describeCreate(info: StatementInfo, n: MyNode): boolean {
  switch (str(n['keyword'])) {
    case 'table': {
      const table = tableOf(list(n['table'])[0]);
      if (!table) return false;
      info.kind = 'create_table';
      info.table = table;
      info.tables = [table];
      return true;
    }
    case 'index': {
      const table = tableOf(n['table']);
      if (!table) return false;
      info.kind = 'create_index';
      info.unique = str(n['index_type'])?.toLowerCase() === 'unique';
      info.table = table;
      info.tables = [table];
      return true;
    }
    case 'view':
      info.kind = 'create_view';
      return true;
    default:
      // Databases, triggers, users...: not a table definition the text settles.
      info.opaque = true;
      return true;
  }
}

function describeDrop(info: StatementInfo, n: MyNode): boolean {
  switch (str(n['keyword'])) {
    case 'table': {
      const tables = list(n['name']).map(tableOf);
      if (!tables.length || tables.some((t) => t === undefined)) return false;
      info.kind = 'drop_table';
      info.tables = tables as string[];
      info.table = info.tables[0];
      return true;
    }
    case 'index': {
      // MySQL's DROP INDEX names its table (ON t).
      const table = tableOf(n['table']);
      if (!table) return false;
      info.kind = 'drop_index';
      info.table = table;
      info.tables = [table];
      return true;
    }
    case 'view':
      info.kind = 'drop_view';
      return true;
    default:
      info.opaque = true;
      return true;
  }
}

function describeUpdateOrDelete(info: StatementInfo, n: MyNode): boolean {
  info.kind = 'dml';
  // DELETE FROM t: the table is in `from`; DELETE a FROM a JOIN b: in `table`.
  const named = list(n['table'])[0] ?? list(n['from'])[0];
  // DELETE a FROM db2.t AS a: the target names an alias of a table in `from`.
  const ref = list(n['from']).find((r) => named && !str(named['db']) && str(r['as']) === str(named['table'])) ?? named;
  info.table = tableOf(ref);
  if (str(obj(ref)?.['db'])) info.otherDatabase = true;
  // The statement's own WHERE, not one in a subquery of its SET list (which bounds nothing: every
  // row is updated). LIMIT bounds the rows as WHERE does, and so does an inner join's ON / USING
  // (DELETE a FROM a JOIN b ON ... deletes only a's rows that match); an outer join keeps every
  // row of its preserved side, so it bounds nothing.
  const limited = list(obj(n['limit'])?.['value']).length > 0;
  const joined = [...list(n['table']), ...list(n['from'])].some((r) => (r['on'] || r['using']) && !/\b(LEFT|RIGHT|FULL)\b/i.test(str(r['join']) ?? ''));
  info.wholeTable = !n['where'] && !limited && !joined;
  return true;
}

function describeAlter(info: StatementInfo, n: MyNode, sql: string): boolean {
  const table = tableOf(list(n['table'])[0]);
  const exprs = list(n['expr']);
  if (!table || !Array.isArray(n['expr'])) return false;
  info.kind = 'alter_table';
  info.table = table;
  info.tables = [table];
  const parts = commandTexts(sql, exprs.length);
  exprs.forEach((e, i) => {
    const action = alterAction(e, parts?.[i] ?? info.sql);
    addAlterAction(info, table, action, tableOf(list(obj(obj(e['create_definitions'])?.['reference_definition'])?.['table'])[0]));
  });
  return true;
}

const CONSTRAINT_KINDS: Record<string, Extract<AlterAction, { op: 'add_constraint' }>['constraint']> = {
  'foreign key': 'foreign',
  'primary key': 'primary',
  unique: 'unique',
  'unique key': 'unique',
  'unique index': 'unique',
  check: 'check',
};

/** One ALTER TABLE command; `text` is its own words in the statement (`ADD COLUMN x int DEFAULT 0`). */
function alterAction(e: Fields, text: string): AlterAction {
  const resource = str(e['resource']);
  const action = str(e['action']);
  const column = columnOf(e['column']);
  if (resource === 'algorithm') return { op: 'algorithm', value: (str(e['algorithm']) ?? '').toUpperCase() };
  if (resource === 'lock') return { op: 'lock', value: (str(e['lock']) ?? '').toUpperCase() };
  if (resource === 'column' && column !== undefined) {
    switch (action) {
      case 'add':
        return { op: 'add_column', column, definition: after(text, /^add\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?(?:`(?:[^`]|``)+`|[^\s`]+)\s*/i) };
      case 'drop':
        return { op: 'drop_column', column };
      case 'rename': {
        const from = columnOf(e['old_column']);
        if (from !== undefined) return { op: 'rename_column', from, to: column };
        break;
      }
      case 'change': {
        const from = columnOf(e['old_column']);
        const definition = after(text, /^change\s+(?:column\s+)?(?:(?:`(?:[^`]|``)+`|[^\s`]+)\s+){2}/i);
        if (from !== undefined) return { op: 'change_column', from, to: column, definition };
        break;
      }
      case 'modify':
        return { op: 'change_column', from: column, to: column, definition: after(text, /^modify\s+(?:column\s+)?(?:`(?:[^`]|``)+`|[^\s`]+)\s*/i) };
      default:
        break;
    }
  }
  if (resource === 'table' && action === 'rename') {
    const to = str(e['table']) ?? tableOf(e['table']);
    if (to !== undefined) return { op: 'rename_table', to: unescapeName(to) };
  }
  if (resource === 'constraint' && action === 'add') {
    const kind = (str(obj(e['create_definitions'])?.['constraint_type']) ?? '').toLowerCase();
    return { op: 'add_constraint', constraint: CONSTRAINT_KINDS[kind] ?? 'other', notValid: false, usingIndex: false, text };
  }
  if (resource === 'index' && action === 'add') return { op: 'add_index', unique: false, text };
  if (action === 'drop') {
    const name = str(e['index']) ?? str(e['key']) ?? str(e['constraint']);
    const keyword = (str(e['keyword']) ?? '').toLowerCase();
    if (keyword === 'primary key') return { op: 'drop_constraint', name: 'PRIMARY' };
    if (name !== undefined && (resource === 'index' || keyword === 'key' || keyword === 'index')) return { op: 'drop_index', name: unescapeName(name) };
    if (name !== undefined) return { op: 'drop_constraint', name: unescapeName(name) };
  }
  return { op: 'other', text };
}

/** `text` less the prefix `re` matches (the command's words before the part wanted). */
function after(text: string, re: RegExp): string {
  const m = re.exec(text);
  return (m ? text.slice(m[0].length) : text).trim();
}

/**
 * Each ALTER TABLE command's text, in order: the statement after the table name cut at commas
 * outside parentheses and quotes. Undefined when the count does not match the parse tree's: every
 * command then gets the whole statement rather than a wrong part.
 */
function commandTexts(sql: string, count: number): string[] | undefined {
  const clean = stripMysqlComments(sql).trim().replace(/;\s*$/, '');
  const m = /^alter\s+(?:online\s+)?(?:ignore\s+)?table\s+(?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+))?\s*([\s\S]*)$/i.exec(clean);
  const parts = m ? splitTopLevel(m[1]!) : [];
  return parts.length === count ? parts : undefined;
}

/** The MySQL/MariaDB engine's statement parser: node-sql-parser, loaded on first use, the classifier behind it. */
export const mysqlStatementParser: StatementParser = {
  load: loadMysqlParser,
  describe: describeMysqlStatement,
};
