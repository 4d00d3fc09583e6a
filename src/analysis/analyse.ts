import { decideOnTarget } from './data/target.ts';
import { existsSync, readFileSync } from 'node:fs';
import { usageError } from '../errors.ts';
import { engineFor, isDialect } from '../engines/index.ts';
import type { MigrationSource } from '../migrations/index.ts';
import { cachedPrefix, cacheKeys, storeFacts } from './analyse-cache.ts';
import type { AnalyseStats } from './analyse-stats.ts';
import type { CacheEntry } from './cache.ts';
import { mergeDumps, partialPlan, type PartialPlan } from './partial-restore.ts';
import { loadStatementParser } from './sql/parse.ts';
import { analyseSegments, DEFAULT_PARALLEL, type SegmentJob } from './segments.ts';
import { ShadowAnalyser, snapshotterOf, type FailedUp, type Workloads } from './shadow-analyser.ts';
import { ShadowDatabase } from './shadow.ts';
import { ServerWideStatement, ShadowRun } from './shadow-run.ts';
import { firstUse, firstUseInSource, serverWideInSource, serverWideReason } from './shadow-statements.ts';
import type { AnalyseOptions } from './options.ts';
import type { MigrationVerdict, SchemaSnapshot } from './types.ts';
import { buildVerdict, failedVerdict, notAnalysedVerdict, type MigrationFacts } from './verdict.ts';

export type { AnalyseStats } from './analyse-stats.ts';

/**
 * Applies the migrations in order on a throwaway shadow database, snapshots the schema after each
 * up, diffs, runs every rule family, then (unless disabled) runs the downs newest-first to check
 * that each one restores the schema before its up. The shadow database is dropped in all cases.
 *
 * Cost per migration: its up, one partial snapshot (only the tables its SQL touched), its down,
 * one more partial snapshot. Downs run as one sweep from the newest migration back, the order of a
 * real rollback, so no migration is applied twice unless a down fails to restore its schema.
 *
 * Speed-ups (none changes a verdict; test/integration/check-cache.test.ts compares them):
 * - long runs are split into segments analysed side by side on their own shadows (segments.ts planSegments);
 * - with a cache, only the migrations after the longest unchanged prefix are analysed, from the
 *   prefix's schema dump; on MySQL/MariaDB only the tables the new SQL names are restored
 *   (partialPlan), next to the cached snapshot;
 * - `baseline` (migrate plan) replays the target's applied history once, then restores it the same way.
 * The workload (`--queries`) is prepared in every schema state; its findings join the facts.
 *
 * The jobs live in their own files: cache keys and stores (analyse-cache.ts), the segments
 * (segments.ts), the dump surgery of partial restores (partial-restore.ts), and what one shadow
 * does per migration (shadow-analyser.ts).
 */
export async function analyse(migrations: MigrationSource[], opts: AnalyseOptions & { stats?: AnalyseStats }): Promise<MigrationVerdict[]> {
  const verdicts = await analyseOnShadow(migrations, opts);
  if (opts.dataTarget) {
    const { db, ...target } = opts.dataTarget;
    await decideOnTarget(db, opts.dialect, verdicts, target);
  }
  return verdicts;
}

async function analyseOnShadow(migrations: MigrationSource[], opts: AnalyseOptions & { stats?: AnalyseStats }): Promise<MigrationVerdict[]> {
  if (!isDialect(opts.dialect)) {
    throw usageError(`Unknown dialect "${String(opts.dialect)}".`, 'Use --dialect mysql (also for MariaDB) or --dialect postgres.');
  }
  const baseline = opts.baseline ?? 0;
  if (!Number.isInteger(baseline) || baseline < 0 || baseline > migrations.length) throw new Error(`baseline ${baseline} is outside 0..${migrations.length}`);
  const stats: AnalyseStats = opts.stats ?? { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
  const t0 = Date.now();
  const run = await ShadowRun.open(opts.dialect, opts.shadow, {
    ...(opts.shadowOrigin ? { origin: opts.shadowOrigin } : {}),
    ...(opts.onWarning ? { warn: opts.onWarning } : {}),
  });
  stats.shadowMs += Date.now() - t0;
  stats.isolation = run.isolation;
  stats.isolationReason = run.reason;
  try {
    const home = engineFor(opts.dialect).switchesDatabases ? (opts.home ?? historyHome(migrations)) : undefined;
    if (run.isolation === 'throwaway') {
      // Found beforehand: the run holds the server-wide lock from the start and uses one segment,
      // so two segments never replay the same CREATE ROLE side by side.
      const wide = serverWideIn(migrations, opts.dialect, home);
      if (wide) {
        await run.becomeExclusive();
        stats.serverWide = wide;
      }
    }
    for (;;) {
      try {
        return await analyseOn(run, home, migrations, opts, stats, baseline);
      } catch (e) {
        // Found while running (a TypeScript migration's SQL): start again holding the lock.
        if (!(e instanceof ServerWideStatement) || run.exclusive) throw e;
        await run.becomeExclusive();
        stats.serverWide = `${e.why}: ${e.statement}`;
      }
    }
  } finally {
    const t = Date.now();
    await run.close();
    stats.shadowMs += Date.now() - t;
  }
}

/** The database a MySQL history was written for, when no target names it: the first one it USEs. */
function historyHome(migrations: MigrationSource[]): string | undefined {
  for (const m of migrations) {
    const db = m.format === 'sql' ? firstUse(m.upSql ?? []) : sourceOf(m) === undefined ? undefined : firstUseInSource(sourceOf(m)!);
    if (db !== undefined) return db;
  }
  return undefined;
}

function sourceOf(m: MigrationSource): string | undefined {
  return m.format === 'ts' && existsSync(m.upPath) ? readFileSync(m.upPath, 'utf8') : undefined;
}

/** The first statement of the history on server-wide objects (accounts, roles, other databases), in words. */
function serverWideIn(migrations: MigrationSource[], dialect: AnalyseOptions['dialect'], home: string | undefined): string | undefined {
  for (const m of migrations) {
    if (m.format === 'sql') {
      for (const sql of [...(m.upSql ?? []), ...(m.downSql ?? [])]) {
        const why = serverWideReason(sql, dialect, home);
        if (why) return `${m.id} ${why}`;
      }
    } else {
      const text = sourceOf(m);
      const why = text === undefined ? undefined : serverWideInSource(text, dialect, home);
      if (why) return `${m.id} ${why}`;
    }
  }
  return undefined;
}

async function analyseOn(
  run: ShadowRun,
  home: string | undefined,
  migrations: MigrationSource[],
  opts: AnalyseOptions,
  stats: AnalyseStats,
  baseline: number,
): Promise<MigrationVerdict[]> {
  const checkReversibility = opts.checkReversibility !== false;
  const workload: Workloads = { old: opts.workload?.old ?? [], new: opts.workload?.new ?? [] };
  if (opts.workload?.oldWindow) workload.oldWindow = opts.workload.oldWindow;
  const keys = await cacheKeys(run, migrations, opts, workload, checkReversibility);
  const baseKey = baseline > 0 ? `${keys[baseline - 1]!}-base` : undefined;
  const cached = await cachedPrefix(opts.cache, keys, baseline);
  const start = baseline + cached.length;
  stats.cachedMigrations = cached.length;
  stats.analysedMigrations = migrations.length - start;
  const facts: (MigrationFacts | undefined)[] = [...Array<undefined>(baseline), ...cached.map((e) => e.facts)];
  // The state the new migrations start from: the last cached one, or (plan) the target's history.
  const last = start > baseline ? cached[cached.length - 1] : baseKey && opts.cache ? await opts.cache.get(baseKey) : undefined;

  if (start < migrations.length) await tryPartial({ run, home, migrations, stats, workload, checkReversibility, keys, start, facts, cache: opts.cache }, last);
  let failed: FailedUp | undefined;
  if (start < migrations.length && facts.length < migrations.length) {
    const job: SegmentJob = {
      run,
      home,
      migrations,
      stats,
      workload,
      checkReversibility,
      cache: opts.cache,
      keys,
      start,
      facts,
      restore: last?.restore,
      baseKey: start === baseline ? baseKey : undefined,
    };
    await analyseSegments(job, checkReversibility && !run.exclusive ? (opts.parallel ?? DEFAULT_PARALLEL) : 1);
    failed = job.failed;
    // Those after the failed one were not analysed (the failed one was tried).
    if (failed) stats.analysedMigrations = Math.max(0, failed.index + 1 - start);
  }
  return verdictsOf(migrations, baseline, failed ? facts.slice(0, failed.index) : facts, failed, opts);
}

/**
 * One verdict per migration from `baseline`: its facts, else `failed` (the up that failed) or
 * `not analysed` (after it). A migration of plan's applied history that fails on the shadow is
 * named in the reason of every pending one, none of which could be analysed.
 */
function verdictsOf(
  migrations: MigrationSource[],
  baseline: number,
  facts: (MigrationFacts | undefined)[],
  failed: FailedUp | undefined,
  opts: AnalyseOptions,
): MigrationVerdict[] {
  const verdicts: MigrationVerdict[] = [];
  const failedId = failed ? migrations[failed.index]?.id : undefined;
  for (let i = baseline; i < migrations.length; i++) {
    const m = migrations[i]!;
    const f = facts[i];
    let v: MigrationVerdict;
    if (f) v = buildVerdict(f, m.acknowledgements, opts.acknowledgements ?? []);
    else if (failed && i === failed.index) {
      v = failedVerdict(m.id, m.phase, failed.failure);
      v.findings.push(...(failed.findings ?? []));
    } else if (failed && failedId !== undefined) {
      v = notAnalysedVerdict(m.id, m.phase, failedId);
      // Its own verdict is not in the list (applied history): its error is said here.
      if (failed.index < baseline) v.refusedReason = `not analysed: ${failedId} (applied on the target) fails on the shadow database: ${failed.failure.error}`;
    } else throw new Error(`no facts for ${m.id}`);
    opts.onVerdict?.(v);
    verdicts.push(v);
  }
  return verdicts;
}

/** A partial re-plan shares a segment's job, before its restore and cache base are known. */
type PartialJob = Omit<SegmentJob, 'restore' | 'baseKey'>;

/**
 * Re-planning after adding a few migrations: restore only the tables they can touch, next to the
 * cached snapshot, instead of the whole schema. If anything goes wrong (a table it needed was not
 * restored), the facts are dropped and the caller repeats the run with the full restore.
 */
async function tryPartial(job: PartialJob, last: CacheEntry | undefined): Promise<void> {
  const { migrations, start, workload } = job;
  const usable =
    last?.restore && last.snapshot && !workload.old.length && !workload.new.length ? { restore: last.restore, snapshot: last.snapshot } : undefined;
  // partialPlan parses the new migrations' statements (with PostgreSQL's parser there).
  if (usable) await loadStatementParser(job.run.dialect);
  const partial = usable ? partialPlan(migrations.slice(start), usable.snapshot, usable.restore, job.run.dialect) : undefined;
  if (!partial || !last?.snapshot) return;
  try {
    const r = await analysePartial(migrations, start, last.snapshot, partial, job.run, job.home, job.stats, workload, job.checkReversibility);
    job.facts.push(...r.facts);
    if (job.cache) await storeFacts(job.cache, job.keys, job.facts, start, r.restore, r.snapshot);
    job.stats.partialRestore = partial.tables.length;
  } catch {
    job.facts.length = start;
  }
}

async function analysePartial(
  migrations: MigrationSource[],
  start: number,
  snapshot: SchemaSnapshot,
  plan: PartialPlan,
  run: ShadowRun,
  home: string | undefined,
  stats: AnalyseStats,
  workload: Workloads,
  checkReversibility: boolean,
): Promise<{ facts: MigrationFacts[]; restore: string[]; snapshot: SchemaSnapshot | null }> {
  const dialect = run.dialect;
  let t = Date.now();
  const shadow = await ShadowDatabase.create(run, { ...(home !== undefined ? { home } : {}) });
  stats.shadowMs += Date.now() - t;
  try {
    const runner = new ShadowAnalyser(shadow, snapshotterOf(shadow), migrations, stats, workload);
    runner.baseDump = plan.full;
    await runner.rebuildPartial(start - 1, plan.restore, snapshot, plan.tables);
    const facts = await runner.analyseRange(start, migrations.length, checkReversibility, true);
    // A failure may come from a table the partial restore left out: the full run decides.
    if (runner.failure) throw new Error('a migration failed after the partial restore');
    if (!runner.finalDump) throw new Error('no schema dump after the partial run');
    return { facts, restore: mergeDumps(dialect, runner.baseDump ?? [], runner.finalDump, plan.tables), snapshot: runner.finalState };
  } finally {
    t = Date.now();
    await shadow.dispose();
    stats.shadowMs += Date.now() - t;
  }
}
