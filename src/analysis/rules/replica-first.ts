import { unqualify } from '../sql/parse.ts';
import { parseType } from '../sql/typecompat.ts';
import type { Change, ColumnSnapshot, Finding } from '../types.ts';
import { CONVERSION_SETTINGS, factsOf, reverseRule, type ConversionSetting, type ReplicationDirection } from './catalog.ts';
import { finding, statementFor, type ChangeOf, type RuleContext, type RuleDialect } from './context.ts';

/**
 * RF: can the change run replica-first? Row events from a primary with one schema are applied to a
 * replica with another; columns are matched by POSITION, ENUM values travel as their index, types
 * convert only within a family and only when slave_type_conversions allows it. The same check runs
 * twice: old -> new (the primary not yet altered feeding altered replicas: RF1xx) and new -> old
 * (the master-master hold period, the altered new primary feeding the old one: RF2xx, the rule
 * the catalog names as the RF1xx rule's reverse). Changes are read as "source schema -> replica schema".
 * The server variable named in messages and settings comes from the database's RuleDialect.
 */
export type Direction = ReplicationDirection;

export interface ReplicaFirstAssessment {
  findings: Finding[];
  /** null: not applicable (PostgreSQL, or only whole tables created/dropped). */
  safe: boolean | null;
  reverseSafe: boolean | null;
  /** Settings that make the old -> new direction safe when `safe` is false only because of them. */
  settings?: Record<string, string>;
  reverseSettings?: Record<string, string>;
  /** Old -> new is safe once `settings` are applied. */
  safeWithSettings: boolean;
}

const WHOLE_TABLE_ONLY = new Set<Change['kind']>(['table_added', 'table_dropped', 'view_added', 'view_dropped', 'view_changed']);

export function replicaFirstRules(ctx: RuleContext, db: RuleDialect): ReplicaFirstAssessment {
  const variable = db.typeConversionVariable;
  if (variable === undefined) return { findings: [], safe: null, reverseSafe: null, safeWithSettings: false };
  const relevant = ctx.changes.filter((c) => !('table' in c) || !ctx.createdTables.has(c.table) || c.kind === 'table_added');
  // Only whole tables (or nothing) changed: not applicable, unless an ALTER ran on an existing table
  // without changing its row format (an index rename, an engine rebuild): that is replica-first safe.
  // (A procedure's ALTER probed ahead of its CALL may have been skipped by the body: it does not count.)
  const alteredExisting = ctx.probes.some((p) => !p.conditional && !ctx.createdTables.has(p.table) && ctx.before.tables[p.table]);
  if (relevant.every((c) => WHOLE_TABLE_ONLY.has(c.kind)) && !(relevant.length === 0 && alteredExisting)) {
    return { findings: [], safe: null, reverseSafe: null, safeWithSettings: false };
  }

  const forward = [...directionFindings(ctx, ctx.changes, 'old-to-new', variable), ...dataChanges(ctx)];
  const reverse = directionFindings(ctx, ctx.reverseChanges, 'new-to-old', variable);
  const f = outcomeOf(forward);
  const r = outcomeOf(reverse);
  const out: ReplicaFirstAssessment = {
    findings: [...forward, ...reverse],
    safe: !f.unsafe && !f.setting,
    reverseSafe: !r.unsafe && !r.setting,
    safeWithSettings: !f.unsafe,
  };
  if (f.setting && !f.unsafe) out.settings = { [variable]: f.setting };
  if (r.setting && !r.unsafe) out.reverseSettings = { [variable]: r.setting };
  if (!forward.length && !reverse.length) {
    out.findings.push(finding('RF113', { message: 'Rows from a primary with the old schema apply unchanged to a replica with the new one, and back.' }));
  }
  return out;
}

/**
 * RF116: replica-first runs every statement of the migration on each node in turn with binary
 * logging off. Schema changes wait for their node; a data change does not: rows the primary writes
 * between a replica's turn and its own replicate over the replica's result (row images carry every
 * column), and the primary's own run later reaches only itself, so the nodes end up with different
 * rows (an INSERT's keys may even collide and stop replication). A blocking backfill (MY301) must
 * therefore not move to the replicas: batch it instead.
 */
function dataChanges(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  for (const s of ctx.statements) {
    if (CALL.test(s.sql)) {
      if (callMayChangeRows(ctx, s.sql)) out.push(callChange(s.sql));
      continue;
    }
    if (s.kind !== 'dml') continue;
    const m =
      /^\s*(update|delete|insert|replace|truncate)\b(?:\s+(?:low_priority|ignore|delayed|high_priority))*\s+(?:(?:from|into|table)\s+)?([`"\w.$]+)/i.exec(
        s.sql,
      );
    const table = s.table ?? (m?.[2] ? unqualify(m[2]) : undefined);
    if (!m || !table || ctx.createdTables.has(table) || !ctx.before.tables[table]) continue;
    out.push(
      finding('RF116', {
        message: `${m[1]!.toUpperCase()} on ${table} changes rows, and replica-first would run it on each node with binary logging off at different times: rows the primary writes in between replicate over the result, and the nodes end up with different data.`,
        table,
        statement: s.sql,
        direction: 'old-to-new',
      }),
    );
  }
  return out;
}

/** A CALL, after any comments before it (the statement's own text as the migration wrote it). */
const CALL = /^(?:\s+|--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/)*call\b/i;

/** Statements in a procedure's body that change rows, or may (dynamic SQL, another CALL). ON UPDATE of a foreign key is not one. */
const ROW_CHANGE = /\b(?:insert|(?<!\bon\s+)update|delete|replace|truncate|call|load\s+data|prepare|execute)\b/i;

/**
 * Whether a CALL may change rows: unless the migration itself creates the procedure and its body
 * holds no statement that changes rows (the usual guarded-ALTER wrapper: `IF <column missing> THEN
 * ALTER TABLE ...`), what a procedure does is not known, and it may change rows as DML does.
 */
function callMayChangeRows(ctx: RuleContext, call: string): boolean {
  const name = /\bcall\s+([`"\w.$]+)/i.exec(call)?.[1];
  if (!name) return true;
  const bare = unqualify(name).toLowerCase();
  const def = ctx.statements.find((s) => {
    const m =
      /^(?:\s+|--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/)*create\s+(?:or\s+replace\s+)?(?:definer\s*=\s*\S+\s+)?procedure\s+(?:if\s+not\s+exists\s+)?([`"\w.$]+)/i.exec(
        s.sql,
      );
    return m?.[1] !== undefined && unqualify(m[1]).toLowerCase() === bare;
  });
  if (!def) return true;
  const body = def.sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"/g, "''").replace(/\/\*[\s\S]*?\*\/|(?:--|#)[^\n]*/g, ' ');
  return ROW_CHANGE.test(body);
}

/**
 * A CALLed procedure may change rows as DML does, in tables no text of the migration names: it
 * counts as a data change next to the schema change (it is reached only when replica-first applies).
 */
function callChange(sql: string): Finding {
  const name = /\bcall\s+([`"\w.$]+)/i.exec(sql)?.[1];
  return finding('RF116', {
    message: `${name ? `CALL ${unqualify(name)}` : 'This CALL'} runs a procedure, which may change rows the analysis cannot see, and replica-first would run it on each node with binary logging off at different times: rows the primary writes in between replicate over the result, and the nodes may end up with different data.`,
    statement: sql,
    direction: 'old-to-new',
  });
}

/** What one direction's findings add up to: unsafe under every setting, or the strongest setting they need. */
function outcomeOf(findings: Finding[]): { unsafe: boolean; setting?: ConversionSetting } {
  let unsafe = false;
  let setting: ConversionSetting | undefined;
  for (const f of findings) {
    const rf = factsOf(f.rule)?.replicaFirst;
    if (rf?.unsafe) unsafe = true;
    if (rf?.setting && (!setting || CONVERSION_SETTINGS.indexOf(rf.setting) > CONVERSION_SETTINGS.indexOf(setting))) setting = rf.setting;
  }
  return setting ? { unsafe, setting } : { unsafe };
}

/** One direction of the check: who sends the row events, who applies them, and where findings go. */
interface Side {
  ctx: RuleContext;
  rev: boolean;
  /** The server the row events come from and the one applying them, as the messages name them. */
  src: string;
  rep: string;
  variable: string;
  /** Adds a finding of an old -> new rule, or of the new -> old rule that mirrors it (the catalog's reverseOf). */
  push(forwardRule: string, message: string, table?: string, column?: string): void;
}

function directionFindings(ctx: RuleContext, changes: Change[], direction: Direction, variable: string): Finding[] {
  const out: Finding[] = [];
  const rev = direction === 'new-to-old';
  const created = rev ? new Set(changes.flatMap((c) => (c.kind === 'table_dropped' ? [c.table] : []))) : ctx.createdTables;
  const side: Side = {
    ctx,
    rev,
    src: rev ? 'the new primary' : 'the old primary',
    rep: rev ? 'the old side (hold period)' : 'the altered replica',
    variable,
    push: (forwardRule, message, table, column) => {
      const rule = rev ? reverseRule(forwardRule) : forwardRule;
      out.push(finding(rule, { message, table, column, statement: statementFor(ctx.statements, table, column), direction }));
    },
  };
  for (const c of changes) {
    if ('table' in c && created.has(c.table)) continue;
    changeFindings(c, side);
  }
  return out;
}

function changeFindings(c: Change, side: Side): void {
  const { rev, src, rep, push } = side;
  switch (c.kind) {
    case 'table_dropped':
      // Whole-table drops on their own make the verdict null; next to other changes they still break.
      push('RF109', `Table ${c.table} exists on ${src} but not on ${rep}: row events for it fail with error 1146 and replication stops.`, c.table);
      break;
    case 'table_renamed':
      push(
        'RF109',
        `Table ${rev ? c.table : c.from} is named ${rev ? c.from : c.table} on ${rep}: row events name the table, fail with error 1146, and replication stops.`,
        c.table,
      );
      break;
    case 'column_added':
      columnAddedFindings(c, side);
      break;
    case 'column_dropped':
      if (!c.wasLast) {
        push(
          'RF102',
          `Column ${c.table}.${c.column.name} exists on ${src} but not on ${rep}, and is not the last column: the values after it shift by one column on ${rep}.`,
          c.table,
          c.column.name,
        );
      }
      break;
    case 'column_moved':
      push(
        'RF103',
        `Column ${c.table}.${c.column} is at position ${rev ? c.toPosition : c.fromPosition} on ${src} and ${rev ? c.fromPosition : c.toPosition} on ${rep}: row events map by position, so values land in the wrong columns.`,
        c.table,
        c.column,
      );
      break;
    case 'column_type_changed':
      typeChangeFindings(c, side);
      break;
    case 'column_enum_changed':
      enumChangeFindings(c, side);
      break;
    case 'column_nullability_changed':
      if (!c.nullable) {
        push(
          'RF108',
          `${c.table}.${c.column} allows NULL on ${src} but is NOT NULL on ${rep}: a NULL arriving there is stored as '' or 0, silently.`,
          c.table,
          c.column,
        );
      }
      break;
    case 'index_added':
      if (c.index.unique)
        push(
          'RF110',
          `Unique index ${c.index.name} on ${c.table} exists only on ${rep}: a duplicate written on ${src} stops replication with a duplicate-key error.`,
          c.table,
        );
      break;
    case 'check_added':
      push('RF110', `Check ${c.check.name} on ${c.table} exists only on ${rep}: a row that violates it stops replication.`, c.table);
      break;
    case 'foreign_key_added':
      foreignKeyFindings(c, side);
      break;
    case 'primary_key_changed':
      push(
        'RF112',
        `Primary key of ${c.table} is (${c.from.join(', ')}) on ${src} but (${c.to.join(', ')}) on ${rep}: updates and deletes are located by ${rep}'s key.`,
        c.table,
      );
      break;
    default:
      break;
  }
}

/**
 * A key only on the applying side checks every row event (the old primary's sessions run with
 * foreign_key_checks on): an orphan child or the delete of a referenced parent stops replication.
 * A key on columns the migration adds constrains nothing the source writes (they arrive NULL).
 */
function foreignKeyFindings(c: ChangeOf<'foreign_key_added'>, { ctx, rev, src, rep, push }: Side): void {
  const fk = c.foreignKey;
  const added = (rev ? ctx.reverseChanges : ctx.changes).flatMap((x) => (x.kind === 'column_added' && x.table === c.table ? [x.column.name] : []));
  if (fk.columns.every((col) => added.includes(col))) {
    push(
      'RF110',
      `Foreign key ${fk.name} on ${c.table} exists only on ${rep}, on columns rows from ${src} do not carry (they arrive NULL): only a delete of a referenced ${fk.refTable} row can stop replication.`,
      c.table,
    );
    return;
  }
  push(
    'RF115',
    `Foreign key ${fk.name} ${c.table}(${fk.columns.join(', ')}) -> ${fk.refTable}(${fk.refColumns.join(', ')}) exists only on ${rep}: a row from ${src} whose parent is missing there, or the delete of a referenced ${fk.refTable} row, fails the foreign key check and replication stops.`,
    c.table,
  );
}

function columnAddedFindings(c: ChangeOf<'column_added'>, { src, rep, push }: Side): void {
  const col = c.column;
  if (!c.atEnd) {
    push(
      'RF101',
      `Column ${c.table}.${col.name} exists only on ${rep}, and not at the end: row events from ${src} map columns by position, so values land one column over (MariaDB: silent corruption; MySQL: replication stops).`,
      c.table,
      col.name,
    );
  } else if (!col.nullable && col.default === null && !col.autoFilled && !col.generated) {
    push(
      'RF111',
      `Column ${c.table}.${col.name} exists only on ${rep}, NOT NULL without a default: rows from ${src} fill it with the implicit default ('' or 0).`,
      c.table,
      col.name,
    );
  }
}

function typeChangeFindings(c: ChangeOf<'column_type_changed'>, { rev, src, rep, variable, push }: Side): void {
  const pair = `${c.from.type}${c.from.charset && c.from.charset !== c.to.charset ? ` ${c.from.charset}` : ''} on ${src} -> ${c.to.type}${c.to.charset && c.from.charset !== c.to.charset ? ` ${c.to.charset}` : ''} on ${rep}`;
  const a = parseType(c.from);
  const b = parseType(c.to);
  // Checked before the size classification: these replicate "successfully" with wrong values
  // or fail under every setting, so a conversion setting must never be offered for them.
  if ((a.family === 'int' || a.family === 'decimal') && a.family === b.family && Boolean(a.unsigned) !== Boolean(b.unsigned)) {
    push(
      'RF114',
      `${c.table}.${c.column} is ${pair}: the row event carries the bytes, not the signedness, so ${rev ? 'a value above the signed maximum arrives negative (3000000000 becomes -1294967296)' : 'a negative value arrives as a huge positive one (-5 becomes 4294967291)'}, with no error under any ${variable} setting.`,
      c.table,
      c.column,
    );
  } else if (a.family === 'string' && b.family === 'string' && !sameBytes(c.from.charset, c.to.charset)) {
    push(
      'RF106',
      `${c.table}.${c.column} is ${pair}: row events carry the bytes of ${src}'s character set and the replica does not convert them; replication stops with error 1677, and with ${variable}=ALL_NON_LOSSY or ALL_LOSSY every non-ASCII value is stored as other characters. No setting makes a character-set change replica-first safe.`,
      c.table,
      c.column,
    );
  } else if (a.family === 'temporal' && a.base === b.base && (b.fsp ?? 0) > (a.fsp ?? 0)) {
    push(
      'RF106',
      `${c.table}.${c.column} is ${pair}: the replica misreads rows of the other fractional-seconds precision and stops with error 1030 (corrupt event) under every ${variable} setting.`,
      c.table,
      c.column,
    );
  } else if (c.change === 'widening' || c.change === 'cosmetic') {
    push(
      'RF104',
      `${c.table}.${c.column} is ${pair}: with ${variable} empty (the default) replication stops with error 1677; with ${variable}=ALL_NON_LOSSY the conversion keeps every value. The executor can set it on ${rev ? 'the old primary for the hold period' : 'the altered replicas until every node has the new type'}.`,
      c.table,
      c.column,
    );
  } else if (c.change === 'family-change') {
    push(
      'RF106',
      `${c.table}.${c.column} is ${pair}: another type family, which row-based replication cannot convert under any ${variable} setting; replication stops with error 1677.`,
      c.table,
      c.column,
    );
  } else {
    push(
      'RF105',
      `${c.table}.${c.column} is ${pair}: a narrowing conversion needs ${variable}=ALL_LOSSY, which silently truncates values that do not fit; without it replication stops with error 1677.`,
      c.table,
      c.column,
    );
  }
}

function enumChangeFindings(c: ChangeOf<'column_enum_changed'>, { ctx, rev, src, rep, variable, push }: Side): void {
  if (c.enumChange.shifted || c.enumChange.removed.length) {
    push(
      'RF107',
      `${c.table}.${c.column} values (${c.from.join(', ')}) on ${src} vs (${c.to.join(', ')}) on ${rep}: ENUM/SET values travel as their index, so ${rep} stores a different value than ${src}, with no error.`,
      c.table,
      c.column,
    );
  }
  // The index is stored in 1 or 2 bytes (ENUM) or ceil(n/8) bytes (SET): crossing a size
  // boundary is a type change for the row event even when every value keeps its index.
  const isSet =
    columnOf(rev ? ctx.before : ctx.after, c.table, c.column)?.dataType === 'set' ||
    columnOf(rev ? ctx.after : ctx.before, c.table, c.column)?.dataType === 'set';
  const from = enumBytes(c.from.length, isSet);
  const to = enumBytes(c.to.length, isSet);
  const kind = isSet ? 'SET' : 'ENUM';
  if (to > from) {
    push(
      'RF104',
      `${c.table}.${c.column} has ${c.from.length} values on ${src} (${from} byte${from > 1 ? 's' : ''} per row) and ${c.to.length} on ${rep} (${to} bytes): the ${kind} changes storage size, so with ${variable} empty (the default) replication stops with error 1677; ALL_NON_LOSSY converts it and keeps every value.`,
      c.table,
      c.column,
    );
  } else if (to < from) {
    push(
      'RF105',
      `${c.table}.${c.column} has ${c.from.length} values on ${src} (${from} bytes per row) and ${c.to.length} on ${rep} (${to} byte${to > 1 ? 's' : ''}): the ${kind} changes storage size; replication stops with error 1677 unless ${variable} includes ALL_LOSSY, which stores values the smaller ${kind} lacks as ''.`,
      c.table,
      c.column,
    );
  }
}

/** Bytes per stored value: ENUM 1 (<= 255 values) or 2; SET ceil(n/8) rounded up to 1, 2, 3, 4 or 8. */
function enumBytes(values: number, isSet: boolean): number {
  if (!isSet) return values > 255 ? 2 : 1;
  const b = Math.ceil(values / 8);
  return b <= 4 ? Math.max(1, b) : 8;
}

function columnOf(snapshot: RuleContext['before'], table: string, column: string): ColumnSnapshot | undefined {
  return snapshot.tables[table]?.columns.find((col) => col.name === column);
}

/**
 * Whether text in charset `from` has the same bytes in charset `to`: row events copy bytes, so only
 * then does a charset change replicate correctly (ASCII into any ASCII-based charset, utf8mb3 into
 * utf8mb4). Unknown charsets count as the same (no information, no finding).
 */
function sameBytes(from: string | null | undefined, to: string | null | undefined): boolean {
  if (!from || !to) return true;
  const a = from.toLowerCase().replace('utf8mb3', 'utf8');
  const b = to.toLowerCase().replace('utf8mb3', 'utf8');
  if (a === b) return true;
  if (a === 'ascii') return b === 'latin1' || b === 'utf8' || b === 'utf8mb4';
  return a === 'utf8' && b === 'utf8mb4';
}
