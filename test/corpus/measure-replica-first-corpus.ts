/**
 * replicaFirstSafe / replicaFirstReverseSafe of the analysis-corpus cases, measured on a sandbox MariaDB
 * primary + replica (test/helpers/sandbox.ts: GTID, ROW binlog, FULL row image), started once for all
 * cases by scripts/corpus-measure.ts. Method: README.md. It never calls the analysis engine; the
 * statements it runs (the case's setup and up, rows, the old and the new code's writes) come from the
 * measurement script.
 *
 *   forward  what a replica-first run does: the up on the replica with binary logging off, the old code's
 *            writes on the primary (they replicate), then the up on the primary with binary logging off.
 *            Safe when replication kept running and both nodes then hold the same rows, column by name.
 *   reverse  the master-master hold period: the up on the primary with binary logging off, the new code's
 *            writes on it; the replica keeps the old schema. Safe when replication kept running and
 *            every column both schemas have (renames followed) holds the primary's value on the replica.
 */
import type mysql from 'mysql2/promise';
import { startSandbox } from '../helpers/sandbox.ts';

export interface CaseStatements {
  setup: string[];
  /** Rows put in every table after the setup (parents first). */
  seed: string[];
  up: string[];
  /** The running release's writes, derived from the before-schema (or the case's -- queries lines). */
  oldWrites: string[];
  /** The new release's writes, derived from the after-schema the same way. */
  newWrites: string[];
  /** Column renames of the up, old name -> new name (compared across them in the reverse direction). */
  renames: Record<string, string>;
}

export interface RunOutcome {
  ok: boolean;
  evidence: string;
}

/**
 * slave_type_conversions on the replica: the default, then ALL_NON_LOSSY. ALL_LOSSY is not tried: it lets
 * the replica store another value than it was sent, and a few rows agreeing cannot show it never does.
 */
export const CONVERSIONS = ['', 'ALL_NON_LOSSY'] as const;

export interface CorpusBench {
  version: string;
  forward(name: string, s: CaseStatements, conversions: (typeof CONVERSIONS)[number]): Promise<RunOutcome>;
  reverse(name: string, s: CaseStatements): Promise<RunOutcome>;
  stop(): Promise<void>;
}

type Row = Record<string, string | null>;
const asText = (field: { string(): string | null }): string | null => field.string();

async function rows(c: mysql.Connection, sql: string): Promise<Row[]> {
  const [r] = await c.query({ sql, typeCast: asText });
  return r as Row[];
}

/** The rows of a that b does not hold (as many times as a holds them more often). */
function onlyIn(a: string[], b: string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  const out: string[] = [];
  for (const x of a) {
    const n = left.get(x) ?? 0;
    if (n) left.set(x, n - 1);
    else out.push(x);
  }
  return out;
}

export async function openCorpusBench(): Promise<CorpusBench> {
  const sb = await startSandbox({ topology: 'primary-replica', replicas: 1 });
  const conns: mysql.Connection[] = [];
  try {
    const primary = await sb.mysql('primary');
    conns.push(primary);
    const replica = await sb.mysql('replica1');
    conns.push(replica);
    const [v] = await rows(primary, 'SELECT VERSION() AS v, @@binlog_format AS f, @@binlog_row_image AS i');
    const b = new Bench(primary, replica);
    return {
      version: `${v?.['v']} (binlog_format=${v?.['f']}, binlog_row_image=${v?.['i']})`,
      forward: (n, s, conv) => b.forward(n, s, conv),
      reverse: (n, s) => b.reverse(n, s),
      stop: async () => {
        for (const c of conns) await c.end().catch(() => undefined);
        await sb.stop();
      },
    };
  } catch (e) {
    for (const c of conns) await c.end().catch(() => undefined);
    await sb.stop();
    throw e;
  }
}

class Bench {
  private seq = 0;
  constructor(
    private readonly primary: mysql.Connection,
    private readonly replica: mysql.Connection,
  ) {}

  /** The replication error without the binlog position, which differs per run (a rerun then writes the same text). */
  private static quiet(error: string, db: string): string {
    return error.replaceAll(db, '{db}').replace(/; the event's master log [^,]*, end_log_pos \d+/, '');
  }

  /** Waits until the replica applied everything the primary wrote, or its SQL thread stopped. */
  private async settle(): Promise<string | null> {
    const [p] = await rows(this.primary, 'SELECT @@GLOBAL.gtid_binlog_pos AS p');
    const until = Date.now() + 10_000;
    for (;;) {
      const [r] = await rows(this.replica, `SELECT MASTER_GTID_WAIT('${p?.['p']}', 0.05) AS r`);
      if (r?.['r'] === '0') return null;
      const [st] = (await this.replica.query('SHOW SLAVE STATUS'))[0] as Record<string, unknown>[];
      if (st && st['Slave_SQL_Running'] !== 'Yes') return `replica SQL thread stopped: error ${st['Last_SQL_Errno']} ${st['Last_SQL_Error']}`;
      if (Date.now() > until) throw new Error(`the replica did not reach ${p?.['p']} within 10 s and did not stop either`);
    }
  }

  private async unlogged(c: mysql.Connection, sqls: string[]): Promise<void> {
    await c.query('SET SESSION sql_log_bin = 0');
    try {
      for (const s of sqls) await c.query(s);
    } finally {
      await c.query('SET SESSION sql_log_bin = 1');
    }
  }

  /** A fresh database with the before-schema and its rows on both nodes (created on the primary, replicated). */
  private async prepare(): Promise<string> {
    const db = `corpus_rf_${++this.seq}`;
    await this.primary.query(`CREATE DATABASE ${db}`);
    const stopped = await this.settle();
    if (stopped) throw new Error(`before the case: ${stopped}`);
    await this.primary.query(`USE ${db}`);
    await this.replica.query(`USE ${db}`);
    return db;
  }

  private async seed(s: CaseStatements): Promise<void> {
    for (const q of [...s.setup, ...s.seed]) await this.primary.query(q);
    const stopped = await this.settle();
    if (stopped) throw new Error(`replication of the setup: ${stopped}`);
  }

  /** Old-code writes on the primary, each committed; one the primary itself refuses is left out and counted. */
  private async write(sqls: string[]): Promise<string> {
    let refused = 0;
    for (const q of sqls)
      await this.primary.query(q).catch(() => {
        refused++;
      });
    return `${sqls.length - refused} writes on the primary${refused ? ` (${refused} it refused itself left out)` : ''}`;
  }

  async forward(name: string, s: CaseStatements, conversions: string): Promise<RunOutcome> {
    const db = await this.prepare();
    let stopped: string | null = null;
    const head = `${name} forward (slave_type_conversions='${conversions}'): up on the replica`;
    try {
      await this.seed(s);
      await this.setConversions(conversions);
      await this.unlogged(this.replica, s.up);
      const wrote = await this.write(s.oldWrites);
      stopped = await this.settle();
      if (stopped) return { ok: false, evidence: `${head}, ${wrote}: ${Bench.quiet(stopped, db)}` };
      try {
        await this.unlogged(this.primary, s.up);
      } catch (e) {
        // The primary's own turn refuses the rows the old code wrote (a value the new column cannot hold).
        return {
          ok: false,
          evidence: `${head}, ${wrote}, replicated; then the up on the primary fails: ${(e as Error).message.split('\n')[0]!.replaceAll(db, '{db}')}`,
        };
      }
      const diff = await this.differences(db, {});
      return {
        ok: !diff.length,
        evidence: `${head}, ${wrote}, then up on the primary: ${diff[0] ?? 'both nodes hold the same rows in every table, column by name'}`,
      };
    } finally {
      await this.cleanup(db, stopped !== null);
    }
  }

  async reverse(name: string, s: CaseStatements): Promise<RunOutcome> {
    const db = await this.prepare();
    let stopped: string | null = null;
    try {
      await this.seed(s);
      await this.unlogged(this.primary, s.up);
      // Rows the up itself changed on the primary differ already: only what replication adds counts.
      const before = new Set(await this.differences(db, s.renames));
      const wrote = await this.write(s.newWrites);
      stopped = await this.settle();
      if (stopped) return { ok: false, evidence: `${name} reverse: up on the primary, ${wrote}: ${Bench.quiet(stopped, db)}` };
      const added = (await this.differences(db, s.renames)).filter((d) => !before.has(d));
      return {
        ok: !added.length,
        evidence: `${name} reverse: up on the primary, ${wrote}, replica kept the old schema: ${added[0] ?? 'the writes left every column both schemas have equal on both nodes'}${before.size ? ` (${before.size} row(s) the up itself changed on the primary not counted)` : ''}`,
      };
    } finally {
      await this.cleanup(db, stopped !== null);
    }
  }

  private async setConversions(value: string): Promise<void> {
    await this.replica.query('STOP SLAVE SQL_THREAD');
    await this.replica.query(`SET GLOBAL slave_type_conversions = '${value}'`);
    await this.replica.query('START SLAVE SQL_THREAD');
  }

  /**
   * The rows of each table that one node holds and the other does not, by the columns both have (the
   * primary's renamed back through `renames`), one line each.
   */
  private async differences(db: string, renames: Record<string, string>): Promise<string[]> {
    const back = new Map(Object.entries(renames).map(([o, n]) => [n.toLowerCase(), o.toLowerCase()]));
    const cols = async (c: mysql.Connection, t: string) =>
      (await rows(c, `SELECT column_name AS c FROM information_schema.columns WHERE table_schema = '${db}' AND table_name = '${t}'`)).map((r) =>
        String(r['c']).toLowerCase(),
      );
    const out: string[] = [];
    for (const { t } of await rows(
      this.primary,
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = '${db}' AND table_type = 'BASE TABLE'`,
    )) {
      const onReplica = await cols(this.replica, String(t));
      if (!onReplica.length) {
        out.push(`table ${t} is missing on the replica`);
        continue;
      }
      const shared = (await cols(this.primary, String(t)))
        .map((k) => back.get(k) ?? k)
        .filter((k) => onReplica.includes(k))
        .sort();
      const key = (row: Row, mapped: boolean) => {
        const byName = new Map(Object.entries(row).map(([k, v]) => [mapped ? (back.get(k.toLowerCase()) ?? k.toLowerCase()) : k.toLowerCase(), v]));
        return JSON.stringify(shared.map((k) => [k, byName.get(k) ?? null]));
      };
      const p = (await rows(this.primary, `SELECT * FROM \`${t}\``)).map((r) => key(r, true));
      const r = (await rows(this.replica, `SELECT * FROM \`${t}\``)).map((x) => key(x, false));
      out.push(...onlyIn(p, r).map((x) => `${t}: only the primary holds ${x}`), ...onlyIn(r, p).map((x) => `${t}: only the replica holds ${x}`));
    }
    return out;
  }

  /** Drops the case's database; when replication stopped, on each node unlogged, and the replica skips what it could not apply. */
  private async cleanup(db: string, stopped: boolean): Promise<void> {
    await this.replica.query('USE mysql');
    await this.primary.query('USE mysql');
    if (!stopped) {
      await this.setConversions('');
      await this.primary.query(`DROP DATABASE IF EXISTS ${db}`);
      if (!(await this.settle())) return;
    }
    await this.unlogged(this.primary, [`DROP DATABASE IF EXISTS ${db}`]);
    const [p] = await rows(this.primary, 'SELECT @@GLOBAL.gtid_binlog_pos AS p');
    await this.replica.query('STOP SLAVE');
    await this.replica.query("SET GLOBAL slave_type_conversions = ''");
    await this.unlogged(this.replica, [`DROP DATABASE IF EXISTS ${db}`]);
    await this.replica.query(`SET GLOBAL gtid_slave_pos = '${p?.['p']}'`);
    await this.replica.query('START SLAVE');
    const again = await this.settle();
    if (again) throw new Error(`the replica did not recover after ${db}: ${again}`);
  }
}
