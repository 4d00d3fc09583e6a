/**
 * A PostgreSQL statement described from the server's own parse tree (parser.ts): its kind, the
 * tables it changes, renames, and how it was written (CONCURRENTLY, NOT VALID, USING INDEX).
 * Names come out as the server resolves them: unquoted ones folded to lower case, quoted ones
 * kept, schema qualification dropped (the snapshots hold one schema).
 *
 * Statements the tree does not settle (functions, DO blocks, sequences, schemas, ...) are
 * `opaque`: the caller re-reads the whole schema after them, as it did with the regex scanner.
 */
import { type AlterAction, blankStatement, type StatementInfo, type StatementParser } from '../statement-info.ts';
import { loadPgParser, type PgNode, PgSyntaxError, type PgToken, parsePg, scanPg } from './parser.ts';

type Fields = Record<string, unknown>;

/** The single `{ Type: fields }` entry of a node. */
function nodeOf(n: unknown): [string, Fields] | undefined {
  if (!n || typeof n !== 'object') return undefined;
  const entry = Object.entries(n as PgNode)[0];
  return entry ? [entry[0], (entry[1] ?? {}) as Fields] : undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The last String of a name list (`[schema, name]`): the object's own name. */
function lastName(items: unknown): string | undefined {
  const names = list(items).map((i) => str(nodeOf(i)?.[1]['sval']));
  return names[names.length - 1];
}

/** A RangeVar's table name. */
const relName = (rv: unknown): string | undefined => str((rv as Fields | undefined)?.['relname']);

/** Describes `sql` (one statement, or several merged). A statement PostgreSQL refuses is opaque. */
export function describePgStatement(sql: string): StatementInfo {
  let stmts: ReturnType<typeof parsePg>;
  try {
    stmts = parsePg(sql);
  } catch (e) {
    if (!(e instanceof PgSyntaxError)) throw e;
    // The server refuses it too: it ran and failed already, or will and be reported then. Until
    // then nothing is known of what it names, so everything is re-read.
    return { ...blankStatement(sql), opaque: true };
  }
  if (stmts.length === 1) return describeNode(sql, stmts[0]!.stmt);
  // Each on its own text, so that the tree's offsets are offsets in it.
  const parts = stmts.map((s) => describePgStatement(s.text));
  const info: StatementInfo = parts[0] ? { ...parts[0], sql: sql.trim() } : blankStatement(sql);
  for (const p of parts.slice(1)) {
    info.tables.push(...p.tables);
    info.droppedIndexes.push(...p.droppedIndexes);
    info.tableRenames.push(...p.tableRenames);
    info.columnRenames.push(...p.columnRenames);
    info.actions.push(...p.actions);
    info.opaque ||= p.opaque;
  }
  return info;
}

/** One parsed statement; `sql` is the text its locations are offsets in. */
function describeNode(sql: string, stmt: PgNode): StatementInfo {
  const info = blankStatement(sql);
  const node = nodeOf(stmt);
  if (!node) return info;
  const [type, f] = node;
  const handler = HANDLERS[type];
  if (handler) handler(info, f, sql);
  else if (!SESSION.has(type)) info.opaque = true;
  else info.kind = 'session';
  return info;
}

/** Statements that change no table definition: transaction control, settings, grants, comments, ANALYZE, LOCK. */
const SESSION = new Set([
  'TransactionStmt',
  'VariableShowStmt',
  'CommentStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'LockStmt',
  'VacuumStmt',
  'DiscardStmt',
  'CheckPointStmt',
]);

type Handler = (info: StatementInfo, f: Fields, sql: string) => void;

const HANDLERS: Record<string, Handler> = {
  CreateStmt(info, f) {
    info.kind = 'create_table';
    info.table = relName(f['relation']);
    // PARTITION OF / INHERITS: the parent gains a partition or child too.
    const parents = list(f['inhRelations']).flatMap((r) => relName(nodeOf(r)?.[1]) ?? []);
    info.tables = info.table ? [info.table, ...parents] : [];
  },
  CreateTableAsStmt(info, f) {
    const matview = str(f['objtype']) === 'OBJECT_MATVIEW';
    info.kind = matview ? 'create_view' : 'create_table';
    if (matview) return;
    info.table = relName((f['into'] as Fields | undefined)?.['rel']);
    info.tables = info.table ? [info.table] : [];
  },
  ViewStmt(info) {
    info.kind = 'create_view';
  },
  IndexStmt(info, f) {
    info.kind = 'create_index';
    info.unique = f['unique'] === true;
    info.concurrently = f['concurrent'] === true;
    info.table = relName(f['relation']);
    info.tables = info.table ? [info.table] : [];
  },
  DropStmt: describeDrop,
  RenameStmt: describeRename,
  AlterTableStmt: describeAlterTable,
  CreateEnumStmt(info, f) {
    info.kind = 'create_type';
    info.typeName = lastName(f['typeName']);
  },
  CompositeTypeStmt(info, f) {
    info.kind = 'create_type';
    info.typeName = relName(f['typevar']);
  },
  CreateRangeStmt(info, f) {
    info.kind = 'create_type';
    info.typeName = lastName(f['typeName']);
  },
  AlterEnumStmt(info, f) {
    info.kind = 'alter_type';
    info.typeName = lastName(f['typeName']);
  },
  VariableSetStmt(info, f) {
    info.kind = 'session';
    // Only a value given: SET x TO DEFAULT and RESET put the server's default back.
    if (str(f['kind']) === 'VAR_SET_VALUE') info.setting = str(f['name']);
  },
  InsertStmt(info) {
    info.kind = 'dml';
  },
  SelectStmt(info, f) {
    // SELECT ... INTO creates a table, as CREATE TABLE AS does.
    const into = relName((f['intoClause'] as Fields | undefined)?.['rel']);
    info.kind = into ? 'create_table' : 'dml';
    if (into) {
      info.table = into;
      info.tables = [into];
    }
  },
  UpdateStmt: describeUpdateOrDelete,
  DeleteStmt: describeUpdateOrDelete,
  TruncateStmt(info, f) {
    info.kind = 'dml';
    // PG gives a truncated table new storage, so its snapshot must be refreshed.
    info.tables = list(f['relations']).flatMap((r) => relName(nodeOf(r)?.[1]) ?? []);
    info.table = info.tables[0];
    info.wholeTable = true;
  },
};

function describeUpdateOrDelete(info: StatementInfo, f: Fields): void {
  info.kind = 'dml';
  info.table = relName(f['relation']);
  // The statement's own WHERE, not one inside a subquery of its SET list.
  info.wholeTable = f['whereClause'] === undefined;
}

function describeDrop(info: StatementInfo, f: Fields): void {
  const names = list(f['objects']).map((o) => {
    const [type, fields] = nodeOf(o) ?? ['', {}];
    return type === 'TypeName' ? lastName(fields['names']) : lastName(fields['items']);
  });
  const defined = names.filter((n): n is string => n !== undefined);
  const cascade = str(f['behavior']) === 'DROP_CASCADE';
  switch (str(f['removeType'])) {
    case 'OBJECT_TABLE':
      info.kind = 'drop_table';
      info.tables = defined;
      info.table = defined[0];
      return;
    case 'OBJECT_INDEX':
      info.kind = 'drop_index';
      info.concurrently = f['concurrent'] === true;
      info.droppedIndexes = defined;
      return;
    case 'OBJECT_VIEW':
    case 'OBJECT_MATVIEW':
      // DROP VIEW ... CASCADE only drops dependent views, which are always re-read.
      info.kind = 'drop_view';
      return;
    case 'OBJECT_TYPE':
      info.kind = 'drop_type';
      info.typeName = defined[0];
      // CASCADE drops the columns of that type: re-read everything.
      info.opaque = cascade;
      return;
    default:
      info.opaque = true;
  }
}

function describeRename(info: StatementInfo, f: Fields): void {
  const table = relName(f['relation']);
  const to = str(f['newname']);
  switch (str(f['renameType'])) {
    case 'OBJECT_TABLE':
      if (!table || !to) break;
      info.kind = 'alter_table';
      info.table = table;
      info.tables = [table, to];
      info.actions = [{ op: 'rename_table', to }];
      info.tableRenames = [{ from: table, to }];
      return;
    case 'OBJECT_COLUMN': {
      const from = str(f['subname']);
      if (str(f['relationType']) !== 'OBJECT_TABLE' || !table || !from || !to) break;
      info.kind = 'alter_table';
      info.table = table;
      info.tables = [table];
      info.actions = [{ op: 'rename_column', from, to }];
      info.columnRenames = [{ table, from, to }];
      return;
    }
    case 'OBJECT_TABCONSTRAINT':
      if (!table) break;
      info.kind = 'alter_table';
      info.table = table;
      info.tables = [table];
      info.actions = [{ op: 'other', text: info.sql }];
      return;
    case 'OBJECT_VIEW':
      info.kind = 'create_view';
      return;
    case 'OBJECT_TYPE':
      info.kind = 'alter_type';
      info.typeName = lastName(nodeOf(f['object'])?.[1]['items']);
      return;
    default:
      break;
  }
  info.opaque = true;
}

function describeAlterTable(info: StatementInfo, f: Fields, sql: string): void {
  const objtype = str(f['objtype']);
  if (objtype === 'OBJECT_VIEW') {
    info.kind = 'create_view';
    return;
  }
  if (objtype === 'OBJECT_TYPE') {
    info.kind = 'alter_type';
    info.typeName = relName(f['relation']);
    return;
  }
  const table = relName(f['relation']);
  if (objtype !== 'OBJECT_TABLE' || !table) {
    info.opaque = true;
    return;
  }
  info.kind = 'alter_table';
  info.table = table;
  info.tables = [table];
  const cmds = list(f['cmds']).map((c) => nodeOf(c)?.[1] ?? {});
  const parts = commandParts(sql, (f['relation'] as Fields)['location'], cmds.length);
  cmds.forEach((cmd, i) => {
    const action = alterAction(cmd, parts[i] ?? { text: info.sql, from: () => info.sql });
    info.actions.push(action);
    const def = nodeOf(cmd['def'])?.[1];
    const ref = relName(def?.['pktable']);
    if (action.op === 'add_constraint' && action.constraint === 'foreign' && ref) info.tables.push(ref);
    // ATTACH / DETACH PARTITION changes the partition's definition too.
    const partition = relName(def?.['name']);
    if (partition) info.tables.push(partition);
  });
}

const CONSTRAINT_KINDS: Record<string, Extract<AlterAction, { op: 'add_constraint' }>['constraint']> = {
  CONSTR_FOREIGN: 'foreign',
  CONSTR_CHECK: 'check',
  CONSTR_UNIQUE: 'unique',
  CONSTR_PRIMARY: 'primary',
  CONSTR_EXCLUSION: 'exclude',
};

/** One ALTER TABLE command; `part` is its own text in the statement (`ADD COLUMN x int DEFAULT 0`). */
function alterAction(cmd: Fields, part: CommandPart): AlterAction {
  const { text } = part;
  const column = str(cmd['name']) ?? '';
  const def = nodeOf(cmd['def']);
  switch (str(cmd['subtype'])) {
    case 'AT_AddColumn':
      // The definition is what follows the column's name, which the tree locates.
      return { op: 'add_column', column: str(def?.[1]['colname']) ?? '', definition: part.from(def?.[1]['location'], 1) };
    case 'AT_DropColumn':
      return { op: 'drop_column', column };
    case 'AT_AlterColumnType':
      return { op: 'alter_column_type', column, definition: after(text, /^[\s\S]*?\btype\s+/i) };
    case 'AT_SetNotNull':
      return { op: 'set_not_null', column };
    case 'AT_DropNotNull':
      return { op: 'drop_not_null', column };
    case 'AT_ColumnDefault':
      return def ? { op: 'set_default', column, expression: after(text, /^[\s\S]*?\bdefault\s+/i) } : { op: 'drop_default', column };
    case 'AT_AddConstraint': {
      const c = def?.[1] ?? {};
      return {
        op: 'add_constraint',
        constraint: CONSTRAINT_KINDS[str(c['contype']) ?? ''] ?? 'other',
        notValid: c['skip_validation'] === true,
        usingIndex: str(c['indexname']) !== undefined,
        text,
      };
    }
    case 'AT_DropConstraint':
      return { op: 'drop_constraint', name: column };
    case 'AT_ValidateConstraint':
      return { op: 'validate_constraint', name: column };
    default:
      return { op: 'other', text };
  }
}

/** `text` less the prefix `re` matches (the command's words before the part wanted). */
function after(text: string, re: RegExp): string {
  const m = re.exec(text);
  return (m ? text.slice(m[0].length) : text).trim();
}

/** One ALTER TABLE command's text, and its text from a token on. */
interface CommandPart {
  text: string;
  /** The text from the token that starts at byte `at` (skipping `skip` tokens), or all of it. */
  from(at: unknown, skip: number): string;
}

/**
 * Each ALTER TABLE command, in order: the statement after the table name cut at commas outside
 * parentheses, by PostgreSQL's own lexer (a comma inside a string, a quoted name or a dollar quote
 * is inside one token and does not cut). When the count does not match the parse tree's, none is
 * returned and every command gets the whole statement rather than a wrong part.
 */
function commandParts(sql: string, relationAt: unknown, count: number): CommandPart[] {
  const bytes = Buffer.from(sql, 'utf8');
  const tokens = scanPg(sql);
  let k = tokens.findIndex((t) => t.start === relationAt);
  if (k < 0) return [];
  k++;
  while (tokens[k]?.text === '.' && tokens[k + 1]) k += 2;
  if (tokens[k]?.text === '*') k++;
  const parts: PgToken[][] = [[]];
  let depth = 0;
  for (const t of tokens.slice(k)) {
    if (t.text === ';') break;
    if (t.text === '(' || t.text === '[') depth++;
    if (t.text === ')' || t.text === ']') depth--;
    if (t.text === ',' && depth === 0) parts.push([]);
    else parts[parts.length - 1]!.push(t);
  }
  if (parts.length !== count) return [];
  const slice = (p: PgToken[]): string => (p.length ? bytes.subarray(p[0]!.start, p[p.length - 1]!.end).toString('utf8') : '');
  return parts.map((p) => ({
    text: slice(p),
    from(at, skip) {
      const j = p.findIndex((t) => t.start === at);
      return j < 0 ? slice(p) : slice(p.slice(j + skip));
    },
  }));
}

/** The PostgreSQL engine's statement parser: the server's grammar, loaded on first use. */
export const pgStatementParser: StatementParser = {
  load: loadPgParser,
  describe: describePgStatement,
};
