import type { Knex } from 'knex';
import type { Dialect } from '../config/index.ts';
import { engineFor, ID, QID, type Effect, type Ident } from '../engines/index.ts';

/**
 * What a statement leaves behind that the server can be asked about afterwards: "table k1 exists",
 * "column a.k exists", "index i is gone". Used when a run stopped between sending a statement and
 * hearing its answer (a kill, a lost connection): if the effect is visible, the statement ran.
 *
 * Only statements whose effect cannot have been there before are read this way: a CREATE TABLE
 * without IF NOT EXISTS fails when the table exists, so a table that exists afterwards was made by
 * it. IF [NOT] EXISTS and OR REPLACE forms, and anything else (INSERT, UPDATE, SET, CALL ...),
 * have no effect migrate can check; checkHint() says what a person would look at instead.
 *
 * On PostgreSQL the server's grammar reads it (SqlGrammar.effects: names folded as the server
 * resolves them, IF [NOT] EXISTS / OR REPLACE / TEMP from the statement's flags); elsewhere, and
 * for text that grammar refuses, regular expressions over the statement's head do: only the object
 * named after the first few keywords matters there.
 */

function unquote(part: string, dialect: Dialect): string {
  if (part.startsWith('`')) return part.slice(1, -1).replace(/``/g, '`');
  if (part.startsWith('"')) return part.slice(1, -1).replace(/""/g, '"');
  // PostgreSQL folds unquoted names to lower case; MySQL keeps them as written.
  return engineFor(dialect).foldsUnquotedIdentifiers ? part.toLowerCase() : part;
}

export function parseIdent(raw: string, dialect: Dialect): Ident {
  const parts = raw.match(new RegExp(ID, 'g')) ?? [raw];
  const name = unquote(parts.at(-1) ?? raw, dialect);
  return parts.length > 1 ? { raw, schema: unquote(parts[0] ?? '', dialect), name } : { raw, name };
}

/** Top-level comma-separated parts of an ALTER TABLE's action list (commas in parentheses or quotes do not split). */
function clauses(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out.filter(Boolean);
}

const NOT_A_COLUMN = /^(INDEX|KEY|UNIQUE|PRIMARY|FOREIGN|CONSTRAINT|CHECK|FULLTEXT|SPATIAL|PARTITION|PERIOD|SYSTEM|DEFAULT|IF)$/i;

function alterClause(table: Ident, clause: string, dialect: Dialect): Effect | undefined {
  const id = (s: string): Ident => parseIdent(s, dialect);
  let m = new RegExp(String.raw`^RENAME\s+(?:TO|AS)\s+(${QID})`, 'i').exec(clause);
  if (m?.[1]) return { kind: 'table', object: id(m[1]), present: true };
  m = new RegExp(String.raw`^RENAME\s+COLUMN\s+${ID}\s+TO\s+(${ID})`, 'i').exec(clause);
  if (m?.[1]) return { kind: 'column', table, column: unquote(m[1], dialect), present: true };
  m = new RegExp(String.raw`^RENAME\s+(?:INDEX|KEY)\s+${ID}\s+TO\s+(${ID})`, 'i').exec(clause);
  if (m?.[1]) return { kind: 'index', index: id(m[1]), table, present: true };
  m = new RegExp(String.raw`^CHANGE\s+(?:COLUMN\s+)?(${ID})\s+(${ID})`, 'i').exec(clause);
  if (m?.[1] && m[2] && unquote(m[1], dialect).toLowerCase() !== unquote(m[2], dialect).toLowerCase())
    return { kind: 'column', table, column: unquote(m[2], dialect), present: true };
  m = new RegExp(String.raw`^(ADD|DROP)\s+(?:(COLUMN)\s+)?(IF\s+(?:NOT\s+)?EXISTS\s+)?(${ID})`, 'i').exec(clause);
  if (m?.[1] && m[4] && !m[3]) {
    const present = m[1].toUpperCase() === 'ADD';
    const word = m[4];
    if (m[2] || !NOT_A_COLUMN.test(word)) return { kind: 'column', table, column: unquote(word, dialect), present };
    // ADD INDEX name / ADD UNIQUE [INDEX|KEY] name / DROP INDEX name (MySQL/MariaDB).
    const ix = new RegExp(String.raw`^(?:ADD|DROP)\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?(?:INDEX|KEY)\s+(?!IF\b)(${ID})`, 'i').exec(clause);
    if (ix?.[1] && engineFor(dialect).migrations.alterNamesIndexes) return { kind: 'index', index: id(ix[1]), table, present };
  }
  return undefined;
}

/** The effects a statement leaves (all of them hold once it ran), or undefined when migrate cannot check it. */
export async function effectsOf(sql: string, dialect: Dialect): Promise<Effect[] | undefined> {
  const grammar = engineFor(dialect).sqlGrammar;
  await grammar?.load();
  const read = grammar?.effects(sql);
  return read ? read.effects : effectsByHead(sql, dialect);
}

/** effectsOf by regular expressions over the statement's head. */
function effectsByHead(sql: string, dialect: Dialect): Effect[] | undefined {
  const s = sql.replace(/\s+/g, ' ').trim();
  const id = (x: string): Ident => parseIdent(x, dialect);
  let m = new RegExp(String.raw`^CREATE\s+(OR\s+REPLACE\s+)?(TEMPORARY\s+|TEMP\s+|UNLOGGED\s+)?TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(${QID})`, 'i').exec(s);
  if (m) return m[1] || m[2]?.match(/TEMP/i) || m[3] || !m[4] ? undefined : [{ kind: 'table', object: id(m[4]), present: true }];
  m = new RegExp(String.raw`^DROP\s+(?:TEMPORARY\s+)?TABLE\s+(IF\s+EXISTS\s+)?(${QID}(?:\s*,\s*${QID})*)`, 'i').exec(s);
  if (m) return m[1] || !m[2] ? undefined : (m[2].match(new RegExp(QID, 'g')) ?? []).map((t) => ({ kind: 'table' as const, object: id(t), present: false }));
  m = new RegExp(
    String.raw`^CREATE\s+(?:UNIQUE\s+|FULLTEXT\s+|SPATIAL\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(IF\s+NOT\s+EXISTS\s+)?(?!ON\b)(${QID})\s+ON\s+(?:ONLY\s+)?(${QID})`,
    'i',
  ).exec(s);
  if (m) return m[1] || !m[2] || !m[3] ? undefined : [{ kind: 'index', index: id(m[2]), table: id(m[3]), present: true }];
  m = new RegExp(String.raw`^DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(IF\s+EXISTS\s+)?(${QID})(?:\s+ON\s+(${QID}))?`, 'i').exec(s);
  if (m) return m[1] || !m[2] ? undefined : [{ kind: 'index', index: id(m[2]), ...(m[3] ? { table: id(m[3]) } : {}), present: false }];
  m = new RegExp(String.raw`^ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE\s+(?:ONLY\s+)?(IF\s+EXISTS\s+)?(${QID})\s+(.*)$`, 'i').exec(s);
  if (m) {
    if (m[1] || !m[2] || !m[3]) return undefined;
    const table = id(m[2]);
    const effects = clauses(m[3]).map((c) => alterClause(table, c, dialect));
    // An ALTER TABLE is atomic on both servers: one visible clause shows that all of it ran.
    const renamed = effects.find((e) => e?.kind === 'table');
    const first = renamed ?? effects.find((e) => e !== undefined);
    return first ? [first] : undefined;
  }
  m = new RegExp(String.raw`^RENAME\s+TABLE\s+${QID}\s+TO\s+(${QID})`, 'i').exec(s);
  if (m?.[1]) return [{ kind: 'table', object: id(m[1]), present: true }];
  m = new RegExp(
    String.raw`^CREATE\s+(OR\s+REPLACE\s+)?(?:ALGORITHM\s*=\s*\w+\s+)?(?:DEFINER\s*=\s*\S+\s+)?(?:SQL\s+SECURITY\s+\w+\s+)?(?:MATERIALIZED\s+)?VIEW\s+(IF\s+NOT\s+EXISTS\s+)?(${QID})`,
    'i',
  ).exec(s);
  if (m) return m[1] || m[2] || !m[3] ? undefined : [{ kind: 'view', object: id(m[3]), present: true }];
  m = new RegExp(String.raw`^DROP\s+(?:MATERIALIZED\s+)?VIEW\s+(IF\s+EXISTS\s+)?(${QID})`, 'i').exec(s);
  if (m) return m[1] || !m[2] ? undefined : [{ kind: 'view', object: id(m[2]), present: false }];
  return engineFor(dialect).migrations.objectEffects(s, id);
}

/** Running the statement again does no harm whatever ran before: IF [NOT] EXISTS, OR REPLACE. */
export function isRepeatable(sql: string): boolean {
  const s = sql.replace(/\s+/g, ' ').trim();
  return /^(CREATE|DROP|ALTER)\s[^(]*?\b(IF\s+(NOT\s+)?EXISTS)\b/i.test(s) || /^CREATE\s+OR\s+REPLACE\b/i.test(s);
}

function objectText(kind: string, i: Ident): string {
  return `${kind} ${i.raw}`;
}

/** "table k1 exists", "column accounts.k is gone". */
export function describeEffect(e: Effect, holds?: boolean): string {
  const verb = (present: boolean): string => {
    const want = present ? 'exists' : 'is gone';
    const not = present ? 'does not exist' : 'still exists';
    return holds === undefined ? want : holds ? want : not;
  };
  switch (e.kind) {
    case 'column':
      return `column ${e.table.raw}.${e.column} ${verb(e.present)}`;
    case 'index':
      return `${objectText('index', e.index)}${e.table ? ` on ${e.table.raw}` : ''} ${verb(e.present)}`;
    case 'enum-value':
      return `value '${e.value}' of type ${e.type.raw} ${verb(true)}`;
    default:
      return `${objectText(e.kind === 'routine' ? 'routine' : e.kind, e.object)} ${verb(e.present)}`;
  }
}

export interface EffectCheck {
  /** true: every effect is visible (the statement ran); false: none is (it did not). */
  ran: boolean | undefined;
  /** What was looked at and found, e.g. "table k1 exists". */
  evidence: string;
  /** Whether or not it ran, running it again does no harm (DO, SELECT, SET; IF [NOT] EXISTS forms). */
  repeatSafe?: boolean;
}

/** Statements that leave nothing behind in the database: reads, session settings, DO. */
const NO_LASTING_EFFECT = /^(DO|SELECT(?![\s\S]*\bINTO\b)|SHOW|EXPLAIN|DESCRIBE|SET\s+(?!(GLOBAL|PERSIST|PERSIST_ONLY)\b)|VALUES)\b/i;

/**
 * Asks the server whether the statement's effects are there. `ran` is undefined when the
 * statement has no checkable effect, or when only some of its effects are visible.
 */
export async function checkEffect(db: Knex, dialect: Dialect, sql: string): Promise<EffectCheck> {
  const effects = await effectsOf(sql, dialect);
  const head = sql.replace(/\s+/g, ' ').trim();
  if (NO_LASTING_EFFECT.test(head))
    return { ran: undefined, evidence: 'it leaves nothing behind in the database, so running it again does no harm', repeatSafe: true };
  if (!effects?.length)
    return isRepeatable(sql)
      ? { ran: undefined, evidence: 'it is written to be repeated (IF [NOT] EXISTS / OR REPLACE), so running it again does no harm', repeatSafe: true }
      : { ran: undefined, evidence: checkHint(sql) };
  const seen: boolean[] = [];
  for (const e of effects) seen.push((await engineFor(dialect).migrations.effectPresent(db, e)) === e.present);
  const evidence = effects.map((e, k) => describeEffect(e, seen[k])).join(', ');
  if (seen.every(Boolean)) return { ran: true, evidence };
  if (seen.every((x) => !x)) return { ran: false, evidence };
  return { ran: undefined, evidence };
}

/** What a person would look at to tell whether a statement without a checkable effect ran. */
export function checkHint(sql: string): string {
  const s = sql.replace(/\s+/g, ' ').trim();
  let m = new RegExp(String.raw`^(?:INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*(?:INTO\s+)?(${QID})`, 'i').exec(s);
  if (m?.[1]) return `look in ${m[1]} for the rows it inserts`;
  m = new RegExp(String.raw`^UPDATE\s+(?:(?:LOW_PRIORITY|IGNORE|ONLY)\s+)*(${QID})`, 'i').exec(s);
  if (m?.[1]) return `look at the rows of ${m[1]} it changes`;
  m = new RegExp(String.raw`^DELETE\s+(?:(?:LOW_PRIORITY|QUICK|IGNORE)\s+)*FROM\s+(?:ONLY\s+)?(${QID})`, 'i').exec(s);
  if (m?.[1]) return `check whether the rows it deletes are still in ${m[1]}`;
  return 'check whether what it does is in place';
}
