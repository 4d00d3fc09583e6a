import { engineFor } from '../../engines/index.ts';
import { basename } from 'node:path';
import type { Dialect } from '../../config/index.ts';
import { splitTopLevel, unqualify, unquote } from '../sql/parse.ts';
import { stripComments } from '../sql/split.ts';

/**
 * Reads a workload file: the statements an application runs, so the shadow can PREPARE each one
 * against the schema a migration leaves. Three shapes are accepted:
 *
 * - plain text, one statement per line (blank lines and lines starting with --, # or // skipped);
 * - a JSON export of MySQL/MariaDB performance_schema.events_statements_summary_by_digest
 *   (objects with DIGEST_TEXT, optionally SCHEMA_NAME), e.g.
 *   `SELECT JSON_ARRAYAGG(JSON_OBJECT('SCHEMA_NAME', SCHEMA_NAME, 'DIGEST_TEXT', DIGEST_TEXT)) FROM ...`;
 * - a JSON export of PostgreSQL pg_stat_statements (objects with `query`), e.g.
 *   `SELECT json_agg(s) FROM pg_stat_statements s`.
 *
 * JSON may be an array, an object holding one array (any key), or one object per line.
 * Digests are made preparable: `(...)` lists become one placeholder (or one per column for an
 * INSERT's VALUES), `/* , ... *\/` tails go, and `schema`.`table` loses the schema so the query
 * resolves in the shadow database. Digests cut short by performance_schema_max_digest_length
 * cannot be prepared and are reported as skipped.
 */
export interface WorkloadQuery {
  /** 1-based position among the file's statements. */
  n: number;
  /** The statement as the file gives it (for messages). */
  text: string;
  /** What is sent to PREPARE. */
  sql: string;
  /** "queries.txt line 3" / "digests.json #4". */
  source: string;
  verb: 'select' | 'insert' | 'update' | 'delete' | 'replace' | 'with' | 'merge';
  /** Lower-cased identifiers the statement names, to know which migrations may affect it. */
  idents: Set<string>;
  /** INSERT/REPLACE: target table and the columns it sets (null: no column list, i.e. all of them). */
  insert?: { table: string; columns: string[] | null };
}

export interface SkippedQuery {
  text: string;
  source: string;
  reason: string;
}

export interface Workload {
  file: string;
  /** Completes "No statement ... names x": "in queries.txt", "seen since <time> in app (12 statements)". */
  window?: string;
  queries: WorkloadQuery[];
  skipped: SkippedQuery[];
}

const KEYS_SQL = ['digest_text', 'query', 'sql', 'statement', 'sql_text', 'text'];
const KEYS_SCHEMA = ['schema_name', 'schema', 'db', 'database', 'datname'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface RawStatement {
  text: string;
  source: string;
  digest: boolean;
  schema?: string;
}

function pick(obj: Record<string, Json>, keys: string[]): Json | undefined {
  for (const [k, v] of Object.entries(obj)) if (keys.includes(k.toLowerCase())) return v;
  return undefined;
}

function fromJson(value: Json, file: string): RawStatement[] | undefined {
  let list: Json[] | undefined;
  if (Array.isArray(value)) list = value;
  else if (value && typeof value === 'object') {
    if (pick(value, KEYS_SQL) !== undefined) list = [value];
    else list = Object.values(value).find((v): v is Json[] => Array.isArray(v));
  }
  if (!list) return undefined;
  const out: RawStatement[] = [];
  list.forEach((item, i) => {
    const source = `${file} #${i + 1}`;
    if (typeof item === 'string') out.push({ text: item, source, digest: false });
    else if (item && typeof item === 'object' && !Array.isArray(item)) {
      const sql = pick(item, KEYS_SQL);
      if (typeof sql !== 'string') return;
      const digest = Object.keys(item).some((k) => k.toLowerCase() === 'digest_text');
      const schema = pick(item, KEYS_SCHEMA);
      const r: RawStatement = { text: sql, source, digest };
      if (typeof schema === 'string' && schema) r.schema = schema;
      out.push(r);
    }
  });
  return out;
}

function rawStatements(text: string, file: string): RawStatement[] {
  const name = basename(file);
  const t = text.replace(/^\uFEFF/, '').trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      const r = fromJson(JSON.parse(t) as Json, name);
      if (r) return r;
    } catch {
      // Maybe one JSON object per line.
      const lines = t.split('\n').filter((l) => l.trim());
      try {
        const objs = lines.map((l) => JSON.parse(l) as Json);
        const r = fromJson(objs, name);
        if (r) return r;
      } catch {
        // fall through to plain text
      }
    }
  }
  const out: RawStatement[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('--') || l.startsWith('#') || l.startsWith('//')) return;
    out.push({ text: l, source: `${name} line ${i + 1}`, digest: false });
  });
  return out;
}

const VERB = /^\(*\s*(select|insert|update|delete|replace|with|merge)\b/i;

/** performance_schema digest text -> something PREPARE accepts. */
export function digestToSql(digest: string, schema: string | undefined): string | { skip: string } {
  let s = digest.trim();
  s = s.replace(/\/\*\s*,\s*\.\.\.\s*\*\//g, ' ');
  if (/\.\.\.\s*$/.test(s) && !/\(\s*\.\.\.\s*\)\s*$/.test(s))
    return { skip: 'the digest text was cut short (performance_schema_max_digest_length), so it cannot be prepared' };
  if (schema) {
    const esc = schema.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    s = s.replace(new RegExp(`\`${esc}\`\\s*\\.\\s*`, 'g'), '');
  }
  // INSERT ... (a, b, c) VALUES (...): one placeholder per column.
  const ins = /^((?:insert|replace)\b[\s\S]*?\(([^()]*)\)\s*values?\s*)\(\s*\.\.\.\s*\)/i.exec(s);
  if (ins) {
    const n = splitTopLevel(ins[2]!).length;
    s = `${ins[1]!}(${Array.from({ length: n }, () => '?').join(', ')})${s.slice(ins[0].length)}`;
  }
  s = s.replace(/\(\s*\.\.\.\s*\)/g, '(?)');
  return s;
}

function identifiers(sql: string): Set<string> {
  const out = new Set<string>();
  const re = /`((?:[^`]|``)+)`|"((?:[^"]|"")+)"|'(?:[^'\\]|\\.|'')*'|([A-Za-z_][A-Za-z0-9_$]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(sql))) {
    const id = m[1] ?? m[2] ?? m[3];
    if (id) out.add(id.replace(/``/g, '`').replace(/""/g, '"').toLowerCase());
  }
  return out;
}

const IDENT = '(?:`(?:[^`]|``)+`|"(?:[^"]|"")+"|[A-Za-z_$][\\w$]*)';
const QNAME = `${IDENT}(?:\\s*\\.\\s*${IDENT})?`;
const INSERT_HEAD = new RegExp(
  `^(?:insert|replace)\\s+(?:(?:low_priority|delayed|high_priority|ignore)\\s+)*(?:into\\s+)?(${QNAME})(?:\\s+(?:as\\s+)?(?!values?\\b|select\\b|set\\b|default\\b|with\\b|on\\b|overriding\\b)${IDENT})?\\s*`,
  'i',
);

/** Target table and listed columns of an INSERT/REPLACE, or undefined when it cannot be read. */
export function insertColumns(sql: string): WorkloadQuery['insert'] {
  const s = stripComments(sql).trim();
  const m = INSERT_HEAD.exec(s);
  if (!m) return undefined;
  const table = unqualify(m[1]!);
  const rest = s.slice(m[0].length);
  if (rest.startsWith('(')) {
    // (cols) VALUES/SELECT, or VALUES written as (select ...): a column list holds no keyword.
    let depth = 0;
    let end = -1;
    for (let i = 0; i < rest.length; i++) {
      if (rest[i] === '(') depth++;
      else if (rest[i] === ')' && --depth === 0) {
        end = i;
        break;
      }
    }
    if (end < 0) return undefined;
    const inner = rest.slice(1, end);
    if (/^\s*(select|with)\b/i.test(inner)) return { table, columns: null };
    return { table, columns: splitTopLevel(inner).map((c) => unquote(c.trim())) };
  }
  const set = /^set\s+([\s\S]*?)(?:\s+on\s+duplicate\s+key\s+update\b[\s\S]*)?$/i.exec(rest);
  if (set) {
    return { table, columns: splitTopLevel(set[1]!).map((a) => unquote((a.split('=')[0] ?? '').trim().split('.').pop() ?? '')) };
  }
  if (/^default\s+values\b/i.test(rest)) return { table, columns: [] };
  return { table, columns: null };
}

export function parseWorkload(text: string, file: string, dialect: Dialect): Workload {
  return { ...fromRaw(rawStatements(text, file), dialect), file, window: `in ${basename(file)}` };
}

/**
 * The statements a server recorded (engine.readStatementDigests), as a workload. `label` names
 * where they were read ("performance_schema on db1:3306") for each query's source; `window`
 * completes "No statement ... names x".
 */
export function workloadFromDigests(
  rows: { text: string; count: number; digest: boolean }[],
  label: string,
  window: string,
  dialect: Dialect,
  schema: string,
): Workload {
  // A digest names the schema where the statement qualified a table with it; the shadow's database has another name.
  const raw = rows.map((r, i): RawStatement => {
    const one: RawStatement = { text: r.text, source: `${label} #${i + 1} (run ${r.count} time${r.count === 1 ? '' : 's'})`, digest: r.digest };
    if (r.digest) one.schema = schema;
    return one;
  });
  return { ...fromRaw(raw, dialect), file: label, window };
}

function fromRaw(raws: RawStatement[], dialect: Dialect): { queries: WorkloadQuery[]; skipped: SkippedQuery[] } {
  const queries: WorkloadQuery[] = [];
  const skipped: SkippedQuery[] = [];
  const seen = new Set<string>();
  const form = engineFor(dialect).workloadText;
  for (const r of raws) {
    let sql: string;
    if (r.digest || (form.elidedListIsDigest && /\(\s*\.\.\.\s*\)/.test(r.text))) {
      const d = digestToSql(r.text, r.schema);
      if (typeof d !== 'string') {
        skipped.push({ text: r.text, source: r.source, reason: d.skip });
        continue;
      }
      sql = d;
    } else {
      sql = r.text.trim();
      if (r.schema && form.schemaQualified) sql = sql.replace(new RegExp(`"?${r.schema.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s*\\.\\s*`, 'g'), '');
    }
    sql = sql.replace(/;\s*$/, '').trim();
    const verb = VERB.exec(stripComments(sql, dialect).trim())?.[1]?.toLowerCase() as WorkloadQuery['verb'] | undefined;
    if (!verb) {
      skipped.push({ text: r.text, source: r.source, reason: 'not a data statement (only SELECT, INSERT, UPDATE, DELETE, REPLACE, WITH are prepared)' });
      continue;
    }
    if (seen.has(sql)) continue;
    seen.add(sql);
    const q: WorkloadQuery = { n: queries.length + 1, text: r.text.trim(), sql, source: r.source, verb, idents: identifiers(sql) };
    if (verb === 'insert' || verb === 'replace') {
      const ins = insertColumns(sql);
      if (ins) q.insert = ins;
    }
    queries.push(q);
  }
  return { queries, skipped };
}
