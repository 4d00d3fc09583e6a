/**
 * bench/switchover: the same column-type change on a table of --rows rows, under a rate-limited
 * write load through HAProxy and a 10 ms insert probe, done four ways: (a) direct ALTER on the
 * primary, (b) pt-online-schema-change, (c) `migrate apply --strategy replica-first`, (d) the same
 * replica-first ALTERs with MHA 0.58's online switch. A fresh sandbox (MariaDB primary + 2
 * replicas + HAProxy) per way per repetition; the ways rotate order from one repetition to the
 * next so a drifting machine load does not favour one of them. After the --reps repetitions with
 * the load connected as the application user, --root-reps more with it connected as root (which
 * writes through read_only).
 *
 *   node --import tsx bench/switchover/main.ts [--reps 5] [--root-reps 1] [--rows 200000] [--threads 4] [--tps 200]
 *        [--baseline 5] [--buffer-pool 512] [--redo-log 96] [--ways alter,ptosc,tool,mha] [--budget-min 40]
 *        [--work /tmp/bench-switchover] [--doc docs/benchmarks-switchover.md] [--keep]
 *   node --import tsx bench/switchover/main.ts --from /tmp/bench-switchover/results.json [--doc FILE]   (re-render only)
 *
 * Use bench/switchover.sh (it installs what is missing first).
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/load.ts';
import { createKnex } from '../../src/db/connect.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { runtimeCommand } from '../../src/sandbox/haproxy.ts';
import {
  admin,
  buildSeed,
  downCluster,
  importSeed,
  MIGRATION_CREATE,
  q,
  setBufferPool,
  setRedoLog,
  TABLE,
  upCluster,
  writeMigrations,
  ALTER,
  type BenchCluster,
  type Seed,
} from './cluster.ts';
import { LagPoller, longestGapWithin, now, Probe, round1, StallMonitor, WriteLoad, type LoadReport, type ProbeReport } from './load.ts';
import { renderDoc, renderTable, summarize, type DocInput, type RunResult } from './report.ts';
import { prepareMha } from './mha.ts';
import { shareRootPassword } from '../../src/sandbox/privileged.ts';
import { preparePtOsc, runWay, WAY_LABEL, WAYS, type Way } from './ways.ts';

const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    'root-reps': { type: 'string', default: '1' },
    rows: { type: 'string', default: '200000' },
    threads: { type: 'string', default: '4' },
    tps: { type: 'string', default: '200' },
    baseline: { type: 'string', default: '5' },
    'buffer-pool': { type: 'string', default: '512' },
    'redo-log': { type: 'string', default: '96' },
    ways: { type: 'string', default: WAYS.join(',') },
    'budget-min': { type: 'string', default: '40' },
    work: { type: 'string', default: '/tmp/bench-switchover' },
    doc: { type: 'string' },
    keep: { type: 'boolean', default: false },
    /** Re-render the table (and --doc) from a results.json of an earlier run, without running anything. */
    from: { type: 'string' },
  },
});

const REPS = Number(flags.reps);
const ROOT_REPS = Number(flags['root-reps']);
const ROWS = Number(flags.rows);
const THREADS = Number(flags.threads);
const TPS = Number(flags.tps);
const BASELINE_MS = Number(flags.baseline) * 1000;
const BUFFER_POOL = Number(flags['buffer-pool']) * 1024 * 1024;
const REDO_LOG = Number(flags['redo-log']) * 1024 * 1024;
const BUDGET_MS = Number(flags['budget-min']) * 60_000;
const WORK = resolve(flags.work!);
const ways = flags.ways!.split(',').map((w) => w.trim()) as Way[];
for (const w of ways) if (!WAYS.includes(w)) throw new Error(`unknown way ${w}; use ${WAYS.join(',')}`);
/** Probe ids start here: clear of the load's ids (1..rows), which it deletes and re-inserts. */
const PROBE_FIRST_ID = 10_000_001;

const t0 = Date.now();
/** Wall clock (journal timestamps) minus the bench clock (performance.now()). */
const wallOffset = Date.now() - now();
const log = (m: string): void => {
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let current: string | undefined;
async function cleanupAndExit(sig: string): Promise<void> {
  log(`${sig}: taking the sandbox down`);
  if (current) await downCluster(current).catch(() => undefined);
  process.exit(130);
}
process.on('SIGINT', () => void cleanupAndExit('SIGINT'));
process.on('SIGTERM', () => void cleanupAndExit('SIGTERM'));

async function writerOf(cl: BenchCluster): Promise<string[]> {
  const writable: string[] = [];
  for (const n of cl.nodes) {
    const c = await admin(n);
    try {
      const [r] = await q<{ ro: number }>(c, 'SELECT @@read_only AS ro');
      if (Number(r?.ro) === 0) writable.push(n.name);
    } finally {
      await c.end();
    }
  }
  return writable;
}

/** Waits until every node but the writer has executed the writer's current position. */
async function converge(cl: BenchCluster, writer: string, timeoutSec: number): Promise<string[]> {
  const w = await admin(cl.nodes.find((n) => n.name === writer)!);
  const [p] = await q<{ pos: string }>(w, 'SELECT @@gtid_binlog_pos AS pos');
  await w.end();
  const problems: string[] = [];
  await Promise.all(
    cl.nodes
      .filter((n) => n.name !== writer)
      .map(async (n) => {
        const c = await admin(n);
        try {
          const [r] = await q<{ r: number }>(c, 'SELECT MASTER_GTID_WAIT(?, ?) AS r', [p?.pos ?? '', timeoutSec]);
          if (Number(r?.r) !== 0) problems.push(`${n.name} did not reach ${p?.pos} within ${timeoutSec} s`);
        } finally {
          await c.end();
        }
      }),
  );
  return problems;
}

async function prepareCluster(dir: string, migrationsDir: string, seed: Seed): Promise<BenchCluster> {
  const cl = await upCluster(dir, migrationsDir);
  if (BUFFER_POOL > 0) await Promise.all(cl.nodes.map((n) => setBufferPool(n, BUFFER_POOL)));
  if (REDO_LOG > 0) await Promise.all(cl.nodes.map((n) => setRedoLog(n, REDO_LOG)));
  const config = await loadConfig({ configPath: cl.configPath });
  const db = createKnex(config.dialect, config.connection);
  try {
    await new Runner({ config, db, logger: { info: () => undefined, warn: () => undefined, error: () => undefined, out: () => undefined } }).up({
      to: MIGRATION_CREATE,
    });
  } finally {
    await db.destroy();
  }
  const problems = await converge(cl, 'primary', 30);
  if (problems.length) throw new Error(problems.join('; '));
  await Promise.all(cl.nodes.map((n) => importSeed(n, seed)));
  return cl;
}

/**
 * Servers HAProxy routes to: srv_op_state 2 (running). Not srv_admin_state: a server declared
 * `disabled` keeps its config-maintenance bit (0x04) after `set server ... state ready`, while serving.
 */
function serving(showServersState: string): string[] {
  const lines = showServersState.split('\n').map((l) => l.trim());
  const cols = (lines.find((l) => l.startsWith('#')) ?? '').replace(/^#\s*/, '').split(/\s+/);
  const iName = cols.indexOf('srv_name');
  const iOp = cols.indexOf('srv_op_state');
  return lines
    .filter((l) => /^\d+\s/.test(l))
    .map((l) => l.split(/\s+/))
    .filter((f) => f[iOp] === '2')
    .map((f) => f[iName] ?? '?');
}

function throughput(load: LoadReport, from: number, to: number): number {
  if (to <= from) return 0;
  return (load.commitTimes.filter((t) => t >= from && t < to).length * 1000) / (to - from);
}

/** Lowest committed-transactions rate in any whole second of [from, to). */
function worstSecond(load: LoadReport, from: number, to: number): number {
  let worst = Infinity;
  for (let s = from; s + 1000 <= to; s += 1000) worst = Math.min(worst, load.commitTimes.filter((t) => t >= s && t < s + 1000).length);
  return worst === Infinity ? throughput(load, from, to) : worst;
}

type Client = 'app' | 'root';

async function runOnce(way: Way, rep: number, user: Client, migrationsDir: string, seed: Seed, suffix = ''): Promise<RunResult> {
  const runDir = join(WORK, 'runs', `${rep}-${way}${user === 'root' ? '-root' : ''}${suffix ? `-${suffix}` : ''}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  const dir = join(WORK, `sb-${rep}-${way}`);
  current = dir;
  const started = Date.now();
  const cl = await prepareCluster(dir, migrationsDir, seed);
  if (user === 'root') {
    // Root through the endpoint: one root password on every node, so the client follows the writer.
    const root = await shareRootPassword(cl.state);
    for (const n of cl.nodes) n.password = root.password;
    cl.app = { ...cl.app, user: root.user, password: root.password };
  }
  const result: RunResult = { way, rep, user, ok: false, changeOk: false, problems: [] } as unknown as RunResult;
  const poller = new LagPoller(cl.nodes, 100);
  const load = new WriteLoad(cl.app, TABLE, ROWS, THREADS, TPS);
  const probe = new Probe(cl.app, TABLE, PROBE_FIRST_ID, 10);
  const stalls = new StallMonitor(50);
  try {
    if (way === 'ptosc') await preparePtOsc(cl);
    if (way === 'mha') await prepareMha(cl, runDir);
    stalls.begin();
    poller.begin();
    load.begin();
    probe.begin();
    const loadStart = now();
    await sleep(BASELINE_MS);
    log(`${WAY_LABEL[way]} #${rep}${user === 'root' ? ' (load as root)' : ''}: change starts (setup took ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const changeStart = now();
    const outcome = await runWay(way, cl, runDir, WORK);
    const changeEnd = now();
    if (!outcome.ok) result.problems.push(`the change failed: ${outcome.error}`);
    const writers = await writerOf(cl);
    if (writers.length !== 1) result.problems.push(`${writers.length} writable nodes (${writers.join(', ')})`);
    const writer = writers[0] ?? 'primary';
    result.problems.push(...(await converge(cl, writer, 600)));
    const convergedAt = now();
    await sleep(1000);
    const probeReport: ProbeReport = await probe.stop();
    const loadReport = await load.stop();
    const lag = await poller.stop();
    const clientStalls = stalls.stop();
    // Did the bench client itself stall (not scheduled) during the longest gap?
    const gapFrom = probeReport.longestGapAt;
    const gapTo = gapFrom + probeReport.longestGapMs;
    const stallInGap = clientStalls
      .filter((x) => x.at < gapTo && x.at + x.ms > gapFrom)
      .reduce((a, x) => a + Math.min(x.ms, gapTo - x.at, x.at + x.ms - gapFrom), 0);
    const sw = outcome.blockWindow?.end
      ? longestGapWithin(probeReport.ackTimes, outcome.blockWindow.begin - wallOffset, outcome.blockWindow.end - wallOffset)
      : undefined;

    // Everything the probe saw acknowledged must be on the writer (read through HAProxy) and on every node.
    result.problems.push(...(await converge(cl, writer, 60)));
    const wc = await (await import('mysql2/promise')).default.createConnection({ ...cl.app });
    const onWriter = new Set((await q<{ id: number }>(wc, `SELECT id FROM ${TABLE} WHERE id >= ?`, [PROBE_FIRST_ID])).map((r) => Number(r.id)));
    await wc.end();
    const missing = probeReport.acknowledged.filter((id) => !onWriter.has(id));
    let missingAnyNode = 0;
    const schemas = new Set<string>();
    for (const n of cl.nodes) {
      const c = await admin(n, 'app');
      try {
        const ids = new Set((await q<{ id: number }>(c, `SELECT id FROM ${TABLE} WHERE id >= ?`, [PROBE_FIRST_ID])).map((r) => Number(r.id)));
        missingAnyNode += probeReport.acknowledged.filter((id) => !ids.has(id)).length;
        const [cr] = await q<Record<string, string>>(c, `SHOW CREATE TABLE ${TABLE}`);
        const def = cr?.['Create Table'] ?? '';
        schemas.add(/`c` varchar\(200\)/i.test(def) ? 'new' : /`c` char\(120\)/i.test(def) ? 'old' : def);
        if (n.name !== writer) {
          const [st] = await q<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
          if (st?.['Slave_IO_Running'] !== 'Yes' || st?.['Slave_SQL_Running'] !== 'Yes')
            result.problems.push(`${n.name}: replication not running (${String(st?.['Last_SQL_Error'] ?? st?.['Last_IO_Error'] ?? 'no replica status')})`);
        }
      } finally {
        await c.end();
      }
    }
    if (schemas.size !== 1 || !schemas.has('new')) result.problems.push(`schema after the change: ${[...schemas].join(' / ')}`);
    const servers = await runtimeCommand(cl.haproxySocket, 'show servers state writer').catch((e: Error) => e.message);
    writeFileSync(join(runDir, 'haproxy-servers.txt'), servers);
    const ready = serving(servers);
    if (ready.length !== 1 || ready[0] !== writer) result.problems.push(`HAProxy sends writes to ${ready.join(', ') || 'nobody'}, the writer is ${writer}`);

    const before = throughput(loadReport, loadStart + 1000, changeStart);
    Object.assign(result, {
      ok: result.problems.length === 0 && missing.length === 0 && missingAnyNode === 0,
      changeOk: outcome.ok,
      totalMs: Math.round(changeEnd - changeStart),
      convergedMs: Math.round(convergedAt - changeStart),
      probeGapMs: probeReport.longestGapMs,
      probeGapAtMs: Math.round(probeReport.longestGapAt - changeStart),
      baselineGapMs: longestGapWithin(
        probeReport.ackTimes.filter((t) => t >= loadStart + 500 && t <= changeStart),
        loadStart,
        changeStart,
      ).ms,
      ...(sw ? { switchoverGapMs: sw.ms, blockAtMs: Math.round(outcome.blockWindow!.begin - wallOffset - changeStart) } : {}),
      clientStallMaxMs: clientStalls.reduce((a, x) => Math.max(a, x.ms), 0),
      clientStallInGapMs: round1(stallInGap),
      loadMaxLatencyMs: loadReport.maxLatencyMs,
      loadP99LatencyMs: loadReport.p99LatencyMs,
      tpsBefore: round1(before),
      tpsDuring: round1(throughput(loadReport, changeStart, changeEnd)),
      throughputRatio: before > 0 ? Math.round((throughput(loadReport, changeStart, changeEnd) / before) * 100) / 100 : 0,
      worstSecondRatio: before > 0 ? Math.round((worstSecond(loadReport, changeStart, changeEnd) / before) * 100) / 100 : 0,
      lagPeakS: lag.peakSeconds,
      lagPeakNode: lag.peakNode,
      replicationErrors: lag.replicationErrors,
      probeAcked: probeReport.acknowledged.length,
      probeFailed: probeReport.failed,
      probeErrors: probeReport.errors,
      probeUnknownCommitted: probeReport.unknownCommitted,
      loadCommitted: loadReport.committed,
      loadFailed: loadReport.failed,
      loadErrors: loadReport.errors,
      missing: missing.length,
      missingAnyNode,
      writer,
      ...(outcome.writeBlockMs !== undefined ? { toolWriteBlockMs: outcome.writeBlockMs } : {}),
      ...(outcome.alterMs ? { alterMs: outcome.alterMs } : {}),
      ...(outcome.steps ? { toolSteps: outcome.steps } : {}),
      ...(outcome.notes?.length ? { notes: outcome.notes } : {}),
      wallMs: 0,
    });
    writeFileSync(join(runDir, 'lag.json'), JSON.stringify({ changeStart: Math.round(changeStart), changeEnd: Math.round(changeEnd), series: poller.series }));
    writeFileSync(
      join(runDir, 'probe.json'),
      JSON.stringify(
        {
          acknowledged: probeReport.acknowledged.length,
          failed: probeReport.failed,
          errors: probeReport.errors,
          longestGapMs: probeReport.longestGapMs,
          // The ten longest gaps, each with its wall-clock start, to line up with the journal's steps.
          longestGaps: probeReport.ackTimes
            .slice(1)
            .map((t, i) => {
              const from = probeReport.ackTimes[i] ?? t;
              return { ms: round1(t - from), at: new Date(from + wallOffset).toISOString(), sinceChangeMs: Math.round(from - changeStart) };
            })
            .sort((a, b) => b.ms - a.ms)
            .slice(0, 10),
        },
        null,
        2,
      ),
    );
  } finally {
    // Stopped already unless something above threw; stopping twice is harmless.
    await Promise.all([probe.stop(), load.stop(), poller.stop()]).catch(() => undefined);
    stalls.stop();
    // Throwaway servers: skip the buffer-pool flush on shutdown.
    await Promise.all(
      cl.nodes.map(async (n) => {
        const c = await admin(n).catch(() => undefined);
        await c?.query('SET GLOBAL innodb_fast_shutdown = 2').catch(() => undefined);
        await c?.end().catch(() => undefined);
      }),
    );
    if (!flags.keep) await downCluster(dir);
    current = undefined;
  }
  result.wallMs = Date.now() - started;
  return result;
}

function machine(): Record<string, string> {
  const sh = (cmd: string, args: string[]): string => {
    try {
      return (
        execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
          .trim()
          .split('\n')[0] ?? ''
      );
    } catch {
      return '?';
    }
  };
  return {
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    ram: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    os: sh('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"']),
    kernel: sh('uname', ['-r']),
    mariadb: sh('/usr/sbin/mariadbd', ['--version']).replace(/^.*Ver\s+/, ''),
    haproxy: sh('haproxy', ['-v'])
      .replace(/ - https.*$/, '')
      .replace(/^HAProxy version /, ''),
    ptosc: sh('pt-online-schema-change', ['--version']),
    mha: sh('sh', ['-c', 'masterha_master_switch --version 2>&1']).replace(/\.$/, ''),
    node: process.version,
    loadavg: sh('cat', ['/proc/loadavg']),
  };
}

/** The command line of this run, for the document's Reproduce section (the options that shape the results). */
const COMMAND = `bash bench/switchover.sh ${process.argv.slice(2).join(' ')}`.trim();

/**
 * Writes the document, and the copy of its summary (Results and Machine) in benchmarks.md beside
 * it, between its switchover-summary markers, so the two never disagree (test/unit/report-docs.test.ts).
 */
function writeDoc(path: string, d: DocInput): void {
  const full = renderDoc(d);
  writeFileSync(path, full);
  const overview = join(dirname(path), 'benchmarks.md');
  if (!existsSync(overview)) return;
  const results = full.slice(full.indexOf('## Results'), full.indexOf('Columns:')).trim().replace('## Results', '### Results');
  const machine = full.slice(full.indexOf('## Machine')).split('\n## ')[0]!.trim().replace('## Machine', '### Machine');
  const text = readFileSync(overview, 'utf8');
  const re = /(<!-- switchover-summary:begin -->\n)[\s\S]*?(\n<!-- switchover-summary:end -->)/;
  if (!re.test(text)) return;
  writeFileSync(
    overview,
    text.replace(re, (_m, a: string, b: string) => `${a}${results}\n\n${machine}${b}`),
  );
  log(`updated the summary in ${overview}`);
}

async function main(): Promise<void> {
  if (flags.from) {
    const prev = JSON.parse(readFileSync(resolve(flags.from), 'utf8')) as DocInput;
    const summary = summarize(prev.results, [...new Set(prev.results.map((r) => r.way))].sort() as Way[]);
    process.stdout.write(`${renderTable(summary, prev.results, prev.runtimeMs)}\n`);
    if (flags.doc) writeDoc(resolve(flags.doc), { ...prev, summary });
    return;
  }
  mkdirSync(WORK, { recursive: true });
  const migrationsDir = join(WORK, 'migrations');
  writeMigrations(migrationsDir);
  const mach = machine();
  log(`machine: ${mach.cpus}, ${mach.ram}, load ${mach.loadavg}`);
  log(
    `settings: ${ROWS} rows, load ${THREADS} threads / ${TPS} tx/s (4 writes each), probe every 10 ms, ${BASELINE_MS / 1000} s baseline, buffer pool ${BUFFER_POOL / 2 ** 20} MiB; change: ${ALTER}`,
  );
  const seed = await buildSeed(WORK, migrationsDir, ROWS, BUFFER_POOL, log);
  const results: RunResult[] = [];
  const repDurations: number[] = [];
  let repsDone = 0;
  let rootRepsDone = 0;
  // The repetitions with the application user's load, then those with the load as root.
  const rounds: { rep: number; user: Client }[] = [
    ...Array.from({ length: REPS }, (_, i) => ({ rep: i + 1, user: 'app' as const })),
    ...Array.from({ length: ROOT_REPS }, (_, i) => ({ rep: i + 1, user: 'root' as const })),
  ];
  for (const [i, { rep, user }] of rounds.entries()) {
    const elapsed = Date.now() - t0;
    const est = repDurations.length ? Math.max(...repDurations) : 0;
    if (i > 0 && elapsed + est > BUDGET_MS) {
      log(
        `stopping after ${repsDone} repetition(s) and ${rootRepsDone} with the load as root: another would end past the ${BUDGET_MS / 60_000} min budget (--budget-min)`,
      );
      break;
    }
    const repStart = Date.now();
    // Rotate the order: a, b, c, d / b, c, d, a / ...
    const order = ways.map((_, k) => ways[(k + i) % ways.length]!);
    for (const way of order) {
      const attempt = async (suffix = ''): Promise<RunResult> => {
        try {
          return await runOnce(way, rep, user, migrationsDir, seed, suffix);
        } catch (e) {
          if (current) await downCluster(current).catch(() => undefined);
          current = undefined;
          return {
            way,
            rep,
            user,
            ok: false,
            changeOk: false,
            problems: [`the run failed: ${e instanceof Error ? e.message : String(e)}`],
          } as unknown as RunResult;
        }
      };
      let r = await attempt();
      if (!r.changeOk) {
        // Listed in the results, left out of the statistics; one more try on a fresh sandbox.
        log(`${WAY_LABEL[way]} #${rep}: the change failed (${r.problems.join('; ')}); once more on a fresh sandbox`);
        results.push(r);
        r = await attempt('retry');
      }
      results.push(r);
      log(
        `${WAY_LABEL[way]} #${rep}${user === 'root' ? ' (load as root)' : ''}: ${r.ok ? 'ok' : 'PROBLEMS'}; change ${((r.totalMs ?? 0) / 1000).toFixed(1)} s, probe gap ${r.probeGapMs} ms at ${((r.probeGapAtMs ?? 0) / 1000).toFixed(1)} s${r.switchoverGapMs !== undefined ? ` (at the switchover, ${(r.blockAtMs! / 1000).toFixed(1)} s: ${r.switchoverGapMs} ms)` : ''}, client stall max ${r.clientStallMaxMs} ms, load max ${r.loadMaxLatencyMs} ms, lag peak ${r.lagPeakS} s, failed ${r.probeFailed}+${r.loadFailed}, missing ${r.missing}${r.toolWriteBlockMs !== undefined ? `, write block ${r.toolWriteBlockMs} ms` : ''}${r.problems.length ? `; ${r.problems.join('; ')}` : ''}`,
      );
    }
    repDurations.push(Date.now() - repStart);
    if (user === 'app') repsDone = rep;
    else rootRepsDone = rep;
  }
  const runtimeMs = Date.now() - t0;
  const summary = summarize(results, ways);
  const settings = {
    rows: ROWS,
    threads: THREADS,
    tps: TPS,
    baselineS: BASELINE_MS / 1000,
    bufferPoolMiB: BUFFER_POOL / 2 ** 20,
    redoLogMiB: REDO_LOG / 2 ** 20,
    reps: repsDone,
    rootReps: rootRepsDone,
    alter: ALTER,
  };
  writeFileSync(join(WORK, 'results.json'), JSON.stringify({ machine: mach, settings, runtimeMs, results, summary, command: COMMAND }, null, 2));
  process.stdout.write(`${renderTable(summary, results, runtimeMs)}\n`);
  log(`results: ${join(WORK, 'results.json')}; logs per run: ${join(WORK, 'runs')}`);
  if (flags.doc) {
    writeDoc(resolve(flags.doc), { machine: mach, settings, runtimeMs, results, summary, command: COMMAND });
    log(`wrote ${flags.doc}`);
  }
  const failed = results.filter((r) => r.missing > 0 || r.missingAnyNode > 0);
  if (failed.length) {
    log(`acknowledged writes missing in ${failed.length} run(s)`);
    process.exitCode = 1;
  }
}

main().catch(async (e) => {
  log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  if (current) await downCluster(current).catch(() => undefined);
  process.exit(1);
});
