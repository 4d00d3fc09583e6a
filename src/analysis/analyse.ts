import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { ConnectionConfig, Dialect } from '../config/types.ts';
import { createKnex, mapConnectionError, selectVersion } from '../db/connect.ts';
import { usageError } from '../errors.ts';
import type { MigrationSource } from '../migrations/types.ts';
import { prefixKeys, type CacheEntry } from './cache.ts';
import { diffSnapshots, structuralChanges, type RenameHints } from './diff.ts';
import { restoreSchema, dumpSchema } from './restore.ts';
import { mergePgDumps, partialPgDump } from './restore-pg.ts';
import { assessUp, reversibilityRules, type ReversalOutcome, type RuleContext } from './rules/index.ts';
import { ShadowDatabase } from './shadow.ts';
import { ServerWideStatement, ShadowRun } from './shadow-run.ts';
import { firstUse, firstUseInSource, serverWideInSource, serverWideReason } from './shadow-statements.ts';
import { createSnapshotter, mergeSnapshot, touchedTables, type Snapshotter, type SnapshotScope } from './snapshot/index.ts';
import { mentions, parseStatement, type StatementInfo } from './sql/parse.ts';
import type { AnalyseOptions } from './options.ts';
import type { Change, Finding, MigrationVerdict, SchemaSnapshot } from './types.ts';
import { buildVerdict, type MigrationFacts } from './verdict.ts';
import { affectedBy, changedTables, newCodeFindings, oldCodeFindings, prepareAll, type PrepareStatus } from './workload/check.ts';
import type { WorkloadQuery } from './workload/parse.ts';

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
 * - long runs are split into segments analysed side by side on their own shadows (planSegments);
 * - with a cache, only the migrations after the longest unchanged prefix are analysed, from the
 *   prefix's schema dump; on MySQL/MariaDB only the tables the new SQL names are restored
 *   (partialPlan), next to the cached snapshot;
 * - `baseline` (migrate plan) replays the target's applied history once, then restores it the same way.
 * The workload (`--queries`) is prepared in every schema state; its findings join the facts.
 */
export interface AnalyseStats {
  shadowMs: number;
  applyMs: number;
  snapshotMs: number;
  reversalMs: number;
  cachedMigrations: number;
  analysedMigrations: number;
  /** Time spent preparing workload statements (--queries / --new-queries). */
  workloadMs?: number;
  /** Set when a re-plan restored only this many tables next to the cached snapshot. */
  partialRestore?: number;
  /** Wall time of each parallel segment ([from, to) of the migrations, ms). */
  segments?: { from: number; to: number; ms: number }[];
  /** How the shadow server was used: throwaway (as given) or shared (through an account of the run's own). */
  isolation?: 'throwaway' | 'shared';
  /** Why, in words, for the report's shadow line. */
  isolationReason?: string;
  /** Set when the run held the server-wide lock, one segment at a time: which statement needed it. */
  serverWide?: string;
}

export async function analyse(migrations: MigrationSource[], opts: AnalyseOptions & { stats?: AnalyseStats }): Promise<MigrationVerdict[]> {
  if (opts.dialect !== 'mysql' && opts.dialect !== 'postgres') {
    throw usageError(`Unknown dialect "${String(opts.dialect)}".`, 'Use --dialect mysql (also for MariaDB) or --dialect postgres.');
  }
  const baseline = opts.baseline ?? 0;
  if (!Number.isInteger(baseline) || baseline < 0 || baseline > migrations.length) throw new Error(`baseline ${baseline} is outside 0..${migrations.length}`);
  const stats: AnalyseStats = opts.stats ?? { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
  const t0 = Date.now();
  const run = await ShadowRun.open(opts.dialect, opts.shadow, { ...(opts.shadowOrigin ? { origin: opts.shadowOrigin } : {}), ...(opts.onWarning ? { warn: opts.onWarning } : {}) });
  stats.shadowMs += Date.now() - t0;
  stats.isolation = run.isolation;
  stats.isolationReason = run.reason;
  try {
    const home = opts.dialect === 'mysql' ? (opts.home ?? historyHome(migrations)) : undefined;
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

  // Cached facts depend on the migrations, the engine, the workload and the server that answered.
  let variant = checkReversibility ? 'rev' : 'norev';
  if (workload.old.length || workload.new.length) {
    variant += `\0wl:${createHash('sha256').update(JSON.stringify([workload.old.map((q) => [q.sql, q.source]), workload.new.map((q) => [q.sql, q.source])])).digest('hex')}`;
  }
  // A shared server refuses what a throwaway one runs (SH101): their facts differ.
  if (opts.cache) variant += `\0${await serverVersion(opts.dialect, opts.shadow)}\0${run.isolation}`;
  const keys = prefixKeys(migrations, opts.dialect, variant);
  const baseKey = baseline > 0 ? `${keys[baseline - 1]!}-base` : undefined;

  // The longest prefix (after the baseline) whose analysis is cached.
  const cached: CacheEntry[] = [];
  if (opts.cache) {
    for (let i = baseline; i < migrations.length; i++) {
      const e = await opts.cache.get(keys[i]!);
      if (!e?.facts) break;
      cached.push(e);
    }
  }
  const start = baseline + cached.length;
  stats.cachedMigrations = cached.length;
  stats.analysedMigrations = migrations.length - start;
  const facts: (MigrationFacts | undefined)[] = [...Array<undefined>(baseline), ...cached.map((e) => e.facts)];

  if (start < migrations.length) {
    // Re-planning after adding a few migrations (MySQL/MariaDB): restore only the tables they can
    // touch, next to the cached snapshot, instead of the whole schema. If anything goes wrong
    // (a table it needed was not restored), the run is repeated with the full restore.
    // The state the new migrations start from: the last cached one, or (plan) the target's history.
    const last = start > baseline ? cached[cached.length - 1] : baseKey && opts.cache ? await opts.cache.get(baseKey) : undefined;
    const partial =
      last?.restore && last.snapshot && !workload.old.length && !workload.new.length
        ? partialPlan(migrations.slice(start), last.snapshot, last.restore, opts.dialect)
        : undefined;
    if (partial && last?.snapshot) {
      try {
        const r = await analysePartial(migrations, start, last.snapshot, partial, run, home, stats, workload, checkReversibility);
        facts.push(...r.facts);
        if (opts.cache) await storeFacts(opts.cache, keys, facts, start, r.restore, r.snapshot);
        stats.partialRestore = partial.tables.length;
      } catch {
        facts.length = start;
      }
    }
  }
  if (start < migrations.length && facts.length < migrations.length) {
    const segments = planSegments(start, migrations.length, checkReversibility && !run.exclusive ? (opts.parallel ?? DEFAULT_PARALLEL) : 1);
    let t = Date.now();
    const shadows: ShadowDatabase[] = [];
    try {
      let restore: string[] | undefined;
      if (start > baseline) restore = cached[cached.length - 1]?.restore;
      else if (baseKey && opts.cache) restore = (await opts.cache.get(baseKey))?.restore;
      const abort = { stop: false };
      // One throwaway database per segment. Each segment creates its own and drops it as soon as it
      // is done, so creating and dropping overlap the other segment's work instead of adding to it.
      const results = await Promise.allSettled(
        segments.map(async ([from, to], k) => {
          const t0 = Date.now();
          let shadow: ShadowDatabase;
          try {
            shadow = await ShadowDatabase.create(run, { ...(home !== undefined ? { home } : {}) });
          } catch (e) {
            abort.stop = true;
            throw e;
          }
          shadows.push(shadow);
          stats.shadowMs += Date.now() - t0;
          const snapper = snapshotterOf(shadow);
          const runner = new Runner(shadow, snapper, migrations, stats, workload, abort);
          try {
            await runner.rebuild(from - 1, restore ? { at: start - 1, sql: restore } : undefined);
            if (k === 0 && baseKey && opts.cache && start === baseline && !restore) {
              // The target's history, replayed once: later plans restore it from this dump.
              const td = Date.now();
              const dump = await dumpSchema(shadow);
              stats.snapshotMs += Date.now() - td;
              const state = runner.stateAt(start - 1);
              if (dump) await opts.cache.set(baseKey, state ? { restore: dump, snapshot: state } : { restore: dump });
            }
            const segmentFacts = await runner.analyseRange(from, to, checkReversibility, Boolean(opts.cache) && to === migrations.length);
            (stats.segments ??= []).push({ from, to, ms: Date.now() - t0 });
            return { facts: segmentFacts, dump: runner.finalDump, snapshot: runner.finalState };
          } catch (e) {
            abort.stop = true;
            throw e;
          } finally {
            const td = Date.now();
            await shadow.dispose();
            stats.shadowMs += Date.now() - td;
          }
        }),
      );
      // The earliest segment's error is the one to report: a later segment replaying the same
      // migration fails the same way, or was stopped because of it.
      for (const r of results) if (r.status === 'rejected' && !(r.reason instanceof Aborted)) throw r.reason;
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      let restoreAtEnd: string[] | undefined;
      let snapshotAtEnd: SchemaSnapshot | undefined;
      for (const r of results) {
        if (r.status !== 'fulfilled') continue;
        facts.push(...r.value.facts);
        restoreAtEnd = r.value.dump ?? undefined;
        snapshotAtEnd = r.value.snapshot ?? undefined;
      }
      if (opts.cache) await storeFacts(opts.cache, keys, facts, start, restoreAtEnd, snapshotAtEnd);
    } finally {
      t = Date.now();
      await Promise.all(shadows.map((s) => s.dispose()));
      stats.shadowMs += Date.now() - t;
    }
  }

  const verdicts: MigrationVerdict[] = [];
  for (let i = baseline; i < migrations.length; i++) {
    const v = buildVerdict(facts[i]!, migrations[i]!.acknowledgements, opts.acknowledgements ?? []);
    opts.onVerdict?.(v);
    verdicts.push(v);
  }
  return verdicts;
}

/**
 * Caches the facts of migrations [start, end); the last entry also keeps the schema dump and
 * snapshot after it, so the next run can start from there instead of replaying history.
 */
async function storeFacts(cache: NonNullable<AnalyseOptions['cache']>, keys: string[], facts: (MigrationFacts | undefined)[], start: number, restore: string[] | undefined, snapshot: SchemaSnapshot | null | undefined): Promise<void> {
  const end = facts.length;
  for (let i = start; i < end; i++) {
    const entry: CacheEntry = { facts: facts[i]! };
    if (i === end - 1 && restore) {
      entry.restore = restore;
      if (snapshot) entry.snapshot = snapshot;
    }
    await cache.set(keys[i]!, entry);
  }
}

function snapshotterOf(shadow: ShadowDatabase): Snapshotter {
  return createSnapshotter(shadow.db, shadow.dialect, shadow.dialect === 'mysql' ? shadow.name : 'public', shadow.mariadb);
}

/** Segments analysed side by side, each on its own shadow database (see planSegments). */
const DEFAULT_PARALLEL = 2;
/** Below this many migrations one shadow is faster than two (creating one costs ~20 ms). */
const MIN_PER_SEGMENT = 12;

/**
 * Splits [start, end) into up to `k` segments analysed in parallel. Segment j must first replay
 * everything before it (plain applies, no probes or snapshots), then analyse its own migrations
 * (up + snapshot + probe, later down + snapshot: about twice a plain apply). Balancing
 *   2·x1 = x1 + 2·x2 = x1 + x2 + 2·x3 = ...   gives   x(j+1) = x(j) / 2,
 * so two segments take 2/3 and 1/3 and finish in ~4/3 of the applies instead of 2.
 */
export function planSegments(start: number, end: number, k: number): [number, number][] {
  const n = end - start;
  const parts = Math.max(1, Math.min(k, Math.floor(n / MIN_PER_SEGMENT)));
  if (parts === 1) return [[start, end]];
  const weights = Array.from({ length: parts }, (_, j) => 2 ** -j);
  const total = weights.reduce((a, b) => a + b, 0);
  const out: [number, number][] = [];
  let from = start;
  for (let j = 0; j < parts; j++) {
    const to = j === parts - 1 ? end : Math.min(end, from + Math.max(1, Math.round((n * weights[j]!) / total)));
    out.push([from, to]);
    from = to;
  }
  return out.filter(([a, b]) => b > a);
}

interface PartialPlan {
  tables: string[];
  /** The statements restoring just those tables. */
  restore: string[];
  /** The complete cached dump they were cut from. */
  full: string[];
}

const CREATE_TABLE_NAME = /^CREATE TABLE `((?:[^`]|``)+)`/;

function dumpTableName(stmt: string): string | undefined {
  return CREATE_TABLE_NAME.exec(stmt)?.[1]?.replace(/``/g, '`');
}

/**
 * The tables the new migrations can touch: every table their SQL names, closed over foreign keys in
 * both directions (an ALTER of a referenced column, a DROP of a referenced table, all depend on the
 * other side). Undefined when that cannot be known beforehand: a TypeScript migration (its SQL is
 * only known by running it), a view, an opaque statement.
 */
export function partialPlan(ms: MigrationSource[], snapshot: SchemaSnapshot, dump: string[], dialect: Dialect = 'mysql'): PartialPlan | undefined {
  if (Object.keys(snapshot.views).length && ms.some((m) => (m.upSql ?? []).some((s) => /\bview\b/i.test(s)))) return undefined;
  const names = new Set<string>();
  const all = Object.keys(snapshot.tables);
  const indexOwner = new Map(Object.values(snapshot.tables).flatMap((t) => t.indexes.map((ix) => [ix.name, t.name] as const)));
  for (const m of ms) {
    if (m.format !== 'sql' || !m.upSql) return undefined;
    for (const sql of [...m.upSql, ...(m.downSql ?? [])]) {
      const st = parseStatement(sql, dialect);
      if (st.opaque || st.kind === 'create_view' || st.kind === 'drop_view') return undefined;
      for (const t of st.tables) names.add(t);
      if (st.table) names.add(st.table);
      for (const ix of st.droppedIndexes) {
        const owner = indexOwner.get(ix);
        if (owner) names.add(owner);
      }
      for (const t of all) if (!names.has(t) && mentions(sql, t)) names.add(t);
    }
  }
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of Object.values(snapshot.tables)) {
      const linked = names.has(t.name) ? t.foreignKeys.map((fk) => fk.refTable) : t.foreignKeys.some((fk) => names.has(fk.refTable)) ? [t.name] : [];
      for (const n of linked) {
        if (!names.has(n)) {
          names.add(n);
          grew = true;
        }
      }
    }
  }
  const tables = [...names].filter((n) => snapshot.tables[n]);
  // Only worth it when it saves most of the schema.
  if (tables.length > Math.max(8, all.length / 3)) return undefined;
  if (dialect === 'postgres') {
    // One pg_dump text: cut along its object headers (views or unknown objects: no partial restore).
    if (dump.length !== 1 || Object.keys(snapshot.views).length) return undefined;
    const cut = partialPgDump(dump[0]!, new Set(tables));
    return cut === undefined ? undefined : { tables, restore: [cut], full: dump };
  }
  const restore = dump.filter((d) => {
    const n = dumpTableName(d);
    return n !== undefined && tables.includes(n);
  });
  return { tables, restore, full: dump };
}

/** The next full dump after a partial run: the cached one with the restored tables as they are now. */
function mergeDumps(dialect: Dialect, full: string[], fresh: string[], restoredTables: string[]): string[] {
  const restored = new Set(restoredTables);
  if (dialect === 'postgres') {
    const merged = mergePgDumps(full[0] ?? '', fresh[0] ?? '', restored);
    if (merged === undefined) throw new Error('cannot merge the schema dumps');
    return [merged];
  }
  const kept = full.filter((d) => {
    const n = dumpTableName(d);
    return n === undefined || !restored.has(n);
  });
  const freshTables = fresh.filter((d) => dumpTableName(d) !== undefined);
  const keptTables = kept.filter((d) => dumpTableName(d) !== undefined);
  const keptViews = kept.filter((d) => dumpTableName(d) === undefined);
  return [...keptTables, ...freshTables, ...keptViews];
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
    const snapper = snapshotterOf(shadow);
    const runner = new Runner(shadow, snapper, migrations, stats, workload);
    runner.baseDump = plan.full;
    await runner.rebuildPartial(start - 1, plan.restore, snapshot, plan.tables);
    const facts = await runner.analyseRange(start, migrations.length, checkReversibility, true);
    if (!runner.finalDump) throw new Error('no schema dump after the partial run');
    return { facts, restore: mergeDumps(dialect, runner.baseDump ?? [], runner.finalDump, plan.tables), snapshot: runner.finalState };
  } finally {
    t = Date.now();
    await shadow.dispose();
    stats.shadowMs += Date.now() - t;
  }
}

/** Thrown in a segment when another one failed: the other's error is the one reported. */
class Aborted extends Error {}

interface Workloads {
  old: WorkloadQuery[];
  new: WorkloadQuery[];
}

/** The server's version string: part of the cache key, since the answers (algorithms, rewrites) depend on it. */
async function serverVersion(dialect: Dialect, server: ConnectionConfig): Promise<string> {
  const conn: ConnectionConfig = { ...server, database: dialect === 'postgres' ? server.database || 'postgres' : '' };
  const db = createKnex(dialect, conn, { pool: { min: 0, max: 1 } });
  try {
    return `${dialect}:${(await selectVersion(db, dialect)) || '?'}`;
  } catch (e) {
    throw mapConnectionError(e, dialect, conn);
  } finally {
    await db.destroy();
  }
}

/** Renames the captured SQL names, for the diff to tell them from drop + add. */
export function renameHints(statements: StatementInfo[]): RenameHints {
  return {
    tables: statements.flatMap((s) => s.tableRenames),
    columns: statements.flatMap((s) => s.columnRenames),
  };
}

function invertHints(h: RenameHints): RenameHints {
  return {
    tables: [...h.tables].reverse().map(({ from, to }) => ({ from: to, to: from })),
    columns: [...h.columns].reverse().map(({ table, from, to }) => ({ table, from: to, to: from })),
  };
}

/** Names whose queries must be prepared again after a statement set with this scope ran (undefined: all). */
function scopeNames(scope: SnapshotScope, a: SchemaSnapshot, b: SchemaSnapshot): string[] | undefined {
  if (scope.tables === undefined) return undefined;
  return scope.views ? [...scope.tables, ...Object.keys(a.views), ...Object.keys(b.views)] : scope.tables;
}

function hasDown(m: MigrationSource): boolean {
  return m.format === 'sql' ? m.downSql !== undefined || m.downPath !== undefined : typeof m.down === 'function';
}

interface UpResult {
  before: SchemaSnapshot;
  after: SchemaSnapshot;
  changes: Change[];
  facts: MigrationFacts;
}

class Runner {
  /** Schema after migration i; index -1 is the state before the first analysed migration. */
  private readonly states = new Map<number, SchemaSnapshot>();
  /** Which migration the shadow currently reflects (after its up), or null when unknown. */
  private at: number | null = null;
  /** Whether anything ran on the shadow since it was created (a rebuild must empty it first). */
  private dirty = false;
  private base = -1;
  private baseRestore: string[] | undefined;
  finalDump: string[] | null = null;
  /** The schema after the last up of the range (cached with the dump for the next run). */
  finalState: SchemaSnapshot | null = null;
  /** The complete dump a partial restore was cut from (set by the caller). */
  baseDump: string[] | null = null;
  /** Workload prepare outcomes per schema state (index as in `states`). */
  private readonly oldStatus = new Map<number, PrepareStatus>();
  private readonly newStatus = new Map<number, PrepareStatus>();
  /** Old-code queries that prepared in some state so far (a later refusal was reported where it began). */
  private readonly oldEverValid = new Set<number>();
  private readonly oldReportedInvalid = new Set<number>();

  constructor(
    private readonly shadow: ShadowDatabase,
    private readonly snapper: Snapshotter,
    private readonly migrations: MigrationSource[],
    private readonly stats: AnalyseStats,
    private readonly workload: Workloads = { old: [], new: [] },
    private readonly abort: { stop: boolean } = { stop: false },
  ) {}

  private checkAbort(): void {
    if (this.abort.stop) throw new Aborted('another segment failed');
  }

  private get hasWorkload(): boolean {
    return this.workload.old.length > 0 || this.workload.new.length > 0;
  }

  /** Prepares the workload in the current shadow state, re-preparing only what `names` can affect. */
  private async prepareState(index: number, prevIndex: number | null, names: string[] | undefined): Promise<void> {
    if (!this.hasWorkload) return;
    const t = Date.now();
    const affected = affectedBy(names);
    const prevOld = prevIndex === null ? undefined : this.oldStatus.get(prevIndex);
    const prevNew = prevIndex === null ? undefined : this.newStatus.get(prevIndex);
    const oldNow = await prepareAll(this.shadow, this.workload.old, prevOld, prevOld && affected);
    this.oldStatus.set(index, oldNow);
    for (const [n, err] of oldNow) if (err === null) this.oldEverValid.add(n);
    this.newStatus.set(index, await prepareAll(this.shadow, this.workload.new, prevNew, prevNew && affected));
    this.stats.workloadMs = (this.stats.workloadMs ?? 0) + Date.now() - t;
  }

  /** Brings the shadow to the schema after migration `upTo` (-1: empty), from a dump when there is one. */
  async rebuild(upTo: number, restore?: { at: number; sql: string[] }): Promise<void> {
    if (restore && restore.at >= 0 && upTo >= restore.at) {
      this.base = restore.at;
      this.baseRestore = restore.sql;
    }
    await this.bringTo(upTo);
    const t = Date.now();
    this.states.set(upTo, await this.snapper.snapshot());
    this.stats.snapshotMs += Date.now() - t;
    await this.prepareState(upTo, null, undefined);
  }

  stateAt(i: number): SchemaSnapshot | undefined {
    return this.states.get(i);
  }

  /** Brings the shadow to state `upTo` from a partial dump; the state is the cached snapshot. */
  async rebuildPartial(upTo: number, restore: string[], state: SchemaSnapshot, tables: string[]): Promise<void> {
    this.base = upTo;
    this.baseRestore = restore;
    await this.bringTo(upTo);
    if (this.at !== upTo || this.baseRestore !== restore) throw new Error('partial restore failed');
    // PostgreSQL snapshots carry each table's storage (relfilenode), which tells a rewrite: the
    // restored tables have new storage here, so read them again next to the cached rest.
    if (this.shadow.dialect === 'postgres') {
      const scope: SnapshotScope = { tables, views: true };
      const t = Date.now();
      this.states.set(upTo, mergeSnapshot(state, await this.snapper.snapshot(scope), scope));
      this.stats.snapshotMs += Date.now() - t;
    } else {
      this.states.set(upTo, state);
    }
  }

  private async bringTo(upTo: number): Promise<void> {
    const t = Date.now();
    if (this.dirty) await this.shadow.reset();
    this.dirty = true;
    let from = 0;
    if (this.baseRestore && upTo >= this.base) {
      try {
        await restoreSchema(this.shadow, this.baseRestore);
        from = this.base + 1;
      } catch {
        await this.shadow.reset();
        this.baseRestore = undefined;
      }
    }
    for (let i = from; i <= upTo; i++) {
      this.checkAbort();
      await this.shadow.apply(this.migrations[i]!, 'up', { probe: false });
    }
    this.at = upTo;
    this.stats.applyMs += Date.now() - t;
  }

  /** Analyses migrations [start, end): ups in order, then the downs from end-1 back to start. */
  async analyseRange(start: number, end: number, checkReversibility: boolean, dumpForCache: boolean): Promise<MigrationFacts[]> {
    const ups: UpResult[] = [];
    for (let i = start; i < end; i++) {
      this.checkAbort();
      ups.push(await this.up(i));
    }
    this.finalState = this.states.get(end - 1) ?? null;
    // The dump lets the next run start from here instead of replaying history; only worth it with a cache.
    if (dumpForCache && end > start) {
      const t = Date.now();
      this.finalDump = (await dumpSchema(this.shadow)) ?? null;
      this.stats.snapshotMs += Date.now() - t;
    }
    if (checkReversibility) {
      const t = Date.now();
      for (let i = end - 1; i >= start; i--) {
        this.checkAbort();
        const r = ups[i - start]!;
        const outcome = await this.down(i, r);
        r.facts.findings.push(...reversibilityRules(this.migrations[i]!.id, outcome));
        if (outcome.workload) r.facts.findings.push(...outcome.workload);
        if (outcome.shadow) r.facts.findings.push(...outcome.shadow);
        if (outcome.downSql.length) r.facts.downSql = outcome.downSql;
      }
      this.stats.reversalMs += Date.now() - t;
    }
    return ups.map((u) => u.facts);
  }

  private async up(i: number): Promise<UpResult> {
    const m = this.migrations[i]!;
    const before = this.states.get(i - 1)!;
    let t = Date.now();
    this.dirty = true;
    const applied = await this.shadow.apply(m, 'up');
    this.stats.applyMs += Date.now() - t;
    this.at = i;
    const statements = applied.sql.map((s) => parseStatement(s, this.shadow.dialect));
    t = Date.now();
    const scope = touchedTables(statements, before);
    const after = mergeSnapshot(before, await this.snapper.snapshot(scope), scope);
    this.stats.snapshotMs += Date.now() - t;
    this.states.set(i, after);
    const hints = renameHints(statements);
    const changes = diffSnapshots(before, after, hints);
    await this.prepareState(i, i - 1, scopeNames(scope, before, after));
    const createdTables = new Set(changes.flatMap((c) => (c.kind === 'table_added' ? [c.table] : [])));
    const ctx: RuleContext = {
      dialect: this.shadow.dialect,
      mariadb: this.shadow.mariadb,
      migrationId: m.id,
      before,
      after,
      changes,
      reverseChanges: diffSnapshots(after, before, invertHints(hints)),
      statements,
      probes: applied.probes,
      createdTables,
    };
    const assessment = assessUp(ctx);
    if (this.workload.old.length) {
      assessment.findings.push(
        ...oldCodeFindings({ queries: this.workload.old, before: this.oldStatus.get(i - 1)!, after: this.oldStatus.get(i)!, schemaBefore: before, schemaAfter: after, changes, statements, validEarlier: this.oldEverValid, reportedInvalid: this.oldReportedInvalid }),
      );
    }
    const { findings: _rfFindings, ...replicaFirst } = assessment.replicaFirst;
    const facts: MigrationFacts = {
      id: m.id,
      dialect: this.shadow.dialect,
      findings: [...applied.findings, ...assessment.findings],
      replicaFirst,
      sql: applied.sql,
      changes,
    };
    if (m.phase) facts.declaredPhase = m.phase;
    if (assessment.algorithm) facts.algorithm = assessment.algorithm;
    return { before, after, changes, facts };
  }

  private async down(i: number, up: UpResult): Promise<ReversalOutcome & { workload?: Finding[]; shadow?: Finding[] }> {
    const m = this.migrations[i]!;
    const outcome: ReversalOutcome & { workload?: Finding[]; shadow?: Finding[] } = { status: 'ran', remaining: [], downChanges: [], upChanges: up.changes, downSql: [] };
    if (!hasDown(m)) {
      outcome.status = 'missing';
      return outcome;
    }
    if (this.at !== i) await this.bringTo(i);
    let applied;
    try {
      applied = await this.shadow.apply(m, 'down');
    } catch (e) {
      this.at = null;
      outcome.status = 'failed';
      outcome.error = e instanceof Error ? e.message.replace(/^Migration \S+ failed on the shadow database \(down\)[^:]*: /, '').split('\n')[0] : String(e);
      return outcome;
    }
    outcome.downSql = applied.sql;
    if (applied.findings.length) outcome.shadow = applied.findings;
    const statements = applied.sql.map((s) => parseStatement(s, this.shadow.dialect));
    const t = Date.now();
    const scope = touchedTables(statements, up.after);
    const downState = mergeSnapshot(up.after, await this.snapper.snapshot(scope), scope);
    this.stats.snapshotMs += Date.now() - t;
    outcome.remaining = structuralChanges(diffSnapshots(up.before, downState));
    outcome.downChanges = diffSnapshots(up.after, downState, renameHints(statements));
    if (this.workload.new.length) {
      const atUp = this.newStatus.get(i)!;
      const tw = Date.now();
      const afterDown = await prepareAll(this.shadow, this.workload.new, atUp, affectedBy(scopeNames(scope, up.after, downState)));
      this.stats.workloadMs = (this.stats.workloadMs ?? 0) + Date.now() - tw;
      outcome.workload = newCodeFindings({
        queries: this.workload.new,
        atUp,
        afterDown,
        schemaUp: up.after,
        schemaDown: downState,
        downStatements: statements,
        touched: changedTables(up.changes),
        last: i === this.migrations.length - 1,
      });
    }
    // When down restored the schema exactly, the shadow now is the state before up: the sweep goes on.
    this.at = outcome.remaining.length ? null : i - 1;
    return outcome;
  }
}
