/**
 * Benchmark of `migrate check` / `migrate plan` (issue 3, acceptance "Performance").
 *
 *   node --import tsx bench/plan.ts [--dialect mysql|postgres] [--count 200] [--server URL] [--runs 3]
 *                                   [--no-throwaway] [--parallel N] [--only analysis|replan] [--keep DIR]
 *   npm run bench:plan -- --dialect postgres
 *
 * 1. Generates COUNT realistic migrations (create table, add column, add index, type change,
 *    defaults, foreign keys, drop index/column, ...; each with its exact down) as NNNN_name.up.sql /
 *    .down.sql pairs in a temp directory.
 * 2. Times plain knex (knex.migrate.latest() with the same SQL) applying them to a fresh database,
 *    and our runner (`migrate up`) doing the same.
 * 3. Times the analysis of the same directory (what `migrate check` runs: up, snapshot, probes,
 *    down sweep) with a cold cache, and prints the ratio to the knex time.
 * 4. Times `migrate plan` end to end (the CLI in a child process, all migrations pending on an
 *    empty target), then adds one migration and times the re-plan (cache hit on the first COUNT).
 * 5. Does 2-4 on two servers (see `measure` below): the durable one (--server, default the local
 *    server) and a throwaway shadow server as `migrate shadow up` starts it; then prints a summary.
 * Every timing is the median of --runs runs. Not a test: it prints figures, it asserts nothing.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { analyse, type AnalyseStats } from '../src/analysis/analyse.ts';
import { FileCache } from '../src/analysis/cache.ts';
import { checkServer, parseShadowUrl } from '../src/analysis/locate.ts';
import type { ConnectionConfig, Dialect, ProjectConfig } from '../src/config/types.ts';
import { createKnex } from '../src/db/connect.ts';
import { loadMigrations } from '../src/migrations/discover.ts';
import { Runner } from '../src/migrations/runner.ts';
import { splitSql } from '../src/migrations/sql-split.ts';
import { readSecret } from '../src/sandbox/secrets.ts';
import { defaultShadowBase, shadowDirName } from '../src/sandbox/shadow-dir.ts';
import { shadowDown, shadowUp } from '../src/sandbox/shadow-server.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const dialect = (arg('dialect', 'mysql') === 'postgres' ? 'postgres' : 'mysql') as Dialect;
const count = Number(arg('count', '200'));
const runs = Number(arg('runs', '3'));
/** For profiling: --only analysis skips the knex/runner baselines and the CLI plan runs. */
const only = arg('only');
/** Shadow databases analysing side by side (AnalyseOptions.parallel); default: the engine's. */
const parallel = arg('parallel') === undefined ? undefined : Number(arg('parallel'));

// --- the generator ------------------------------------------------------------------------------

/** A small deterministic PRNG, so every run benchmarks the same migrations. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Gen {
  name: string;
  up: string;
  down: string;
  phase?: 'pre-deploy' | 'post-deploy';
}

interface TableState {
  name: string;
  cols: { name: string; type: string; nullable: boolean; indexed: boolean }[];
  indexes: string[];
  n: number;
}

export function generate(d: Dialect, n: number, seed = 42): Gen[] {
  const r = rng(seed);
  const my = d === 'mysql';
  const q = (s: string): string => (my ? `\`${s}\`` : `"${s}"`);
  const tables: TableState[] = [];
  const out: Gen[] = [];
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const createTable = (): Gen => {
    const t: TableState = { name: `t${String(tables.length + 1).padStart(3, '0')}`, cols: [], indexes: [], n: 0 };
    tables.push(t);
    t.cols.push(
      { name: 'name', type: 'varchar(100)', nullable: false, indexed: false },
      { name: 'status', type: 'varchar(20)', nullable: false, indexed: false },
      { name: 'amount', type: my ? 'int' : 'integer', nullable: true, indexed: false },
    );
    const body = my
      ? `CREATE TABLE ${q(t.name)} (\n  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,\n  name VARCHAR(100) NOT NULL,\n  status VARCHAR(20) NOT NULL DEFAULT 'new',\n  amount INT NULL,\n  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`
      : `CREATE TABLE ${q(t.name)} (\n  id bigserial PRIMARY KEY,\n  name varchar(100) NOT NULL,\n  status varchar(20) NOT NULL DEFAULT 'new',\n  amount integer,\n  created_at timestamptz NOT NULL DEFAULT now()\n)`;
    return { name: `create_${t.name}`, up: body, down: `DROP TABLE ${q(t.name)}` };
  };
  for (let i = 0; i < n; i++) {
    if (i < Math.min(25, Math.ceil(n / 8)) || r() < 0.08) {
      out.push(createTable());
      continue;
    }
    const t = pick(tables);
    const k = r();
    const col = `c${++t.n}_${i}`;
    if (k < 0.3) {
      // nullable column at the end
      const type = pick(
        my ? ['VARCHAR(255)', 'INT', 'DATETIME', 'TEXT', 'DECIMAL(12,2)'] : ['varchar(255)', 'integer', 'timestamptz', 'text', 'numeric(12,2)'],
      );
      t.cols.push({ name: col, type, nullable: true, indexed: false });
      out.push({
        name: `add_${t.name}_${col}`,
        up: `ALTER TABLE ${q(t.name)} ADD COLUMN ${q(col)} ${type} NULL`,
        down: `ALTER TABLE ${q(t.name)} DROP COLUMN ${q(col)}`,
        phase: 'pre-deploy',
      });
    } else if (k < 0.45) {
      // column with a constant default
      t.cols.push({ name: col, type: 'int', nullable: false, indexed: false });
      out.push({
        name: `add_${t.name}_${col}_default`,
        up: `ALTER TABLE ${q(t.name)} ADD COLUMN ${q(col)} ${my ? 'INT' : 'integer'} NOT NULL DEFAULT 0`,
        down: `ALTER TABLE ${q(t.name)} DROP COLUMN ${q(col)}`,
        phase: 'pre-deploy',
      });
    } else if (k < 0.65) {
      // secondary index
      const c = pick(t.cols.filter((x) => !x.indexed && !/text/i.test(x.type)));
      if (!c) {
        out.push(createTable());
        continue;
      }
      c.indexed = true;
      const idx = `${t.name}_${c.name}_idx`;
      t.indexes.push(idx);
      out.push(
        my
          ? {
              name: `index_${idx}`,
              up: `CREATE INDEX ${q(idx)} ON ${q(t.name)} (${q(c.name)})`,
              down: `DROP INDEX ${q(idx)} ON ${q(t.name)}`,
              phase: 'pre-deploy',
            }
          : {
              name: `index_${idx}`,
              up: `CREATE INDEX CONCURRENTLY ${q(idx)} ON ${q(t.name)} (${q(c.name)})`,
              down: `DROP INDEX CONCURRENTLY ${q(idx)}`,
              phase: 'pre-deploy',
            },
      );
    } else if (k < 0.77) {
      // type change: widen amount (int -> bigint) or name (varchar 100 -> 200)
      const c = t.cols.find((x) => x.name === 'amount' && /^int/.test(x.type)) ?? t.cols.find((x) => x.name === 'name' && x.type === 'varchar(100)');
      if (!c) {
        out.push(createTable());
        continue;
      }
      if (c.name === 'amount') {
        c.type = 'bigint';
        out.push(
          my
            ? {
                name: `widen_${t.name}_amount`,
                up: `ALTER TABLE ${q(t.name)} MODIFY ${q('amount')} BIGINT NULL`,
                down: `ALTER TABLE ${q(t.name)} MODIFY ${q('amount')} INT NULL`,
              }
            : {
                name: `widen_${t.name}_amount`,
                up: `ALTER TABLE ${q(t.name)} ALTER COLUMN amount TYPE bigint`,
                down: `ALTER TABLE ${q(t.name)} ALTER COLUMN amount TYPE integer`,
              },
        );
      } else {
        c.type = 'varchar(200)';
        out.push(
          my
            ? {
                name: `widen_${t.name}_name`,
                up: `ALTER TABLE ${q(t.name)} MODIFY ${q('name')} VARCHAR(200) NOT NULL`,
                down: `ALTER TABLE ${q(t.name)} MODIFY ${q('name')} VARCHAR(100) NOT NULL`,
              }
            : {
                name: `widen_${t.name}_name`,
                up: `ALTER TABLE ${q(t.name)} ALTER COLUMN name TYPE varchar(200)`,
                down: `ALTER TABLE ${q(t.name)} ALTER COLUMN name TYPE varchar(100)`,
              },
        );
      }
    } else if (k < 0.84 && tables.length > 1) {
      // foreign key to another table, on a new column
      const ref = pick(tables.filter((x) => x !== t));
      const fk = `${t.name}_${col}_fk`;
      t.cols.push({ name: col, type: 'bigint', nullable: true, indexed: true });
      out.push(
        my
          ? {
              name: `fk_${fk}`,
              up: `ALTER TABLE ${q(t.name)} ADD COLUMN ${q(col)} BIGINT UNSIGNED NULL, ADD CONSTRAINT ${q(fk)} FOREIGN KEY (${q(col)}) REFERENCES ${q(ref.name)} (id)`,
              down: `ALTER TABLE ${q(t.name)} DROP FOREIGN KEY ${q(fk)}, DROP INDEX ${q(fk)}, DROP COLUMN ${q(col)}`,
            }
          : {
              name: `fk_${fk}`,
              up: `ALTER TABLE ${q(t.name)} ADD COLUMN ${q(col)} bigint;\nALTER TABLE ${q(t.name)} ADD CONSTRAINT ${q(fk)} FOREIGN KEY (${q(col)}) REFERENCES ${q(ref.name)} (id) NOT VALID;\nALTER TABLE ${q(t.name)} VALIDATE CONSTRAINT ${q(fk)}`,
              down: `ALTER TABLE ${q(t.name)} DROP COLUMN ${q(col)}`,
            },
      );
    } else if (k < 0.92 && t.indexes.length) {
      // drop an index (post-deploy: the code no longer needs it)
      const idx = t.indexes.pop()!;
      const c = t.cols.find((x) => idx === `${t.name}_${x.name}_idx`);
      if (c) c.indexed = false;
      out.push(
        my
          ? {
              name: `drop_${idx}`,
              up: `DROP INDEX ${q(idx)} ON ${q(t.name)}`,
              down: `CREATE INDEX ${q(idx)} ON ${q(t.name)} (${q(c?.name ?? 'name')})`,
              phase: 'post-deploy',
            }
          : {
              name: `drop_${idx}`,
              up: `DROP INDEX CONCURRENTLY ${q(idx)}`,
              down: `CREATE INDEX CONCURRENTLY ${q(idx)} ON ${q(t.name)} (${q(c?.name ?? 'name')})`,
              phase: 'post-deploy',
            },
      );
    } else {
      // drop the last added nullable column (post-deploy contract step)
      const last = t.cols[t.cols.length - 1]!;
      if (!last.nullable || last.indexed || ['name', 'status', 'amount'].includes(last.name)) {
        t.cols.push({ name: col, type: 'varchar(50)', nullable: true, indexed: false });
        out.push({
          name: `add_${t.name}_${col}`,
          up: `ALTER TABLE ${q(t.name)} ADD COLUMN ${q(col)} ${my ? 'VARCHAR(50)' : 'varchar(50)'} NULL`,
          down: `ALTER TABLE ${q(t.name)} DROP COLUMN ${q(col)}`,
          phase: 'pre-deploy',
        });
        continue;
      }
      t.cols.pop();
      out.push({
        name: `drop_${t.name}_${last.name}`,
        up: `ALTER TABLE ${q(t.name)} DROP COLUMN ${q(last.name)}`,
        down: `ALTER TABLE ${q(t.name)} ADD COLUMN ${q(last.name)} ${last.type.toUpperCase()} NULL`,
        phase: 'post-deploy',
      });
    }
  }
  return out;
}

function writeMigrations(dir: string, gens: Gen[], from = 0): void {
  mkdirSync(dir, { recursive: true });
  gens.forEach((g, i) => {
    const id = `${String(from + i + 1).padStart(4, '0')}_${g.name}`;
    writeFileSync(join(dir, `${id}.up.sql`), `${g.phase ? `-- migrate:phase ${g.phase}\n` : ''}${g.up};\n`);
    writeFileSync(join(dir, `${id}.down.sql`), `${g.down};\n`);
  });
}

// --- helpers ------------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function withDatabase<T>(server: ConnectionConfig, fn: (conn: ConnectionConfig) => Promise<T>): Promise<T> {
  const name = `bench_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = createKnex(dialect, server, { pool: { min: 0, max: 1 } });
  await admin.raw(dialect === 'mysql' ? `CREATE DATABASE \`${name}\`` : `CREATE DATABASE "${name}"`);
  try {
    return await fn({ ...server, database: name });
  } finally {
    await admin.raw(dialect === 'mysql' ? `DROP DATABASE IF EXISTS \`${name}\`` : `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.destroy();
  }
}

/** knex.migrate.latest() over the same SQL files: the plain-knex baseline. */
async function timeKnex(server: ConnectionConfig, dir: string): Promise<number> {
  return withDatabase(server, async (conn) => {
    const db = createKnex(dialect, conn, { pool: { min: 1, max: 1 } });
    try {
      await db.raw('select 1');
      const ids = readdirSync(dir)
        .filter((f) => f.endsWith('.up.sql'))
        .map((f) => f.slice(0, -7))
        .sort();
      const source: Knex.MigrationSource<string> = {
        getMigrations: async () => ids,
        getMigrationName: (id) => id,
        getMigration: async (id) => {
          const up = splitSql(readFileSync(join(dir, `${id}.up.sql`), 'utf8'), dialect);
          const down = splitSql(readFileSync(join(dir, `${id}.down.sql`), 'utf8'), dialect);
          const tx = !up.some((s) => s.noTransaction);
          return {
            up: async (k: Knex) => {
              for (const s of up) await k.raw(s.sql);
            },
            down: async (k: Knex) => {
              for (const s of down) await k.raw(s.sql);
            },
            config: { transaction: tx },
          };
        },
      };
      const t = performance.now();
      await db.migrate.latest({ migrationSource: source });
      return performance.now() - t;
    } finally {
      await db.destroy();
    }
  });
}

async function timeRunner(server: ConnectionConfig, dir: string): Promise<number> {
  return withDatabase(server, async (conn) => {
    const db = createKnex(dialect, conn, { pool: { min: 0, max: 2 } });
    const config: ProjectConfig = { dialect, connection: conn, migrationsDir: dir, ledgerTable: 'migrate_ledger', clusters: [], source: 'bench' };
    try {
      await db.raw('select 1');
      const t = performance.now();
      await new Runner({ config, db, logger: { info() {}, warn() {}, error() {}, out() {} } }).up();
      return performance.now() - t;
    } finally {
      await db.destroy();
    }
  });
}

function newStats(): AnalyseStats {
  return { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
}

async function timeAnalysis(server: ConnectionConfig, dir: string, cacheDir?: string): Promise<{ ms: number; stats: AnalyseStats }> {
  const t = performance.now();
  const migrations = await loadMigrations(dir, dialect);
  const stats = newStats();
  const opts: Parameters<typeof analyse>[1] = { dialect, shadow: server, stats };
  if (parallel !== undefined) opts.parallel = parallel;
  if (cacheDir) opts.cache = new FileCache(cacheDir);
  await analyse(migrations, opts);
  return { ms: performance.now() - t, stats };
}

function cli(args: string[], cwd: string): Promise<{ ms: number; code: number; out: string }> {
  return new Promise((resolve) => {
    const t = performance.now();
    execFile(
      process.execPath,
      [join(root, 'bin', 'migrate'), ...args],
      { cwd, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20 },
      (e, stdout, stderr) => {
        resolve({ ms: performance.now() - t, code: e ? Number(e.code) : 0, out: stdout + stderr });
      },
    );
  });
}

function serverUrl(s: ConnectionConfig, db = ''): string {
  return `${dialect}://${encodeURIComponent(s.user)}${s.password ? `:${encodeURIComponent(s.password)}` : ''}@${s.host}:${s.port}/${db}`;
}

const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
/** A difference with its sign: +0.13 s, -0.05 s. */
const fmtDelta = (ms: number): string => `${ms < 0 ? '-' : '+'}${fmt(Math.abs(ms))}`;

// --- main ---------------------------------------------------------------------------------------

/**
 * Two servers are measured, each with knex and the analysis on the same server:
 * - the durable server (--server URL, default the machine's own 127.0.0.1:3306 / :5432): where a
 *   CI job would simply apply the migrations with knex, and the shadow `check` uses when nothing
 *   else runs;
 * - a throwaway shadow server (what `migrate shadow up` starts: tmpfs, no binary log, no fsync),
 *   started here in a temporary directory and stopped at the end (--no-throwaway skips it).
 * `migrate plan` always plans against a target database on the durable server; its shadow is the
 * server of the section.
 */
const durable: ConnectionConfig = arg('server')
  ? parseShadowUrl(arg('server')!, dialect, '--server')
  : dialect === 'mysql'
    ? { host: '127.0.0.1', port: 3306, user: 'root', database: '' }
    : { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
await checkServer(dialect, durable);
const loadStart = loadavg().map((x) => Number(x.toFixed(2)));
const work = mkdtempSync(join(tmpdir(), 'migrate-bench-plan-'));
const dir = join(work, 'migrations');
const gens = generate(dialect, count + 1);
writeMigrations(dir, gens.slice(0, count));
// --keep DIR: also leave a copy of the generated migrations there, for profiling by hand.
const keep = arg('keep');
if (keep) writeMigrations(keep, gens.slice(0, count));
const kinds = new Map<string, number>();
for (const g of gens.slice(0, count)) kinds.set(g.name.split('_')[0]!, (kinds.get(g.name.split('_')[0]!) ?? 0) + 1);

console.log(`bench:plan  dialect=${dialect}  migrations=${count}  runs=${runs}  durable server=${durable.user}@${durable.host}:${durable.port}`);
console.log(`mix: ${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ')}`);

/** What --results writes: one dialect's run, both servers. */
export interface PlanResults {
  command: string;
  date: string;
  dialect: Dialect;
  migrations: number;
  runs: number;
  loadAverage: { start: number[]; end: number[] };
  machine: string;
  sections: (Omit<Section, 'knex' | 'analysis'> & { knex?: number; analysis?: number })[];
}

interface Section {
  label: string;
  /** Which server: the results file and docs table key on it. */
  server: 'durable' | 'throwaway';
  knex: number;
  analysis: number;
  runner?: number;
  /** Every run, for the spread the docs show next to the medians. */
  knexRuns?: number[];
  analysisRuns?: number[];
  plan?: number;
  planCached?: number;
  cliStart?: number;
  replan?: number;
  replanInProcess?: number;
}

async function measure(label: string, kind: Section['server'], server: ConnectionConfig): Promise<Section> {
  console.log('');
  console.log(`== ${label}: ${server.user}@${server.host}:${server.port}`);
  // Back to the same files for every section (a re-plan below adds one).
  rmSync(dir, { recursive: true, force: true });
  writeMigrations(dir, gens.slice(0, count));
  const knexMs: number[] = [];
  const runnerMs: number[] = [];
  const analysisMs: number[] = [];
  let lastStats = newStats();
  for (let i = 0; i < (only === 'replan' ? 0 : runs); i++) {
    if (only !== 'analysis') {
      knexMs.push(await timeKnex(server, dir));
      runnerMs.push(await timeRunner(server, dir));
    }
    const a = await timeAnalysis(server, dir);
    analysisMs.push(a.ms);
    lastStats = a.stats;
    if (process.env['BENCH_VERBOSE'])
      console.log(
        `  run ${i + 1}: knex ${knexMs.length ? fmt(knexMs.at(-1)!) : '-'}, analysis ${fmt(a.ms)}, segments ${JSON.stringify(a.stats.segments ?? [])}`,
      );
  }
  const k = knexMs.length ? median(knexMs) : NaN;
  const a = analysisMs.length ? median(analysisMs) : NaN;
  const section: Section = { label, server: kind, knex: k, analysis: a, knexRuns: knexMs, analysisRuns: analysisMs };
  if (runnerMs.length) section.runner = median(runnerMs);
  if (analysisMs.length) {
    console.log(`apply with plain knex (migrate.latest):        ${fmt(k)}   runs: ${knexMs.map(fmt).join(', ')}`);
    if (runnerMs.length) console.log(`apply with our runner (migrate up):            ${fmt(median(runnerMs))}   runs: ${runnerMs.map(fmt).join(', ')}`);
    console.log(`analysis (check: up, snapshots, probes, downs): ${fmt(a)}   runs: ${analysisMs.map(fmt).join(', ')}`);
    console.log(
      `   last run: shadow ${fmt(lastStats.shadowMs)}, apply+probe ${fmt(lastStats.applyMs)}, snapshots ${fmt(lastStats.snapshotMs)}, down sweep ${fmt(lastStats.reversalMs)}`,
    );
    console.log(`ratio analysis / knex on this server: ${(a / k).toFixed(2)}x of the medians`);
  }
  if (knexMs.length) {
    // On a shared machine the load drifts during a run: the fastest run of each and the ratio of
    // adjacent runs are the figures least disturbed by it.
    const pairs = analysisMs.map((x, i) => x / knexMs[i]!);
    console.log(
      `   fastest: knex ${fmt(Math.min(...knexMs))}, analysis ${fmt(Math.min(...analysisMs))}, ratio ${(Math.min(...analysisMs) / Math.min(...knexMs)).toFixed(2)}x; median of per-run ratios ${median(pairs).toFixed(2)}x`,
    );
  }

  if (only === 'replan') {
    const inCache = join(work, `cache-inprocess-${server.port}`);
    await timeAnalysis(server, dir, inCache);
    writeMigrations(dir, gens.slice(count, count + 1), count);
    for (let i = 0; i < runs; i++) {
      const incr = await timeAnalysis(server, dir, inCache);
      const st = incr.stats;
      console.log(
        `re-plan in process: ${fmt(incr.ms)}  shadow create+drop ${fmt(st.shadowMs)}, restore+apply ${fmt(st.applyMs)}, snapshots+dump ${fmt(st.snapshotMs)}, down ${fmt(st.reversalMs)} (${st.cachedMigrations} cached)`,
      );
      // Same content again: drop the entries of the new migration so it is analysed again.
      rmSync(inCache, { recursive: true, force: true });
      removeMigration(count + 1);
      await timeAnalysis(server, dir, inCache);
      writeMigrations(dir, gens.slice(count, count + 1), count);
    }
  }
  if (only !== 'analysis' && only !== 'replan' && server.host === durable.host && server.port === durable.port) {
    // plan refuses its target's own server as the shadow (the analysis must never run where the data is).
    console.log("migrate plan (CLI): not measured here; plan refuses the target's server as its shadow (see the throwaway section)");
  } else if (only !== 'analysis' && only !== 'replan') {
    // `migrate plan` end to end through the CLI: the target is a database on the durable server
    // with every migration pending; the shadow is this section's server.
    await withDatabase(durable, async (conn) => {
      const project = join(work, `project-${server.port}`);
      mkdirSync(project, { recursive: true });
      writeFileSync(join(project, 'migrate.config.json'), JSON.stringify({ url: serverUrl(conn, conn.database), migrations: { directory: dir } }));
      const cacheDir = join(work, `cache-${server.port}`);
      const planArgs = ['plan', '--format', 'json', '--shadow', serverUrl(server), '--cache-dir', cacheDir];
      const cold = await cli(planArgs, project);
      if (cold.code !== 0 && cold.code !== 1) throw new Error(`migrate plan failed (${cold.code}): ${cold.out.slice(0, 2000)}`);
      const warm = await cli(planArgs, project);
      const nothing = await cli(['--help'], project);
      writeMigrations(dir, gens.slice(count, count + 1), count);
      const replan = await cli(planArgs, project);
      const pending = (JSON.parse(replan.out.slice(0, replan.out.lastIndexOf('}') + 1)) as { migrations: unknown[] }).migrations.length;
      console.log(`migrate plan (CLI, cold cache, ${count} pending):  ${fmt(cold.ms)}   (target < 10 s)`);
      console.log(`migrate plan again (all cached):               ${fmt(warm.ms)}`);
      console.log(
        `migrate plan after adding 1 migration:         ${fmt(replan.ms)}   (${fmtDelta(replan.ms - warm.ms)} over the cached plan; target < +1 s; ${pending} pending)`,
      );
      console.log(`   CLI start-up alone (migrate --help):        ${fmt(nothing.ms)}`);
      section.plan = cold.ms;
      section.planCached = warm.ms;
      section.cliStart = nothing.ms;
      section.replan = replan.ms - warm.ms;
      // The same re-plan in process, without the CLI start-up.
      removeMigration(count + 1);
      const inCache = join(work, `cache-inprocess-${server.port}`);
      await timeAnalysis(server, dir, inCache);
      writeMigrations(dir, gens.slice(count, count + 1), count);
      const incr = await timeAnalysis(server, dir, inCache);
      section.replanInProcess = incr.ms;
      console.log(
        `re-plan analysis in process after adding 1:    ${fmt(incr.ms)}   (${incr.stats.cachedMigrations} cached, ${incr.stats.analysedMigrations} analysed${incr.stats.partialRestore ? `, ${incr.stats.partialRestore} table(s) restored` : ', full restore'})`,
      );
      const st = incr.stats;
      console.log(
        `   shadow create+drop ${fmt(st.shadowMs)}, restore+apply ${fmt(st.applyMs)}, snapshots+dump ${fmt(st.snapshotMs)}, down ${fmt(st.reversalMs)}`,
      );
    });
  }
  return section;
}

/** Deletes migration number n (1-based) from the directory. */
function removeMigration(n: number): void {
  const prefix = String(n).padStart(4, '0');
  for (const f of readdirSync(dir).filter((x) => x.startsWith(prefix))) rmSync(join(dir, f));
}

let throwawayDir: string | undefined;
try {
  const sections: Section[] = [await measure("durable server (the machine's own; knex and the analysis both here)", 'durable', durable)];
  if (!process.argv.includes('--no-throwaway')) {
    // A throwaway shadow server as `migrate shadow up` starts it, in a directory of our own.
    // Its own base directory (chosen as `migrate shadow up` chooses one), so a server the user
    // runs in the default place is neither reused nor stopped.
    const base = mkdtempSync(join(defaultShadowBase(), 'migrate-bench-'));
    // mkdtemp makes it 0700; PostgreSQL runs as its own account and must traverse it.
    chmodSync(base, 0o755);
    throwawayDir = join(base, shadowDirName(dialect));
    const t = performance.now();
    const { state } = await shadowUp(dialect, throwawayDir);
    const node = state.nodes[0]!;
    const throwaway: ConnectionConfig = {
      host: node.host,
      port: node.port,
      user: node.user,
      password: readSecret(node.passwordFile),
      database: dialect === 'postgres' ? 'postgres' : '',
    };
    console.log('');
    console.log(`throwaway shadow server started in ${fmt(performance.now() - t)} (${throwawayDir})`);
    sections.push(await measure('throwaway shadow server (migrate shadow up; knex and the analysis both here)', 'throwaway', throwaway));
  }
  const [d, s] = sections;
  if (d && Number.isFinite(d.knex) && Number.isFinite(d.analysis)) {
    console.log('');
    console.log('summary (medians)                                  knex apply   analysis   analysis/knex');
    const row = (label: string, k: number, a: number): string => `${label.padEnd(50)} ${fmt(k).padStart(10)}   ${fmt(a).padStart(8)}   ${(a / k).toFixed(2)}x`;
    console.log(row('durable server, both on it', d.knex, d.analysis));
    if (s) {
      console.log(row('throwaway shadow server, both on it', s.knex, s.analysis));
      console.log(row('analysis on the throwaway, knex on the durable', d.knex, s.analysis));
    }
    // Issue 3 asks for <= 1.5x. On one server the analysis runs every down as well as every up
    // (twice knex's DDL) plus two snapshots per migration; the last row is what a CI job pays for
    // `migrate shadow up` + check next to applying the migrations to an ordinary database.
    console.log('target: analysis <= 1.5x knex (docs/benchmarks.md says which rows meet it and why the same-server ones do not)');
    if (d.plan !== undefined)
      console.log(
        `migrate plan (CLI, cold, ${count} pending): shadow on the durable server ${fmt(d.plan)}${s?.plan !== undefined ? `, on the throwaway ${fmt(s.plan)}` : ''}   (target < 10 s)`,
      );
    if (d.replan !== undefined)
      console.log(
        `re-plan after adding 1: ${fmtDelta(d.replan)} durable${s?.replan !== undefined ? `, ${fmtDelta(s.replan)} throwaway` : ''}   (target < +1 s)`,
      );
  }
  const resultsFile = arg('results');
  if (resultsFile) {
    // What docs/benchmarks.md's plan table is rendered from (scripts/plan-bench-doc.ts); committed beside it.
    const results: PlanResults = {
      command: `npm run bench:plan -- ${process.argv.slice(2).join(' ')}`,
      date: new Date().toISOString(),
      dialect,
      migrations: count,
      runs,
      loadAverage: { start: loadStart, end: loadavg().map((x) => Number(x.toFixed(2))) },
      machine: `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      sections: sections.map((x) => ({
        ...x,
        knex: Number.isFinite(x.knex) ? x.knex : undefined,
        analysis: Number.isFinite(x.analysis) ? x.analysis : undefined,
      })),
    };
    mkdirSync(dirname(resolvePath(resultsFile)), { recursive: true });
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`results written to ${resultsFile}`);
  }
} finally {
  if (throwawayDir) {
    await shadowDown(dialect, throwawayDir).catch((e: unknown) => console.error(`could not stop the throwaway server in ${throwawayDir}: ${String(e)}`));
    rmSync(dirname(throwawayDir), { recursive: true, force: true });
  }
  rmSync(work, { recursive: true, force: true });
}
