/**
 * Replica-first truth: each ALTER of test/corpus/replica-first/cases.ts is run for real on a
 * MariaDB 10.11 primary + replica (GTID, ROW binlog), in both directions and under the
 * slave_type_conversions settings that matter, and the outcome is compared with the one recorded
 * in cases.ts (so a server change shows up). Then the analysis engine is run on the same migration
 * and its replica-first verdict is compared with that recorded truth.
 *
 *   forward  ALTER on the replica (sql_log_bin=0), old-schema writes on the primary
 *   reverse  ALTER on the primary (sql_log_bin=0), new-schema writes on it, the replica stays old
 *            (the master-master hold period: rows from the new schema applied to the old one)
 *
 * One sandbox for the file; every run uses a fresh table, and afterwards the table is dropped and
 * a stopped replica skips whatever it could not apply (gtid_slave_pos := the primary's position),
 * so one run cannot leak into the next.
 *
 * Engine mismatches are not hidden: "the engine agrees with the recorded truth" fails with one line
 * per disagreement. RF_TRUTH_PRINT=1 prints what the servers did (JSON, cases.ts shape), every
 * verdict, and each replication error text, for re-recording after a server upgrade.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import { ruleDoc } from '../../src/analysis/rules/catalog.ts';
import type { Finding, MigrationVerdict } from '../../src/analysis/types.ts';
import { stepsFromVerdicts } from '../../src/execution/plan-steps.ts';
import {
  CASES,
  SETTING_VALUE,
  SETTING_WITHOUT_SQL_THREAD_RESTART,
  type DirectionTruth,
  type Observation,
  type ReplicaFirstCase,
  type SettingKey,
} from '../corpus/replica-first/cases.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

type Direction = 'forward' | 'reverse';
type Row = Record<string, string | null>;

/** Every value as the server prints it (or null), so INT 5 and BIGINT 5 compare equal. */
async function rows(c: mysql.Connection, sql: string, values?: unknown[]): Promise<Row[]> {
  const [r] = await c.query({ sql, values, typeCast: (field: { string(): string | null }) => field.string() });
  return r as Row[];
}

async function one(c: mysql.Connection, sql: string): Promise<Row> {
  return (await rows(c, sql))[0] ?? {};
}

const sub = (sql: string, table: string): string => sql.replaceAll('{t}', table);

let seq = 0;
const observed = new Map<string, Record<Direction, Record<string, Observation>>>();

/**
 * Cases where the engine's verdict is still wrong, pinned with it.fails (the test flips to failing
 * once the rule is fixed, and the entry must then go). Empty: every recorded case agrees.
 */
const KNOWN_ENGINE_DEFECTS: Record<string, string> = {};

describe('replica-first truth on MariaDB 10.11 row-based replication', () => {
  let sb: RunningSandbox;
  let primary: mysql.Connection;
  let replica: mysql.Connection;
  const verdicts = new Map<string, Promise<MigrationVerdict>>();

  beforeAll(async () => {
    // The engine runs on the machine's server (its shadow) while the sandbox starts.
    let chain: Promise<unknown> = Promise.resolve();
    for (const c of CASES) {
      const p = chain.then(() => engineVerdict(c));
      p.catch(() => undefined);
      verdicts.set(c.name, p);
      chain = p.catch(() => undefined);
    }
    sb = await startSandbox({ topology: 'primary-replica', replicas: 1 });
    primary = await sb.mysql('primary');
    replica = await sb.mysql('replica1');
    const v = await one(primary, 'SELECT VERSION() AS v, @@binlog_format AS f, @@binlog_row_image AS i');
    expect(v['v']).toMatch(/^10\.11\..*MariaDB/);
    expect([v['f'], v['i']]).toEqual(['ROW', 'FULL']);
    expect((await one(replica, 'SELECT @@GLOBAL.slave_type_conversions AS s'))['s']).toBe('');
    await chain;
  });

  afterAll(async () => {
    await primary?.end().catch(() => undefined);
    await replica?.end().catch(() => undefined);
    await sb?.stop();
    if (process.env['RF_TRUTH_PRINT']) console.log(JSON.stringify(Object.fromEntries(observed), null, 1));
  });

  /** Waits until the replica applied everything the primary wrote, or its SQL thread stopped. */
  async function settle(): Promise<{ stopped: false } | { stopped: true; errno: number; error: string }> {
    const pos = (await one(primary, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))['p'];
    const until = Date.now() + 5_000;
    for (;;) {
      const r = await one(replica, `SELECT MASTER_GTID_WAIT('${pos}', 0.05) AS r`);
      if (r['r'] === '0') return { stopped: false };
      const [st] = (await replica.query('SHOW SLAVE STATUS'))[0] as Record<string, unknown>[];
      if (st && st['Slave_SQL_Running'] !== 'Yes') {
        return { stopped: true, errno: Number(st['Last_SQL_Errno']), error: String(st['Last_SQL_Error']) };
      }
      if (Date.now() > until) throw new Error(`replica did not reach ${pos} within 5 s and did not stop either`);
    }
  }

  async function setConversions(value: string, restartSqlThread: boolean): Promise<void> {
    if (restartSqlThread) await replica.query('STOP SLAVE SQL_THREAD');
    await replica.query(`SET GLOBAL slave_type_conversions = '${value}'`);
    if (restartSqlThread) await replica.query('START SLAVE SQL_THREAD');
  }

  /**
   * Removes the run's table. Replication still running: a logged DROP on the primary reaches the
   * replica. Stopped: both sides drop it without logging and the replica skips what it could not
   * apply (gtid_slave_pos := the primary's position). Either way slave_type_conversions goes back
   * to the default.
   */
  async function cleanup(table: string, stopped: boolean): Promise<void> {
    await replica.query("SET GLOBAL slave_type_conversions = ''");
    if (!stopped) {
      await primary.query(`DROP TABLE IF EXISTS ${table}`);
      const s = await settle();
      if (!s.stopped) return;
    }
    await primary.query('SET SESSION sql_log_bin = 0');
    await primary.query(`DROP TABLE IF EXISTS ${table}`);
    await primary.query('SET SESSION sql_log_bin = 1');
    const pos = (await one(primary, 'SELECT @@GLOBAL.gtid_binlog_pos AS p'))['p'];
    await replica.query('STOP SLAVE');
    await replica.query('SET SESSION sql_log_bin = 0');
    await replica.query(`DROP TABLE IF EXISTS ${table}`);
    await replica.query('SET SESSION sql_log_bin = 1');
    await replica.query(`SET GLOBAL gtid_slave_pos = '${pos}'`);
    await replica.query('START SLAVE');
    const s = await settle();
    if (s.stopped) throw new Error(`replica did not recover: ${s.error}`);
  }

  /** One run: table, seed, ALTER on one side, writes on the primary, then what the replica holds. */
  async function run(c: ReplicaFirstCase, dir: Direction, setting: SettingKey, restartSqlThread = true): Promise<Observation> {
    const table = `app.rf${++seq}_${dir[0]}_${setting}`;
    const s = (sql: string): string => sub(sql, table);
    let stopped = true;
    try {
      await primary.query(s(c.create));
      for (const q of c.seed) await primary.query(s(q));
      const ready = await settle();
      if (ready.stopped) throw new Error(`replication stopped before the ALTER: ${ready.error}`);
      if (setting !== 'default') await setConversions(SETTING_VALUE[setting], restartSqlThread);

      const altered = dir === 'forward' ? replica : primary;
      await altered.query('SET SESSION sql_log_bin = 0');
      await altered.query(s(c.alter));
      await altered.query('SET SESSION sql_log_bin = 1');
      // What the applying side (the replica) holds once the ALTER ran, before any event arrives.
      const before = new Map((await rows(replica, `SELECT * FROM ${table}`)).map((r) => [r['id'], r]));

      for (const q of dir === 'forward' ? c.dml : (c.dmlNew ?? c.dml)) await primary.query(s(q));
      const done = await settle();
      stopped = done.stopped;
      if (done.stopped) {
        if (process.env['RF_TRUTH_PRINT']) console.log(`STOPPED ${c.name} ${dir} ${setting}: ${done.error}`);
        return { outcome: 'stopped', errno: done.errno };
      }

      const src = await rows(primary, `SELECT * FROM ${table} ORDER BY id`);
      const dst = new Map((await rows(replica, `SELECT * FROM ${table} ORDER BY id`)).map((r) => [r['id'], r]));
      // Source column name -> applier column name (renames go old -> new forward, new -> old back).
      const renames = Object.entries(c.renames ?? {});
      const toApplier = new Map(renames.map(([o, n]) => (dir === 'forward' ? [o, n] : [n, o])));
      const name = (col: string): string => toApplier.get(col) ?? col;
      const wrong = new Set<string>();
      /** First wrong value per column: [what the primary / the statement says, what the replica holds]. */
      const seen: Record<string, [string | null, string | null]> = {};
      const bad = (col: string, want: string | null, got: string | null | undefined): void => {
        wrong.add(col);
        seen[col] ??= [abbrev(want), abbrev(got ?? null)];
      };
      const applierCols = (
        await rows(replica, `SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = '${table.slice(4)}'`)
      ).map((r) => r['n']!);
      const sourceCols = new Set(Object.keys(src[0] ?? {}).map(name));
      const applierOnly = applierCols.filter((n) => !sourceCols.has(n));
      const expectOnly = c.applierOnly?.[dir] ?? {};
      for (const n of applierOnly) {
        if (!(n in expectOnly)) throw new Error(`case ${c.name}: say what ${dir} rows should hold in the applier-only column ${n}`);
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
          if (n in d && d[n] !== v) bad(n, v, d[n]);
        }
        for (const n of applierOnly) {
          const prior = before.get(r['id']!);
          const want = prior ? prior[n] : expectOnly[n];
          if (d[n] !== want) bad(n, want ?? null, d[n]);
        }
      }
      if (!wrong.size) return { outcome: 'ok' };
      const columns = [...wrong].sort();
      return { outcome: 'wrong', columns, seen: Object.fromEntries(columns.filter((k) => k in seen).map((k) => [k, seen[k]!])) };
    } finally {
      await cleanup(table, stopped);
    }
  }

  for (const c of CASES) {
    const known = KNOWN_ENGINE_DEFECTS[c.name];
    describe(c.name, () => {
      it(`real replication: ${c.title}`, async () => {
        const got: Record<Direction, Record<string, Observation>> = { forward: {}, reverse: {} };
        observed.set(c.name, got);
        for (const dir of ['forward', 'reverse'] as const) {
          for (const setting of Object.keys(c.truth[dir]) as SettingKey[]) got[dir][setting] = await run(c, dir, setting);
        }
        expect(got).toEqual(c.truth);
      });

      // A known engine defect is pinned with it.fails: the test flips to failing once the rule
      // is fixed, and the marker must then go.
      (known ? it.fails : it)(known ? `KNOWN ENGINE DEFECT: ${known}` : 'the engine agrees with the recorded truth', async () => {
        const v = await verdicts.get(c.name)!;
        const verdict = `replicaFirstSafe=${v.replicaFirstSafe} reverseSafe=${v.replicaFirstReverseSafe} blocking=${v.blocking} (${v.algorithm}) strategy=${v.strategy} settings=${JSON.stringify(v.replicaSettings ?? null)} findings: ${summary(v.findings)}`;
        if (process.env['RF_TRUTH_PRINT']) console.log(`ENGINE ${c.name}: ${verdict}`);
        expect(engineMismatches(c, v), `verdict: ${verdict}`).toEqual([]);
      });
    });
  }

  it('slave_type_conversions set on a running SQL thread (no restart)', async () => {
    const f = SETTING_WITHOUT_SQL_THREAD_RESTART;
    const c = CASES.find((x) => x.name === f.case)!;
    expect(await run(c, 'forward', f.setting, false)).toEqual(f.truth);
  });
});

/** 'MMMM...' (150 times) -> 'M x150', to keep the recorded truth readable. */
function abbrev(v: string | null): string | null {
  return v && v.length > 20 && /^(.)\1*$/.test(v) ? `${v[0]} x${v.length}` : v;
}

function summary(fs: Finding[]): string {
  return fs.map((f) => `${f.rule}:${f.severity}`).join(' ') || '(none)';
}

async function engineVerdict(c: ReplicaFirstCase): Promise<MigrationVerdict> {
  const setup = sqlMigration('mysql', `${c.name}_setup`, sub(c.create, 't'), 'DROP TABLE t');
  const up = sqlMigration('mysql', c.name, sub(c.alter, 't'));
  const vs = await analyse([setup, up], { dialect: 'mysql', shadow: shadowServer('mysql'), checkReversibility: false });
  return vs[vs.length - 1]!;
}

const ok = (o: Observation | undefined): boolean => o?.outcome === 'ok';
const wrong = (o: Observation | undefined): boolean => o?.outcome === 'wrong';
const stopped = (o: Observation | undefined): boolean => o?.outcome === 'stopped';

/**
 * The failure mode each RF rule promises (its message and catalog text), per direction: the RF2xx
 * rule is always the RF1xx one + 100.
 *   silent   values change with no error (positional shift, ENUM index, NULL -> '')
 *   setting  stops with 1677 under the default, correct with ALL_NON_LOSSY          (RF104)
 *   lossy    stops unless ALL_LOSSY, which only truncates values that do not fit   (RF105)
 *   stop     stops whatever the setting                                            (RF106, RF109, RF115)
 * The positional rules (x01-x03) promise a shift; MariaDB stops instead (1677) when the shifted
 * columns' types differ, which is just as unsafe, so they count for "stop" too.
 */
const MODE: Record<string, 'silent' | 'setting' | 'lossy' | 'stop'> = {
  '01': 'silent',
  '02': 'silent',
  '03': 'silent',
  '07': 'silent',
  '08': 'silent',
  '14': 'silent',
  '04': 'setting',
  '05': 'lossy',
  '06': 'stop',
  '09': 'stop',
  '15': 'stop',
};
const POSITIONAL = new Set(['01', '02', '03']);

/**
 * What the verdict must say, given what the servers did; one line per disagreement.
 *
 * forward (RF1xx, replicaFirstSafe, replicaSettings):
 *  - replicaFirstSafe = the default settings replicated every value correctly;
 *  - wrong values under the default (silent corruption): a "silent" RF1xx finding of an error rule,
 *    no setting offered, and the executor never runs it replica-first: a blocking migration is
 *    refused (the finding keeps error severity), a non-blocking one runs in place (the finding is
 *    shown as info there, since in place nothing replicates across schemas) and a forced
 *    `--strategy replica-first` is refused;
 *  - stopped, correct with ALL_NON_LOSSY: RF104, and replicaSettings ALL_NON_LOSSY when the plan
 *    is replica-first;
 *  - stopped, ALL_NON_LOSSY stops too, ALL_LOSSY truncates what does not fit: RF105;
 *  - stopped under every setting, or a setting "works" by changing values that fit: an
 *    error-severity RF1xx that promises no setting helps (RF106, RF109, positional), not RF104/RF105,
 *    and the plan is not replica-first.
 * reverse (RF2xx, replicaFirstReverseSafe): the same modes with RF2xx (warnings by design).
 */
function engineMismatches(c: ReplicaFirstCase, v: MigrationVerdict): string[] {
  const out: string[] = [];
  const rf = (dir: Direction): Finding[] => v.findings.filter((f) => (dir === 'forward' ? /^RF1(0[1-9]|1[0-245])$/ : /^RF2(0[1-9]|1[0-245])$/).test(f.rule));
  const mode = (f: Finding): string | undefined => MODE[f.rule.slice(3)];

  for (const dir of ['forward', 'reverse'] as const) {
    const t = c.truth[dir];
    const fs = rf(dir);
    const got = `got ${summary(fs)}`;
    const safe = dir === 'forward' ? v.replicaFirstSafe : v.replicaFirstReverseSafe;
    const safeName = dir === 'forward' ? 'replicaFirstSafe' : 'replicaFirstReverseSafe';
    const isFwd = dir === 'forward';
    const code = (n: string): string => `RF${isFwd ? 1 : 2}${n}`;
    const say = (m: string): void => void out.push(`${dir}: ${m}`);
    const reinterpreted = c.reinterpreted?.includes(dir) ?? false;

    if (c.dataDependent && isFwd) {
      if (!fs.length) say(`the outcome depends on the data (${c.dataDependent}) but no finding warns (${got})`);
      continue;
    }
    if (safe !== ok(t.default)) say(`${safeName}=${safe}, real replication: ${describeTruth(t)}`);

    if (ok(t.default)) {
      const bad = fs.filter((f) => mode(f) !== undefined);
      if (bad.length) say(`replicates correctly under the default settings, but the engine reports ${summary(bad)}`);
      continue;
    }

    const offersSetting = fs.some((f) => mode(f) === 'setting' || mode(f) === 'lossy');
    const plansWithSetting = isFwd && v.strategy === 'replica-first';
    if (wrong(t.default)) {
      const silent = fs.filter((f) => mode(f) === 'silent');
      if (!silent.length) say(`silent corruption under the default (${seenText(t.default)}), but no rule that says values change silently (${got})`);
      else if (isFwd && !silent.some((f) => ruleDoc(f.rule).severity === 'error'))
        say(`silent corruption (${seenText(t.default)}) reported as ${summary(silent)}, not an error rule`);
      else if (isFwd && v.blocking && !silent.some((f) => f.severity === 'error'))
        say(`silent corruption (${seenText(t.default)}) in a blocking migration reported as ${summary(silent)}, not error severity`);
      if (isFwd && !forcedReplicaFirstRefused(v)) say(`silent corruption (${seenText(t.default)}), yet --strategy replica-first would run it replica-first`);
      if (offersSetting)
        say(`silent corruption under every setting, but ${summary(fs.filter((f) => mode(f) === 'setting' || mode(f) === 'lossy'))} suggests a setting`);
      if (plansWithSetting) say(`silent corruption, yet the plan is replica-first (settings ${JSON.stringify(v.replicaSettings ?? null)})`);
      continue;
    }

    // Stopped under the default.
    if (ok(t.nonLossy)) {
      if (!fs.some((f) => f.rule === code('04'))) say(`stops (${show(t.default)}) and is correct with ALL_NON_LOSSY, expected ${code('04')} (${got})`);
      if (plansWithSetting && v.replicaSettings?.['slave_type_conversions'] !== 'ALL_NON_LOSSY')
        say(`plans replica-first with replicaSettings=${JSON.stringify(v.replicaSettings ?? null)}, needs slave_type_conversions=ALL_NON_LOSSY`);
      if (isFwd && v.blocking && v.strategy !== 'replica-first') say(`blocking and replica-first safe with ALL_NON_LOSSY, yet strategy=${v.strategy}`);
      continue;
    }
    if (!reinterpreted && stopped(t.nonLossy) && t.lossy && !stopped(t.lossy)) {
      if (!fs.some((f) => f.rule === code('05')))
        say(`stops with ALL_NON_LOSSY and converts only with ALL_LOSSY (${show(t.lossy)}), expected ${code('05')} (${got})`);
      if (plansWithSetting) say(`needs ALL_LOSSY (${show(t.lossy)}), yet the plan is replica-first`);
      continue;
    }
    // Stops whatever the setting, or a setting only "works" by reinterpreting values.
    const none = fs.filter((f) => mode(f) === 'stop' || (mode(f) === 'silent' && POSITIONAL.has(f.rule.slice(3))));
    if (!none.length)
      say(
        `${describeTruth(t)}${reinterpreted ? ' (values that fit are changed too)' : ''}: no setting makes it safe, expected a rule that says so (${code('06')}-like), ${got}`,
      );
    else if (isFwd && !none.some((f) => ruleDoc(f.rule).severity === 'error')) say(`no setting makes it safe, but ${summary(none)} is not an error rule`);
    if (offersSetting)
      say(`${summary(fs.filter((f) => mode(f) === 'setting' || mode(f) === 'lossy'))} offers a setting, but real replication: ${describeTruth(t)}`);
    if (plansWithSetting) say(`no setting makes it safe, yet the plan is replica-first (settings ${JSON.stringify(v.replicaSettings ?? null)})`);
  }
  return out;
}

/** What `migrate apply --strategy replica-first` would do with this verdict: refuse it, or plan it. */
function forcedReplicaFirstRefused(v: MigrationVerdict): boolean {
  const m = sqlMigration('mysql', v.id, v.sql.join(';\n'));
  const { steps, refused } = stepsFromVerdicts([m], [v], 'replica-first');
  return refused.length === 1 && !steps.some((s) => s.strategy === 'replica-first');
}

function seenText(o: Observation): string {
  return o.outcome === 'wrong'
    ? Object.entries(o.seen)
        .map(([k, [a, b]]) => `${k}: ${JSON.stringify(a)} became ${JSON.stringify(b)}`)
        .join(', ')
    : show(o);
}

function show(o: Observation | undefined): string {
  if (!o) return 'not run';
  return o.outcome === 'stopped' ? `stopped (error ${o.errno})` : o.outcome === 'wrong' ? `wrong values in ${o.columns.join(', ')}` : 'correct';
}

function describeTruth(t: DirectionTruth): string {
  return (Object.entries(t) as [SettingKey, Observation][]).map(([k, o]) => `${k}: ${show(o)}`).join('; ');
}
