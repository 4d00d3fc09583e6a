/**
 * How a replica-first case is measured on real replication: one module for the recording script
 * (scripts/replica-first-measure.ts, which writes measured.json) and the truth test
 * (test/integration/replica-first-truth.test.ts, which reruns it and compares), so both judge the
 * servers the same way. It never calls the analysis engine.
 *
 * A bench is a sandbox MariaDB primary + replica (GTID, ROW binlog, FULL row image) with its own
 * temp directory, ports and datadirs. Each run uses a fresh table; afterwards the table is dropped
 * and a stopped replica skips whatever it could not apply (gtid_slave_pos := the primary's
 * position), so one run cannot leak into the next.
 *
 *   forward  ALTER on the replica (sql_log_bin=0), old-schema writes on the primary
 *   reverse  ALTER on the primary (sql_log_bin=0), new-schema writes on it, the replica stays old
 *            (the master-master hold period: rows from the new schema applied to the old one)
 *
 * Settings (slave_type_conversions on the applying side, the replica): the default is always
 * measured, ALL_NON_LOSSY where the default did not replicate every value correctly, and
 * ALL_NON_LOSSY,ALL_LOSSY where ALL_NON_LOSSY did not either. Which settings were run is itself
 * part of the result, so a server that starts behaving differently changes it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type mysql from 'mysql2/promise';
import { startSandbox } from '../../helpers/sandbox.ts';
import type { ReplicaFirstCase } from './cases.ts';

export type Direction = 'forward' | 'reverse';
export type SettingKey = 'default' | 'nonLossy' | 'lossy';

export const SETTING_VALUE: Record<SettingKey, string> = {
  default: '',
  nonLossy: 'ALL_NON_LOSSY',
  lossy: 'ALL_NON_LOSSY,ALL_LOSSY',
};

export type Observation =
  /** Every row on the replica equals the primary's, column by column by NAME. */
  | { outcome: 'ok' }
  /** The replica's SQL thread stopped with this error (Last_SQL_Errno). */
  | { outcome: 'stopped'; errno: number }
  /** Replication kept running but these replica columns hold values the primary does not have. */
  | {
      outcome: 'wrong';
      columns: string[];
      /** First wrong value per column (lowest id): [the primary's / the expected value, the replica's]. */
      seen: Record<string, [string | null, string | null]>;
      /**
       * Some value that arrived changed is one the replica's column holds unchanged when written
       * there directly: replication read it as something else (shifted column, ENUM index, bytes
       * under another type or charset), not only clipped a value the column cannot hold.
       */
      fitting: boolean;
    };

/** An observation as recorded: what the server did plus what shows it (not compared: it names log positions). */
export type Measured = Observation & { evidence: string };

export type DirectionTruth<O extends Observation = Observation> = { default: O } & Partial<Record<Exclude<SettingKey, 'default'>, O>>;
export type CaseTruth<O extends Observation = Observation> = Record<Direction, DirectionTruth<O>>;

export interface ServerFacts {
  version: string;
  binlogFormat: string;
  binlogRowImage: string;
  /** slave_type_conversions on the replica before any run (the server default). */
  defaultConversions: string;
}

export interface Bench {
  server: ServerFacts;
  /** Both directions, with the settings that matter (module comment). */
  measureCase(c: ReplicaFirstCase): Promise<CaseTruth<Measured>>;
  /** One forward run; restartSqlThread=false sets slave_type_conversions on the running SQL thread. */
  run(c: ReplicaFirstCase, dir: Direction, setting: SettingKey, restartSqlThread?: boolean): Promise<Measured>;
  stop(): Promise<void>;
}

/** The shape of measured.json (read by the truth test). */
export interface ReplicaFirstMeasurements {
  generatedAt: string;
  command: string;
  server: ServerFacts;
  method: string;
  /** Per case: the digest of what ran (caseSource) and, per direction, the observation per setting. */
  cases: Record<string, { source: string } & CaseTruth<Measured>>;
  /** SETTING_WITHOUT_SQL_THREAD_RESTART's forward run, slave_type_conversions set on the running SQL thread. */
  settingWithoutSqlThreadRestart: { case: string; setting: SettingKey; observation: Measured };
}

/** Where scripts/replica-first-measure.ts writes the measurements. */
export const MEASURED_PATH = join(dirname(fileURLToPath(import.meta.url)), 'measured.json');

export function readMeasured(): ReplicaFirstMeasurements {
  return JSON.parse(readFileSync(MEASURED_PATH, 'utf8')) as ReplicaFirstMeasurements;
}

type Row = Record<string, string | null>;
/** A replica cell that holds another value than intended: the row, the column, the intended value. */
type Cell = { id: string | null; col: string; want: string | null };

/** Every value as the server prints it (or null), so INT 5 and BIGINT 5 compare equal. */
const asText = (field: { string(): string | null }): string | null => field.string();

async function rows(c: mysql.Connection, sql: string): Promise<Row[]> {
  const [r] = await c.query({ sql, typeCast: asText });
  return r as Row[];
}

async function one(c: mysql.Connection, sql: string): Promise<Row> {
  return (await rows(c, sql))[0] ?? {};
}

const sub = (sql: string, table: string): string => sql.replaceAll('{t}', table);

/**
 * A digest of what a case runs (not its title or note): measured.json records it per case, and
 * the test refuses a measurement taken for other statements.
 */
export function caseSource(c: ReplicaFirstCase): string {
  const ran = { create: c.create, seed: c.seed, alter: c.alter, dml: c.dml, dmlNew: c.dmlNew, renames: c.renames, applierOnly: c.applierOnly };
  return createHash('sha256').update(JSON.stringify(ran)).digest('hex').slice(0, 16);
}

/** The observation without its evidence: what the test compares. */
export function outcomeOf(m: Measured | Observation): Observation {
  if (m.outcome === 'ok') return { outcome: 'ok' };
  if (m.outcome === 'stopped') return { outcome: 'stopped', errno: m.errno };
  return { outcome: 'wrong', columns: m.columns, seen: m.seen, fitting: m.fitting };
}

export function truthOf(t: CaseTruth<Measured | Observation>): CaseTruth {
  const dir = (d: DirectionTruth<Measured | Observation>): DirectionTruth =>
    Object.fromEntries(Object.entries(d).map(([k, o]) => [k, outcomeOf(o)])) as DirectionTruth;
  return { forward: dir(t.forward), reverse: dir(t.reverse) };
}

/** 'MMMM...' (150 times) -> 'M x150', to keep the recorded truth readable. */
function abbrev(v: string | null): string | null {
  return v && v.length > 20 && /^(.)\1*$/.test(v) ? `${v[0]} x${v.length}` : v;
}

/** Starts the sandbox and checks it replicates the way every case assumes (ROW, FULL, default conversions). */
export async function openBench(): Promise<Bench> {
  const sb = await startSandbox({ topology: 'primary-replica', replicas: 1 });
  let primary: mysql.Connection | undefined;
  let replica: mysql.Connection | undefined;
  const stop = async (): Promise<void> => {
    await primary?.end().catch(() => undefined);
    await replica?.end().catch(() => undefined);
    await sb.stop();
  };
  try {
    primary = await sb.mysql('primary');
    replica = await sb.mysql('replica1');
    const v = await one(primary, 'SELECT VERSION() AS v, @@binlog_format AS f, @@binlog_row_image AS i');
    const conv = await one(replica, 'SELECT @@GLOBAL.slave_type_conversions AS s');
    const server: ServerFacts = {
      version: String(v['v']),
      binlogFormat: String(v['f']),
      binlogRowImage: String(v['i']),
      defaultConversions: String(conv['s']),
    };
    const r = new Runner(primary, replica);
    return { server, measureCase: (c) => r.measureCase(c), run: (c, dir, setting, restart) => r.run(c, dir, setting, restart), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The runs on one primary + replica pair (methods, not one closure, to keep each piece short). */
class Runner {
  private seq = 0;

  constructor(
    private readonly primary: mysql.Connection,
    private readonly replica: mysql.Connection,
  ) {}

  /** Waits until the replica applied everything the primary wrote, or its SQL thread stopped. */
  async settle(): Promise<{ stopped: false } | { stopped: true; errno: number; error: string }> {
    const pos = (await one(this.primary, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))['p'];
    const until = Date.now() + 5_000;
    for (;;) {
      const r = await one(this.replica, `SELECT MASTER_GTID_WAIT('${pos}', 0.05) AS r`);
      if (r['r'] === '0') return { stopped: false };
      const [st] = (await this.replica.query('SHOW SLAVE STATUS'))[0] as Record<string, unknown>[];
      if (st && st['Slave_SQL_Running'] !== 'Yes') {
        return { stopped: true, errno: Number(st['Last_SQL_Errno']), error: String(st['Last_SQL_Error']) };
      }
      if (Date.now() > until) throw new Error(`replica did not reach ${pos} within 5 s and did not stop either`);
    }
  }

  async setConversions(value: string, restartSqlThread: boolean): Promise<void> {
    if (restartSqlThread) await this.replica.query('STOP SLAVE SQL_THREAD');
    await this.replica.query(`SET GLOBAL slave_type_conversions = '${value}'`);
    if (restartSqlThread) await this.replica.query('START SLAVE SQL_THREAD');
  }

  /**
   * Removes the run's table. Replication still running: a logged DROP on the primary reaches the
   * replica. Stopped: both sides drop it without logging and the replica skips what it could not
   * apply (gtid_slave_pos := the primary's position). Either way slave_type_conversions goes back
   * to the default.
   */
  async cleanup(table: string, stopped: boolean): Promise<void> {
    await this.replica.query("SET GLOBAL slave_type_conversions = ''");
    if (!stopped) {
      await this.primary.query(`DROP TABLE IF EXISTS ${table}`);
      const s = await this.settle();
      if (!s.stopped) return;
    }
    await this.primary.query('SET SESSION sql_log_bin = 0');
    await this.primary.query(`DROP TABLE IF EXISTS ${table}`);
    await this.primary.query('SET SESSION sql_log_bin = 1');
    const pos = (await one(this.primary, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))['p'];
    await this.replica.query('STOP SLAVE');
    await this.replica.query('SET SESSION sql_log_bin = 0');
    await this.replica.query(`DROP TABLE IF EXISTS ${table}`);
    await this.replica.query('SET SESSION sql_log_bin = 1');
    await this.replica.query(`SET GLOBAL gtid_slave_pos = '${pos}'`);
    await this.replica.query('START SLAVE');
    const s = await this.settle();
    if (s.stopped) throw new Error(`replica did not recover: ${s.error}`);
  }

  /** One run: table, seed, ALTER on one side, writes on the primary, then what the replica holds. */
  async run(c: ReplicaFirstCase, dir: Direction, setting: SettingKey, restartSqlThread = true): Promise<Measured> {
    const table = `app.rf${++this.seq}_${dir[0]}_${setting}`;
    const s = (sql: string): string => sub(sql, table);
    let stopped = true;
    try {
      await this.primary.query(s(c.create));
      for (const q of c.seed) await this.primary.query(s(q));
      const ready = await this.settle();
      if (ready.stopped) throw new Error(`replication stopped before the ALTER: ${ready.error}`);
      if (setting !== 'default') await this.setConversions(SETTING_VALUE[setting], restartSqlThread);

      const altered = dir === 'forward' ? this.replica : this.primary;
      await altered.query('SET SESSION sql_log_bin = 0');
      await altered.query(s(c.alter));
      await altered.query('SET SESSION sql_log_bin = 1');
      // What the applying side (the replica) holds once the ALTER ran, before any event arrives.
      const before = new Map((await rows(this.replica, `SELECT * FROM ${table}`)).map((r) => [r['id'], r]));

      for (const q of dir === 'forward' ? c.dml : (c.dmlNew ?? c.dml)) await this.primary.query(s(q));
      const done = await this.settle();
      stopped = done.stopped;
      if (done.stopped) {
        // The table name and the binlog position differ per run: left out, a rerun on the same
        // server records the same text, so a diff of measured.json shows only what changed.
        const error = done.error
          .replaceAll(table, '{t}')
          .replaceAll(table.slice(4), '{t}')
          .replace(/; the event's master log [^,]*, end_log_pos \d+/, '');
        return { outcome: 'stopped', errno: done.errno, evidence: error };
      }
      return await this.compare(c, dir, table, before);
    } finally {
      await this.cleanup(table, stopped);
    }
  }

  /** The replica's rows against the primary's, by column name (renames followed). */
  async compare(c: ReplicaFirstCase, dir: Direction, table: string, before: Map<string | null | undefined, Row>): Promise<Measured> {
    const src = await rows(this.primary, `SELECT * FROM ${table} ORDER BY id`);
    const dst = new Map((await rows(this.replica, `SELECT * FROM ${table} ORDER BY id`)).map((r) => [r['id'], r]));
    // Source column name -> applier column name (renames go old -> new forward, new -> old back).
    const renames = Object.entries(c.renames ?? {});
    const toApplier = new Map(renames.map(([o, n]) => (dir === 'forward' ? [o, n] : [n, o])));
    const name = (col: string): string => toApplier.get(col) ?? col;
    const wrong = new Set<string>();
    const cells: Cell[] = [];
    /** First wrong value per column: [what the primary / the statement says, what the replica holds]. */
    const seen: Record<string, [string | null, string | null]> = {};
    const bad = (id: string | null | undefined, col: string, want: string | null, got: string | null | undefined): void => {
      wrong.add(col);
      cells.push({ id: id ?? null, col, want });
      seen[col] ??= [abbrev(want), abbrev(got ?? null)];
    };
    const applierCols = (
      await rows(this.replica, `SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = '${table.slice(4)}'`)
    ).map((r) => r['n']!);
    const sourceCols = new Set(Object.keys(src[0] ?? {}).map(name));
    const applierOnly = applierCols.filter((n) => !sourceCols.has(n));
    const expectOnly = c.applierOnly?.[dir] ?? {};
    for (const n of applierOnly) {
      if (!(n in expectOnly)) throw new Error(`case ${c.name}: say what ${dir} rows should hold in the applier-only column ${n} (applierOnly in cases.ts)`);
    }
    if (src.length !== dst.size) wrong.add('(rows)');
    for (const r of src) {
      const d = dst.get(r['id']!);
      if (!d) {
        wrong.add('(rows)');
        continue;
      }
      for (const [col, v] of Object.entries(r)) {
        const n = name(col);
        if (n in d && d[n] !== v) bad(r['id'], n, v, d[n]);
      }
      for (const n of applierOnly) {
        const prior = before.get(r['id']!);
        const want = prior ? prior[n] : expectOnly[n];
        if (d[n] !== want) bad(r['id'], n, want ?? null, d[n]);
      }
    }
    const counts = `primary ${src.length} rows, replica ${dst.size}`;
    const only = applierOnly.length ? `; replica-only column(s) ${applierOnly.join(', ')} checked against their expected value` : '';
    if (!wrong.size) return { outcome: 'ok', evidence: `replication kept running; ${counts}, every column equal by name${only}` };
    const columns = [...wrong].sort();
    const fit = await this.fitting(table, cells);
    const ids = [...new Set(cells.map((x) => x.id))].join(', ') || '-';
    return {
      outcome: 'wrong',
      columns,
      seen: Object.fromEntries(columns.filter((k) => k in seen).map((k) => [k, seen[k]!])),
      fitting: fit.length > 0,
      evidence: `replication kept running, no error; ${counts}; rows with a wrong value: id ${ids}${only}; ${fit.length} of the ${cells.length} wrong values read back unchanged when written into the replica's column directly${fit.length ? ` (${fit.join(', ')})` : ''}`,
    };
  }

  /**
   * The wrong cells whose intended value the replica's column holds unchanged: each is written
   * into a session-only copy of the replica's table (strict mode, the row's other columns as the
   * replica has them) and read back. A value it refuses, clips or rounds does not fit.
   */
  async fitting(table: string, cells: Cell[]): Promise<string[]> {
    const fit: string[] = [];
    const copy = `app.fit${this.seq}`;
    await this.replica.query('SET SESSION sql_log_bin = 0');
    await this.replica.query(`CREATE TEMPORARY TABLE ${copy} LIKE ${table}`);
    try {
      for (const { id, col, want } of cells) {
        await this.replica.query(`DELETE FROM ${copy}`);
        // The row as the replica holds it, wrong values included (an ENUM's '' is refused in strict mode).
        await this.replica.query("SET SESSION sql_mode = ''");
        await this.replica.query(`INSERT INTO ${copy} SELECT * FROM ${table} WHERE id = ?`, [id]);
        await this.replica.query('SET SESSION sql_mode = @@GLOBAL.sql_mode');
        try {
          await this.replica.query(`UPDATE ${copy} SET \`${col}\` = ? WHERE id = ?`, [want, id]);
        } catch {
          continue; // refused in strict mode: the column cannot hold it
        }
        const [r] = await this.replica.query({ sql: `SELECT \`${col}\` AS v FROM ${copy} WHERE id = ?`, values: [id], typeCast: asText });
        if ((r as Row[])[0]?.['v'] === want) fit.push(`id ${id} ${col}`);
      }
    } finally {
      await this.replica.query(`DROP TEMPORARY TABLE IF EXISTS ${copy}`);
      await this.replica.query('SET SESSION sql_mode = @@GLOBAL.sql_mode, sql_log_bin = 1');
    }
    return fit;
  }

  async measureCase(c: ReplicaFirstCase): Promise<CaseTruth<Measured>> {
    const out = {} as CaseTruth<Measured>;
    for (const dir of ['forward', 'reverse'] as const) {
      const t: DirectionTruth<Measured> = { default: await this.run(c, dir, 'default') };
      if (t.default.outcome !== 'ok') t.nonLossy = await this.run(c, dir, 'nonLossy');
      if (t.nonLossy && t.nonLossy.outcome !== 'ok') t.lossy = await this.run(c, dir, 'lossy');
      out[dir] = t;
    }
    return out;
  }
}
