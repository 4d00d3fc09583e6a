import type { Next, QueryObject } from '../../db/index.ts';
import type { Algorithm } from '../schema.ts';
import { maskMysqlStrings, stripMysqlComments } from './lex.ts';

/**
 * Asks the server which algorithm an ALTER needs, instead of keeping a table of rules that drift
 * with every MariaDB/MySQL release: run the statement with ALGORITHM=INSTANT, then NOCOPY, then
 * INPLACE with LOCK=NONE. The server refuses an algorithm it cannot honour before doing any work
 * (SQLSTATE 0A000), so the first variant it accepts both answers the question and applies the
 * change on the shadow; when none is accepted the plain statement runs and the answer is COPY.
 * The shadow table is empty like a CREATE TABLE ... LIKE copy, so no copy is needed.
 */
export interface ProbeResult {
  statement: string;
  table: string;
  algorithm: Algorithm;
  /** The statement named its own ALGORITHM / LOCK, so we ran it as written. */
  declared: boolean;
  /** Why the probe could not decide, when algorithm is UNKNOWN. */
  note?: string;
  /**
   * Probed on a scratch copy before a CALL, from an ALTER in the procedure's body: the body may
   * skip it (IF ... THEN), so it counts only where the snapshots show the table changed.
   */
  conditional?: boolean;
}

const NAME = '(?:`(?:[^`]|``)+`|[A-Za-z_$][\\w$]*)(?:\\s*\\.\\s*(?:`(?:[^`]|``)+`|[A-Za-z_$][\\w$]*))?';
const ALTER_HEAD = new RegExp(`^(\\s*alter\\s+(?:online\\s+)?(?:ignore\\s+)?table\\s+(${NAME}))(\\s*[\\s\\S]*)$`, 'i');
/**
 * ALTER TABLE actions that only add or drop secondary indexes (ADD INDEX/KEY/UNIQUE/FULLTEXT,
 * ADD CONSTRAINT ... UNIQUE, DROP INDEX/KEY): never INSTANT on MariaDB 10.11 or MySQL 8 (the
 * server answers "Try ALGORITHM=NOCOPY"), so that refusal is not asked for.
 */
const INDEX_ACTION = String.raw`(?:add\s+(?:constraint\s+\S+\s+)?(?:unique|fulltext|spatial|index|key)\b(?:[^,(]|\([^)]*\))*|drop\s+(?:index|key)\s+\S+)`;
const ADD_INDEX_ONLY = new RegExp(String.raw`^\s*${INDEX_ACTION}(?:\s*,\s*${INDEX_ACTION})*\s*$`, 'i');
const DROP_INDEX_STMT = new RegExp(`^\\s*drop\\s+index\\s+(if\\s+exists\\s+)?(${NAME})\\s+on\\s+(${NAME})\\s*$`, 'i');
const INDEX_STMT = new RegExp(`^\\s*(?:create\\s+(?:unique\\s+|fulltext\\s+|spatial\\s+)?index|drop\\s+index)\\s+\\S+\\s+on\\s+(${NAME})`, 'i');

interface DriverError {
  sqlState?: string;
  errno?: number;
  message?: string;
}

function unsupported(e: unknown): boolean {
  const err = e as DriverError;
  return err?.sqlState === '0A000' || err?.errno === 1845 || err?.errno === 1846;
}

/**
 * The ALGORITHM / LOCK clause a statement declares, read from whole clauses only: a column named
 * `locked` or `lock_timeout` is not a LOCK clause, and the value must be one the server knows.
 */
const ALGORITHM_CLAUSE = /(?:^|[\s,])algorithm\s*(?:=\s*|\s)(default|instant|inplace|nocopy|copy)(?=$|[\s,;])/i;
const LOCK_CLAUSE = /(?:^|[\s,])lock\s*(?:=\s*|\s)(default|none|shared|exclusive)(?=$|[\s,;])/i;

export function declaredClauses(sql: string): { algorithm?: string; lock?: string } {
  const clean = maskMysqlStrings(sql);
  const out: { algorithm?: string; lock?: string } = {};
  const a = ALGORITHM_CLAUSE.exec(clean)?.[1];
  const l = LOCK_CLAUSE.exec(clean)?.[1];
  if (a) out.algorithm = a.toUpperCase();
  if (l) out.lock = l.toUpperCase();
  return out;
}

const declares = (sql: string): boolean => {
  const d = declaredClauses(sql);
  return d.algorithm !== undefined || d.lock !== undefined;
};

function unquote(name: string): string {
  const last = name.split('.').pop() ?? name;
  return last.trim().replace(/^`|`$/g, '').replace(/``/g, '`');
}

/** Which statements have an algorithm to probe, and the variants to try for each. */
export function probeVariants(sql: string, mariadb: boolean): { table: string; variants: [Algorithm, string][]; declared: boolean } | null {
  const body = stripLeadingComments(sql).replace(/;\s*$/, '');
  const clean = stripMysqlComments(body);
  const alter = ALTER_HEAD.exec(body);
  if (alter) {
    const head = alter[1]!;
    const rest = alter[3]!;
    const table = unquote(alter[2]!);
    if (declares(rest) || !rest.trim()) return { table, variants: [], declared: true };
    // PARTITION BY and friends cannot follow an ALTER option list with a comma.
    if (/^\s*(partition\s+by|remove\s+partitioning)/i.test(rest)) return { table, variants: [], declared: false };
    const v = (opts: string): string => `${head} ${opts}, ${rest.trim()}`;
    const variants: [Algorithm, string][] = [];
    // Adding an index is never INSTANT: asking would only cost a refusal.
    if (!ADD_INDEX_ONLY.test(stripMysqlComments(rest))) variants.push(['INSTANT', v('ALGORITHM=INSTANT')]);
    if (mariadb) variants.push(['NOCOPY', v('ALGORITHM=NOCOPY, LOCK=NONE')]);
    variants.push(['INPLACE', v('ALGORITHM=INPLACE, LOCK=NONE')]);
    return { table, variants, declared: false };
  }
  const drop = DROP_INDEX_STMT.exec(clean);
  if (drop && !declares(clean)) {
    // MariaDB's DROP INDEX takes no ALGORITHM / LOCK clause (a syntax error, which would read as
    // "could not probe"): it is the same operation as ALTER TABLE ... DROP INDEX, so ask in that form.
    const [, ifExists = '', name, on] = drop;
    const v = (opts: string): string => `ALTER TABLE ${on} ${opts}, DROP INDEX ${ifExists}${name}`;
    const variants: [Algorithm, string][] = [];
    if (mariadb) variants.push(['NOCOPY', v('ALGORITHM=NOCOPY, LOCK=NONE')]);
    variants.push(['INPLACE', v('ALGORITHM=INPLACE, LOCK=NONE')]);
    return { table: unquote(on!), variants, declared: false };
  }
  const idx = INDEX_STMT.exec(clean);
  if (idx) {
    const table = unquote(idx[1]!);
    if (declares(clean)) return { table, variants: [], declared: true };
    const variants: [Algorithm, string][] = [];
    if (mariadb) variants.push(['NOCOPY', `${body} ALGORITHM=NOCOPY LOCK=NONE`]);
    variants.push(['INPLACE', `${body} ALGORITHM=INPLACE LOCK=NONE`]);
    return { table, variants, declared: false };
  }
  return null;
}

function stripLeadingComments(sql: string): string {
  let s = sql.trimStart();
  for (;;) {
    if (s.startsWith('--') || s.startsWith('#')) {
      const nl = s.indexOf('\n');
      s = nl === -1 ? '' : s.slice(nl + 1).trimStart();
    } else if (s.startsWith('/*') && !s.startsWith('/*!')) {
      const end = s.indexOf('*/');
      s = end === -1 ? '' : s.slice(end + 2).trimStart();
    } else return s;
  }
}

/**
 * DDL run as dynamic SQL (`SET @s = 'ALTER TABLE ...'; PREPARE st FROM @s; EXECUTE st;`, often
 * behind an information_schema check) is probed like the same statement written out: PREPARE
 * also keeps its text in a session variable of its own, and EXECUTE reads it back, so the
 * probe sees the ALTER that EXECUTE runs. The variable lives in the shadow's one session, so two
 * shadows analysing side by side cannot mix their statements up.
 */
const PREPARE = /^prepare\s+`?(\w+)`?\s+from\s+(@\w+|'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")\s*;?\s*$/i;
const EXECUTE = /^execute\s+`?(\w+)`?\s*;?\s*$/i;
const textVariable = (name: string): string => `@migrate_prepared_${name.toLowerCase()}`;

/** The text a prepared statement runs, as kept by PREPARE; undefined when unknown. */
async function preparedText(name: string, next: Next): Promise<string | undefined> {
  try {
    const r = await next(`SELECT ${textVariable(name)} AS t`);
    const rows = Array.isArray(r.response) ? (r.response[0] as Array<Record<string, unknown>> | undefined) : undefined;
    const v = rows?.[0]?.['t'];
    if (Buffer.isBuffer(v)) return v.toString('utf8');
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

const CALL = /^call\s+`?(\w+)`?\s*(?:\([\s\S]*\))?\s*;?\s*$/i;
const SCRATCH = '_migrate_probe_scratch';

/** The ALTER TABLE statements in a stored program's body (quote-aware split on `;`). */
export function altersInBody(body: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  const flush = (): void => {
    // Quoted text and comments blanked out (same length), so an ALTER inside a string (dynamic SQL) is not taken for one the body runs.
    const masked = cur.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|\/\*[\s\S]*?\*\/|--[^\n]*|#[^\n]*/g, (q) => ' '.repeat(q.length));
    const m = /\balter\s+(?:online\s+)?(?:ignore\s+)?table\b/i.exec(masked);
    if (m) out.push(cur.slice(m.index).trim());
    cur = '';
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quote) {
      if (c === '\\' && quote !== '`') {
        cur += c + (body[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === ';') {
      flush();
      continue;
    }
    cur += c;
  }
  flush();
  return out;
}

/**
 * A CALLed procedure runs its DDL where the probe cannot reach. Before the CALL, each ALTER TABLE
 * of its body is tried, with the same ALGORITHM variants, on an empty copy of its table (CREATE
 * TABLE ... LIKE: same definition and row format), which answers what the ALTER would need; the
 * CALL then runs as written.
 */
async function probeProcedure(name: string, call: string, next: Next, mariadb: boolean): Promise<ProbeResult[]> {
  let body: string | undefined;
  try {
    const r = await next(
      `SELECT ROUTINE_DEFINITION AS t FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_NAME = '${name.replace(/'/g, "''")}'`,
    );
    const rows = Array.isArray(r.response) ? (r.response[0] as Array<Record<string, unknown>> | undefined) : undefined;
    const v = rows?.[0]?.['t'];
    body = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : undefined;
  } catch {
    return [];
  }
  const out: ProbeResult[] = [];
  for (const alter of altersInBody(body ?? '')) {
    const m = ALTER_HEAD.exec(alter);
    if (!m) continue;
    const table = unquote(m[2]!);
    const scratch = probeVariants(`ALTER TABLE \`${SCRATCH}\` ${m[3]!.trim()}`, mariadb);
    if (!scratch || scratch.declared) continue;
    try {
      await next(`DROP TABLE IF EXISTS \`${SCRATCH}\``);
      await next(`CREATE TABLE \`${SCRATCH}\` LIKE ${m[2]!}`);
      const { probe } = await runPlan(alter, `${call.trim()} /* ${alter.replace(/\*\//g, '* /')} */`, scratch, next, true);
      if (probe && probe.algorithm !== 'UNKNOWN') out.push({ ...probe, table, conditional: true });
    } catch {
      // The copy or the probe failed (a foreign key the copy lacks, a table created inside the body): no answer for this ALTER.
    } finally {
      await next(`DROP TABLE IF EXISTS \`${SCRATCH}\``).catch(() => undefined);
    }
  }
  return out;
}

/** Runs `obj` through the probe: returns the query result and what the probe learnt (null: nothing to probe). */
export async function probeAndRun(obj: QueryObject, next: Next, mariadb: boolean): Promise<{ result: QueryObject; probe: ProbeResult | ProbeResult[] | null }> {
  if ((obj.bindings?.length ?? 0) > 0) return { result: await next(), probe: null };
  const head = stripLeadingComments(obj.sql);
  const call = CALL.exec(head);
  if (call) {
    const probes = await probeProcedure(call[1]!, obj.sql, next, mariadb);
    return { result: await next(), probe: probes };
  }
  const prepare = PREPARE.exec(head);
  if (prepare) {
    const result = await next();
    // Only bookkeeping for EXECUTE: a failure here leaves that EXECUTE unprobed, not the migration failed.
    await next(`SET ${textVariable(prepare[1]!)} = ${prepare[2]!}`).catch(() => undefined);
    return { result, probe: null };
  }
  const execute = EXECUTE.exec(head);
  const text = execute ? await preparedText(execute[1]!, next) : obj.sql;
  const plan = text === undefined ? null : probeVariants(text, mariadb);
  if (!plan || text === undefined) return { result: await next(), probe: null };
  // The finding quotes the EXECUTE (so it points at that line of the file) with the DDL it ran.
  const statement = execute ? `${obj.sql.trim()} /* ${text.replace(/\*\//g, '* /').trim()} */` : obj.sql;
  const r = await runPlan(text, statement, plan, next);
  return { result: r.result ?? (await next()), probe: r.probe };
}

/**
 * Tries the plan's variants; the first the server accepts both answers and applies the change.
 * `scratchOnly`: the variants run on a scratch copy, so when all are refused the answer is COPY and
 * nothing is run as written (`next()` is not called).
 */
async function runPlan(
  text: string,
  statement: string,
  plan: NonNullable<ReturnType<typeof probeVariants>>,
  next: Next,
  scratchOnly = false,
): Promise<{ result?: QueryObject | undefined; probe: ProbeResult | null }> {
  const probe: ProbeResult = { statement, table: plan.table, algorithm: 'UNKNOWN', declared: plan.declared };
  if (plan.declared) {
    const clauses = declaredClauses(text);
    const lockNone = clauses.lock === 'NONE';
    const declaredAlg = clauses.algorithm;
    probe.algorithm =
      declaredAlg === 'INSTANT' || declaredAlg === 'NOCOPY' || declaredAlg === 'COPY'
        ? declaredAlg
        : declaredAlg === 'INPLACE' && lockNone
          ? 'INPLACE'
          : lockNone
            ? 'INPLACE'
            : 'UNKNOWN';
    if (probe.algorithm === 'UNKNOWN') probe.note = 'the statement names its own ALGORITHM/LOCK clause without LOCK=NONE';
    return { result: await next(), probe };
  }
  const rank: Record<string, number> = { INSTANT: 0, NOCOPY: 1, INPLACE: 2, COPY: 3 };
  let skipBelow = -1;
  for (const [algorithm, variant] of plan.variants) {
    if ((rank[algorithm] ?? 0) < skipBelow) continue;
    try {
      const result = await next(variant);
      probe.algorithm = algorithm;
      return { result, probe };
    } catch (e) {
      if (unsupported(e)) {
        // The refusal names what would work ("Try ALGORITHM=COPY", "Try LOCK=SHARED"): believe the
        // server and skip the variants it has already ruled out (each refusal costs ~20 ms).
        const msg = (e as DriverError).message ?? '';
        const hint = /Try ALGORITHM=(\w+)/i.exec(msg)?.[1]?.toUpperCase();
        if (hint && rank[hint] !== undefined) skipBelow = Math.max(skipBelow, rank[hint]!);
        if (/Try LOCK=(SHARED|EXCLUSIVE)/i.test(msg)) {
          skipBelow = rank['COPY']!;
          probe.note = `the server needs a lock that blocks writes: ${msg.replace(/\s+/g, ' ').trim()}`;
        }
        continue;
      }
      if (scratchOnly) throw e;
      // Not an algorithm refusal: run the statement as written, which either fails for its own
      // reason (reported as the migration's error) or runs without a probe answer.
      const result = await next();
      probe.note = `the probe could not run: ${(e as DriverError).message ?? String(e)}`;
      return { result, probe };
    }
  }
  const result = scratchOnly ? undefined : await next();
  probe.algorithm = plan.variants.length ? 'COPY' : 'UNKNOWN';
  if (!plan.variants.length) probe.note = 'this form of ALTER cannot be probed';
  return { result, probe };
}
