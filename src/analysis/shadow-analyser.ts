import { basename } from 'node:path';
import type { MigrationSource } from '../migrations/index.ts';
import type { AnalyseStats } from './analyse-stats.ts';
import { diffSnapshots, structuralChanges, type RenameHints } from './diff.ts';
import { restoreSchema, dumpSchema } from './restore.ts';
import { assessUp, reversibilityRules, type ReversalOutcome, type RuleContext } from './rules/index.ts';
import { MigrationFailed, type AppliedMigration, type ShadowDatabase } from './shadow.ts';
import type { Snapshotter, SnapshotScope } from '../engines/index.ts';
import { createSnapshotter, mergeSnapshot, touchedTables } from './snapshot/index.ts';
import { loadStatementParser, parseStatement, type StatementInfo } from './sql/parse.ts';
import { DEFAULT_FIT_BUDGET, narrowingsOf } from './data/fit.ts';
import { ShadowFitCopies, StatementRowCounts } from './data/shadow-copies.ts';
import { ShadowViolationCounts } from './data/shadow-violations.ts';
import type { Change, Finding, SchemaSnapshot, ShadowFailure } from './types.ts';
import type { MigrationFacts } from './verdict.ts';
import { affectedBy, changedTables, deployWindowFindings, newCodeFindings, oldCodeFindings, prepareAll, type PrepareStatus } from './workload/check.ts';
import type { WorkloadQuery } from './workload/parse.ts';
import { settleWithWorkload } from './workload/settle.ts';

/** The migration (by index in the history) whose up failed on the shadow, and what the server said. */
export interface FailedUp {
  index: number;
  failure: ShadowFailure;
  /** DL108: rows on the shadow that violate a constraint it adds (why its ALTER failed). */
  findings?: Finding[];
}

/** Thrown in a segment when another one failed: the other's error is the one reported. */
export class Aborted extends Error {}

export interface Workloads {
  old: WorkloadQuery[];
  new: WorkloadQuery[];
  /** Completes "No statement ... names x" for the old statements (workload/settle.ts). */
  oldWindow?: string;
}

export function snapshotterOf(shadow: ShadowDatabase): Snapshotter {
  return createSnapshotter(shadow.db, shadow.dialect, shadow.engine.snapshotSchema(shadow.name), shadow.serverKind);
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

/**
 * Whether the migration has a down to run. Loaders of other tools' layouts also mark a migration
 * without one `reversible: false` (typed here structurally until that field is in MigrationSource).
 */
function hasDown(m: MigrationSource & { reversible?: boolean }): boolean {
  if (m.reversible === false) return false;
  return m.format === 'sql' ? m.downSql !== undefined || m.downPath !== undefined : typeof m.down === 'function';
}

/** What a down did, with the findings of its workload and shadow, and the statement a failing one stopped at. */
type DownOutcome = ReversalOutcome & { workload?: Finding[]; shadow?: Finding[]; failedStatement?: string };

interface UpResult {
  before: SchemaSnapshot;
  after: SchemaSnapshot;
  changes: Change[];
  facts: MigrationFacts;
}

/**
 * Applies migrations on one shadow database and collects each one's facts: its up (snapshot,
 * diff, rules, workload), then the downs newest-first (does each restore the schema before its up).
 * analyse.ts and segments.ts decide which migrations each one gets.
 */
export class ShadowAnalyser {
  /** Schema after migration i; index -1 is the state before the first analysed migration. */
  private readonly states = new Map<number, SchemaSnapshot>();
  /** Which migration the shadow currently reflects (after its up), or null when unknown. */
  private at: number | null = null;
  /** Whether anything ran on the shadow since it was created (a rebuild must empty it first). */
  private dirty = false;
  private base = -1;
  private baseRestore: string[] | undefined;
  finalDump: string[] | null = null;
  /** The up that failed on the server in analyseRange, if one did (the facts stop before it). */
  failure: FailedUp | undefined;
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
  ) {
    // Started now, so that loading the dialect's parser overlaps the shadow's restore; awaited
    // before the first statement is parsed (a failure surfaces there, not as an unhandled rejection).
    this.parserReady = loadStatementParser(shadow.dialect);
    this.parserReady.catch(() => undefined);
  }

  private readonly parserReady: Promise<void>;

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
    // Where snapshots carry each table's storage (PostgreSQL's relfilenode, which tells a rewrite),
    // the restored tables have new storage here: read them again next to the cached rest.
    if (this.shadow.engine.restoreChangesStorage) {
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

  /**
   * Analyses migrations [start, end): ups in order, then the downs from end-1 back to start. An up
   * that fails on the server ends the ups there (`failure`); the facts returned are those before it.
   */
  async analyseRange(start: number, end: number, checkReversibility: boolean, dumpForCache: boolean): Promise<MigrationFacts[]> {
    const ups: UpResult[] = [];
    for (let i = start; i < end && !this.failure; i++) {
      this.checkAbort();
      try {
        ups.push(await this.up(i));
      } catch (e) {
        if (!(e instanceof MigrationFailed) || e.id !== this.migrations[i]!.id) throw e;
        // A verdict, not the end of the run: the ups before it keep theirs and get their downs.
        // What the failed up left half done is unknown, so the first down rebuilds the shadow.
        this.failure = { index: i, failure: e.failure, findings: this.violations?.findings() ?? [] };
        this.at = null;
      }
    }
    const done = start + ups.length;
    this.finalState = this.failure ? null : (this.states.get(done - 1) ?? null);
    // The dump lets the next run start from here instead of replaying history; only worth it with a cache.
    if (dumpForCache && done > start && !this.failure) {
      const t = Date.now();
      this.finalDump = (await dumpSchema(this.shadow)) ?? null;
      this.stats.snapshotMs += Date.now() - t;
    }
    if (checkReversibility) {
      const t = Date.now();
      for (let i = done - 1; i >= start; i--) {
        this.checkAbort();
        const r = ups[i - start]!;
        const outcome = await this.down(i, r);
        const rv = reversibilityRules(this.migrations[i]!.id, outcome);
        // The failing statement of the down, so every format points at its line in the down file.
        if (outcome.failedStatement !== undefined) for (const f of rv) if (f.rule === 'RV103') f.statement = outcome.failedStatement;
        r.facts.findings.push(...rv);
        if (outcome.workload) r.facts.findings.push(...outcome.workload);
        if (outcome.shadow) r.facts.findings.push(...outcome.shadow);
        if (outcome.downSql.length) r.facts.downSql = outcome.downSql;
      }
      this.stats.reversalMs += Date.now() - t;
    }
    return ups.map((u) => u.facts);
  }

  /** The constraint violations counted during the current up (read when it fails). */
  private violations: ShadowViolationCounts | undefined;

  private async up(i: number): Promise<UpResult> {
    await this.parserReady;
    const m = this.migrations[i]!;
    const before = this.states.get(i - 1)!;
    let t = Date.now();
    this.dirty = true;
    const copies = this.fitCopies(before);
    let applied: AppliedMigration;
    try {
      applied = await this.shadow.apply(m, 'up');
    } finally {
      this.shadow.beforeStatement = undefined;
    }
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
    const fits = await copies.measure(narrowingsOf(changes, this.shadow.engine.fit), DEFAULT_FIT_BUDGET);
    await copies.drop();
    const createdTables = new Set(changes.flatMap((c) => (c.kind === 'table_added' ? [c.table] : [])));
    const ctx: RuleContext = {
      dialect: this.shadow.dialect,
      mariadb: this.shadow.serverKind.mariadb,
      migrationId: m.id,
      before,
      after,
      changes,
      reverseChanges: diffSnapshots(after, before, invertHints(hints)),
      statements,
      probes: applied.probes,
      createdTables,
      fits,
    };
    if (this.workload.old.length) ctx.oldWorkload = { name: oldWorkloadName(this.workload.old), statements: this.workload.old };
    const assessment = assessUp(ctx);
    if (this.workload.old.length) {
      assessment.findings.push(
        ...oldCodeFindings({
          queries: this.workload.old,
          before: this.oldStatus.get(i - 1)!,
          after: this.oldStatus.get(i)!,
          schemaBefore: before,
          schemaAfter: after,
          changes,
          statements,
          validEarlier: this.oldEverValid,
          reportedInvalid: this.oldReportedInvalid,
        }),
      );
      settleWithWorkload({ findings: assessment.findings, queries: this.workload.old, window: this.workload.oldWindow ?? 'of --queries' });
    }
    const newBefore = this.newStatus.get(i - 1);
    const newAfter = this.newStatus.get(i);
    if (this.workload.new.length && newBefore && newAfter) {
      assessment.findings.push(...deployWindowFindings({ queries: this.workload.new, before: newBefore, after: newAfter, changes, statements }));
    }
    const { findings: _rfFindings, ...replicaFirst } = assessment.replicaFirst;
    const facts: MigrationFacts = {
      id: m.id,
      dialect: this.shadow.dialect,
      findings: [...applied.findings, ...assessment.findings, ...(this.violations?.findings() ?? [])],
      replicaFirst,
      sql: applied.sql,
      changes,
    };
    if (m.phase) facts.declaredPhase = m.phase;
    if (assessment.algorithm) facts.algorithm = assessment.algorithm;
    return { before, after, changes, facts };
  }

  /** Copies each table's rows before an ALTER of the up converts them, for the data-aware verdicts. */
  private fitCopies(before: SchemaSnapshot): ShadowFitCopies {
    const shadow = this.shadow;
    const query = (sql: string) => shadow.queryVerbatim(sql);
    const rows = new StatementRowCounts(shadow.engine.fit, query);
    const copies = new ShadowFitCopies(
      shadow.engine.fit,
      before,
      query,
      async (sql) => {
        await shadow.queryVerbatim(sql);
      },
      rows.count,
    );
    const violations = new ShadowViolationCounts(shadow.engine.fit, query, shadow.engine.foldsUnquotedIdentifiers, rows.count);
    this.violations = violations;
    // Counted first: a count that failed (PostgreSQL) is rolled back with the savepoint, and the copy is taken before the next ALTER.
    shadow.beforeStatement = async (sql) => {
      rows.reset();
      return (await violations.beforeStatement(sql)) && copies.beforeStatement(sql, parseStatement(sql, shadow.dialect).table);
    };
    return copies;
  }

  private async down(i: number, up: UpResult): Promise<DownOutcome> {
    await this.parserReady;
    const m = this.migrations[i]!;
    const outcome: DownOutcome = {
      status: 'ran',
      remaining: [],
      downChanges: [],
      upChanges: up.changes,
      downSql: [],
    };
    if (!hasDown(m)) {
      outcome.status = 'missing';
      return outcome;
    }
    if (this.at !== i) await this.bringTo(i);
    let applied: AppliedMigration;
    try {
      applied = await this.shadow.apply(m, 'down');
    } catch (e) {
      if (!(e instanceof MigrationFailed)) throw e;
      // The up's verdict stands. The down stopped half way, so the shadow's state is unknown: the
      // next down (of the migration before) first rebuilds the state after that one's up (bringTo:
      // reset, then the base dump or a replay of the ups), and the sweep goes on from there.
      this.at = null;
      outcome.status = 'failed';
      const { error, file, line, statement } = e.failure;
      outcome.error = `${error}${file ? ` (${basename(file)}${line !== undefined ? ` line ${line}` : ''})` : ''}`;
      if (statement !== undefined) outcome.failedStatement = statement;
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

/** "queries.txt (12 statements)": where the running release's statements came from, for messages. */
function oldWorkloadName(queries: WorkloadQuery[]): string {
  const files = [...new Set(queries.map((q) => q.source.replace(/ (?:line \d+|#\d+)$/, '')))];
  return `${files.join(', ')} (${queries.length} statement${queries.length === 1 ? '' : 's'})`;
}
