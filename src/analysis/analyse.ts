import { usageError } from '../errors.ts';
import type { MigrationSource } from '../migrations/types.ts';
import { prefixKeys, type CacheEntry } from './cache.ts';
import { diffSnapshots, structuralChanges, type RenameHints } from './diff.ts';
import { restoreSchema, dumpSchema } from './restore.ts';
import { assessUp, reversibilityRules, type ReversalOutcome, type RuleContext } from './rules/index.ts';
import { ShadowDatabase } from './shadow.ts';
import { createSnapshotter, mergeSnapshot, touchedTables, type Snapshotter } from './snapshot/index.ts';
import { parseStatement, type StatementInfo } from './sql/parse.ts';
import type { AnalyseOptions, Change, MigrationVerdict, SchemaSnapshot } from './types.ts';
import { buildVerdict, type MigrationFacts } from './verdict.ts';

/**
 * Applies the migrations in order on a throwaway shadow database, snapshots the schema after each
 * up, diffs, runs every rule family, then (unless disabled) runs the downs newest-first to check
 * that each one restores the schema before its up. The shadow database is dropped in all cases.
 *
 * Cost per migration: its up, one partial snapshot (only the tables its SQL touched), its down,
 * one more partial snapshot. Downs run as one sweep from the newest migration back, the order of a
 * real rollback, so no migration is applied twice unless a down fails to restore its schema.
 */
export interface AnalyseStats {
  shadowMs: number;
  applyMs: number;
  snapshotMs: number;
  reversalMs: number;
  cachedMigrations: number;
  analysedMigrations: number;
}

export async function analyse(migrations: MigrationSource[], opts: AnalyseOptions & { stats?: AnalyseStats }): Promise<MigrationVerdict[]> {
  if (opts.dialect !== 'mysql' && opts.dialect !== 'postgres') {
    throw usageError(`Unknown dialect "${String(opts.dialect)}".`, 'Use --dialect mysql (also for MariaDB) or --dialect postgres.');
  }
  const stats: AnalyseStats = opts.stats ?? { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
  const checkReversibility = opts.checkReversibility !== false;
  const keys = prefixKeys(migrations, opts.dialect, checkReversibility ? 'rev' : 'norev');

  // The longest prefix whose analysis is cached.
  const cached: CacheEntry[] = [];
  if (opts.cache) {
    for (const key of keys) {
      const e = await opts.cache.get(key);
      if (!e) break;
      cached.push(e);
    }
  }
  const start = cached.length;
  stats.cachedMigrations = start;
  stats.analysedMigrations = migrations.length - start;
  const facts: MigrationFacts[] = cached.map((e) => e.facts);

  if (start < migrations.length) {
    let t = Date.now();
    const shadow = await ShadowDatabase.create(opts.dialect, opts.shadow);
    stats.shadowMs += Date.now() - t;
    try {
      const snapper = createSnapshotter(shadow.db, opts.dialect, opts.dialect === 'mysql' ? shadow.name : 'public', shadow.mariadb);
      const runner = new Runner(shadow, snapper, migrations, stats);
      await runner.rebuild(start - 1, cached[start - 1]?.restore);
      const newFacts = await runner.analyseFrom(start, checkReversibility, Boolean(opts.cache));
      facts.push(...newFacts);
      if (opts.cache) {
        const restore = runner.finalDump ?? undefined;
        for (let i = start; i < migrations.length; i++) {
          const entry: CacheEntry = { facts: facts[i]! };
          if (i === migrations.length - 1 && restore) entry.restore = restore;
          await opts.cache.set(keys[i]!, entry);
        }
      }
    } finally {
      t = Date.now();
      await shadow.dispose();
      stats.shadowMs += Date.now() - t;
    }
  }

  const verdicts: MigrationVerdict[] = [];
  migrations.forEach((m, i) => {
    const v = buildVerdict(facts[i]!, m.acknowledgements, opts.acknowledgements ?? []);
    opts.onVerdict?.(v);
    verdicts.push(v);
  });
  return verdicts;
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

  constructor(
    private readonly shadow: ShadowDatabase,
    private readonly snapper: Snapshotter,
    private readonly migrations: MigrationSource[],
    private readonly stats: AnalyseStats,
  ) {}

  /** Brings the shadow to the schema after migration `upTo` (-1: empty), from a dump when there is one. */
  async rebuild(upTo: number, restore?: string[]): Promise<void> {
    if (upTo >= 0 && restore) {
      this.base = upTo;
      this.baseRestore = restore;
    }
    await this.bringTo(upTo);
    const t = Date.now();
    this.states.set(upTo, await this.snapper.snapshot());
    this.stats.snapshotMs += Date.now() - t;
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
    for (let i = from; i <= upTo; i++) await this.shadow.apply(this.migrations[i]!, 'up');
    this.at = upTo;
    this.stats.applyMs += Date.now() - t;
  }

  async analyseFrom(start: number, checkReversibility: boolean, dumpForCache: boolean): Promise<MigrationFacts[]> {
    const ups: UpResult[] = [];
    for (let i = start; i < this.migrations.length; i++) ups.push(await this.up(i));
    // The dump lets the next run start from here instead of replaying history; only worth it with a cache.
    if (dumpForCache && this.migrations.length > start) {
      const t = Date.now();
      this.finalDump = (await dumpSchema(this.shadow)) ?? null;
      this.stats.snapshotMs += Date.now() - t;
    }
    if (checkReversibility) {
      const t = Date.now();
      for (let i = this.migrations.length - 1; i >= start; i--) {
        const r = ups[i - start]!;
        const outcome = await this.down(i, r);
        r.facts.findings.push(...reversibilityRules(this.migrations[i]!.id, outcome));
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
    const { findings: _rfFindings, ...replicaFirst } = assessment.replicaFirst;
    const facts: MigrationFacts = {
      id: m.id,
      dialect: this.shadow.dialect,
      findings: assessment.findings,
      replicaFirst,
      sql: applied.sql,
      changes,
    };
    if (m.phase) facts.declaredPhase = m.phase;
    if (assessment.algorithm) facts.algorithm = assessment.algorithm;
    return { before, after, changes, facts };
  }

  private async down(i: number, up: UpResult): Promise<ReversalOutcome> {
    const m = this.migrations[i]!;
    const outcome: ReversalOutcome = { status: 'ran', remaining: [], downChanges: [], upChanges: up.changes, downSql: [] };
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
      outcome.error = e instanceof Error ? e.message.replace(/^Migration \S+ failed on the shadow database \(down\): /, '').split('\n')[0] : String(e);
      return outcome;
    }
    outcome.downSql = applied.sql;
    const statements = applied.sql.map((s) => parseStatement(s, this.shadow.dialect));
    const t = Date.now();
    const scope = touchedTables(statements, up.after);
    const downState = mergeSnapshot(up.after, await this.snapper.snapshot(scope), scope);
    this.stats.snapshotMs += Date.now() - t;
    outcome.remaining = structuralChanges(diffSnapshots(up.before, downState));
    outcome.downChanges = diffSnapshots(up.after, downState, renameHints(statements));
    // When down restored the schema exactly, the shadow now is the state before up: the sweep goes on.
    this.at = outcome.remaining.length ? null : i - 1;
    return outcome;
  }
}
