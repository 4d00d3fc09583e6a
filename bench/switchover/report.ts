/** Statistics over the runs, the printed table and the Markdown document. */
import { WAY_LABEL, type Way } from './ways.ts';

export interface RunResult {
  way: Way;
  rep: number;
  /** Who the load and the probe connect as: the application user (default) or root, which writes through read_only. */
  user?: 'app' | 'root';
  ok: boolean;
  /** The change command itself succeeded; runs where it failed are listed, not counted in the statistics. */
  changeOk: boolean;
  problems: string[];
  /** From the start of the change to its command returning. */
  totalMs: number;
  /** From the start of the change until every replica executed the writer's position. */
  convergedMs: number;
  probeGapMs: number;
  /** When the longest probe gap began, ms from the start of the change. */
  probeGapAtMs: number;
  /** Longest probe gap in the baseline, before the change started: the machine's noise floor. */
  baselineGapMs: number;
  /** Switchover ways: the longest probe gap overlapping the write block (migrate: journal block-writes begin to move-endpoint end; MHA: its online-change script's stop to start), and when the block began. */
  switchoverGapMs?: number;
  blockAtMs?: number;
  /** The bench client's longest stall (a 5 ms timer firing late: the process was not scheduled), and how much of the longest gap it covers. */
  clientStallMaxMs: number;
  clientStallInGapMs: number;
  loadMaxLatencyMs: number;
  loadP99LatencyMs: number;
  tpsBefore: number;
  tpsDuring: number;
  throughputRatio: number;
  worstSecondRatio: number;
  lagPeakS: number;
  lagPeakNode: string;
  replicationErrors: string[];
  probeAcked: number;
  probeFailed: number;
  probeErrors: Record<string, number>;
  probeUnknownCommitted: number;
  loadCommitted: number;
  loadFailed: number;
  loadErrors: Record<string, number>;
  missing: number;
  missingAnyNode: number;
  writer: string;
  toolWriteBlockMs?: number;
  alterMs?: Record<string, number>;
  toolSteps?: Record<string, number>;
  notes?: string[];
  wallMs: number;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export type Metric =
  | 'totalMs'
  | 'convergedMs'
  | 'probeGapMs'
  | 'baselineGapMs'
  | 'switchoverGapMs'
  | 'clientStallMaxMs'
  | 'loadMaxLatencyMs'
  | 'loadP99LatencyMs'
  | 'throughputRatio'
  | 'worstSecondRatio'
  | 'lagPeakS'
  | 'probeFailed'
  | 'loadFailed'
  | 'failedWrites'
  | 'missing'
  | 'missingAnyNode'
  | 'toolWriteBlockMs';
const METRICS: Metric[] = [
  'totalMs',
  'convergedMs',
  'probeGapMs',
  'baselineGapMs',
  'switchoverGapMs',
  'clientStallMaxMs',
  'loadMaxLatencyMs',
  'loadP99LatencyMs',
  'throughputRatio',
  'worstSecondRatio',
  'lagPeakS',
  'probeFailed',
  'loadFailed',
  'failedWrites',
  'missing',
  'missingAnyNode',
  'toolWriteBlockMs',
];
/** A run's value of a metric; failedWrites is the probe's failed statements plus the load's failed transactions. */
function metricValue(r: RunResult, m: Metric): unknown {
  return m === 'failedWrites' ? (typeof r.probeFailed === 'number' && typeof r.loadFailed === 'number' ? r.probeFailed + r.loadFailed : undefined) : r[m];
}

export interface WaySummary {
  way: Way;
  runs: number;
  okRuns: number;
  /** Runs whose change command failed (retried with a fresh sandbox). */
  failedChanges: number;
  stats: Partial<Record<Metric, Stat>>;
  errors: Record<string, number>;
}

export interface Summary {
  /** Runs with the load connected as the application user. */
  ways: WaySummary[];
  /** Runs with the load connected as root (empty when none ran). */
  root: WaySummary[];
  /** Longest probe gap: median of (a), (b) or (d) / median of (c), and the range of the same-repetition ratios (application user's runs). */
  ratios: { of: Way; median: number; min: number; max: number }[];
  /** The issue's acceptance checks, computed from the runs (undefined: not measurable from these runs). */
  acceptance: { what: string; ok: boolean | undefined; detail: string }[];
}

export function stat(xs: number[]): Stat | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

const isRoot = (r: RunResult): boolean => r.user === 'root';

function summarizeWays(all: RunResult[], ways: Way[]): WaySummary[] {
  return ways.flatMap((way) => {
    const mine = all.filter((r) => r.way === way);
    if (!mine.length) return [];
    const rs = mine.filter((r) => r.changeOk && r.totalMs !== undefined);
    const stats: Partial<Record<Metric, Stat>> = {};
    for (const m of METRICS) {
      const st = stat(rs.map((r) => metricValue(r, m)).filter((v): v is number => typeof v === 'number'));
      if (st) stats[m] = st;
    }
    const errors: Record<string, number> = {};
    for (const r of rs) for (const [k, v] of [...Object.entries(r.probeErrors), ...Object.entries(r.loadErrors)]) errors[k] = (errors[k] ?? 0) + v;
    const failedChanges = mine.filter((r) => !r.changeOk).length;
    return [{ way, runs: rs.length, okRuns: rs.filter((r) => r.ok).length, failedChanges, stats, errors }];
  });
}

export function summarize(allResults: RunResult[], ways: Way[]): Summary {
  const results = allResults.filter((r) => !isRoot(r));
  const out = summarizeWays(results, ways);
  const root = summarizeWays(allResults.filter(isRoot), ways);
  const ratios: Summary['ratios'] = [];
  const tool = out.find((w) => w.way === 'tool')?.stats.probeGapMs;
  if (tool) {
    for (const of of ['alter', 'ptosc', 'mha'] as Way[]) {
      const other = out.find((w) => w.way === of)?.stats.probeGapMs;
      if (!other) continue;
      const perRep: number[] = [];
      for (const r of results.filter((x) => x.way === of && x.changeOk)) {
        const c = results.find((x) => x.way === 'tool' && x.changeOk && x.rep === r.rep);
        if (c && c.probeGapMs > 0) perRep.push(r.probeGapMs / c.probeGapMs);
      }
      const pr = stat(perRep);
      ratios.push({ of, median: other.median / tool.median, min: pr?.min ?? NaN, max: pr?.max ?? NaN });
    }
  }
  return { ways: out, root, ratios, acceptance: acceptance(allResults, out) };
}

/** The acceptance points of issue 12, each from the measured runs only. */
function acceptance(all: RunResult[], app: WaySummary[]): Summary['acceptance'] {
  const out: Summary['acceptance'] = [];
  const c = app.find((w) => w.way === 'tool')?.stats;
  const d = app.find((w) => w.way === 'mha')?.stats;
  const half = (what: string, m: Metric, unit: string): void => {
    const ours = c?.[m];
    const theirs = d?.[m];
    if (!ours || !theirs) {
      out.push({ what, ok: undefined, detail: 'not measured (needs both (c) and (d))' });
      return;
    }
    out.push({ what, ok: ours.median <= theirs.median / 2, detail: `(c) ${ours.median}${unit} against (d) ${theirs.median}${unit} (medians)` });
  };
  // (c) and (d) differ only in the switchover (the same replica-first ALTERs before and after it):
  // the gap at the switchover is the comparison of the two; the longest gap of the whole run is
  // given too, though on this machine it often falls in the ALTER phases both share.
  half("write gap at the switchover (probe's longest gap overlapping the write block) at most half of MHA's", 'switchoverGapMs', ' ms');
  half("longest write gap of the whole run (probe) at most half of MHA's", 'probeGapMs', ' ms');
  half("failed writes (probe + load) at most half of MHA's", 'failedWrites', '');
  const lost = all.filter((r) => typeof r.missingAnyNode === 'number' && r.missingAnyNode > 0);
  const counted = all.filter((r) => typeof r.missingAnyNode === 'number');
  out.push({
    what: '0 acknowledged writes missing for every way and client user',
    ok: counted.length ? lost.length === 0 : undefined,
    detail: lost.length
      ? `missing in ${lost.map((r) => `${WAY_LABEL[r.way]} #${r.rep}${isRoot(r) ? ' (root)' : ''}: ${r.missingAnyNode}`).join(', ')}`
      : `0 in all ${counted.length} measured runs`,
  });
  const block = c?.toolWriteBlockMs;
  out.push({
    what: 'write block median at most 50 ms ((c), as migrate measures it)',
    ok: block ? block.median <= 50 : undefined,
    detail: block ? `${cell(block)} ms` : 'not measured',
  });
  const gap = c?.switchoverGapMs;
  out.push({
    what: 'longest probe gap at the switchover at most 60 ms ((c), median)',
    ok: gap ? gap.median <= 60 : undefined,
    detail: gap ? `${cell(gap)} ms` : 'not measured',
  });
  return out;
}

const fmtNum = (v: number, digits: number): string => (Number.isInteger(v) && digits === 0 ? String(v) : v.toFixed(digits));
function cell(st: Stat | undefined, scale = 1, digits = 0): string {
  if (!st) return '-';
  const f = (v: number): string => fmtNum(v / scale, digits);
  return st.min === st.max ? f(st.median) : `${f(st.median)} (${f(st.min)}-${f(st.max)})`;
}

const COLUMNS: { head: string; metric: Metric; scale?: number; digits?: number }[] = [
  { head: 'change time s', metric: 'totalMs', scale: 1000, digits: 1 },
  { head: 'until replicas caught up s', metric: 'convergedMs', scale: 1000, digits: 1 },
  { head: 'longest write gap ms (probe)', metric: 'probeGapMs' },
  { head: 'longest gap before the change ms (noise floor)', metric: 'baselineGapMs' },
  { head: 'load max latency ms', metric: 'loadMaxLatencyMs' },
  { head: 'load tx/s during / before', metric: 'throughputRatio', digits: 2 },
  { head: 'worst 1 s / before', metric: 'worstSecondRatio', digits: 2 },
  { head: 'replica lag peak s', metric: 'lagPeakS' },
  { head: 'failed writes: probe', metric: 'probeFailed' },
  { head: 'failed tx: load', metric: 'loadFailed' },
  { head: 'failed: probe + load', metric: 'failedWrites' },
  { head: 'acknowledged writes missing', metric: 'missingAnyNode' },
];

function rows(ways: WaySummary[]): string[][] {
  return ways.map((w) => [
    `${WAY_LABEL[w.way]} (${w.runs} runs${w.failedChanges ? `; ${w.failedChanges} failed, not counted` : ''})`,
    ...COLUMNS.map((c) => cell(w.stats[c.metric], c.scale, c.digits)),
  ]);
}

const LETTER: Record<Way, string> = { alter: '(a)', ptosc: '(b)', tool: '(c)', mha: '(d)' };

function ratioLines(summary: Summary): string[] {
  return summary.ratios.map(
    (r) => `longest write gap ${LETTER[r.of]}/(c): ${r.median.toFixed(1)}x (medians; same-repetition ratios ${r.min.toFixed(1)}x-${r.max.toFixed(1)}x)`,
  );
}

function blockLines(summary: Summary): string[] {
  const out: string[] = [];
  const tw = summary.ways.find((w) => w.way === 'tool')?.stats;
  if (tw?.toolWriteBlockMs)
    out.push(
      `(c) write block as \`migrate\` measures it (read lock taken to HAProxy moved): ${cell(tw.toolWriteBlockMs)} ms; the probe's longest gap overlapping that block: ${cell(tw.switchoverGapMs)} ms`,
    );
  const mw = summary.ways.find((w) => w.way === 'mha')?.stats;
  if (mw?.toolWriteBlockMs)
    out.push(
      `(d) MHA's write block (its online-change script's \`stop\`, which takes the old primary out of HAProxy, to its \`start\`, which puts the new one in): ${cell(mw.toolWriteBlockMs)} ms; the probe's longest gap overlapping it: ${cell(mw.switchoverGapMs)} ms`,
    );
  return out;
}

function acceptanceLines(summary: Summary): string[] {
  return summary.acceptance.map((a) => `${a.ok === undefined ? 'NOT MEASURED' : a.ok ? 'met' : 'NOT MET'}: ${a.what}: ${a.detail}`);
}

export function renderTable(summary: Summary, results: RunResult[], runtimeMs: number): string {
  const head = ['way', ...COLUMNS.map((c) => c.head)];
  const lines: string[] = [];
  const transposed = (body: string[][]): void => {
    // Transposed for the terminal: one column per way.
    const w0 = Math.max(...head.map((h) => h.length));
    const widths = body.map((r) => Math.max(...r.map((c) => c.length)));
    for (let i = 0; i < head.length; i++) lines.push(`${head[i]!.padEnd(w0)}  ${body.map((r, j) => r[i]!.padEnd(widths[j]!)).join('  ')}`);
  };
  transposed(rows(summary.ways));
  if (summary.root.length) {
    lines.push('', 'load connected as root:');
    transposed(rows(summary.root));
  }
  lines.push('', 'median (min-max) over the runs', ...ratioLines(summary), ...blockLines(summary), '', ...acceptanceLines(summary));
  const bad = results.filter((r) => !r.ok);
  for (const r of bad)
    lines.push(
      `run ${r.rep} ${WAY_LABEL[r.way]}${isRoot(r) ? ' (load as root)' : ''}: ${r.problems.join('; ') || `${r.missing} missing on the writer, ${r.missingAnyNode} missing on some node`}`,
    );
  lines.push(`runtime ${(runtimeMs / 60_000).toFixed(1)} min`);
  return lines.join('\n');
}

export interface DocInput {
  machine: Record<string, string>;
  settings: {
    rows: number;
    threads: number;
    tps: number;
    baselineS: number;
    bufferPoolMiB: number;
    redoLogMiB?: number;
    reps: number;
    rootReps?: number;
    alter: string;
  };
  /** The command line that produced these results (shown under Reproduce). */
  command?: string;
  runtimeMs: number;
  results: RunResult[];
  summary: Summary;
}

export function renderDoc(d: DocInput): string {
  const { machine: m, settings: s, summary } = d;
  const md: string[] = [];
  const table = (head: string[], body: string[][]): void => {
    md.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`));
  };
  md.push(
    '# Benchmark: a blocking column-type change four ways',
    '',
    `<!-- Generated by \`${d.command ?? 'bash bench/switchover.sh --doc docs/benchmarks-switchover.md'}\`; edit bench/switchover/report.ts, not this file. -->`,
    '',
    `The same change, \`${s.alter}\` (CHAR -> VARCHAR: \`ALGORITHM=COPY\` on MariaDB 10.11, writes to the table blocked while it copies), on a ${s.rows.toLocaleString('en-US')}-row table shaped like sysbench's without its pad column (\`id INT, k INT, c CHAR(120)\`, index on \`k\`; about 150 bytes a row), while the application writes through HAProxy:`,
    '',
    '- (a) **direct ALTER** on the primary (replicates as one statement);',
    '- (b) **pt-online-schema-change --execute** against the primary (triggers + chunked copy + atomic rename; replicas found through a DSN table, copy throttled on their lag, `--max-lag=1`);',
    "- (c) **`migrate apply --strategy replica-first`**: ALTER each replica with binary logging off, let it catch up, switch the writer to an altered replica with a bounded write block (read lock + read_only, GTID wait, promote, move HAProxy, end every other session on the old primary, root's included, re-point the replicas, unlock), then ALTER the old primary;",
    "- (d) **the same replica-first ALTERs with MHA 0.58's online switch** (`masterha_master_switch --master_state=alive --orig_master_is_new_slave`, Debian mha4mysql-manager, its version parser patched for MariaDB 10.11) in place of migrate's switchover. Its `master_ip_online_change_script` (bench/switchover/mha.ts) takes the old primary out of HAProxy, sets read_only and ends every client session there (root's too) at `stop`, and puts the new primary in at `start`; MHA itself takes the read lock, waits for the new primary, makes it writable, re-points the other nodes and unlocks. Only the switchover differs from (c).",
    '',
    `Load: ${s.threads} threads, ${s.tps} transactions/s in all (sysbench oltp_write_only's transaction: 2 UPDATEs, DELETE + INSERT, i.e. ${s.tps * 4} row writes/s), reconnecting after any error; plus a probe committing one INSERT into the same table every 10 ms and recording every acknowledged id. ${s.baselineS} s of load before each change. A fresh sandbox (primary + 2 replicas + HAProxy) per way per repetition; the order of the ways rotates between repetitions. Replica lag: \`Seconds_Behind_Master\` polled every 100 ms on every node.`,
    '',
    `## Results (${s.reps} repetition${s.reps === 1 ? '' : 's'} with the load connected as the application user; median, (min-max))`,
    '',
  );
  table(['way', ...COLUMNS.map((c) => c.head)], rows(summary.ways));
  if (summary.root.length) {
    md.push(
      '',
      `With the load and the probe connected as root (which writes through read_only; ${s.rootReps ?? 0} repetition${s.rootReps === 1 ? '' : 's'}):`,
      '',
    );
    table(['way', ...COLUMNS.map((c) => c.head)], rows(summary.root));
  }
  md.push('', ...ratioLines(summary).map((l) => `- ${l}`), ...blockLines(summary).map((l) => `- ${l}`));
  md.push('', 'Acceptance (issue 12), computed from the runs above:', '', ...acceptanceLines(summary).map((l) => `- ${l}`));
  md.push(
    '',
    "Columns: *change time*: the command (ALTER statement, pt-osc, `migrate apply` including its shadow analysis) from start to exit. *until replicas caught up*: until every replica executed the writer's GTID position afterwards. *longest write gap*: longest time between two acknowledged probe inserts (over the whole run, baseline included). *longest gap before the change*: the same, in the " +
      String(s.baselineS) +
      ' s of load before the change started: what this machine does with no change at all. *load max latency*: the slowest committed load transaction (sysbench\'s "max"). *tx/s during / before*: load throughput while the command ran over the throughput before it; *worst 1 s*: the worst whole second. *failed*: statements that got an error (the clients reconnected and went on). *missing*: acknowledged probe ids absent afterwards on any node (the writer read through HAProxy, and every replica).',
    '',
    '## What the numbers say',
    '',
    ...observations(d).map((o) => `- ${o}`),
    '',
    '## Notes',
    '',
    '- The load is our own client (bench/switchover/load.ts), not sysbench: sysbench 1.0.20 segfaults when a switchover kills its connection. It runs the same transaction at a fixed rate per thread and reconnects after any error; a thread that falls behind skips ahead rather than bursting, so the throughput columns show stalls.',
    '- *failed* counts what a client that does not retry would see as errors; *acknowledged writes missing* counts writes a client was told were committed and that are gone, the number that must be 0.',
    "- The probe inserts into the table being changed (ids above 10,000,000, clear of the load's), so it sees the direct ALTER's block; a probe on another table would not.",
    '- pt-online-schema-change ran as `pt-online-schema-change --alter "<change>" --execute --no-version-check --recursion-method=dsn=... --max-lag=1 F=<option file>,h=...,P=<primary>,D=app,t=sbtest1`; the DSN table lists both replicas, so it paused its copy whenever one lagged more than 1 s.',
    '- The machine is shared with other work (see the load average below): absolute times move by tens of percent from one run to the next; compare the ways within a repetition (they run back to back, in rotating order) and read the ratios rather than the absolute values.',
    '- A run whose change command failed is listed under "Every run" and left out of the statistics; that repetition of that way is run again once on a fresh sandbox.',
    '',
    '## Every run',
    '',
  );
  table(
    [
      'rep',
      'load as',
      'way',
      'change s',
      'caught up s',
      'probe gap ms',
      'gap at s',
      'bench client not scheduled: in that gap (sum) / longest single stall ms',
      'load max ms',
      'load p99 ms',
      'tx/s before',
      'tx/s during',
      'lag peak s',
      'failed probe / load',
      'errors',
      'missing',
      'notes',
    ],
    [...d.results]
      .sort((a, b) => Number(isRoot(a)) - Number(isRoot(b)) || a.rep - b.rep || a.way.localeCompare(b.way))
      .map((r) =>
        r.totalMs === undefined
          ? [String(r.rep), isRoot(r) ? 'root' : 'app', WAY_LABEL[r.way], ...Array<string>(13).fill('-'), r.problems.join('; ').replace(/\|/g, '/')]
          : [
              String(r.rep),
              isRoot(r) ? 'root' : 'app',
              `${WAY_LABEL[r.way]}${r.changeOk ? '' : ' (change FAILED, not counted)'}`,
              (r.totalMs / 1000).toFixed(1),
              (r.convergedMs / 1000).toFixed(1),
              String(r.probeGapMs),
              (r.probeGapAtMs / 1000).toFixed(1),
              `${r.clientStallInGapMs} / ${r.clientStallMaxMs}`,
              String(r.loadMaxLatencyMs),
              String(r.loadP99LatencyMs),
              String(r.tpsBefore),
              String(r.tpsDuring),
              `${r.lagPeakS} (${r.lagPeakNode || '-'})`,
              `${r.probeFailed} / ${r.loadFailed}`,
              Object.entries({ ...r.probeErrors, ...r.loadErrors })
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || '-',
              String(r.missingAnyNode),
              [
                r.toolWriteBlockMs !== undefined ? `write block ${r.toolWriteBlockMs} ms` : '',
                r.switchoverGapMs !== undefined
                  ? `write block began at ${((r.blockAtMs ?? 0) / 1000).toFixed(1)} s, probe gap there ${r.switchoverGapMs} ms`
                  : '',
                r.toolSteps
                  ? `switchover steps (ms): ${Object.entries(r.toolSteps)
                      .map(([k, v]) => `${k} ${v}`)
                      .join(', ')}`
                  : '',
                r.alterMs
                  ? `ALTER ${Object.entries(r.alterMs)
                      .map(([n, ms]) => `${n} ${(ms / 1000).toFixed(1)} s`)
                      .join(', ')}`
                  : '',
                r.problems.join('; '),
                r.replicationErrors.length ? `replication errors: ${r.replicationErrors.join('; ')}` : '',
              ]
                .filter(Boolean)
                .join('; ')
                .replace(/\|/g, '/') || '-',
            ],
      ),
  );
  md.push(
    '',
    '## Machine',
    '',
    `- CPU: ${m.cpus}`,
    `- RAM: ${m.ram}`,
    `- OS: ${m.os}, kernel ${m.kernel}`,
    `- MariaDB ${m.mariadb}; HAProxy ${m.haproxy}; ${m.ptosc}; ${m.mha ?? 'MHA ?'}; Node ${m.node}`,
    `- Load average when the run started: ${m.loadavg} (the machine is shared; other work ran beside the benchmark)`,
    `- Sandbox servers: the sandbox's settings (ROW binlog, GTID strict mode, \`innodb_flush_log_at_trx_commit=2\`, \`sync_binlog=0\`), with \`innodb_buffer_pool_size\` raised to ${s.bufferPoolMiB} MiB at runtime so the table fits in memory, as a hot production table would${s.redoLogMiB ? `, and the redo log (\`innodb_log_file_size\`) resized at runtime from the sandbox's 8 MiB to ${s.redoLogMiB} MiB, MariaDB's default: a 200,000-row COPY ALTER fills 8 MiB many times over, and InnoDB then flushes pages synchronously to free log space, which on this shared 2-core machine stalled the other servers' writes too (paired runs, 4 each: longest write gap of the run 52-78 ms with 8 MiB against 34-67 ms with 96 MiB, the gaps during the old primary's ALTER gone)` : ''}; the table is put in place on every node from one exported tablespace and read once before the load starts.`,
    `- Wall time of the whole benchmark: ${(d.runtimeMs / 60_000).toFixed(1)} min`,
    '',
    '## Reproduce',
    '',
    '```sh',
    `${d.command ?? 'bash bench/switchover.sh --doc docs/benchmarks-switchover.md'}   # this document's run`,
    'bash bench/switchover.sh                                      # or: npm run bench:switchover; prints the table, results in /tmp/bench-switchover/results.json',
    '```',
    '',
    "`bench/switchover.sh` installs what is missing (HAProxy and MariaDB through scripts/install-deps.sh; percona-toolkit, mha4mysql-manager, mha4mysql-node and socat through apt-get; `--install-only` stops there), then runs `node --import tsx bench/switchover/main.ts`. Options: `--reps N` (5), `--root-reps N` (1: repetitions with the load connected as root, after the others), `--rows N` (200000), `--threads N` (4), `--tps N` (200), `--baseline S` (5), `--buffer-pool MiB` (512), `--redo-log MiB` (96; 0 keeps the sandbox's 8 MiB), `--ways alter,ptosc,tool,mha`, `--budget-min M` (40: no repetition is started that would end past it), `--work DIR` (/tmp/bench-switchover: the seed tablespace, kept for the next run, results.json and every run's logs: pt-osc output, `migrate apply` output, MHA's configuration, script log and output). With `--doc`, the summary in docs/benchmarks.md is rewritten too.",
    '',
  );
  return md.join('\n');
}

const errList = (e: Record<string, number>): string =>
  Object.entries(e)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} x${v}`)
    .join(', ') || 'none';

/** Sentences computed from the results, so a regenerated document never contradicts its table. */
function observations(d: DocInput): string[] {
  const w = (way: Way): WaySummary | undefined => d.summary.ways.find((x) => x.way === way);
  const a = w('alter');
  const b = w('ptosc');
  const c = w('tool');
  const out: string[] = [];
  const s = (x: WaySummary | undefined, m: Metric, scale = 1, digits = 0): string => cell(x?.stats[m], scale, digits);
  if (a)
    out.push(
      `(a) Writes to the table stop for the whole ALTER: the probe's longest gap (${s(a, 'probeGapMs')} ms) is the ALTER's duration (${s(a, 'totalMs', 1000, 1)} s). The replicas start the replicated ALTER only when the primary has finished it, so they lag by the primary's ALTER plus their own (peak ${s(a, 'lagPeakS')} s; both replicas alter at once on this 2-core machine) and the cluster has the new schema everywhere after ${s(a, 'convergedMs', 1000, 1)} s. Failed writes: ${errList(a.errors)} (nothing fails, everything waits).`,
    );
  if (b)
    out.push(
      `(b) pt-online-schema-change never stops writes for long (longest gap ${s(b, 'probeGapMs')} ms, from its chunk copy and the final RENAME), but every application write is slower while it runs (the triggers write each change twice, the copy's chunks hold row locks the application waits on; load p99 latency ${s(b, 'loadP99LatencyMs')} ms against ${s(c ?? a, 'loadP99LatencyMs')} ms${c ? ' with migrate' : ''}), so the ${d.settings.threads} load threads reach only ${s(b, 'throughputRatio', 1, 2)} of their rate, and application writes fail: ${errList(b.errors)} (its copy's INSERT ... SELECT deadlocks with the application's writes; the application has to retry). Its lag throttle (--max-lag 1 s) kept replica lag at ${s(b, 'lagPeakS')} s.`,
    );
  if (c) {
    const cr = d.results.filter((r) => r.way === 'tool' && r.changeOk);
    const elsewhere = cr.filter((r) => r.switchoverGapMs !== undefined && r.probeGapMs > r.switchoverGapMs);
    const floorMax = Math.max(0, ...d.results.filter((r) => r.changeOk && typeof r.baselineGapMs === 'number').map((r) => r.baselineGapMs));
    out.push(
      `(c) migrate's write block (${s(c, 'toolWriteBlockMs')} ms as it reports it) is what the application sees at the switchover: the probe's longest gap overlapping the block is ${s(c, 'switchoverGapMs')} ms, the block plus the client's reconnect through HAProxy. ` +
        (elsewhere.length
          ? `In ${elsewhere.length} of ${cr.length} runs the longest gap of the whole run (${s(c, 'probeGapMs')} ms) fell elsewhere (at ${elsewhere.map((r) => `${(r.probeGapAtMs / 1000).toFixed(1)} s`).join(', ')} after the start, the write block at ${elsewhere.map((r) => `${((r.blockAtMs ?? 0) / 1000).toFixed(1)} s`).join(', ')}), outside the write block (a negative time is before the change started). ${
              elsewhere.every((r) => r.probeGapMs <= floorMax)
                ? `Gaps of this size happen here with no change at all (up to ${floorMax} ms before a change, the noise-floor column)`
                : `That is longer than any gap seen before a change (at most ${floorMax} ms, the noise-floor column): the three servers (one of them running an ALTER most of the time, even when it serves no writes), the load and the bench client share 2 busy cores and one disk here`
            }; the "bench client not scheduled" column shows how much of such a gap the client process itself was not scheduled (${elsewhere.map((r) => `${r.clientStallInGapMs} ms`).join(', ')}). The ratios below use the longest gap of the whole run, not the switchover's. `
          : `The longest gap of each run is that one. `) +
        `Load throughput over the whole change is ${s(c, 'throughputRatio', 1, 2)} of before.`,
    );
    out.push(
      `(c) Every client that writes during the write block gets an error and must retry: ${errList(c.errors)}. PROTOCOL_CONNECTION_LOST is the switchover ending the sessions still on the old primary (they waited on the read lock); ER_OPTION_PREVENTS_STATEMENT is a statement that reached the old primary after read_only was set: MariaDB checks read_only before it waits for the read lock, so such a statement fails at once instead of waiting (checked by hand: an INSERT after FLUSH TABLES WITH READ LOCK + read_only=1 fails in 66 ms with error 1290; one that was already waiting on the read lock when read_only was set keeps waiting); migrate therefore sets read_only only after the GTID wait, just before the promotion, which leaves a window of a few milliseconds. Errors named by a message are the client library's own (a statement sent on a connection the switchover had just closed). None of them was acknowledged, and every acknowledged write is on every node afterwards.`,
    );
    out.push(
      `(c) Replica lag peaks at ${s(c, 'lagPeakS')} s: a replica being altered applies nothing while its ALTER holds the table, so it falls behind by the ALTER's duration (replica1, then replica2, then the old primary once it is a replica). migrate waits for the candidate to catch up before it blocks writes; readers of a replica see data that old meanwhile. The change takes longer in all (${s(c, 'totalMs', 1000, 1)} s: three ALTERs one after the other, plus the analysis on a shadow database).`,
    );
  }
  const dd = w('mha');
  if (dd) {
    const rd = d.summary.ratios.find((r) => r.of === 'mha');
    out.push(
      `(d) MHA's online switch, on the same altered replicas: write block ${s(dd, 'toolWriteBlockMs')} ms (script stop to start), probe gap overlapping it ${s(dd, 'switchoverGapMs')} ms, longest gap of the run ${s(dd, 'probeGapMs')} ms${rd ? ` (${rd.median.toFixed(1)}x migrate's)` : ''}; failed writes (probe + load) ${s(dd, 'failedWrites')} against ${s(c, 'failedWrites')} with migrate: ${errList(dd.errors)}.`,
    );
  }
  if (d.summary.root.length) {
    const rootRuns = d.results.filter((r) => r.user === 'root');
    const bad = rootRuns.filter((r) => !r.ok);
    out.push(
      `With the load connected as root (${rootRuns.length} run${rootRuns.length === 1 ? '' : 's'}): ${bad.length ? `${bad.length} with problems: ${bad.map((r) => `${WAY_LABEL[r.way]} #${r.rep}: ${r.problems.join('; ') || `${r.missingAnyNode} acknowledged writes missing`}`).join(' / ')}` : 'every run ended with one writable node, replication running everywhere and every acknowledged write on every node'}.`,
    );
  }
  const ra = d.summary.ratios.find((r) => r.of === 'alter');
  const rb = d.summary.ratios.find((r) => r.of === 'ptosc');
  if (ra && rb)
    out.push(
      `Longest write gap: the direct ALTER's is ${ra.median.toFixed(0)}x migrate's and pt-osc's ${rb.median.toFixed(1)}x (medians). The direct ALTER's grows with the table (hours on a 100 GB table); migrate's depends on the switchover, not on the table, and pt-osc's on its chunk size and final RENAME, while its copy, and the deadlocks with it, last longer on a bigger table.`,
    );
  return out;
}
