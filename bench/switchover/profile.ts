/**
 * Where the switchover's time goes under load: a sandbox (primary + 2 replicas behind HAProxy, or
 * the master-master pair), a table of --rows rows, the bench's write load (--threads connections,
 * --tps transactions/s in all: UPDATE, UPDATE, DELETE, INSERT per transaction, reconnecting) and a
 * probe committing one INSERT every 10 ms through the endpoint; then --runs switchovers back and
 * forth, each in its own process as `migrate apply` would run it. No ALTER: only the switchover is
 * measured. Per switchover it prints the tool's step timings beside what the probe saw: its
 * longest gap overlapping the write block, and its longest gap from the block to 3 s after the
 * switchover ended, with the step that was running when that gap began.
 *
 *   node --import tsx bench/switchover/profile.ts [--topology primary-replica|master-master] [--runs 5]
 *        [--rows 200000] [--threads 4] [--tps 200] [--user app|root] [--out results.json] [--keep]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readJournal } from '../../src/execution/journal.ts';
import { shareRootPassword } from '../../src/sandbox/privileged.ts';
import { readSecret } from '../../src/sandbox/secrets.ts';
import { sandboxDown, sandboxUp } from '../../src/sandbox/service.ts';
import { admin, CREATE_TABLE, q, TABLE } from './cluster.ts';
import { longestGapWithin, now, Probe, round1, StallMonitor, WriteLoad, type Target } from './load.ts';
import { stat } from './report.ts';

const { values: flags } = parseArgs({
  options: {
    topology: { type: 'string', default: 'primary-replica' },
    runs: { type: 'string', default: '5' },
    rows: { type: 'string', default: '200000' },
    threads: { type: 'string', default: '4' },
    tps: { type: 'string', default: '200' },
    user: { type: 'string', default: 'app' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const topology = flags.topology === 'master-master' ? 'master-master' : 'primary-replica';
const RUNS = Number(flags.runs);
const ROWS = Number(flags.rows);
const REPO = resolve(import.meta.dirname, '..', '..');
const PROBE_FIRST_ID = 10_000_001;
const AFTER_MS = 3000;

const log = (m: string): void => {
  process.stderr.write(`[profile] ${m}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function runChild(job: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'bench', 'switchover', 'profile-switch.ts')], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', rej);
    p.on('close', () => {
      try {
        res(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>);
      } catch {
        rej(new Error(`switchover child printed no result: ${out}`));
      }
    });
    p.stdin.end(JSON.stringify(job));
  });
}

interface RunRow {
  run: number;
  from: string;
  to: string;
  error?: string;
  writeBlockMs?: number;
  stepsMs?: Record<string, number>;
  /** Probe: longest gap overlapping the block (journal: block-writes begin to move-endpoint end). */
  blockGapMs?: number;
  /** Probe: longest gap from the block's start to AFTER_MS after the switchover ended, and the step open when it began. */
  afterGapMs?: number;
  afterGapStep?: string;
  afterGapFromBlockMs?: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'swprof-'));
  const migrations = join(dir, 'migrations');
  mkdirSync(migrations, { recursive: true });
  const sbDir = join(dir, 'sb');
  const load0 = loadavg();
  log(
    `load average ${load0.map((x) => x.toFixed(2)).join(' ')}; ${topology}, ${ROWS} rows, ${flags.threads} threads x ${flags.tps} tx/s in all + probe every 10 ms, load as ${flags.user}`,
  );
  const { state } = await sandboxUp(
    { topology, replicas: topology === 'primary-replica' ? 2 : undefined, proxy: true, dir: sbDir, migrationsDir: migrations },
    { provider: 'local' },
  );
  const rows: RunRow[] = [];
  const consistency: string[] = [];
  let probeSummary: Record<string, unknown> = {};
  try {
    if (state.writer.type !== 'haproxy') throw new Error('no HAProxy');
    const nodes = state.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port, user: n.user, password: readSecret(n.passwordFile) }));
    const w = await admin(nodes[0]!, 'app');
    await w.query(CREATE_TABLE);
    for (let from = 1; from <= ROWS; from += 50_000)
      await w.query(`INSERT INTO ${TABLE} (id, k, c) SELECT seq, seq % 1000, REPEAT('x', 119) FROM seq_${from}_to_${Math.min(ROWS, from + 49_999)}`);
    await w.end();
    const root = flags.user === 'root' ? await shareRootPassword(state) : undefined;
    if (root) for (const n of nodes) n.password = root.password;
    const target: Target & { database: string } = {
      host: state.writer.host,
      port: state.writer.port,
      user: root ? root.user : state.app.user,
      password: root ? root.password : readSecret(state.app.passwordFile),
      database: state.app.database,
    };
    const load = new WriteLoad(target, TABLE, ROWS, Number(flags.threads), Number(flags.tps));
    const probe = new Probe(target, TABLE, PROBE_FIRST_ID, 10);
    const stalls = new StallMonitor(30);
    const wallOffset = Date.now() - now();
    stalls.begin();
    load.begin();
    probe.begin();
    await sleep(3000);
    const order = nodes.map((n) => n.name);
    const windows: { begin: number; end: number; after: number; steps: { step: string; at: number }[] }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const from = order[i % 2 === 0 ? 0 : 1]!;
      const to = order[i % 2 === 0 ? 1 : 0]!;
      const journalDir = join(dir, 'journal');
      const run = `run${i + 1}`;
      const res = await runChild({
        configPath: state.configPath,
        primary: from,
        candidate: to,
        replicas: order.slice(2),
        masterMaster: topology === 'master-master',
        journalDir,
        run,
      });
      const row: RunRow = { run: i + 1, from, to };
      if (typeof res['error'] === 'string') row.error = res['error'];
      if (typeof res['writeBlockMs'] === 'number') row.writeBlockMs = res['writeBlockMs'];
      if (res['stepsMs']) row.stepsMs = res['stepsMs'] as Record<string, number>;
      const entries = readJournal(join(journalDir, `${run}.jsonl`));
      const at = (step: string, phase: string): number | undefined => {
        const e = entries.find((x) => x.step === step && x.phase === phase);
        return e ? Date.parse(e.ts) - wallOffset : undefined;
      };
      const begin = at('block-writes', 'begin');
      const end = at('move-endpoint', 'end');
      const swEnd = at('switchover', 'end') ?? at('switchover', 'fail');
      if (begin !== undefined && end !== undefined && swEnd !== undefined) {
        windows.push({
          begin,
          end,
          after: swEnd + AFTER_MS,
          steps: entries.filter((e) => e.phase === 'begin').map((e) => ({ step: e.step, at: Date.parse(e.ts) - wallOffset })),
        });
      }
      rows.push(row);
      log(
        `run ${i + 1} ${from} -> ${to}: ${
          row.error ??
          `write block ${row.writeBlockMs} ms; ${Object.entries(row.stepsMs ?? {})
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`
        }`,
      );
      if (row.error) break;
      await sleep(AFTER_MS + 1000);
    }
    const pr = await probe.stop();
    const lr = await load.stop();
    const st = stalls.stop();
    windows.forEach((wd, i) => {
      const row = rows[i]!;
      row.blockGapMs = longestGapWithin(pr.ackTimes, wd.begin, wd.end).ms;
      const g = longestGapWithin(pr.ackTimes, wd.begin, wd.after);
      row.afterGapMs = g.ms;
      row.afterGapFromBlockMs = Math.round(g.at - wd.begin);
      row.afterGapStep = [...wd.steps].reverse().find((s) => s.at <= g.at + 1)?.step ?? '-';
    });
    probeSummary = {
      acknowledged: pr.acknowledged.length,
      failed: pr.failed,
      errors: pr.errors,
      loadCommitted: lr.committed,
      loadFailed: lr.failed,
      loadErrors: lr.errors,
      clientStallsOver30ms: st.length,
      clientStallMaxMs: st.reduce((a, x) => Math.max(a, x.ms), 0),
    };
    // Nothing acknowledged may be missing on any node, and exactly one node is writable.
    let writable = 0;
    for (const n of nodes) {
      const c = await admin(n, 'app');
      try {
        const [ro] = await q<{ ro: number }>(c, 'SELECT @@read_only AS ro');
        if (Number(ro?.ro) === 0) writable++;
        for (let k = 0; k < 100; k++) {
          const ids = new Set((await q<{ id: number }>(c, `SELECT id FROM ${TABLE} WHERE id >= ?`, [PROBE_FIRST_ID])).map((r) => Number(r.id)));
          const missing = pr.acknowledged.filter((x) => !ids.has(x)).length;
          if (missing === 0) break;
          if (k === 99) consistency.push(`${n.name}: ${missing} acknowledged probe writes missing`);
          await sleep(100);
        }
      } finally {
        await c.end();
      }
    }
    if (writable !== 1) consistency.push(`${writable} writable nodes`);
  } finally {
    if (!flags.keep) {
      await sandboxDown(sbDir).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    } else log(`kept ${dir}`);
  }
  const ok = rows.filter((r) => !r.error);
  const med = (xs: (number | undefined)[]): string => {
    const s = stat(xs.filter((x): x is number => typeof x === 'number'));
    return s ? `${round1(s.median)} (${round1(s.min)}-${round1(s.max)})` : '-';
  };
  const stepNames = [...new Set(ok.flatMap((r) => Object.keys(r.stepsMs ?? {})))];
  const lines = [
    `${topology}, load as ${flags.user}, load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
    `write block ms (tool): ${med(ok.map((r) => r.writeBlockMs))}`,
    `probe gap over the block ms: ${med(ok.map((r) => r.blockGapMs))}`,
    `probe longest gap from the block to ${AFTER_MS / 1000} s after ms: ${med(ok.map((r) => r.afterGapMs))}; began in: ${ok.map((r) => `${r.afterGapStep} (+${r.afterGapFromBlockMs} ms)`).join(', ')}`,
    ...stepNames.map((s) => `  ${s.padEnd(24)} ${med(ok.map((r) => r.stepsMs?.[s]))}`),
    `probe/load: ${JSON.stringify(probeSummary)}`,
    consistency.length ? `PROBLEMS: ${consistency.join('; ')}` : 'consistent: one writable node, every acknowledged probe write on every node',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (flags.out)
    writeFileSync(
      resolve(flags.out),
      JSON.stringify({ topology, user: flags.user, loadavg: { start: load0, end: loadavg() }, rows, probe: probeSummary, consistency }, null, 2),
    );
  if (consistency.length || rows.some((r) => r.error)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
