import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  analyse,
  disposeAllShadows,
  evaluateGate,
  FileCache,
  findShadowServer,
  forbiddenServers,
  isKnownAckRule,
  parseWorkload,
  type AnalyseOptions,
  type AnalyseStats,
  type AnalysisCache,
  type FindShadowOptions,
  type MigrationVerdict,
  type Workload,
} from '../../analysis/index.ts';
import { loadConfig, type ConnectionConfig, type Dialect, type LayoutChoice, type ProjectConfig } from '../../config/index.ts';
import { createKnex, verifyConnection } from '../../db/index.ts';
import { dialectNamed, engineFor } from '../../engines/index.ts';
import { EXIT_FAILED, isMigrateError, type MigrateError, messageOf, usageError } from '../../errors.ts';
import { consoleLogger } from '../../log/index.ts';
import { discoverMigrations, Runner, type MigrationIssue, type MigrationSource } from '../../migrations/index.ts';
import { buildPlan, parseFormat, render, touchedTables, useColour, type Format, type MigrationFiles, type Report, type TableSize } from '../../report/index.ts';
import { layoutFlag } from './layout-flag.ts';
import { readQueriesFrom } from './queries-from.ts';

/**
 * `migrate check [DIR]` and `migrate plan`: analyse migrations on a shadow database and gate them.
 * Exit codes: 0 the gate passes, 1 it fails (also when a migration fails on the shadow: its verdict
 * is `failed`, those after it `not analysed`), 2 usage / config / connection errors (a file that
 * cannot be loaded, no reachable shadow server). With --format json an exit-2 error is a JSON
 * object on stdout too (jsonErrors). The shadow database is dropped in every case, also on Ctrl-C.
 */
interface CommonOpts {
  dialect?: string;
  shadow?: string;
  shadowThrowaway?: boolean;
  queries?: string;
  queriesFrom?: string;
  minCount?: string;
  newQueries?: string;
  format?: string;
  ack: string[];
  cache: boolean;
  cacheDir?: string;
  /** The global --layout flag (layout-flag.ts). */
  layout?: LayoutChoice;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function addCommonOptions(cmd: Command): Command {
  return cmd
    .option(
      '--shadow <url>',
      'server for the shadow databases, e.g. mysql://root@127.0.0.1:3306 (default: MIGRATE_SHADOW_URL, else the throwaway `migrate shadow` server, started when none runs). One that holds other data is used through an account restricted to its own databases',
    )
    .option(
      '--shadow-throwaway',
      'the --shadow server holds nothing that matters: analyse there as the given account, like on a throwaway server (env MIGRATE_SHADOW_THROWAWAY=1)',
    )
    .option('--queries <file>', 'statements the deployed (old) code runs: one per line, or a JSON export of performance_schema digests / pg_stat_statements')
    .option(
      '--queries-from <url-or-cluster>',
      "read the deployed code's statements from production instead of a file: performance_schema statement digests (MySQL/MariaDB) or pg_stat_statements of the target database, on a URL or every node of a configured cluster (read-only)",
    )
    .option('--min-count <n>', 'with --queries-from: only statements run at least n times (default 1)')
    .option('--new-queries <file>', 'statements the new code runs (checked against the schema after each down)')
    .option('--format <format>', 'text, json, markdown, github, sarif (SARIF 2.1.0 for code scanning) or junit (JUnit XML for CI test reports)', 'text')
    .option('--ack <RULE:MIGRATION_ID:reason>', 'acknowledge a finding (repeatable), e.g. --ack "BC102:0007_drop_age:column unused since v41"', collect, [])
    .option('--no-cache', 'analyse every migration again instead of reusing cached results')
    .option('--cache-dir <dir>', 'where analysis results are cached (default: node_modules/.cache/migrate-check, else the temp dir)');
}

function parseDialect(v: string | undefined, shadowUrl: string | undefined): Dialect {
  const named = dialectNamed(v);
  if (named) return named;
  if (v !== undefined) throw usageError(`--dialect ${JSON.stringify(v)} is not supported.`, 'Use --dialect mysql (also for MariaDB) or --dialect postgres.');
  const fromScheme = dialectNamed(shadowUrl ? /^(\w+):/.exec(shadowUrl)?.[1] : undefined);
  if (fromScheme) return fromScheme;
  throw usageError('--dialect is missing.', 'Pass --dialect mysql (also for MariaDB) or --dialect postgres.');
}

export interface CliAck {
  rule: string;
  migration: string;
  reason: string;
}

/** "BC102:0007_drop_age:reason with: colons" -> { rule, migration, reason }. */
export function parseAck(v: string, ids: Set<string>): CliAck {
  const m = /^([^:]+):([^:]+):(.*)$/s.exec(v);
  const example = 'Write --ack RULE:MIGRATION_ID:reason, e.g. --ack "BC102:0007_drop_age:the column is unused since release 41".';
  if (!m) throw usageError(`--ack "${v}" is not RULE:MIGRATION_ID:reason.`, example);
  const rule = m[1]!.trim().toUpperCase();
  const migration = m[2]!.trim();
  const reason = m[3]!.trim();
  if (!reason) throw usageError(`--ack "${v}" gives no reason.`, `${example} The reason is shown in every report.`);
  if (!isKnownAckRule(rule))
    throw usageError(`--ack "${v}": ${rule} is not a rule code.`, 'Use a code from the report (e.g. BC102); docs/rules.md lists them all.');
  if (!ids.has(migration)) {
    const near = [...ids].filter((id) => id.includes(migration) || migration.includes(id.split('_')[0] ?? id)).slice(0, 3);
    throw usageError(
      `--ack "${v}": no migration has the id "${migration}".`,
      `Use the file name without extension${near.length ? `, e.g. ${near.join(', ')}` : ''}.`,
    );
  }
  return { rule, migration, reason };
}

function readWorkload(file: string | undefined, dialect: Dialect, flag: string): Workload | undefined {
  if (file === undefined) return undefined;
  const path = resolve(file);
  if (!existsSync(path) || !statSync(path).isFile())
    throw usageError(
      `${flag} ${file}: the file does not exist.`,
      `Pass the path of a file with one statement per line, or a JSON export of ${engineFor(dialect).workloadExport}.`,
    );
  const w = parseWorkload(readFileSync(path, 'utf8'), path, dialect);
  if (!w.queries.length) {
    throw usageError(
      `${flag} ${file} holds no SELECT, INSERT, UPDATE or DELETE statement${w.skipped.length ? ` (${w.skipped.length} skipped: ${w.skipped[0]!.reason})` : ''}.`,
      'Give one statement per line, or a JSON array of objects with DIGEST_TEXT (MySQL) or query (pg_stat_statements).',
    );
  }
  return w;
}

/**
 * Problems that make the analysis meaningless are usage errors (exit 2), listed together. A
 * missing down (`blocks: 'down'`) is not one: the migration is analysed and its verdict says it
 * is not reversible (RV101, which can be acknowledged). Neither is a module that cannot be imported.
 */
function issuesError(all: MigrationIssue[]): MigrateError | undefined {
  // A module that cannot be imported is analysed like one that fails on the server: its stand-in's
  // up() throws the import error, so it gets a failed verdict and the ones before it keep theirs.
  const issues = all.filter((i) => i.blocks === 'all' && !i.unloadable);
  if (!issues.length) return undefined;
  const first = issues[0]!;
  const rest = issues
    .slice(1)
    .map((i) => `\n  - ${i.problem}`)
    .join('');
  return usageError(`${first.problem}${rest ? `\nAlso:${rest}` : ''}`, `${first.fix}${rest ? ' Then fix the others the same way.' : ''}`);
}

function defaultCacheDir(): string {
  const nm = resolve('node_modules');
  if (existsSync(nm)) return join(nm, '.cache', 'migrate-check');
  return join(tmpdir(), `migrate-check-cache-${process.getuid?.() ?? 'user'}`);
}

function cacheFor(opts: CommonOpts): AnalysisCache | undefined {
  if (!opts.cache) return undefined;
  return new FileCache(opts.cacheDir ? resolve(opts.cacheDir) : defaultCacheDir());
}

function serverLabel(s: ConnectionConfig): string {
  return `${s.user}@${s.host}:${s.port}`;
}

/** Drops the shadow databases if the command is interrupted, then exits like the signal would. */
async function withCleanup<T>(fn: () => Promise<T>): Promise<T> {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    // A second signal while the shadow databases are dropped: exit at once.
    if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopping = true;
    // check changes nothing but its own throwaway shadow databases, so that is all there is to say;
    // said as an error paragraph like every other failure (not a silent exit, not "unexpected").
    void disposeAllShadows()
      .then(
        () => 'its throwaway shadow databases were dropped',
        () => 'dropping its throwaway shadow databases failed (they are named migrate_shadow_*; `migrate shadow down` removes a shadow server)',
      )
      .then((cleanup) => {
        process.stderr.write(
          `error: migrate check was interrupted by ${signal} before it finished: no verdict; ${cleanup}. It changes nothing on the project's database.\n` +
            'fix: Run "migrate check" again. If it stopped because a migration never finished (a TypeScript migration whose promise never settles hangs the analysis), fix that migration first.\n',
        );
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}

function filesOf(ms: MigrationSource[]): Map<string, MigrationFiles> {
  return new Map(
    ms.map((m) => [
      m.id,
      {
        id: m.id,
        format: m.format,
        upPath: m.upPath,
        downPath: m.downPath,
        upStatements: m.upStatements,
        downStatements: m.downStatements,
        acknowledgements: m.acknowledgements,
      },
    ]),
  );
}

interface Prepared {
  format: Format;
  dialect: Dialect;
  old?: Workload;
  fresh?: Workload;
  /** What --queries-from read, for the report's notes. */
  notes: string[];
}

async function prepareCommon(opts: CommonOpts, dialect: Dialect, configPath?: string): Promise<Prepared> {
  const format = parseFormat(opts.format);
  const p: Prepared = { format, dialect, notes: [] };
  if (opts.minCount !== undefined && opts.queriesFrom === undefined)
    throw usageError('--min-count applies to --queries-from only.', 'Add --queries-from <url or cluster>, or drop --min-count.');
  if (opts.queriesFrom !== undefined) {
    if (opts.queries !== undefined)
      throw usageError(
        "--queries and --queries-from both give the deployed code's statements.",
        'Pass one of them: a file with --queries, or the server to read them from with --queries-from.',
      );
    const read = await readQueriesFrom(opts.queriesFrom, dialect, opts.minCount, configPath);
    p.old = read.workload;
    p.notes.push(read.note);
  }
  const old = opts.queriesFrom === undefined ? readWorkload(opts.queries, dialect, '--queries') : undefined;
  const fresh = readWorkload(opts.newQueries, dialect, '--new-queries');
  if (old) p.old = old;
  if (fresh) p.fresh = fresh;
  return p;
}

/**
 * Which shadow servers suit a target: the `migrate shadow` server is MariaDB, whose ALTER algorithms
 * (and so the verdicts) differ from MySQL's, so planning for a MySQL target needs a URL.
 */
export function shadowLookupFor(targetVersion: string | undefined): FindShadowOptions {
  if (targetVersion === undefined || /mariadb/i.test(targetVersion)) return {};
  return {
    ownUnsuitable: `the target runs MySQL ${targetVersion.split('-')[0]}, and the local \`migrate shadow\` server is MariaDB, whose ALTER algorithms (and so the verdicts) differ`,
  };
}

async function runAnalysis(
  migrations: MigrationSource[],
  p: Prepared,
  opts: CommonOpts,
  extra: Partial<AnalyseOptions> = {},
  lookup: FindShadowOptions = {},
): Promise<{ verdicts: MigrationVerdict[]; shadow: string; stats: AnalyseStats; ms: number }> {
  const ids = new Set(migrations.slice(extra.baseline ?? 0).map((m) => m.id));
  const acks = opts.ack.map((a) => parseAck(a, ids));
  const shadow = await findShadowServer(p.dialect, { ...lookup, url: opts.shadow, assertThrowaway: Boolean(opts.shadowThrowaway) });
  // On stderr: the report formats on stdout stay machine-readable.
  if (shadow.started) consoleLogger.warn(shadow.started);
  const stats: AnalyseStats = { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
  const t = performance.now();
  const cache = cacheFor(opts);
  const o: AnalyseOptions & { stats: AnalyseStats } = {
    dialect: p.dialect,
    shadow: shadow.server,
    shadowOrigin: shadow.origin,
    onWarning: (m) => consoleLogger.warn(m),
    acknowledgements: acks,
    stats,
    ...extra,
  };
  if (cache) o.cache = cache;
  if (p.old || p.fresh) o.workload = { old: p.old?.queries ?? [], new: p.fresh?.queries ?? [] };
  if (o.workload && p.old?.window) o.workload.oldWindow = p.old.window;
  const verdicts = await withCleanup(() => analyse(migrations, o));
  const how = stats.isolationReason ? `; ${stats.isolationReason}` : '';
  return { verdicts, shadow: `${serverLabel(shadow.server)} (${shadow.source}${how})`, stats, ms: performance.now() - t };
}

function output(report: Report, format: Format): void {
  consoleLogger.out(render(report, format, { colour: useColour(process.stdout) }));
  process.exitCode = report.gate.pass ? 0 : 1;
}

function skippedOf(p: Prepared): Report['skipped'] {
  return [...(p.old?.skipped ?? []), ...(p.fresh?.skipped ?? [])];
}

function runNote(r: { stats: AnalyseStats; ms: number }, applied = 0): string {
  const s = r.stats;
  return `analysed ${s.analysedMigrations} migration${s.analysedMigrations === 1 ? '' : 's'}${s.cachedMigrations ? `, ${s.cachedMigrations} from cache` : ''}${applied ? `, ${applied} applied replayed to seed the shadow` : ''} in ${(r.ms / 1000).toFixed(1)} s`;
}

export async function checkCommand(dir: string | undefined, opts: CommonOpts, configPath?: string): Promise<void> {
  const dialect = parseDialect(opts.dialect, opts.shadow ?? process.env['MIGRATE_SHADOW_URL']);
  // The config is read only to find a cluster named by --queries-from.
  const p = await prepareCommon(opts, dialect, configPath);
  const path = resolve(dir ?? 'migrations');
  if (!existsSync(path)) {
    throw usageError(
      `The migrations directory ${dir ?? 'migrations'} does not exist${dir ? '' : ' (no DIR given, so ./migrations was used)'}.`,
      'Pass the directory holding the migrations: migrate check path/to/migrations --dialect mysql.',
    );
  }
  if (!statSync(path).isDirectory()) {
    throw usageError(
      `${dir ?? 'migrations'} is a file, not a directory of migrations.`,
      'Pass the directory holding the migrations: migrate check path/to/migrations --dialect mysql.',
    );
  }
  const discovery = await discoverMigrations(path, dialect, opts.layout);
  // Everything that stops a migration from being analysed is bad input; a missing down is a verdict.
  const err = issuesError(discovery.issues);
  if (err) throw err;
  if (!discovery.migrations.length)
    throw usageError(
      `${path} holds no migrations (NNNN_name.ts, or NNNN_name.up.sql with .down.sql).`,
      'Pass the directory holding the migrations, or create one with "migrate make <name> --dir DIR".',
    );
  const r = await runAnalysis(discovery.migrations, p, opts);
  const report: Report = {
    command: 'check',
    dialect,
    verdicts: r.verdicts,
    gate: evaluateGate(r.verdicts),
    files: filesOf(discovery.migrations),
    baseDir: process.env['GITHUB_WORKSPACE'] ?? process.cwd(),
    shadow: r.shadow,
    notes: [runNote(r), ...p.notes],
    skipped: skippedOf(p),
  };
  output(report, p.format);
}

async function tableSizes(config: ProjectConfig, verdicts: MigrationVerdict[], db: ReturnType<typeof createKnex>): Promise<Record<string, TableSize[]>> {
  const byMigration: Record<string, string[]> = {};
  const all = new Set<string>();
  for (const v of verdicts) {
    byMigration[v.id] = touchedTables(v);
    for (const t of byMigration[v.id]!) all.add(t);
  }
  const found = new Map<string, { rows: number | null; bytes: number | null }>();
  if (all.size) {
    const names = [...all];
    for (const [t, size] of await engineFor(config.dialect).tableSizes(db, names)) found.set(t, size);
  }
  const out: Record<string, TableSize[]> = {};
  for (const [id, tables] of Object.entries(byMigration)) {
    out[id] = tables.map((t) => ({ table: t, rows: found.get(t)?.rows ?? null, bytes: found.get(t)?.bytes ?? null }));
  }
  return out;
}

/** plan's --dialect, when given, must name the config's engine. */
function assertDialectFlag(flag: string | undefined, configured: Dialect): void {
  if (flag === undefined) return;
  if (engineFor(parseDialect(flag, undefined)) !== engineFor(configured)) {
    throw usageError(`--dialect ${flag} does not match the config (${configured}).`, 'Drop --dialect: plan takes the dialect from the config.');
  }
}

export async function planCommand(opts: CommonOpts, configPath: string | undefined): Promise<void> {
  const config = await loadConfig({ configPath });
  assertDialectFlag(opts.dialect, config.dialect);
  const p = await prepareCommon(opts, config.dialect, configPath);
  const engine = engineFor(config.dialect);
  const db = createKnex(config.dialect, config.connection, { pool: { min: 0, max: 1 } });
  try {
    await verifyConnection(db, config.dialect, config.connection);
    const status = await new Runner({ config, db }).status();
    const warnings: string[] = [];
    const err = issuesError(status.discovery.issues);
    if (err) throw err;
    const history: MigrationSource[] = [];
    const pending: MigrationSource[] = [];
    for (const s of status.migrations) {
      if (s.state === 'missing-file')
        warnings.push(
          `${s.id} is applied on the target but its file is gone: the shadow cannot replay it, so its schema changes are missing from the analysis.`,
        );
      else if (s.state === 'drift')
        warnings.push(`${s.id} changed after it was applied: the shadow replays the current file, which may differ from what the target ran.`);
      if (!s.source) continue;
      if (s.state === 'pending') pending.push(s.source);
      else history.push(s.source);
    }
    const target = `${config.connection.user}@${config.connection.host}:${config.connection.port}/${config.connection.database}`;
    let verdicts: MigrationVerdict[] = [];
    let note: string;
    let shadowLabel: string | undefined;
    if (pending.length) {
      const version = await engine.targetVersionForShadow(db);
      const lookup: FindShadowOptions = { ...shadowLookupFor(version), forbidden: forbiddenServers(config, 'plan') };
      // The history was written for the target's database: on the shadow that is the shadow database.
      const home = engine.switchesDatabases && config.connection.database ? { home: config.connection.database } : {};
      // The shadow holds the target's schema, not its rows: narrowings are decided on the target's data.
      const dataTarget = version === undefined ? { db, target } : { db, target, version };
      const r = await runAnalysis([...history, ...pending], p, opts, { baseline: history.length, ...home, dataTarget }, lookup);
      verdicts = r.verdicts;
      note = runNote(r, history.length);
      shadowLabel = r.shadow;
    } else {
      note = 'nothing pending';
    }
    const sizes = await tableSizes(config, verdicts, db);
    const cluster = config.clusters.find((c) => engine.flavors.includes(c.flavor));
    if (cluster?.readPool && verdicts.some((v) => v.strategy === 'replica-first')) {
      const { readPoolPlanNotes } = await import('../../topology/index.ts');
      warnings.push(...(await readPoolPlanNotes(cluster)));
    }
    const plan = buildPlan({ dialect: config.dialect, target, applied: history.length, verdicts, sizes, nodes: cluster?.nodes.length ?? 2, warnings });
    const report: Report = {
      command: 'plan',
      dialect: config.dialect,
      verdicts,
      gate: evaluateGate(verdicts),
      files: filesOf([...history, ...pending]),
      baseDir: process.env['GITHUB_WORKSPACE'] ?? process.cwd(),
      notes: [note, ...p.notes],
      skipped: skippedOf(p),
      plan,
    };
    if (shadowLabel) report.shadow = shadowLabel;
    output(report, p.format);
  } finally {
    await db.destroy();
  }
}

/**
 * With --format json, stdout stays JSON also when the command fails before any report (a bad
 * config, an unreachable server): {"error": {"kind", "problem", "fix", "exitCode"}}. The error also
 * goes to stderr as for every other format, and the exit code is the error's.
 */
async function jsonErrors(format: string | undefined, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (format === 'json') {
      const error = isMigrateError(e)
        ? { kind: e.kind, problem: e.problem, fix: e.fix, exitCode: e.exitCode }
        : {
            kind: 'unexpected',
            problem: `unexpected failure: ${messageOf(e)}`,
            fix: 'Run again with MIGRATE_DEBUG=1 for the stack, and report it.',
            exitCode: EXIT_FAILED,
          };
      consoleLogger.out(JSON.stringify({ error }, null, 2));
    }
    throw e;
  }
}

export function registerCheckCommands(program: Command): void {
  addCommonOptions(
    program
      .command('check')
      .description('analyse a directory of migrations on a throwaway shadow database and gate them (exit 0 pass, 1 fail, 2 bad input)')
      .argument('[dir]', 'migrations directory (default: ./migrations)', undefined)
      .option('--dialect <dialect>', 'mysql (also MariaDB) or postgres'),
  ).action(async (dir: string | undefined, opts: CommonOpts, cmd: Command) => {
    const layout = layoutFlag(cmd);
    await jsonErrors(opts.format, () => checkCommand(dir, layout ? { ...opts, layout } : opts, cmd.optsWithGlobals<{ config?: string }>().config));
  });

  addCommonOptions(
    program
      .command('plan')
      .description("the configured target's pending migrations with verdicts, strategy, row estimates and durations, ordered around the code deploy")
      .option('--dialect <dialect>', 'must match the config when given'),
  ).action(async (opts: CommonOpts, cmd: Command) => {
    await jsonErrors(opts.format, () => planCommand(opts, cmd.optsWithGlobals<{ config?: string }>().config));
  });
}
