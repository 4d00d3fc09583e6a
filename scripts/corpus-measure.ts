/**
 * Measures every analysis-corpus case (test/corpus/{mysql,postgres}/*.sql) on the real servers and
 * records what the SERVERS did, never what the engine says, in test/corpus/measured.json.
 *
 *   npm run corpus:measure                 # every case, rewrites test/corpus/measured.json
 *   npm run corpus:measure -- m06 p05      # only these cases, printed, the file is left alone
 *   npm run corpus:measure -- --phase-only # phase alone (the old statements' run), written into measured.json
 *
 * Servers: MIGRATE_TEST_MYSQL_URL / MIGRATE_TEST_PG_URL, else the machine's MariaDB (root@127.0.0.1:3306)
 * and PostgreSQL (postgres@127.0.0.1:5432). The script only creates and drops databases named
 * corpus_measure_* there; for replica-first it starts its own sandbox MariaDB primary + replica
 * (test/helpers/sandbox.ts) and stops it at the end. Method: test/corpus/README.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Dialect } from '../src/config/types.ts';
import { caseSourceHash, loadCorpus, type CorpusCase } from '../test/corpus/load.ts';
import { type AlgorithmMeasurement, measureAlgorithm } from '../test/corpus/measure-algorithm.ts';
import { type PhaseMeasurement, phasePolicy, refusalClass } from '../test/corpus/phase-policy.ts';
import { type CaseStatements, CONVERSIONS, type CorpusBench, openCorpusBench } from '../test/corpus/measure-replica-first-corpus.ts';
import { machineServer } from '../test/helpers/shadow.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'corpus');
/** Rows put in the tables the up names for the blocking measurement: enough that a copy or a scan under lock is visible. */
const BLOCKING_ROWS: Record<Dialect, number> = { mysql: 300_000, postgres: 1_000_000 };
/**
 * A write counts as blocked when it waited, inside the up, at least half of the up's duration, and the up
 * took at least BLOCKED_MIN_MS and GROWTH times as long as on the 3-row tables: the writes waited for work
 * that grows with the table (a copy, a rewrite, a scan under lock), not for a brief metadata lock.
 */
const BLOCKED_MIN_MS = 40;
const GROWTH = 5;

export type Measured = boolean | 'unmeasured';
export interface Measurement {
  value: Measured;
  /** What was run and what the server answered (or why it could not be measured). */
  evidence: string;
}
export interface CaseMeasurement {
  dialect: Dialect;
  /** caseSourceHash of the setup, up and down that were measured. */
  source: string;
  /** The written phase policy applied to the old statements' run (README.md): the refusals with their codes, the writes stored otherwise. */
  phase: PhaseMeasurement;
  backwardCompatible: Measurement;
  reversible: Measurement;
  dataLoss: Measurement;
  blocking: Measurement & { upMs?: number; smallUpMs?: number; longestWriteWaitMs?: number; rows?: number };
  algorithm: AlgorithmMeasurement;
  /** Forward on sandbox replication; `withSettings` is the first slave_type_conversions under which it is (null: none). */
  replicaFirstSafe: { value: boolean | null | 'unmeasured'; evidence: string; withSettings?: string | null };
  replicaFirstReverseSafe: { value: boolean | null | 'unmeasured'; evidence: string };
  /** The written policy applied to the measured blocking and replicaFirstSafe (README.md), not measured itself. */
  strategy: { value: 'in-place' | 'replica-first' | 'refused' | 'unmeasured'; evidence: string };
}

// ---------------------------------------------------------------- a connection for either dialect

interface Db {
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function connect(dialect: Dialect, database: string): Promise<Db> {
  const s = machineServer(dialect);
  if (dialect === 'mysql') {
    const c = await mysql.createConnection({
      host: s.host,
      port: s.port,
      user: s.user,
      password: s.password,
      database: database || undefined,
      multipleStatements: false,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    // A statement that waits longer than this is blocked for good: fail instead of hanging the run.
    await c.query('SET SESSION lock_wait_timeout = 60, innodb_lock_wait_timeout = 60');
    return {
      async query(sql) {
        const [rows] = await c.query({ sql, rowsAsArray: false });
        return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
      },
      close: () => c.end(),
    };
  }
  const c = new pg.Client({ host: s.host, port: s.port, user: s.user, password: s.password, database: database || 'postgres' });
  await c.connect();
  await c.query("SET statement_timeout = '60s'");
  // Each measurement opens its own connections; an error on one must not crash the run.
  c.on('error', () => undefined);
  return {
    async query(sql) {
      const r = await c.query(sql);
      return Array.isArray(r) ? [] : r.rows;
    },
    close: () => c.end(),
  };
}

const qi = (d: Dialect, name: string) => (d === 'mysql' ? `\`${name.replace(/`/g, '``')}\`` : `"${name.replace(/"/g, '""')}"`);
const ql = (v: string) => `'${v.replace(/'/g, "''")}'`;

async function createDatabase(d: Dialect, name: string): Promise<void> {
  const admin = await connect(d, '');
  try {
    await dropDatabaseWith(admin, d, name);
    await admin.query(`CREATE DATABASE ${qi(d, name)}`);
  } finally {
    await admin.close();
  }
}

async function dropDatabaseWith(admin: Db, d: Dialect, name: string): Promise<void> {
  if (!name.startsWith('corpus_measure_')) throw new Error(`refusing to drop ${name}: the script drops only corpus_measure_* databases`);
  if (d === 'postgres') await admin.query(`DROP DATABASE IF EXISTS ${qi(d, name)} WITH (FORCE)`);
  else await admin.query(`DROP DATABASE IF EXISTS ${qi(d, name)}`);
}

async function dropDatabase(d: Dialect, name: string): Promise<void> {
  const admin = await connect(d, '');
  try {
    await dropDatabaseWith(admin, d, name);
  } finally {
    await admin.close();
  }
}

// ---------------------------------------------------------------- the before-schema, read from the catalog

interface Column {
  name: string;
  type: string; // data_type, lower case
  length: number | null;
  precision: number | null;
  scale: number | null;
  nullable: boolean;
  /** Has a default (or AUTO_INCREMENT / serial): an INSERT may leave it out. */
  hasDefault: boolean;
  enumValues: string[] | null;
  udt: string; // PostgreSQL type name, for casts
}
interface Table {
  name: string;
  kind: 'table' | 'view';
  columns: Column[];
  pk: string[];
  unique: Set<string>;
  parents: string[];
}

async function readTables(db: Db, d: Dialect, database: string): Promise<Table[]> {
  const schemaCond = d === 'mysql' ? `table_schema = ${ql(database)}` : `table_schema = 'public'`;
  const tables = await db.query(`SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE ${schemaCond} ORDER BY table_name`);
  const out: Table[] = [];
  for (const t of tables) {
    const name = String(t['name']);
    const cols = await db.query(
      `SELECT column_name AS name, data_type AS type, character_maximum_length AS len, numeric_precision AS prec, numeric_scale AS scale, is_nullable AS nullable, ${d === 'mysql' ? 'column_type' : 'udt_name'} AS extra, column_default AS def${d === 'mysql' ? ', extra AS ai' : ''} FROM information_schema.columns WHERE ${schemaCond} AND table_name = ${ql(name)} ORDER BY ordinal_position`,
    );
    const columns: Column[] = [];
    for (const c of cols) {
      const type = String(c['type']).toLowerCase();
      let enumValues: string[] | null = null;
      if (d === 'mysql' && type === 'enum') enumValues = [...String(c['extra']).matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));
      if (d === 'postgres' && type === 'user-defined') {
        const labels = await db.query(
          `SELECT enumlabel AS l FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = ${ql(String(c['extra']))} ORDER BY e.enumsortorder`,
        );
        enumValues = labels.map((l) => String(l['l']));
      }
      columns.push({
        name: String(c['name']),
        type,
        length: c['len'] == null ? null : Number(c['len']),
        precision: c['prec'] == null ? null : Number(c['prec']),
        scale: c['scale'] == null ? null : Number(c['scale']),
        nullable: String(c['nullable']) === 'YES',
        hasDefault: c['def'] != null || /auto_increment/i.test(String(c['ai'] ?? '')),
        enumValues,
        udt: String(c['extra']),
      });
    }
    const keys = await db.query(
      `SELECT tc.constraint_type AS type, kcu.column_name AS col, kcu.constraint_name AS cname FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name WHERE tc.${schemaCond} AND tc.table_name = ${ql(name)}`,
    );
    const pk = keys.filter((k) => k['type'] === 'PRIMARY KEY').map((k) => String(k['col']));
    const unique = new Set(keys.filter((k) => k['type'] === 'UNIQUE').map((k) => String(k['col'])));
    const parents =
      d === 'mysql'
        ? (
            await db.query(
              `SELECT DISTINCT referenced_table_name AS p FROM information_schema.key_column_usage WHERE table_schema = ${ql(database)} AND table_name = ${ql(name)} AND referenced_table_name IS NOT NULL`,
            )
          ).map((r) => String(r['p']))
        : (
            await db.query(
              `SELECT DISTINCT confrelid::regclass::text AS p FROM pg_constraint WHERE contype = 'f' AND conrelid = ${ql(`public.${qi(d, name)}`)}::regclass`,
            )
          ).map((r) => String(r['p']).replace(/^"|"$/g, ''));
    out.push({ name, kind: String(t['type']).toUpperCase().includes('VIEW') ? 'view' : 'table', columns, pk, unique, parents });
  }
  return out;
}

/** Parents before children, so rows that reference another table find their parent row. */
function parentsFirst(tables: Table[]): Table[] {
  const done = new Set<string>();
  const out: Table[] = [];
  const visit = (t: Table, depth: number) => {
    if (done.has(t.name) || depth > 20) return;
    for (const p of t.parents) {
      const pt = tables.find((x) => x.name === p);
      if (pt && pt !== t) visit(pt, depth + 1);
    }
    done.add(t.name);
    out.push(t);
  };
  for (const t of tables) visit(t, 0);
  return out;
}

// ---------------------------------------------------------------- values that fit the before-schema

type Variant = 'typical' | 'max' | 'edge' | 'unicode';
const INT_MAX: Record<string, string> = {
  tinyint: '127',
  smallint: '32767',
  mediumint: '8388607',
  int: '2147483647',
  integer: '2147483647',
  bigint: '9223372036854775807',
};

/** A literal for column c of row i. Integer columns take i, so a reference to row i of a parent finds it. */
function literal(c: Column, i: number, variant: Variant): string {
  const t = c.type;
  if (variant === 'unicode' && !(t.includes('char') || t === 'text')) variant = 'typical';
  if (t in INT_MAX) return variant === 'max' ? INT_MAX[t]! : variant === 'edge' ? String(-i) : String(i);
  if (t === 'decimal' || t === 'numeric') {
    const p = c.precision ?? 10;
    const s = c.scale ?? 0;
    if (variant === 'max') return `${'9'.repeat(Math.max(1, p - s))}${s ? `.${'9'.repeat(s)}` : ''}`;
    // Every decimal place used (1.55 in a DECIMAL(10,2)), as stored prices are: a scale cut rounds them.
    const v = variant === 'edge' ? -i : i;
    return s ? `${v}.${'5'.repeat(s)}` : String(v);
  }
  if (c.enumValues) return ql(variant === 'max' ? c.enumValues[c.enumValues.length - 1]! : c.enumValues[0]!);
  if (t.includes('char') || t === 'text') {
    const n = c.length ?? 1000;
    if (variant === 'max') return ql('x'.repeat(Math.min(n, 1000)));
    if (variant === 'edge') return ql('');
    // Text the old code may well write and a narrower character set cannot hold.
    if (variant === 'unicode') return ql(Array.from('Zoë €5 😀').slice(0, n).join(''));
    return ql(`${c.name}${i}`.slice(0, n));
  }
  if (t === 'date') return ql(`2024-01-${String((i % 28) + 1).padStart(2, '0')}`);
  if (t.startsWith('datetime') || t.startsWith('timestamp')) return ql(`2024-01-${String((i % 28) + 1).padStart(2, '0')} 10:00:00`);
  if (t === 'boolean') return 'true';
  throw new Error(`no value generator for type ${t} (column ${c.name})`);
}

/** Nearly the same value as an SQL expression of the series variable s (bulk filling for the blocking measurement). */
function seriesExpr(d: Dialect, c: Column, s: string): string {
  const t = c.type;
  if (t in INT_MAX) return s;
  if (t === 'decimal' || t === 'numeric') return c.scale ? `(${s} % 1000 + 0.${'5'.repeat(c.scale)})` : `(${s} % 1000)`;
  if (c.enumValues) return d === 'postgres' ? `${ql(c.enumValues[0]!)}::${qi(d, c.udt)}` : ql(c.enumValues[0]!);
  if (t.includes('char') || t === 'text') {
    const n = c.length ?? 1000;
    return d === 'mysql' ? `LEFT(CONCAT(${ql(c.name)}, ${s}), ${n})` : `LEFT(${ql(c.name)} || ${s}, ${n})`;
  }
  if (t === 'date') return d === 'mysql' ? `DATE_ADD('2024-01-01', INTERVAL ${s} % 300 DAY)` : `DATE '2024-01-01' + (${s} % 300)::int`;
  if (t.startsWith('datetime') || t.startsWith('timestamp'))
    return d === 'mysql' ? `DATE_ADD('2024-01-01', INTERVAL ${s} SECOND)` : `TIMESTAMP '2024-01-01' + ${s} * INTERVAL '1 second'`;
  if (t === 'boolean') return 'true';
  throw new Error(`no value generator for type ${t} (column ${c.name})`);
}

function insertRow(d: Dialect, t: Table, i: number, variant: Variant | 'nulls' | 'copy-of-row-1', row1?: Record<string, unknown>): string {
  const vals = t.columns.map((c) => {
    const key = t.pk.includes(c.name) || t.unique.has(c.name);
    if (variant === 'nulls' && c.nullable && !key) return 'NULL';
    if (variant === 'copy-of-row-1' && !key && row1) return row1[c.name] == null ? 'NULL' : ql(String(row1[c.name]));
    // Keys stay fresh in every variant: a duplicate key is not a write the old code could make.
    if (key) return literal(c, i, 'typical');
    return literal(c, i, variant === 'nulls' || variant === 'copy-of-row-1' ? 'typical' : variant);
  });
  return `INSERT INTO ${qi(d, t.name)} (${t.columns.map((c) => qi(d, c.name)).join(', ')}) VALUES (${vals.join(', ')})`;
}

/** The running release's statements, derived from the before-schema (see README.md for why these). */
function oldStatements(d: Dialect, tables: Table[], row1s: Record<string, Record<string, unknown> | undefined>): string[] {
  const out: string[] = [];
  for (const t of tables) {
    const cols = t.columns.map((c) => qi(d, c.name)).join(', ');
    out.push(`SELECT ${cols} FROM ${qi(d, t.name)}`);
    if (t.kind === 'view') continue;
    out.push(insertRow(d, t, 101, 'typical'));
    out.push(insertRow(d, t, 102, 'max'));
    out.push(insertRow(d, t, 103, 'nulls'));
    out.push(insertRow(d, t, 104, 'copy-of-row-1', row1s[t.name]));
    out.push(insertRow(d, t, 105, 'edge'));
    out.push(insertRow(d, t, 106, 'unicode'));
    // The shortest INSERT the before-schema accepts: only the NOT NULL columns without a default.
    const required = t.columns.filter((c) => !c.nullable && !c.hasDefault);
    if (!required.length && d === 'postgres') out.push(`INSERT INTO ${qi(d, t.name)} DEFAULT VALUES`);
    else
      out.push(
        `INSERT INTO ${qi(d, t.name)} (${required.map((c) => qi(d, c.name)).join(', ')}) VALUES (${required.map((c) => literal(c, 107, 'typical')).join(', ')})`,
      );
    const pk = t.pk[0] ? t.columns.find((c) => c.name === t.pk[0]) : undefined;
    const where = pk ? ` WHERE ${qi(d, pk.name)} = ${literal(pk, 1, 'typical')}` : '';
    for (const c of t.columns) if (!t.pk.includes(c.name)) out.push(`UPDATE ${qi(d, t.name)} SET ${qi(d, c.name)} = ${literal(c, 50, 'typical')}${where}`);
    if (pk) out.push(`DELETE FROM ${qi(d, t.name)} WHERE ${qi(d, pk.name)} = ${literal(pk, 3, 'typical')}`);
  }
  return out;
}

/** Runs a statement and undoes its writes, so each old statement is judged alone on the same rows. */
async function tryRolledBack(db: Db, d: Dialect, sql: string): Promise<string | null> {
  return (await tryRolledBackCoded(db, d, sql))?.message ?? null;
}

/** The server's answer to a refused statement: MariaDB's error number, PostgreSQL's SQLSTATE. */
interface Refusal {
  message: string;
  code: string;
}

async function tryRolledBackCoded(db: Db, d: Dialect, sql: string): Promise<Refusal | null> {
  return (await tryRolledBackObserved(db, d, sql, false)).refusal;
}

/**
 * Also what the write stored, when `observe` is set: the values of the columns it names, in the rows it
 * added or changed (read back before the rollback), or null when the statement is no INSERT/UPDATE of one
 * table that this reads.
 */
async function tryRolledBackObserved(db: Db, d: Dialect, sql: string, observe: boolean): Promise<{ refusal: Refusal | null; stored: string[] | null }> {
  const target = observe ? writeTarget(sql) : null;
  await db.query(d === 'mysql' ? 'START TRANSACTION' : 'BEGIN');
  try {
    const before = target ? await readRows(db, d, target.table) : null;
    await db.query(sql);
    const after = before && target ? await readRows(db, d, target.table) : null;
    return { refusal: null, stored: before && after && target ? storedValues(before, after, target.columns) : null };
  } catch (e) {
    const err = e as Error & { errno?: number; code?: string };
    // mysql2 puts the server's number in errno (code is its symbolic name); pg puts the SQLSTATE in code.
    const code = d === 'mysql' ? String(err.errno ?? '?') : String(err.code ?? '?');
    return { refusal: { message: err.message.split('\n')[0]!, code }, stored: null };
  } finally {
    await db.query('ROLLBACK');
  }
}

// ---------------------------------------------------------------- what the old code's writes stored (phase, test/corpus/phase-policy.ts)

/** The table an INSERT or UPDATE writes and the columns it names (the derived statements' shapes, and plain -- queries). */
function writeTarget(sql: string): { table: string; columns: string[] } | null {
  const unq = (n: string) => n.trim().replace(/^[`"]|[`"]$/g, '');
  const ins = /^\s*insert\s+into\s+([`"]?\w+[`"]?)\s*\(([^)]*)\)/i.exec(sql);
  if (ins) return { table: unq(ins[1]!), columns: ins[2]!.split(',').map(unq) };
  const upd = /^\s*update\s+([`"]?\w+[`"]?)\s+set\s+(.*?)(?:\s+where\b.*)?$/is.exec(sql);
  if (upd) return { table: unq(upd[1]!), columns: [...upd[2]!.matchAll(/(?:^|,)\s*([`"]?\w+[`"]?)\s*=/g)].map((m) => unq(m[1]!)) };
  return null;
}

async function readRows(db: Db, d: Dialect, table: string): Promise<Record<string, unknown>[] | null> {
  // In PostgreSQL a failed statement aborts the transaction: the savepoint keeps a failed read from failing the write.
  if (d === 'postgres') await db.query('SAVEPOINT read_rows');
  try {
    const rows = await db.query(`SELECT * FROM ${qi(d, table)}`);
    if (d === 'postgres') await db.query('RELEASE SAVEPOINT read_rows');
    return rows;
  } catch {
    if (d === 'postgres') await db.query('ROLLBACK TO SAVEPOINT read_rows');
    return null;
  }
}

/** A value as stored, so that the same value reads the same under another type (1.50 and 1.5, a bigint as a string). */
function normal(v: unknown): string | null {
  if (v == null) return null;
  const s = v instanceof Date ? v.toISOString() : String(v);
  return /^-?\d+\.\d*$/.test(s) ? s.replace(/\.?0+$/, '') : s;
}

/** The named columns of the rows the write added or changed: rows after it that were not there before it. */
function storedValues(before: Record<string, unknown>[], after: Record<string, unknown>[], columns: string[]): string[] {
  const key = (r: Record<string, unknown>) => JSON.stringify(Object.keys(r).map((k) => [k, normal(r[k])]));
  const left = new Map<string, number>();
  for (const r of before) left.set(key(r), (left.get(key(r)) ?? 0) + 1);
  const written: string[] = [];
  for (const r of after) {
    const k = key(r);
    if (left.get(k)) left.set(k, left.get(k)! - 1);
    else written.push(JSON.stringify(columns.map((c) => (c in r ? normal(r[c]) : '<no such column>'))));
  }
  return written.sort();
}

// ---------------------------------------------------------------- schema and data dumps

async function schemaDump(db: Db, d: Dialect, database: string): Promise<string> {
  if (d === 'postgres') {
    const s = machineServer(d);
    const text = execFileSync('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '-h', s.host, '-p', String(s.port), '-U', s.user, database], {
      encoding: 'utf8',
      env: { ...process.env, ...(s.password ? { PGPASSWORD: s.password } : {}) },
    });
    return (
      text
        .split('\n')
        // pg_dump 15.14+ brackets its output with \restrict <random key> lines that differ on every run.
        .filter((l) => l.trim() && !l.startsWith('--') && !/^SET |^SELECT pg_catalog\.set_config|^\\(un)?restrict /.test(l))
        .join('\n')
    );
  }
  const parts: string[] = [];
  for (const t of await db.query(
    `SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = ${ql(database)} ORDER BY table_name`,
  )) {
    const view = String(t['type']).includes('VIEW');
    const [row] = await db.query(`SHOW CREATE ${view ? 'VIEW' : 'TABLE'} ${qi(d, String(t['name']))}`);
    const text = String(row?.[view ? 'Create View' : 'Create Table'] ?? '');
    // The AUTO_INCREMENT counter moves with inserted rows; it is not part of the schema a down restores.
    parts.push(text.replace(/ AUTO_INCREMENT=\d+/, '').replace(/DEFINER=`[^`]*`@`[^`]*` /, ''));
  }
  return parts.join('\n');
}

async function dataDump(db: Db, d: Dialect, tables: Table[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of tables) {
    if (t.kind === 'view') continue;
    try {
      const cols = t.columns.map((c) => qi(d, c.name)).join(', ');
      const rows = await db.query(`SELECT ${cols} FROM ${qi(d, t.name)}`);
      out[t.name] = rows.map((r) => JSON.stringify(t.columns.map((c) => (r[c.name] == null ? null : String(r[c.name]))))).sort();
    } catch (e) {
      out[t.name] = [`<unreadable: ${(e as Error).message.split('\n')[0]}>`];
    }
  }
  return out;
}

function firstDiff(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  for (let i = 0; i < Math.max(al.length, bl.length); i++) if (al[i] !== bl[i]) return `before: ${al[i] ?? '<nothing>'} | after down: ${bl[i] ?? '<nothing>'}`;
  return '';
}

// ---------------------------------------------------------------- one case

const up = (c: CorpusCase) => c.migrations[c.migrations.length - 1]!;
const setupSql = (c: CorpusCase) => (c.migrations.length > 1 ? (c.migrations[0]!.upSql ?? []) : []);

async function runAll(db: Db, sqls: string[]): Promise<void> {
  for (const s of sqls) await db.query(s);
}

const isWrite = (sql: string) => !/^\s*select\b/i.test(sql);
/** The writes whose stored values the phase policy compares (a DELETE stores none). */
const isStoringWrite = (sql: string) => /^\s*(insert|update)\b/i.test(sql);
const bareName = (n: string) => n.replace(/^`|`$/g, '');

/** Column renames the up writes (RENAME COLUMN a TO b, CHANGE a b), old name -> new name. */
function columnRenames(c: CorpusCase): Record<string, string> {
  const text = (up(c).upSql ?? []).join('\n');
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/rename\s+column\s+(\S+)\s+to\s+([^\s,;]+)/gi)) out[bareName(m[1]!)] = bareName(m[2]!);
  for (const m of text.matchAll(/\bchange\s+(?:column\s+)?(\S+)\s+(\S+)/gi)) if (m[1] !== m[2]) out[bareName(m[1]!)] = bareName(m[2]!);
  return out;
}

/**
 * Called with the up applied: the old code's writes (those that ran on the before-schema) and the new
 * code's, derived from the after-schema the same way and kept where they run on it.
 */
async function replicaFirstStatements(db: Db, c: CorpusCase, before: Table[], oldCode: string[], database: string): Promise<CaseStatements> {
  const d = c.dialect;
  const after = await readTables(db, d, database);
  const row1s: Record<string, Record<string, unknown> | undefined> = {};
  for (const t of after) if (t.kind === 'table' && t.pk[0]) row1s[t.name] = (await db.query(`SELECT * FROM ${qi(d, t.name)} WHERE ${qi(d, t.pk[0])} = 1`))[0];
  const newWrites: string[] = [];
  for (const s of oldStatements(d, after, row1s).filter(isWrite)) if ((await tryRolledBack(db, d, s)) === null) newWrites.push(s);
  const seed: string[] = [];
  for (const t of parentsFirst(before)) if (t.kind === 'table') for (let i = 1; i <= 3; i++) seed.push(insertRow(d, t, i, 'typical'));
  return { setup: setupSql(c), seed, up: up(c).upSql ?? [], oldWrites: oldCode.filter(isWrite), newWrites, renames: columnRenames(c) };
}

/** reversible, dataLoss, backwardCompatible: a few rows, the old statements, up, then down. */
type Correctness = Omit<CaseMeasurement, 'blocking' | 'algorithm' | 'replicaFirstSafe' | 'replicaFirstReverseSafe' | 'strategy' | 'dialect' | 'source'> & {
  smallUpMs?: number;
  /** What the replica-first measurement runs (MariaDB, with rows): the old and the new code's writes. */
  rf?: CaseStatements;
};

/**
 * With 3 rows per table; when the up refuses those rows (PostgreSQL: a NOT NULL column without a
 * default), again on empty tables, where compatibility and reversibility still show (data loss cannot).
 */
async function measureCorrectness(c: CorpusCase, opts: { replicaFirstStatements: boolean } = { replicaFirstStatements: true }): Promise<Correctness> {
  const withRows = await measureCorrectnessWith(c, 3, opts.replicaFirstStatements);
  if (!withRows.upError) return withRows;
  const empty = await measureCorrectnessWith(c, 0, false);
  if (empty.upError) return withRows;
  const note = <M extends { value: unknown; evidence: string }>(m: M): M =>
    m.value === 'unmeasured' ? m : { ...m, evidence: `on empty tables (${withRows.upError}): ${m.evidence}` };
  return {
    smallUpMs: empty.smallUpMs,
    phase: note(empty.phase),
    backwardCompatible: note(empty.backwardCompatible),
    reversible: note(empty.reversible),
    dataLoss: { value: 'unmeasured', evidence: withRows.upError },
  };
}

async function measureCorrectnessWith(c: CorpusCase, rows: number, withReplicaFirst: boolean): Promise<Correctness & { upError?: string }> {
  const d = c.dialect;
  const database = `corpus_measure_${c.name}`;
  await createDatabase(d, database);
  const db = await connect(d, database);
  const unmeasured = (why: string): Measurement => ({ value: 'unmeasured', evidence: why });
  try {
    await runAll(db, setupSql(c));
    const tables = await readTables(db, d, database);
    const schemaBefore = await schemaDump(db, d, database);
    for (const t of parentsFirst(tables)) if (t.kind === 'table') for (let i = 1; i <= rows; i++) await db.query(insertRow(d, t, i, 'typical'));
    const dataBefore = await dataDump(db, d, tables);
    const row1s: Record<string, Record<string, unknown> | undefined> = {};
    for (const t of tables)
      if (t.kind === 'table' && t.pk[0]) row1s[t.name] = (await db.query(`SELECT * FROM ${qi(d, t.name)} WHERE ${qi(d, t.pk[0])} = 1`))[0];
    // Only statements that run on the before-schema stand for the old code.
    const statements: string[] = [];
    const excluded: string[] = [];
    // A case's -- queries lines are the old code itself; otherwise it is derived from the schema.
    const candidates = c.queries.length ? c.queries : oldStatements(d, tables, row1s);
    const storedBefore = new Map<string, string[] | null>();
    for (const s of candidates) {
      const r = await tryRolledBackObserved(db, d, s, true);
      (r.refusal === null ? statements : excluded).push(s);
      storedBefore.set(s, r.stored);
    }

    const t0 = performance.now();
    try {
      await runAll(db, up(c).upSql ?? []);
    } catch (e) {
      const why = `up failed on a schema holding ${rows} rows per table: ${(e as Error).message.split('\n')[0]}`;
      return {
        upError: why,
        phase: { value: 'unmeasured', evidence: why },
        backwardCompatible: unmeasured(why),
        reversible: unmeasured(why),
        dataLoss: unmeasured(why),
      };
    }
    const smallUpMs = performance.now() - t0;
    const broken: string[] = [];
    const refused: NonNullable<PhaseMeasurement['refused']> = [];
    const altered: NonNullable<PhaseMeasurement['altered']> = [];
    const unobserved: string[] = [];
    let readBack = 0;
    for (const s of statements) {
      const { refusal: err, stored } = await tryRolledBackObserved(db, d, s, true);
      const was = storedBefore.get(s);
      if (!err) {
        if (isStoringWrite(s)) {
          if (!stored || !was) unobserved.push(s);
          else readBack++;
        }
        // The same number of rows written, holding other values: the type changed what was written. A write
        // that finds fewer rows (the up deleted them: TRUNCATE) says nothing about the type.
        if (stored && was && stored.length === was.length && stored.join() !== was.join())
          altered.push({ statement: s, before: was.join(' '), after: stored.join(' ') });
        continue;
      }
      broken.push(`${s} -> ${err.message}`);
      refused.push({ statement: s, code: err.code, class: refusalClass(d, err.code), message: err.message });
    }
    const phase = phasePolicy(refused, altered, { readBack, unobserved }, statements.length, c.queries.length ? "(the case's -- queries lines) " : '');
    const backwardCompatible: Measurement = broken.length
      ? { value: false, evidence: `${broken.length} of ${statements.length} old statements fail after up, e.g. ${broken[0]}` }
      : {
          value: true,
          evidence: `all ${statements.length} old statements (${c.queries.length ? "the case's -- queries lines" : 'SELECT/INSERT/UPDATE/DELETE naming every column of the before-schema'}) still run after up${excluded.length ? `; ${excluded.length} excluded because they fail before up too` : ''}`,
        };

    const rf = d === 'mysql' && rows > 0 && withReplicaFirst ? await replicaFirstStatements(db, c, tables, statements, database) : undefined;
    const down = up(c).downSql;
    if (!down) {
      return {
        smallUpMs,
        rf,
        phase,
        backwardCompatible,
        reversible: { value: false, evidence: 'the migration has no down' },
        dataLoss: unmeasured('no down to run, so the rows cannot be compared with the before-state'),
      };
    }
    try {
      await runAll(db, down);
    } catch (e) {
      const why = `down failed after up: ${(e as Error).message.split('\n')[0]}`;
      return { smallUpMs, rf, phase, backwardCompatible, reversible: { value: false, evidence: why }, dataLoss: unmeasured(why) };
    }
    const schemaAfter = await schemaDump(db, d, database);
    const reversible: Measurement =
      schemaAfter === schemaBefore
        ? { value: true, evidence: `${d === 'mysql' ? 'SHOW CREATE TABLE/VIEW' : 'pg_dump --schema-only'} after setup+up+down equals the one after setup` }
        : { value: false, evidence: `schema after setup+up+down differs from the one after setup: ${firstDiff(schemaBefore, schemaAfter)}` };
    const dataAfter = await dataDump(db, d, tables);
    const lost: string[] = [];
    for (const t of Object.keys(dataBefore))
      if (JSON.stringify(dataBefore[t]) !== JSON.stringify(dataAfter[t]))
        lost.push(`${t}: before ${dataBefore[t]!.join(' ')} after ${dataAfter[t]!.join(' ')}`);
    const rowCount = Object.values(dataBefore).reduce((a, r) => a + r.length, 0);
    const dataLoss: Measurement = !rowCount
      ? unmeasured('no rows to compare')
      : lost.length
        ? { value: true, evidence: `rows changed by up+down: ${lost[0]}` }
        : { value: false, evidence: `all ${rowCount} rows inserted after setup read back unchanged after up+down` };
    return { smallUpMs, rf, phase, backwardCompatible, reversible, dataLoss };
  } finally {
    await db.close();
    await dropDatabase(d, database);
  }
}

/** Tables of the before-schema that the up's text names (the ones a concurrent write could wait on). */
function namedTables(c: CorpusCase, tables: Table[]): Table[] {
  const text = (up(c).upSql ?? []).join('\n');
  return tables.filter((t) => t.kind === 'table' && new RegExp(`(^|[^A-Za-z0-9_])${t.name}([^A-Za-z0-9_]|$)`, 'i').test(text));
}

/**
 * blocking: fill the tables the up names with many rows, keep writing to them from other connections
 * while the up runs, and see whether a write waited for (most of) the up.
 */
/** A timing on a shared machine: a "blocked" answer counts only when a second, fresh run gives it too. */
async function measureBlocking(c: CorpusCase, smallUpMs: number | undefined): Promise<CaseMeasurement['blocking']> {
  const first = await measureBlockingOnce(c, smallUpMs);
  if (first.value !== true) return first;
  const second = await measureBlockingOnce(c, smallUpMs);
  if (second.value === true)
    return { ...second, evidence: `${second.evidence}; a first run agreed (up ${first.upMs} ms, write waited ${first.longestWriteWaitMs} ms)` };
  return { ...second, value: 'unmeasured', evidence: `two runs disagree: first blocked (${first.evidence}); second: ${second.evidence}` };
}

async function measureBlockingOnce(c: CorpusCase, smallUpMs: number | undefined): Promise<CaseMeasurement['blocking']> {
  const d = c.dialect;
  const database = `corpus_measure_${c.name}_blocking`;
  const n = BLOCKING_ROWS[d];
  await createDatabase(d, database);
  const db = await connect(d, database);
  const probes: Db[] = [];
  try {
    await runAll(db, setupSql(c));
    const tables = await readTables(db, d, database);
    const named = namedTables(c, tables);
    if (!named.length) return { value: false, evidence: 'the up names no table that exists before it, so no existing write can wait on it' };
    const fill = new Set<string>();
    const addWithParents = (t: Table) => {
      fill.add(t.name);
      for (const p of t.parents) {
        const pt = tables.find((x) => x.name === p);
        if (pt && !fill.has(p)) addWithParents(pt);
      }
    };
    named.forEach(addWithParents);
    for (const t of parentsFirst(tables.filter((x) => fill.has(x.name)))) {
      const cols = t.columns.map((col) => qi(d, col.name)).join(', ');
      const exprs = t.columns.map((col) => seriesExpr(d, col, 's')).join(', ');
      const from = d === 'mysql' ? `(SELECT seq AS s FROM seq_1_to_${n}) g` : `generate_series(1, ${n}) AS g(s)`;
      await db.query(`INSERT INTO ${qi(d, t.name)} (${cols}) SELECT ${exprs} FROM ${from}`);
    }
    // Autovacuum wakes up after a bulk load and its lock delays the up (seen: 3.5 s with writes flowing):
    // vacuum now and keep it off, so the up waits for nothing but the writes it blocks.
    if (d === 'postgres') {
      for (const name of fill) {
        await db.query(`ALTER TABLE ${qi(d, name)} SET (autovacuum_enabled = false)`);
        await db.query(`VACUUM ANALYZE ${qi(d, name)}`);
      }
    }

    // One writer per named table: INSERT a new row whose references point at existing rows, then UPDATE an existing row.
    const waits: { start: number; end: number }[] = [];
    let stop = false;
    const writers = named.map(async (t, w) => {
      const p = await connect(d, database);
      probes.push(p);
      let k = 0;
      while (!stop) {
        k++;
        const i = n + 1000 * w + k;
        const vals = t.columns.map((col) => (col.type in INT_MAX && !t.pk.includes(col.name) ? String((k % n) + 1) : literal(col, i, 'typical')));
        const target = t.columns.find((col) => !t.pk.includes(col.name));
        const stmts = [`INSERT INTO ${qi(d, t.name)} (${t.columns.map((col) => qi(d, col.name)).join(', ')}) VALUES (${vals.join(', ')})`];
        if (target && t.pk[0]) stmts.push(`UPDATE ${qi(d, t.name)} SET ${qi(d, target.name)} = ${qi(d, target.name)} WHERE ${qi(d, t.pk[0])} = ${(k % n) + 1}`);
        for (const s of stmts) {
          const start = performance.now();
          try {
            await p.query(s);
          } catch (e) {
            // After the up the old write may fail (that is backwardCompatible's business); only its wait counts here.
            if (process.env['CORPUS_MEASURE_DEBUG']) process.stderr.write(`write failed: ${(e as Error).message}\n`);
          }
          waits.push({ start, end: performance.now() });
        }
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    let upError: string | undefined;
    try {
      await runAll(db, up(c).upSql ?? []);
    } catch (e) {
      upError = (e as Error).message.split('\n')[0];
    }
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(writers);
    const upMs = Math.round(t1 - t0);
    if (process.env['CORPUS_MEASURE_DEBUG'])
      for (const w of waits) process.stderr.write(`write ${Math.round(w.start - t0)}..${Math.round(w.end - t0)} ms (up 0..${upMs})\n`);
    // Only the part of a write's wait that fell inside the up counts, and only for a write that finished
    // around the up's end (the server answers the up some tens of ms after it releases its lock; seen:
    // 53 ms after a 4 s rewrite): a write slowed by the machine before the up is not blocked by it.
    const during = waits.filter((w) => w.end >= t0 && w.start <= t1);
    const outside = waits.filter((w) => w.end < t0 || w.start > t1);
    const slack = Math.max(50, (t1 - t0) / 4);
    const held = during.filter((w) => w.end >= t1 - slack).map((w) => Math.min(w.end, t1) - Math.max(w.start, t0));
    const longest = Math.round(Math.max(0, ...held));
    const baseline = Math.round(Math.max(0, ...outside.map((w) => w.end - w.start)));
    const small = Math.max(1, Math.round(smallUpMs ?? 1));
    const base = { upMs, smallUpMs: small, longestWriteWaitMs: longest, rows: n };
    if (upError) return { ...base, value: 'unmeasured', evidence: `up failed on the filled table: ${upError}` };
    if (!during.length) return { ...base, value: 'unmeasured', evidence: `no write overlapped the ${upMs} ms up` };
    const blocked = longest >= upMs / 2 && upMs >= BLOCKED_MIN_MS && upMs >= GROWTH * small;
    return {
      ...base,
      value: blocked,
      evidence: `${n} rows in ${named.map((t) => t.name).join(', ')}: up took ${upMs} ms; a concurrent INSERT/UPDATE waited ${longest} ms of it and finished around its end (${during.length} writes overlapped the up; the slowest write outside it took ${baseline} ms); the up took ${small} ms on 3 rows; blocked means a write waited >= half the up, and the up took >= ${BLOCKED_MIN_MS} ms and >= ${GROWTH}x its 3-row time`,
    };
  } finally {
    for (const p of probes) await p.close().catch(() => undefined);
    await db.close();
    await dropDatabase(d, database);
  }
}

// ---------------------------------------------------------------- algorithm (MariaDB)

/**
 * algorithm: the up on the before-schema holding 3 rows per table, each statement that alters an existing
 * table asked for INSTANT, NOCOPY, INPLACE, COPY in turn (test/corpus/measure-algorithm.ts). When a
 * statement fails on those rows for another reason than the algorithm, again on empty tables.
 */
async function measureAlgorithmOf(c: CorpusCase): Promise<AlgorithmMeasurement> {
  if (c.dialect === 'postgres') return { value: null, evidence: 'PostgreSQL has no ALGORITHM clause: the verdict has no algorithm' };
  const withRows = await measureAlgorithmWith(c, 3);
  if (withRows.value !== 'unmeasured' || withRows.evidence.includes('declares')) return withRows;
  const empty = await measureAlgorithmWith(c, 0);
  return empty.value === 'unmeasured' ? withRows : { ...empty, evidence: `on empty tables (with 3 rows: ${withRows.evidence}): ${empty.evidence}` };
}

async function measureAlgorithmWith(c: CorpusCase, rows: number): Promise<AlgorithmMeasurement> {
  const d = c.dialect;
  const database = `corpus_measure_${c.name}_algorithm`;
  await createDatabase(d, database);
  const db = await connect(d, database);
  try {
    await runAll(db, setupSql(c));
    const tables = await readTables(db, d, database);
    for (const t of parentsFirst(tables)) if (t.kind === 'table') for (let i = 1; i <= rows; i++) await db.query(insertRow(d, t, i, 'typical'));
    const existing = new Set(tables.filter((t) => t.kind === 'table').map((t) => t.name.toLowerCase()));
    return await measureAlgorithm(db, up(c).upSql ?? [], existing);
  } catch (e) {
    return { value: 'unmeasured', evidence: `with ${rows} rows per table: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    await db.close();
    await dropDatabase(d, database);
  }
}

// ---------------------------------------------------------------- replica-first (MariaDB replication) and strategy

type ReplicaFirst = Pick<CaseMeasurement, 'replicaFirstSafe' | 'replicaFirstReverseSafe'>;

/**
 * Replica-first is a way to run a schema change of an existing table: it applies where the up alters one
 * (a statement the algorithm measurement asked about) or renames one; elsewhere both fields are null.
 */
async function measureReplicaFirst(
  bench: CorpusBench | undefined,
  c: CorpusCase,
  rf: CaseStatements | undefined,
  algorithm: AlgorithmMeasurement,
): Promise<ReplicaFirst> {
  const na = (why: string): ReplicaFirst => ({ replicaFirstSafe: { value: null, evidence: why }, replicaFirstReverseSafe: { value: null, evidence: why } });
  const no = (why: string): ReplicaFirst => ({
    replicaFirstSafe: { value: 'unmeasured', evidence: why },
    replicaFirstReverseSafe: { value: 'unmeasured', evidence: why },
  });
  if (c.dialect === 'postgres') return na('PostgreSQL streaming replication copies the primary byte for byte: no replica can hold another schema');
  const renames = (up(c).upSql ?? []).some((s) => /^\s*rename\s+table\b/i.test(s));
  if (!algorithm.statements?.length && !renames) {
    if (algorithm.value === 'unmeasured') return no(`which statements alter an existing table is unknown: ${algorithm.evidence}`);
    return na('the up alters and renames no table that existed before it: nothing to run replica-first');
  }
  if (!bench) return no('replication sandbox not started');
  if (!rf) return no('the up fails on a schema holding rows, so there are no old-code writes to replicate');
  try {
    return { replicaFirstSafe: await forwardOf(bench, c.name, rf), replicaFirstReverseSafe: await reverseOf(bench, c.name, rf) };
  } catch (e) {
    return no(`the replication run failed: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Default settings first; where they do not replicate every value correctly, the settings the plan may use. */
async function forwardOf(bench: CorpusBench, name: string, rf: CaseStatements): Promise<CaseMeasurement['replicaFirstSafe']> {
  const first = await bench.forward(name, rf, '');
  if (first.ok) return { value: true, evidence: first.evidence, withSettings: '' };
  const tried = [first.evidence];
  for (const setting of CONVERSIONS.slice(1)) {
    const r = await bench.forward(name, rf, setting);
    tried.push(r.evidence);
    if (r.ok) return { value: false, evidence: tried.join(' | '), withSettings: setting };
  }
  return { value: false, evidence: tried.join(' | '), withSettings: null };
}

async function reverseOf(bench: CorpusBench, name: string, rf: CaseStatements): Promise<CaseMeasurement['replicaFirstReverseSafe']> {
  const r = await bench.reverse(name, rf);
  return { value: r.ok, evidence: r.evidence };
}

/**
 * The strategy policy, applied to measurements (written apart from src/analysis/verdict.ts): in-place when
 * the up does not block writes; replica-first when it blocks and replica-first is safe (MariaDB, with the
 * settings measured to make it so); refused otherwise, unless the case acknowledges the block.
 */
function strategyOf(c: CorpusCase, blocking: Measured, rf: CaseMeasurement['replicaFirstSafe']): CaseMeasurement['strategy'] {
  if (blocking === 'unmeasured') return { value: 'unmeasured', evidence: 'blocking is unmeasured' };
  if (!blocking) return { value: 'in-place', evidence: 'measured not blocking: runs in place' };
  if (rf.value === 'unmeasured') return { value: 'unmeasured', evidence: `blocking, and replicaFirstSafe is unmeasured (${rf.evidence})` };
  if (rf.value === true || (rf.withSettings !== undefined && rf.withSettings !== null))
    return {
      value: 'replica-first',
      evidence: `blocking, and replica-first measured safe${rf.value === true ? '' : ` with slave_type_conversions='${rf.withSettings}'`}`,
    };
  // An acknowledgement covers the findings it names, and which findings block is the engine's reading.
  if (up(c).acknowledgements.length)
    return {
      value: 'unmeasured',
      evidence:
        'blocking and not replica-first safe, and the case acknowledges findings: the policy then depends on which findings are blocking, an engine answer',
    };
  return { value: 'refused', evidence: `blocking, and replica-first ${rf.value === null ? 'does not apply' : 'measured unsafe under every setting'}` };
}

async function serverVersion(d: Dialect): Promise<string> {
  const db = await connect(d, '');
  try {
    const [r] = await db.query(d === 'mysql' ? 'SELECT VERSION() AS v' : 'SHOW server_version');
    return String(r?.['v'] ?? r?.['server_version']);
  } finally {
    await db.close();
  }
}

/**
 * The servers the old statements ran on, with MariaDB's sql_mode: whether an out-of-type write is refused
 * (strict) or stored clipped, which decides between the policy's "refused" and "altered", depends on it.
 */
async function serverSettings(): Promise<{ mysql: string; mysqlSqlMode: string; postgres: string }> {
  const db = await connect('mysql', '');
  let sqlMode: string;
  try {
    const [r] = await db.query('SELECT @@SESSION.sql_mode AS m');
    sqlMode = String(r?.['m']);
  } finally {
    await db.close();
  }
  return { mysql: await serverVersion('mysql'), mysqlSqlMode: sqlMode, postgres: await serverVersion('postgres') };
}

async function measureCases(only: string[], bench: CorpusBench | undefined): Promise<Record<string, CaseMeasurement>> {
  const results: Record<string, CaseMeasurement> = {};
  for (const dialect of ['mysql', 'postgres'] as const) {
    for (const c of loadCorpus(join(root, dialect), dialect)) {
      if (only.length && !only.some((o) => c.name.startsWith(o))) continue;
      const t = performance.now();
      const correctness = await measureCorrectness(c);
      const { smallUpMs, ...measured } = correctness;
      const blocking = await measureBlocking(c, smallUpMs);
      const algorithm = await measureAlgorithmOf(c);
      const rf = await measureReplicaFirst(bench, c, correctness.rf, algorithm);
      const strategy = strategyOf(c, blocking.value, rf.replicaFirstSafe);
      const { rf: _statements, ...fields } = measured;
      results[c.name] = { dialect, source: caseSourceHash(c), ...fields, blocking, algorithm, ...rf, strategy };
      const short = (m: Measurement) => String(m.value);
      process.stderr.write(
        `${c.name}: phase=${correctness.phase.value} bc=${short(correctness.backwardCompatible)} rev=${short(correctness.reversible)} loss=${short(correctness.dataLoss)} blocking=${short(blocking)} algorithm=${String(algorithm.value)} rf=${String(rf.replicaFirstSafe.value)}/${String(rf.replicaFirstReverseSafe.value)} strategy=${strategy.value} (${blocking.smallUpMs ?? '-'}/${blocking.upMs ?? '-'}/${blocking.longestWriteWaitMs ?? '-'} ms) ${Math.round(performance.now() - t)} ms\n`,
      );
    }
  }
  return results;
}

/**
 * `--phase-only`: phase alone, from the old statements' run (minutes, where the whole measurement takes
 * most of an hour). Its other fields are unchanged, so it only updates cases measured from the same source.
 */
async function measurePhaseOnly(only: string[]): Promise<void> {
  const file = JSON.parse(readFileSync(join(root, 'measured.json'), 'utf8')) as { cases: Record<string, CaseMeasurement> } & Record<string, unknown>;
  const phases: Record<string, PhaseMeasurement> = {};
  for (const dialect of ['mysql', 'postgres'] as const) {
    for (const c of loadCorpus(join(root, dialect), dialect)) {
      if (only.length && !only.some((o) => c.name.startsWith(o))) continue;
      const recorded = file.cases[c.name];
      if (!only.length && recorded?.source !== caseSourceHash(c))
        throw new Error(`${c.name} changed since measured.json was written (or is not in it): run the whole measurement (npm run corpus:measure)`);
      phases[c.name] = (await measureCorrectness(c, { replicaFirstStatements: false })).phase;
      process.stderr.write(`${c.name}: phase=${phases[c.name]!.value}\n`);
    }
  }
  if (only.length) {
    process.stdout.write(`${JSON.stringify(phases, null, 2)}\n`);
    return;
  }
  for (const [name, phase] of Object.entries(phases)) {
    const { dialect, source, phase: _old, ...rest } = file.cases[name]!;
    file.cases[name] = { dialect, source, phase, ...rest };
  }
  file['phaseMeasuredAt'] = new Date().toISOString();
  file['phaseCommand'] = 'npm run corpus:measure -- --phase-only';
  file['phaseServers'] = await serverSettings();
  writeFileSync(join(root, 'measured.json'), `${JSON.stringify(file, null, 2)}\n`);
  process.stderr.write(`updated phase in test/corpus/measured.json (${Object.keys(phases).length} cases)\n`);
}

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  if (process.argv.includes('--phase-only')) return measurePhaseOnly(only);
  const mysqlCases = loadCorpus(join(root, 'mysql'), 'mysql').filter((c) => !only.length || only.some((o) => c.name.startsWith(o)));
  // One sandbox primary + replica for every MariaDB case's replica-first runs (its own ports and datadirs).
  const bench = mysqlCases.length ? await openCorpusBench() : undefined;
  let results: Record<string, CaseMeasurement>;
  try {
    results = await measureCases(only, bench);
  } finally {
    await bench?.stop();
  }
  if (only.length) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  const file = {
    generatedAt: new Date().toISOString(),
    command: 'npm run corpus:measure',
    servers: { ...(await serverSettings()), replication: bench?.version },
    method: 'test/corpus/README.md',
    cases: results,
  };
  writeFileSync(join(root, 'measured.json'), `${JSON.stringify(file, null, 2)}\n`);
  process.stderr.write(`wrote test/corpus/measured.json (${Object.keys(results).length} cases)\n`);
}

await main();
