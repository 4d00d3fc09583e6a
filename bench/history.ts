/**
 * Benchmark of the analysis of a real migration history (issue 15, point 5): how long a cold
 * `migrate check` of a directory takes next to replaying its ups with a plain client.
 *
 *   node --import tsx bench/history.ts --dir DIR [--dialect mysql|postgres] [--server URL] [--runs 3]
 *                                      [--json FILE]
 *   npm run bench:history -- --dir ../some-project/migrations --dialect postgres
 *
 * Each run, on the durable server (--server, default the machine's own 127.0.0.1:3306 / :5432):
 * 1. plain replay: a fresh database, then each migration's up sent by the server's own command-line
 *    client (`mariadb`/`mysql`, `psql`), one client process per migration, as a team's deploy script
 *    or a developer would replay the files. TypeScript/JavaScript migrations have no plain form:
 *    a directory of them is replayed with `migrate up` instead (said in the output).
 * 2. cold analysis: `migrate check DIR --format json` through the CLI with an empty cache directory,
 *    on the default shadow (the `migrate shadow` server, started before the timing when none runs,
 *    stopped at the end only if this run started it).
 * Then one in-process analysis with its stage timers (what the shadow server spent applying, in
 * snapshots and in the down sweep), for where the time goes. Medians of --runs runs; the ratio
 * analysis / replay is the figure issue 15 bounds (<= 2x). Not a test: it prints what it measured.
 * For Node's share, profile the in-process part: node --cpu-prof --import tsx bench/history.ts ...
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyse, type AnalyseStats } from '../src/analysis/analyse.ts';
import { checkServer, findShadowServer, parseShadowUrl } from '../src/analysis/locate.ts';
import type { ConnectionConfig, Dialect } from '../src/config/types.ts';
import { createKnex } from '../src/db/connect.ts';
import { discoverMigrations } from '../src/migrations/discover.ts';
import type { MigrationSource } from '../src/migrations/types.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const dirArg = arg('dir');
if (!dirArg) {
  console.error('bench:history: --dir DIR is required (the migrations directory to analyse).');
  process.exit(2);
}
const dir = resolve(dirArg);
const dialect = (arg('dialect', 'mysql') === 'postgres' ? 'postgres' : 'mysql') as Dialect;
const runs = Number(arg('runs', '3'));
const durable: ConnectionConfig = arg('server')
  ? parseShadowUrl(arg('server')!, dialect, '--server')
  : dialect === 'mysql'
    ? { host: '127.0.0.1', port: 3306, user: 'root', database: '' }
    : { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };

interface Proc {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Proc> {
  return new Promise((done) => {
    const t = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('close', (code) => done({ ms: performance.now() - t, code: code ?? 1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

function which(names: string[]): Promise<string | undefined> {
  return new Promise((done) => {
    execFile('sh', ['-c', `command -v ${names.join(' || command -v ')}`], (e, out) => done(e ? undefined : out.trim().split('\n')[0]));
  });
}

/**
 * The text a plain client is given for one migration: its up statements as the loader split them
 * (a goose or dbmate file holds its down too, which must not run). The MySQL client gets a
 * delimiter no statement contains, so procedure bodies pass whole.
 */
function plainText(m: MigrationSource): string {
  const stmts = m.upSql ?? [];
  if (dialect === 'postgres') return `${stmts.map((s) => `${s};`).join('\n')}\n`;
  return `DELIMITER $$__bench__$$\n${stmts.map((s) => `${s}\n$$__bench__$$`).join('\n')}\n`;
}

function clientArgs(db: string): string[] {
  if (dialect === 'postgres') return ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', durable.host, '-p', String(durable.port), '-U', durable.user, '-d', db];
  return ['--batch', '-h', durable.host, '-P', String(durable.port), '-u', durable.user, db];
}

async function admin<T>(fn: (sql: (q: string) => Promise<unknown>) => Promise<T>): Promise<T> {
  const knex = createKnex(dialect, durable);
  try {
    return await fn((q) => knex.raw(q));
  } finally {
    await knex.destroy();
  }
}

const quote = (name: string): string => (dialect === 'postgres' ? `"${name}"` : `\`${name}\``);

/** Replays every up on a fresh database with one client process per migration; the time of the replay alone. */
async function plainReplay(migrations: MigrationSource[], client: string | undefined): Promise<{ ms: number; failed?: string }> {
  const db = `bench_history_${process.pid}`;
  await admin(async (sql) => {
    await sql(`DROP DATABASE IF EXISTS ${quote(db)}`);
    await sql(`CREATE DATABASE ${quote(db)}`);
  });
  try {
    if (!client || migrations.some((m) => m.format !== 'sql')) {
      // No plain form for TypeScript migrations: the tool's own runner is the replay.
      const url = `${dialect}://${encodeURIComponent(durable.user)}${durable.password ? `:${encodeURIComponent(durable.password)}` : ''}@${durable.host}:${durable.port}/${db}`;
      // migrate up reads ./migrations: a working directory whose migrations link to DIR.
      const cwd = mkdtempSync(join(tmpdir(), 'bench-history-up-'));
      symlinkSync(dir, join(cwd, 'migrations'));
      const p = await run(process.execPath, [join(root, 'bin', 'migrate'), 'up'], { cwd, env: { DATABASE_URL: url, NO_COLOR: '1' } });
      rmSync(cwd, { recursive: true, force: true });
      return p.code === 0 ? { ms: p.ms } : { ms: p.ms, failed: `migrate up exited ${p.code}: ${p.stderr.split('\n').slice(0, 3).join(' ')}` };
    }
    let ms = 0;
    const env = durable.password ? (dialect === 'postgres' ? { PGPASSWORD: durable.password } : { MYSQL_PWD: durable.password }) : {};
    for (const m of migrations) {
      const p = await run(client, clientArgs(db), { input: plainText(m), env });
      ms += p.ms;
      if (p.code !== 0) return { ms, failed: `${m.id}: ${p.stderr.trim().split('\n')[0]}` };
    }
    return { ms };
  } finally {
    await admin((sql) => sql(`DROP DATABASE IF EXISTS ${quote(db)}`)).catch(() => undefined);
  }
}

interface CheckRun {
  ms: number;
  code: number;
  verdicts: number;
  /** Migrations per outcome (analysed, failed, not-analysed). */
  outcomes: Record<string, number>;
  summary: string;
}

/** One history's figures in the results file docs/benchmarks.md's history table is rendered from. */
export interface HistoryResult {
  name: string;
  dialect: Dialect;
  migrations: number;
  date: string;
  loadAverage: number[];
  replayHow: string;
  replayMs: number;
  replayFailed?: string;
  checkMs: number;
  exitCodes: number[];
  outcomes: Record<string, number>;
  firstFailure?: string;
  runs: number;
  /** The same cold analysis in process, and its stage timers (ms): where the time goes. */
  inProcessMs: number;
  stages: { shadow: number; apply: number; snapshots: number; downs: number };
}

async function coldCheck(): Promise<CheckRun> {
  const cache = mkdtempSync(join(tmpdir(), 'bench-history-cache-'));
  try {
    const p = await run(process.execPath, [join(root, 'bin', 'migrate'), 'check', dir, '--dialect', dialect, '--format', 'json', '--cache-dir', cache], {
      env: { NO_COLOR: '1' },
    });
    let verdicts = 0;
    let summary = '';
    const outcomes: Record<string, number> = {};
    try {
      const report = JSON.parse(p.stdout) as {
        migrations?: { id: string; outcome?: string; failure?: { error?: string } }[];
        error?: { problem?: string };
      };
      const ms = report.migrations ?? [];
      verdicts = ms.length;
      for (const m of ms) outcomes[m.outcome ?? 'analysed'] = (outcomes[m.outcome ?? 'analysed'] ?? 0) + 1;
      const failed = ms.find((m) => m.outcome === 'failed');
      if (failed) summary = `${failed.id} failed: ${failed.failure?.error ?? ''}`;
      if (report.error) summary = report.error.problem ?? '';
    } catch {
      summary = (p.stderr || p.stdout).trim().split('\n').slice(0, 2).join(' ');
    }
    return { ms: p.ms, code: p.code, verdicts, outcomes, summary };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

await checkServer(dialect, durable);
const discovery = await discoverMigrations(dir, dialect);
const migrations = discovery.migrations;
const client = dialect === 'postgres' ? await which(['psql']) : await which(['mariadb', 'mysql']);
console.log(`bench:history  dir=${dir}  dialect=${dialect}  migrations=${migrations.length}  runs=${runs}`);
if (discovery.issues.length) console.log(`loader notes: ${discovery.issues.length} (first: ${discovery.issues[0]!.problem})`);

// The default shadow server, up before the timing (its start-up is a once-per-machine cost).
const shadowStatus = await run(process.execPath, [join(root, 'bin', 'migrate'), 'shadow', 'status', '--dialect', dialect, '--format', 'json']);
const wasRunning = shadowStatus.code === 0 && /^\{\s*"healthy"\s*:\s*true/.test(shadowStatus.stdout);
if (!wasRunning) {
  const up = await run(process.execPath, [join(root, 'bin', 'migrate'), 'shadow', 'up', '--dialect', dialect]);
  console.log(`shadow server started in ${fmt(up.ms)} (stopped at the end)`);
}

const replays: number[] = [];
const checks: CheckRun[] = [];
let replayFailed: string | undefined;
try {
  for (let i = 0; i < runs; i++) {
    const r = await plainReplay(migrations, client);
    if (r.failed) replayFailed = r.failed;
    replays.push(r.ms);
    const c = await coldCheck();
    checks.push(c);
    console.log(
      `run ${i + 1}: replay ${fmt(r.ms)}${r.failed ? ` (stopped: ${r.failed})` : ''}; check ${fmt(c.ms)} exit ${c.code}, ${c.verdicts} verdicts${c.summary ? ` (${c.summary})` : ''}`,
    );
  }
  // Where the time goes, in process (same cold analysis, its stage timers).
  const stats: AnalyseStats = { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
  const t = performance.now();
  let inProcess = '';
  try {
    const shadow = await findShadowServer(dialect, {});
    await analyse(migrations, { dialect, stats, shadow: shadow.server, shadowOrigin: shadow.origin });
  } catch (e) {
    inProcess = ` (stopped: ${String(e instanceof Error ? e.message : e).split('\n')[0]})`;
  }
  const total = performance.now() - t;
  const replay = median(replays);
  const check = median(checks.map((c) => c.ms));
  const how = client && migrations.every((m) => m.format === 'sql') ? `${client.split('/').pop()} per migration` : 'migrate up (TypeScript migrations)';
  console.log('');
  console.log(`plain replay (${how}), median: ${fmt(replay)}${replayFailed ? ` — the replay stopped early: ${replayFailed}` : ''}`);
  console.log(`cold migrate check (CLI), median: ${fmt(check)}; exit codes ${checks.map((c) => c.code).join(',')}`);
  console.log(`ratio check / replay: ${(check / replay).toFixed(2)}x   (issue 15 target: <= 2x)`);
  console.log(
    `in process: ${fmt(total)}${inProcess}: shadow set-up ${fmt(stats.shadowMs)}, applying ${fmt(stats.applyMs)}, snapshots ${fmt(stats.snapshotMs)}, down sweep ${fmt(stats.reversalMs)}, ${stats.analysedMigrations} analysed`,
  );
  const resultsFile = arg('results');
  if (resultsFile) {
    // One entry per history and dialect; re-running a history replaces its entry.
    const entry: HistoryResult = {
      name: basename(dir),
      dialect,
      migrations: migrations.length,
      date: new Date().toISOString(),
      loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
      replayHow: how,
      replayMs: replay,
      checkMs: check,
      exitCodes: checks.map((c) => c.code),
      outcomes: checks.at(-1)?.outcomes ?? {},
      runs,
      inProcessMs: total,
      stages: { shadow: stats.shadowMs, apply: stats.applyMs, snapshots: stats.snapshotMs, downs: stats.reversalMs },
    };
    if (replayFailed) entry.replayFailed = replayFailed.slice(0, 200);
    const firstFailure = checks.at(-1)?.summary;
    if (firstFailure) entry.firstFailure = firstFailure.slice(0, 200);
    const all = (existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as HistoryResult[]) : []).filter(
      (x) => !(x.name === entry.name && x.dialect === entry.dialect),
    );
    all.push(entry);
    all.sort((a, b) => a.dialect.localeCompare(b.dialect) || a.name.localeCompare(b.name));
    writeFileSync(resultsFile, `${JSON.stringify(all, null, 2)}\n`);
    console.log(`results written to ${resultsFile}`);
  }
  const out = arg('json');
  if (out) {
    writeFileSync(
      out,
      `${JSON.stringify(
        {
          command: process.argv.slice(2).join(' '),
          date: new Date().toISOString(),
          dialect,
          migrations: migrations.length,
          replayMs: replays,
          replayHow: how,
          replayFailed,
          check: checks,
          inProcessMs: total,
          stats,
        },
        null,
        2,
      )}\n`,
    );
  }
} finally {
  if (!wasRunning) await run(process.execPath, [join(root, 'bin', 'migrate'), 'shadow', 'down', '--dialect', dialect]);
}
