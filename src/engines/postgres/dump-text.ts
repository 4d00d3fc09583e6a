/**
 * Partial restores of a pg_dump schema dump, for re-planning after a few new migrations: only the
 * tables the new SQL can touch are restored (with their sequences, defaults, constraints, indexes
 * and triggers), next to every schema-wide object (types, functions, domains, extensions), instead
 * of the whole schema. pg_dump marks each object with a "-- Name: ...; Type: ...;" header, which is
 * what the dump is cut along. Anything this module does not recognise makes it decline (undefined),
 * and the caller restores the whole dump: a partial restore must never change a verdict.
 */
export interface PgDumpEntry {
  type: string;
  /** As pg_dump prints it: "users", "users users_pkey" (table + constraint), "f()". */
  name: string;
  text: string;
  /** The table the object belongs to; undefined for schema-wide objects. */
  table?: string;
}

export interface PgDump {
  /** The SET statements before the first object. */
  preamble: string;
  entries: PgDumpEntry[];
}

/** Objects that hang off one table: restored with it, dropped with it. */
const PER_TABLE = new Set(['TABLE', 'SEQUENCE', 'SEQUENCE OWNED BY', 'DEFAULT', 'CONSTRAINT', 'FK CONSTRAINT', 'INDEX', 'TRIGGER']);
/** Objects of the whole schema: always restored (cheap, and tables may use them). */
const SCHEMA_WIDE = new Set(['SCHEMA', 'EXTENSION', 'TYPE', 'DOMAIN', 'FUNCTION', 'PROCEDURE', 'AGGREGATE', 'COLLATION', 'CAST', 'OPERATOR']);
/** pg_dump's own order (pg_dump_sort.c), which a merged dump must keep: types before tables, FKs last. */
const RANK: Record<string, number> = {
  SCHEMA: 0,
  EXTENSION: 1,
  COLLATION: 2,
  TYPE: 3,
  DOMAIN: 3,
  FUNCTION: 4,
  PROCEDURE: 4,
  AGGREGATE: 5,
  OPERATOR: 5,
  CAST: 6,
  TABLE: 10,
  SEQUENCE: 11,
  'SEQUENCE OWNED BY': 12,
  DEFAULT: 13,
  CONSTRAINT: 14,
  INDEX: 15,
  TRIGGER: 16,
  'FK CONSTRAINT': 17,
};

const HEADER = /^--\n-- Name: (.+?); Type: ([A-Z ]+); Schema: ([^;]*); Owner: [^\n]*\n--\n/gm;

/** Splits a dump into its objects; undefined when it holds anything this module does not know. */
export function splitPgDump(dump: string): PgDump | undefined {
  const heads = [...dump.matchAll(HEADER)];
  if (!heads.length) return { preamble: dump, entries: [] };
  const preamble = dump.slice(0, heads[0]!.index);
  const entries: PgDumpEntry[] = [];
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i]!;
    const end = i + 1 < heads.length ? heads[i + 1]!.index : dump.length;
    const type = h[2]!;
    const name = h[1]!;
    // Only the default schema: a dump naming others is not what the analysis restores.
    if (h[3] !== 'public' && h[3] !== '-') return undefined;
    // The footer ("-- PostgreSQL database dump complete") belongs to no object.
    const text = dump.slice(h.index, end).replace(/--\n-- PostgreSQL database dump complete\n--\n[\s\S]*$/, '');
    if (!(type in RANK)) return undefined;
    const entry: PgDumpEntry = { type, name, text };
    if (PER_TABLE.has(type)) {
      const table = ownerTable(type, name, text);
      if (table === undefined) return undefined;
      if (table !== null) entry.table = table;
    }
    entries.push(entry);
  }
  return { preamble, entries };
}

/** The table a per-table object belongs to (null: a free-standing sequence, schema-wide). */
function ownerTable(type: string, name: string, text: string): string | null | undefined {
  // Read from the statement, not the header: the header prints names unquoted ("Odd Name Odd Name_pkey").
  const body = text.replace(/^--[^\n]*\n/gm, '');
  switch (type) {
    case 'TABLE':
      return tableAfter(body, new RegExp(`^\\s*CREATE (?:UNLOGGED )?TABLE public\\.${IDENT}`, 'i')) ?? unquote(name);
    case 'DEFAULT':
    case 'CONSTRAINT':
    case 'FK CONSTRAINT':
      return tableAfter(body, new RegExp(`^\\s*ALTER TABLE (?:ONLY )?public\\.${IDENT}`, 'i'));
    case 'TRIGGER':
    case 'INDEX':
      return tableAfter(body, new RegExp(`\\bON\\s+(?:ONLY\\s+)?public\\.${IDENT}`, 'i'));
    case 'SEQUENCE OWNED BY':
      return tableAfter(body, new RegExp(`\\bOWNED BY\\s+public\\.${IDENT}\\.`, 'i'));
    case 'SEQUENCE':
      // An identity column's sequence is an ALTER TABLE of its table; a serial's is owned later.
      if (/^\s*ALTER TABLE/i.test(body)) return tableAfter(body, new RegExp(`^\\s*ALTER TABLE (?:ONLY )?public\\.${IDENT}`, 'i'));
      return null;
    default:
      return undefined;
  }
}

/** A PostgreSQL identifier as pg_dump writes it: quoted when it must be. */
const IDENT = '("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)';

function tableAfter(body: string, re: RegExp): string | undefined {
  const m = re.exec(body);
  return m ? unquote(m[1]!) : undefined;
}

function unquote(n: string): string {
  return n.startsWith('"') ? n.slice(1, -1).replace(/""/g, '"') : n;
}

/** Sequences that serial columns of `tables` own (their SEQUENCE entry names no table). */
function ownedSequences(d: PgDump, tables: Set<string>): Set<string> {
  return new Set(d.entries.filter((e) => e.type === 'SEQUENCE OWNED BY' && e.table && tables.has(e.table)).map((e) => e.name));
}

function render(preamble: string, entries: PgDumpEntry[]): string {
  return preamble + entries.map((e) => e.text).join('');
}

/**
 * The dump restricted to `tables` and every schema-wide object; undefined when it cannot be cut
 * safely (views, unknown objects, a table missing from the dump).
 */
export function partialPgDump(dump: string, tables: Set<string>): string | undefined {
  const d = splitPgDump(dump);
  if (!d) return undefined;
  const present = new Set(d.entries.filter((e) => e.type === 'TABLE').map((e) => e.table));
  for (const t of tables) if (!present.has(t)) return undefined;
  const seqs = ownedSequences(d, tables);
  const ownedByAny = new Set(d.entries.filter((e) => e.type === 'SEQUENCE OWNED BY').map((e) => e.name));
  const keep = d.entries.filter((e) => keepEntry(e, tables, seqs, ownedByAny));
  // A kept FK must point at a kept table (the caller closes the set over foreign keys).
  for (const e of keep) {
    if (e.type !== 'FK CONSTRAINT') continue;
    const ref = new RegExp(`\\bREFERENCES\\s+public\\.${IDENT}`, 'i').exec(e.text)?.[1];
    if (!ref || !tables.has(unquote(ref))) return undefined;
  }
  return render(d.preamble, keep);
}

function keepEntry(e: PgDumpEntry, tables: Set<string>, seqs: Set<string>, ownedByAny: Set<string>): boolean {
  if (SCHEMA_WIDE.has(e.type)) return true;
  if (e.table !== undefined) return tables.has(e.table);
  // A serial's sequence goes with its table; one no table owns is schema-wide.
  return e.type === 'SEQUENCE' && (seqs.has(e.name) || !ownedByAny.has(e.name));
}

/**
 * The next full dump after a partial run: the previous full dump without the restored tables'
 * objects, plus everything the shadow holds now (the restored tables as the new migrations left
 * them, new tables, and the schema-wide objects, which replace the old ones). Kept in pg_dump's
 * order so it restores in one batch.
 */
export function mergePgDumps(full: string, fresh: string, restored: Set<string>): string | undefined {
  const a = splitPgDump(full);
  const b = splitPgDump(fresh);
  if (!a || !b) return undefined;
  const restoredSeqs = ownedSequences(a, restored);
  const kept = a.entries.filter(
    (e) =>
      !SCHEMA_WIDE.has(e.type) &&
      !(e.table !== undefined && restored.has(e.table)) &&
      !(e.type === 'SEQUENCE' && e.table === undefined && restoredSeqs.has(e.name)),
  );
  // Objects of the fresh dump replace same-named ones (a free-standing sequence both hold).
  const freshKeys = new Set(b.entries.map((e) => `${e.type}\0${e.name}`));
  const merged = [...kept.filter((e) => !freshKeys.has(`${e.type}\0${e.name}`)), ...b.entries];
  merged.sort((x, y) => RANK[x.type]! - RANK[y.type]!);
  return render(b.preamble || a.preamble, merged);
}
