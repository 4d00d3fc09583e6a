/**
 * Replica-first truth: each ALTER of test/corpus/replica-first/cases.ts is run again on a sandbox
 * MariaDB primary + replica (GTID, ROW binlog), in both directions and under the
 * slave_type_conversions settings that matter, by the same code that recorded
 * test/corpus/replica-first/measured.json (test/corpus/replica-first/measure.ts, run by
 * `npm run corpus:measure-replica-first`), and compared with that file, so a server change shows
 * up. Then the analysis engine is run on the same migration and its replica-first verdict is
 * compared with the recorded measurement.
 *
 *   forward  ALTER on the replica (sql_log_bin=0), old-schema writes on the primary
 *   reverse  ALTER on the primary (sql_log_bin=0), new-schema writes on it, the replica stays old
 *            (the master-master hold period: rows from the new schema applied to the old one)
 *
 * Engine mismatches are not hidden: "the engine agrees with the measured truth" fails with one line
 * per disagreement and the verdict. After a server upgrade, or when a case changes, rerun the
 * script and review the diff of measured.json (test/corpus/README.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import { ruleDoc } from '../../src/analysis/rules/catalog.ts';
import type { Finding, MigrationVerdict } from '../../src/analysis/types.ts';
import { stepsFromVerdicts } from '../../src/execution/plan-steps.ts';
import { CASES, type ReplicaFirstCase, SETTING_WITHOUT_SQL_THREAD_RESTART } from '../corpus/replica-first/cases.ts';
import {
  type Bench,
  type CaseTruth,
  caseSource,
  type Direction,
  type DirectionTruth,
  type Observation,
  openBench,
  outcomeOf,
  readMeasured,
  type SettingKey,
  truthOf,
} from '../corpus/replica-first/measure.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

const sub = (sql: string, table: string): string => sql.replaceAll('{t}', table);

const MEASURED = readMeasured();
const RERUN = 'rerun `npm run corpus:measure-replica-first`, review the diff of test/corpus/replica-first/measured.json and commit it';

/** What the servers did when measured.json was recorded (the evidence left out). */
function recorded(name: string): CaseTruth {
  const m = MEASURED.cases[name];
  if (!m) throw new Error(`case ${name} is not in measured.json: ${RERUN}`);
  return truthOf(m);
}

/**
 * Cases where the engine's verdict is still wrong, pinned with it.fails (the test flips to failing
 * once the rule is fixed, and the entry must then go). Empty: every measured case agrees.
 */
const KNOWN_ENGINE_DEFECTS: Record<string, string> = {};

describe('measured.json covers the cases', () => {
  it('one measurement per case, taken for the statements cases.ts runs today', () => {
    expect(Object.keys(MEASURED.cases).sort(), RERUN).toEqual(CASES.map((c) => c.name).sort());
    const stale = CASES.filter((c) => MEASURED.cases[c.name]?.source !== caseSource(c)).map((c) => c.name);
    expect(stale, `cases changed since they were measured: ${RERUN}`).toEqual([]);
    expect(MEASURED.settingWithoutSqlThreadRestart.case).toBe(SETTING_WITHOUT_SQL_THREAD_RESTART.case);
    expect(MEASURED.settingWithoutSqlThreadRestart.setting).toBe(SETTING_WITHOUT_SQL_THREAD_RESTART.setting);
  });
});

describe('replica-first truth on MariaDB row-based replication', () => {
  let bench: Bench;
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
    bench = await openBench();
    await chain;
  });

  afterAll(async () => {
    await bench?.stop();
  });

  it('the sandbox replicates as the one measured.json was recorded on', () => {
    const series = (v: string): string => v.split('.').slice(0, 2).join('.');
    expect(series(bench.server.version), `server ${bench.server.version}, measured on ${MEASURED.server.version}: ${RERUN}`).toBe(
      series(MEASURED.server.version),
    );
    expect(bench.server.version).toMatch(/MariaDB/);
    const { version: _now, ...now } = bench.server;
    const { version: _then, ...then } = MEASURED.server;
    expect(now).toEqual(then);
    expect(now).toEqual({ binlogFormat: 'ROW', binlogRowImage: 'FULL', defaultConversions: '' });
  });

  for (const c of CASES) {
    const known = KNOWN_ENGINE_DEFECTS[c.name];
    describe(c.name, () => {
      it(`real replication does what measured.json records: ${c.title}`, async () => {
        expect(truthOf(await bench.measureCase(c)), `replication behaves otherwise than when measured: ${RERUN}`).toEqual(recorded(c.name));
      });

      // A known engine defect is pinned with it.fails: the test flips to failing once the rule
      // is fixed, and the marker must then go.
      (known ? it.fails : it)(known ? `KNOWN ENGINE DEFECT: ${known}` : 'the engine agrees with the measured truth', async () => {
        const v = await verdicts.get(c.name)!;
        const verdict = `replicaFirstSafe=${v.replicaFirstSafe} reverseSafe=${v.replicaFirstReverseSafe} blocking=${v.blocking} (${v.algorithm}) strategy=${v.strategy} settings=${JSON.stringify(v.replicaSettings ?? null)} findings: ${summary(v.findings)}`;
        expect(engineMismatches(c, recorded(c.name), v), `verdict: ${verdict}`).toEqual([]);
      });
    });
  }

  it('slave_type_conversions set on a running SQL thread (no restart)', async () => {
    const f = SETTING_WITHOUT_SQL_THREAD_RESTART;
    const c = CASES.find((x) => x.name === f.case)!;
    expect(outcomeOf(await bench.run(c, 'forward', f.setting, false))).toEqual(outcomeOf(MEASURED.settingWithoutSqlThreadRestart.observation));
  });
});

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
function engineMismatches(c: ReplicaFirstCase, truth: CaseTruth, v: MigrationVerdict): string[] {
  const out: string[] = [];
  const rf = (dir: Direction): Finding[] => v.findings.filter((f) => (dir === 'forward' ? /^RF1(0[1-9]|1[0-245])$/ : /^RF2(0[1-9]|1[0-245])$/).test(f.rule));
  const mode = (f: Finding): string | undefined => MODE[f.rule.slice(3)];

  for (const dir of ['forward', 'reverse'] as const) {
    const t = truth[dir];
    const fs = rf(dir);
    const got = `got ${summary(fs)}`;
    const safe = dir === 'forward' ? v.replicaFirstSafe : v.replicaFirstReverseSafe;
    const safeName = dir === 'forward' ? 'replicaFirstSafe' : 'replicaFirstReverseSafe';
    const isFwd = dir === 'forward';
    const code = (n: string): string => `RF${isFwd ? 1 : 2}${n}`;
    const say = (m: string): void => void out.push(`${dir}: ${m}`);
    // ALL_LOSSY changed values the old column can hold, not only clipped over-long ones (measured).
    const reinterpreted = t.lossy?.outcome === 'wrong' && t.lossy.fitting;

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
