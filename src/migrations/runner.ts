import type { Knex } from 'knex';
import type { UmzugStorage } from 'umzug';
import type { AdoptSource, ProjectConfig } from '../config/index.ts';
import { createKnex } from '../db/index.ts';
import { engineFor } from '../engines/index.ts';
import { isMigrateError, messageOf, MigrateError, usageError, workError } from '../errors.ts';
import { consoleLogger, type Logger } from '../log/index.ts';
import { shortChecksum } from './checksum.ts';
import { RunControl, type StopReason } from './control.ts';
import { blockingError, discoverMigrations } from './discover.ts';
import { checkEffect, effectsOf } from './effect.ts';
import { executeMigration, statementExcerpt, type Direction, type ExecContext } from './execute.ts';
import { adoptedRunState, readAdoptedHistory, unfinishedError, type AdoptedHistory, type AdoptedUnfinished } from './adopt/history.ts';
import { Ledger, thisHost, whoAmI, type LedgerEntry, type NewLedgerEntry } from './ledger.ts';
import { LedgerWriter } from './ledger-writer.ts';
import type { RunSession } from '../engines/index.ts';
import { acquireRunLock, cancelStatementSql, runLockHolder, sessionIdOf } from './lock.ts';
import { assess, howItEnded, partialError, statusLine, summary, type Assessment } from './partial.ts';
import { backoffMs, PgLockSafety } from '../engines/index.ts';
import { resolveLockSafety, type LockSafety } from '../config/index.ts';
import { Progress, type ProgressRow } from './progress.ts';
import { repairMigration, type RepairMode, type RepairResult } from './repair.ts';
import { computeStatus, fileGoneStatus, isApplied, type MigrationStatus, type RunState } from './status.ts';
import type { Discovery, MigrationSource } from './types.ts';

export interface RunnerOptions {
  config: ProjectConfig;
  /** Used for reads (status); runs open their own locked session. */
  db: Knex;
  logger?: Logger;
  /**
   * PostgreSQL lock-safe execution (lock_timeout, retries with backoff, statement_timeout).
   * Values given here win over MIGRATE_LOCK_TIMEOUT / MIGRATE_LOCK_RETRIES /
   * MIGRATE_STATEMENT_TIMEOUT, which win over the config's `lockSafety`, then the defaults.
   */
  lockSafety?: Partial<LockSafety>;
  /** Longest a single migration may run before it is cancelled on the server; 0/absent: no bound. */
  migrationTimeoutMs?: number;
  /** "still running" notices while a statement takes long (default 30 s; 0: none). */
  noticeEveryMs?: number;
  /** After a lost connection, how long to wait for the server to answer again before saying anything (default 30 s). */
  reconnectMs?: number;
}

export interface StatusReport {
  discovery: Discovery;
  migrations: MigrationStatus[];
  /** The applied rows come from knex's table, not yet adopted into ours. */
  fromKnex: boolean;
  /** The applied rows come from this tool's table (knex's included), not yet adopted into ours. */
  adoptedFrom?: AdoptSource;
  /** Problems of the directory not shown on a migration's row (duplicate ids, stray files), and of the ledger. */
  problems: string[];
}

export interface RunResult {
  direction: Direction;
  /** Ids run, in the order they ran. */
  ids: string[];
  /** Rows adopted from another tool's table (knex's, golang-migrate's, ...) before running. */
  adopted: number;
}

export interface DriftAck {
  id: string;
  previousChecksum: string;
  checksum: string;
  by: string;
  at: Date;
}

const DEFAULT_RECONNECT_MS = 30_000;

/**
 * Applies and reverts migrations: discovery gives the list, the ledger is umzug's storage, and a
 * per-database lock keeps a second runner out. Every refusal (drift, missing down, a partially
 * applied migration, unknown --to) happens before the first migration runs.
 */
export class Runner {
  private readonly config: ProjectConfig;
  private readonly db: Knex;
  private readonly logger: Logger;
  private readonly opts: RunnerOptions;
  readonly ledger: Ledger;
  readonly progress: Progress;
  /** The control of the run in progress, so a signal can stop it. */
  private control: RunControl | undefined;
  private pendingStop: StopReason | undefined;
  /** Why a run of this runner was stopped from outside (a signal, --migration-timeout), if it was. */
  private stoppedBy: StopReason | undefined;

  constructor(opts: RunnerOptions) {
    this.opts = opts;
    this.config = opts.config;
    this.db = opts.db;
    this.logger = opts.logger ?? consoleLogger;
    this.ledger = new Ledger(opts.config.dialect, opts.config.ledgerTable);
    this.progress = new Progress(opts.config.dialect, opts.config.ledgerTable);
  }

  /** Every write of the ledger tables goes through a writer on the locked session (ledger-writer.ts). */
  private writerOn(session: RunSession): LedgerWriter {
    return new LedgerWriter(session, this.config);
  }

  /** The lock-safe settings a run uses on PostgreSQL (flags/API over env over config over defaults). */
  lockSafety(): LockSafety {
    const fromConfig = (this.config as ProjectConfig & { lockSafety?: Partial<LockSafety> }).lockSafety;
    return resolveLockSafety(this.opts.lockSafety, fromConfig);
  }

  /**
   * Stops the run (SIGINT/SIGTERM): the statement in flight is cancelled on the server, the
   * state recorded, the lock released, and the run's promise rejects with what ran and the next
   * command. Before a migration started, the run stops at its first checkpoint.
   */
  stop(reason: StopReason): Promise<void> {
    this.pendingStop ??= reason;
    return this.control?.stop(reason) ?? Promise.resolve();
  }

  /** Whether a run was stopped by a signal or --migration-timeout: its migration's code may still hold timers or sockets. */
  get stopped(): boolean {
    return (this.pendingStop ?? this.stoppedBy) !== undefined;
  }

  /** Whether a migration is executing right now (a stop then has something to cancel and record). */
  get busy(): boolean {
    return this.control !== undefined;
  }

  discover(): Promise<Discovery> {
    return discoverMigrations(this.config.migrationsDir, this.config.dialect, this.config.migrationsLayout);
  }

  /** The other tool whose history is adopted ("adopt", or the older "adoptKnex"), if any. */
  private adoptSource(): AdoptSource | undefined {
    return this.config.adopt ?? (this.config.adoptKnexTable ? { tool: 'knex', table: this.config.adoptKnexTable } : undefined);
  }

  /**
   * Our ledger; while its table does not exist (nothing was ever adopted or run), the history of
   * the tool named by "adopt" in its place. An existing ledger, even emptied by `down`, is never
   * mixed with the old tool's rows again.
   */
  private async entries(db: Knex, migrations: readonly MigrationSource[]): Promise<{ entries: LedgerEntry[]; adopted?: AdoptedHistory; absent?: string }> {
    const source = this.adoptSource();
    if (!source || (await this.ledger.exists(db))) return { entries: await this.ledger.read(db) };
    const adopted = await readAdoptedHistory(db, source, migrations, this.config.migrationsDir);
    if (adopted) return { entries: adopted.entries, adopted };
    // Right for a new database; on one the old tool migrated, a wrong table name would run everything again.
    return {
      entries: [],
      absent: `The config adopts the history of ${source.tool} from ${source.table}, but database "${this.config.connection.database}" has no table ${source.table}, so every migration is taken as pending. If ${source.tool} migrated this database, set "adopt": {"tool": "${source.tool}", "table": "..."} to the table it used before running "migrate up".`,
    };
  }

  async status(): Promise<StatusReport> {
    const discovery = await this.discover();
    const { entries, adopted, absent } = await this.entries(this.db, discovery.migrations);
    const rows = await this.progress.read(this.db);
    const holder = rows.length ? await runLockHolder(this.db, this.config) : null;
    const runs = await this.runStates(this.db, discovery, rows, holder);
    const mine = new Set(runs.map((r) => r.id));
    runs.push(...(adopted?.unfinished ?? []).filter((u) => u.hasFile && !mine.has(u.id)).map((u) => adoptedRunState(u, adopted?.source)));
    const migrations = computeStatus(discovery.migrations, entries, runs);
    const problems = [...discoveryProblems(discovery, migrations), ...(adopted?.problems ?? []), ...(absent ? [absent] : [])];
    if (!(await this.ledger.exists(this.db)) && (await this.progress.exists(this.db))) {
      problems.push(
        `The ledger table ${this.ledger.table} does not exist, but its companion ${this.progress.table} does: the ledger was dropped by hand, so "pending" above may be wrong. Restore it from a backup, or record what is in place with "migrate repair <id> --mark-applied".`,
      );
    }
    await this.notePresentEffects(this.db, migrations);
    const shown = adopted && (adopted.entries.length > 0 || adopted.unfinished.length > 0) ? adopted.source : undefined;
    return { discovery, migrations, fromKnex: shown?.tool === 'knex', ...(shown ? { adoptedFrom: shown } : {}), problems };
  }

  /**
   * What another tool's table says without adopting it (`migrate adopt --from`): the status the
   * files would have with `source` as the history, whether or not the config names it.
   */
  async previewAdoption(source: AdoptSource): Promise<{ migrations: MigrationStatus[]; problems: string[]; found: boolean; ledgerRows: number | undefined }> {
    const discovery = await this.discover();
    const ledgerRows = (await this.ledger.exists(this.db)) ? (await this.ledger.read(this.db)).length : undefined;
    const adopted = await readAdoptedHistory(this.db, source, discovery.migrations, this.config.migrationsDir);
    if (!adopted) return { migrations: [], problems: [], found: false, ledgerRows };
    const runs = adopted.unfinished.filter((u) => u.hasFile).map((u) => adoptedRunState(u, source));
    const migrations = computeStatus(discovery.migrations, adopted.entries, runs);
    return { migrations, problems: [...discoveryProblems(discovery, migrations), ...adopted.problems], found: true, ledgerRows };
  }

  /** What status says for each progress row: running (a run holds the lock), partial, or an attempt that left nothing. */
  private async runStates(db: Knex, discovery: Discovery, rows: readonly ProgressRow[], holder: number | null): Promise<RunState[]> {
    const byId = new Map(discovery.migrations.map((m) => [m.id, m]));
    const out: RunState[] = [];
    for (const row of rows) {
      const base = {
        direction: row.direction,
        statementsDone: row.done,
        statementsTotal: row.total,
        currentStatement: row.current,
        outcome: row.outcome,
        host: row.host,
        pid: row.pid,
        session: row.session,
        startedAt: row.startedAt?.toISOString() ?? null,
        endedAt: row.endedAt?.toISOString() ?? null,
        note: row.note,
      };
      if (holder !== null) {
        const who =
          holder === row.session
            ? `by the run on ${row.host} (pid ${row.pid}), server session ${holder}`
            : `by a run holding the migrate lock (server session ${holder})`;
        const where =
          row.current !== null
            ? `statement ${row.current}${row.total ? ` of ${row.total}` : ''}`
            : row.format === 'ts'
              ? `${row.direction}()`
              : `after statement ${row.done}`;
        out.push({
          id: row.id,
          state: 'running',
          text: `running now ${who}: ${where}, started ${row.startedAt?.toISOString() ?? '?'}${holder === row.session && row.host === thisHost() && !processAlive(row.pid) ? `; its process is gone but the server is still running the statement: wait for it, or stop it (${cancelStatementSql(this.config.dialect, holder)})` : ''}`,
          json: { state: 'running', ...base },
        });
        continue;
      }
      const a = await assess(db, this.config.dialect, row, byId.get(row.id));
      if (a.stays === 'nothing') {
        out.push({
          id: row.id,
          state: 'cleared',
          text: `an attempt ${howItEnded(row)} left nothing of it in place (the next "migrate ${row.direction}" runs it from the start)`,
          json: { state: 'nothing-stays', ...base },
        });
      } else if (a.stays === 'resumable') {
        out.push({
          id: row.id,
          state: 'cleared',
          text: `an attempt ${howItEnded(row)} stopped in its backfill (${a.backfill}); the next "migrate ${row.direction}" continues it from there`,
          json: { state: 'resumable', backfill: a.backfill, ...base },
        });
      } else {
        out.push({
          id: row.id,
          state: 'partial',
          text: statusLine(a),
          json: {
            state: 'partial',
            summary: summary(a),
            statementsRan: a.ran,
            ...base,
            ...(a.uncertain ? { uncertain: { statement: a.uncertain.index, ran: a.uncertain.check.ran ?? null, evidence: a.uncertain.check.evidence } } : {}),
          },
        });
      }
    }
    return out;
  }

  /**
   * A pending migration whose first statement's object is already there (its CREATE TABLE's
   * table exists): the ledger lost its row, or someone ran it by hand. Status says so; `up`
   * refuses it before running anything.
   */
  private async notePresentEffects(db: Knex, list: MigrationStatus[]): Promise<void> {
    for (const s of list) {
      if (s.state !== 'pending' || !s.source) continue;
      const found = await this.alreadyThere(db, s.source);
      if (found) s.problems.push(`not in the ledger, but ${found}: was it applied without the ledger recording it (ledger dropped or edited by hand)?`);
    }
  }

  /** "statement 1 (CREATE TABLE accounts) has taken effect: table accounts exists", or undefined. */
  private async alreadyThere(db: Knex, m: MigrationSource): Promise<string | undefined> {
    const first = m.upStatements?.[0];
    if (!first || !(await effectsOf(first.sql, this.config.dialect))?.some((e) => e.present)) return undefined;
    const c = await checkEffect(db, this.config.dialect, first.sql).catch(() => undefined);
    return c?.ran ? `its statement 1 (line ${first.line}, "${statementExcerpt(first.sql, 60)}") has taken effect: ${c.evidence}` : undefined;
  }

  /**
   * `to`: every pending migration up to and including it (the CLI's `up --to`). `only`: that one
   * migration and nothing else, for a coordinator that runs the plan step by step: a pending
   * migration of another phase sorted before it (a contract a failed hand-off left) must not ride along.
   */
  async up(opts: { to?: string; only?: string } = {}): Promise<RunResult> {
    const discovery = await this.discover();
    const blocking = blockingError(discovery.issues);
    if (blocking) throw blocking;
    return this.locked(
      discovery,
      async (status) => {
        let pending = status.filter((s) => s.state === 'pending');
        if (opts.only !== undefined) {
          const target = this.requireKnown(status, opts.only);
          if (isApplied(target)) return { ids: [], note: `${opts.only} is already applied; nothing to do.` };
          pending = pending.filter((s) => s === target);
        } else if (opts.to !== undefined) {
          const target = this.requireKnown(status, opts.to);
          if (target.state === 'missing-file') {
            throw usageError(`--to ${opts.to}: that migration is applied and its file is gone.`, 'Give the id of a pending migration (see "migrate status").');
          }
          if (isApplied(target)) return { ids: [], note: `${opts.to} is already applied; nothing to do.` };
          // Status lists the migrations in the order their layout runs them (numeric versions for golang-migrate and the like).
          pending = pending.filter((s) => status.indexOf(s) <= status.indexOf(target));
        }
        for (const s of status.filter((x) => x.state === 'missing-file')) {
          this.logger.warn(`${s.id} is recorded as applied but its file is gone from ${this.config.migrationsDir}.`);
        }
        const lastApplied = status.filter(isApplied).at(-1);
        const early = lastApplied ? pending.filter((s) => status.indexOf(s) < status.indexOf(lastApplied)) : [];
        if (early.length) {
          this.logger.warn(`${early.map((s) => s.id).join(', ')} sort before the already applied ${lastApplied?.id} and will run out of order.`);
        }
        return { ids: pending.map((s) => s.id) };
      },
      'up',
    );
  }

  async down(opts: { to?: string; step?: number } = {}): Promise<RunResult> {
    if (opts.to !== undefined && opts.step !== undefined)
      throw usageError('--to and --step cannot be used together.', 'Give either --to ID (revert down to and including ID) or --step N (revert the last N).');
    if (opts.step !== undefined && (!Number.isInteger(opts.step) || opts.step < 1))
      throw usageError(`--step must be a whole number of at least 1 (got ${opts.step}).`, 'Write e.g. --step 2 to revert the last two migrations.');
    const discovery = await this.discover();
    return this.locked(
      discovery,
      async (status) => {
        const applied = status.filter(isApplied);
        let plan: MigrationStatus[];
        if (opts.to !== undefined) {
          const target = this.requireKnown(status, opts.to);
          if (!isApplied(target))
            throw usageError(
              `--to ${opts.to}: that migration is not applied, so there is nothing to revert down to.`,
              'Give the id of an applied migration (see "migrate status").',
            );
          plan = applied.filter((s) => status.indexOf(s) >= status.indexOf(target)).reverse();
        } else {
          plan = applied.slice(-(opts.step ?? 1)).reverse();
        }
        const problems: string[] = [];
        const fixes: string[] = [];
        for (const s of plan) {
          if (s.state === 'missing-file') {
            problems.push(`${s.id} is applied but its file is gone, so its down cannot run.`);
            fixes.push(`restore the file of ${s.id} from version control`);
          }
          // A missing down in another tool's layout is a note (it does not stop "up"), but it stops reverting.
          for (const issue of [...discovery.issues, ...discovery.notes.filter((n) => n.blocks === 'down')].filter((i) => i.id === s.id)) {
            problems.push(issue.problem);
            fixes.push(issue.fix);
          }
        }
        if (problems.length) {
          throw new MigrateError('work', `Cannot revert ${plan.map((s) => s.id).join(', ')}: ${problems.join(' ')} Nothing was reverted.`, fixes.join('; '));
        }
        // A broken file elsewhere (say, a new migration still being written) must not stand in the
        // way of a rollback; it only earns a warning.
        const planned = new Set(plan.map((s) => s.id));
        for (const issue of discovery.issues) {
          if (issue.blocks === 'all' && (issue.id === undefined || !planned.has(issue.id))) this.logger.warn(issue.problem);
        }
        return { ids: plan.map((s) => s.id) };
      },
      'down',
    );
  }

  /** Accepts the current files of drifted migrations as what was applied (Flyway's repair). */
  async ackDrift(ids: readonly string[]): Promise<DriftAck[]> {
    if (ids.length === 0)
      throw usageError('ack-drift needs at least one migration id.', 'Run "migrate status" to see which migrations drifted, then "migrate ack-drift <id>".');
    const discovery = await this.discover();
    const session = await acquireRunLock(this.config);
    try {
      const acks: DriftAck[] = [];
      const { status, adopted } = await this.readState(session, discovery);
      if (adopted?.unfinished.length) throw unfinishedError(adopted);
      const chosen = ids.map((id) => {
        const s = this.requireKnown(status, id);
        if (s.state === 'missing-file')
          throw usageError(`${id} has no file any more, so there is no new checksum to accept.`, `Restore the file of ${id} from version control.`);
        if (s.state !== 'drift' || !s.source || !s.entry)
          throw usageError(`${id} has not drifted (it is ${s.state}).`, 'Only migrations shown as "drift" by "migrate status" need acknowledging.');
        return { source: s.source, entry: s.entry };
      });
      // Only now write: knex rows adopted as they were read, the table created if needed.
      await this.prepareLedger(session, status);
      const by = await whoAmI(session.db);
      const at = new Date();
      for (const t of chosen) {
        await this.writerOn(session).acknowledgeDrift(t.source.id, t.source.checksum, t.entry.checksum, by, at);
        acks.push({ id: t.source.id, previousChecksum: t.entry.checksum, checksum: t.source.checksum, by, at });
        this.logger.info(
          `accepted the current file of ${t.source.id} (checksum ${shortChecksum(t.entry.checksum)} -> ${shortChecksum(t.source.checksum)}), recorded as acknowledged by ${by}`,
        );
      }
      return acks;
    } finally {
      await session.release();
    }
  }

  /**
   * How to go on after a partially applied migration: --continue runs the statements that did not
   * run, --revert undoes what ran, --mark-applied / --forget record a fix made by hand.
   */
  async repair(id: string, mode: RepairMode, opts: { from?: number } = {}): Promise<RepairResult> {
    const discovery = await this.discover();
    const session = await acquireRunLock(this.config);
    try {
      const { status, adopted } = await this.readState(session, discovery);
      const foreign = adopted?.unfinished.find((u) => u.id === id);
      if (foreign && adopted && !foreign.hasFile) throw unfinishedError({ ...adopted, unfinished: [foreign] });
      const row = await this.progress.get(session.db, id);
      // Its file removed after an interrupted up: only the progress row knows it, and --forget must still be able to clear it.
      const s = !status.some((x) => x.id === id) && row ? fileGoneStatus(id) : this.requireKnown(status, id);
      if (foreign && adopted && !row) return await this.repairAdopted(session, status, s, adopted, mode);
      const a = row ? await assess(session.db, this.config.dialect, row, s.source) : undefined;
      // The tables are created (knex history adopted) only once the repair is known to write.
      const prepare = async (): Promise<void> => {
        await this.prepareLedger(session, status);
      };
      return await this.withContext(session, (ctx) =>
        repairMigration({ ctx, status: s, assessment: a, mode, prepare, ...(opts.from !== undefined ? { from: opts.from } : {}), issues: discovery.issues }),
      );
    } finally {
      this.control = undefined;
      await session.release();
    }
  }

  private requireKnown(status: readonly MigrationStatus[], id: string): MigrationStatus {
    const s = status.find((x) => x.id === id);
    if (s) return s;
    const ids = status.map((x) => x.id);
    const near = ids.filter((x) => x.includes(id) || id.includes(x.split('_')[0] ?? x)).slice(0, 3);
    throw usageError(
      `No migration has the id "${id}".`,
      `Use an id as "migrate status" lists it (the file name without extension)${near.length ? `, e.g. ${near.join(', ')}` : ids.length ? `; the ids run from ${ids[0]} to ${ids.at(-1)}` : ''}.`,
    );
  }

  /**
   * For a write made outside `up` (a replica-first run's ledger row, on `apply` or `resume`): the
   * ledger created and the adopted tool's rows copied in first, as `up` does. Without this the
   * first row of ours would create the ledger alone, and from then on every migration the old
   * tool ran would read as pending.
   */
  async prepareLedgerOn(session: RunSession, discovery: Discovery): Promise<void> {
    const { status } = await this.readState(session, discovery);
    await this.prepareLedger(session, status);
  }

  /** The status under the lock, from our ledger or the adopted tool's history; writes nothing. */
  private async readState(session: RunSession, discovery: Discovery): Promise<{ status: MigrationStatus[]; adopted?: AdoptedHistory; absent?: string }> {
    const { entries, adopted, absent } = await this.entries(session.db, discovery.migrations);
    return { status: computeStatus(discovery.migrations, entries), ...(adopted ? { adopted } : {}), ...(absent ? { absent } : {}) };
  }

  /**
   * Creates the ledger (and its progress companion) if needed and copies into it the rows read
   * from the adopted tool's table (`status` read them under the same lock: its rows come from
   * that table while our ledger does not exist), with `extra` rows in the same transaction. True
   * when this call created the ledger, so a run that then fails before recording anything can
   * remove it again.
   */
  private async prepareLedger(session: RunSession, status: readonly MigrationStatus[], extra: readonly NewLedgerEntry[] = []): Promise<boolean> {
    const foreign = status.flatMap((s) => (s.entry && s.entry.source !== 'ledger' ? [s.entry] : []));
    const writer = this.writerOn(session);
    const created = await writer.ensureLedgerTable();
    try {
      await writer.ensureProgressTable();
      const source = this.adoptSource();
      if ((foreign.length && source) || extra.length) {
        const by = `${await whoAmI(session.db)} adopting ${source?.table ?? ''}`;
        const host = thisHost();
        const now = new Date();
        const rows = foreign.map((e) => ({
          id: e.id,
          checksum: e.checksum,
          phase: e.phase,
          appliedAt: e.appliedAt ?? now,
          appliedBy: by,
          host,
          executionMs: null,
        }));
        await writer.adopt([...rows, ...extra]);
        const n = rows.length;
        if (n && source) this.logger.info(`adopted ${n} applied migration${n === 1 ? '' : 's'} from ${source.table} into ${this.ledger.table}`);
      }
    } catch (e) {
      // An empty ledger left behind would hide the old tool's history from then on (it is read
      // only while ours does not exist), and the next up would run applied migrations again.
      if (created) await this.dropLedgerCreatedBy(session);
      throw e;
    }
    return created;
  }

  /**
   * `repair` of a migration the old tool left half-done (golang-migrate dirty, Flyway failed):
   * the tool recorded no statement, so only a decision made by hand can be recorded. The rest of
   * the history is adopted with it, since from then on our ledger is the one read.
   */
  private async repairAdopted(
    session: RunSession,
    status: readonly MigrationStatus[],
    s: MigrationStatus,
    adopted: AdoptedHistory,
    mode: RepairMode,
  ): Promise<RepairResult> {
    const u = adopted.unfinished.find((x) => x.id === s.id) as AdoptedUnfinished;
    const tool = adopted.source.tool;
    if (mode === 'continue' || mode === 'revert')
      throw new MigrateError(
        'work',
        `${s.id}: ${u.what}. ${tool} does not record which of its statements ran, so --${mode} cannot tell where to ${mode === 'continue' ? 'go on from' : 'undo from'}. Nothing was run.`,
        u.fix,
      );
    const others = adopted.unfinished.filter((x) => x.id !== s.id);
    if (others.length)
      throw new MigrateError(
        'work',
        `${tool} also left ${others.map((x) => x.id).join(', ')} unfinished; recording ${s.id} would adopt the history without a decision on ${others.length === 1 ? 'it' : 'them'}. Nothing was recorded.`,
        `Settle ${others.map((x) => x.id).join(', ')} with ${tool} itself first (e.g. "flyway repair", "migrate force"), then "migrate repair ${s.id} --${mode}".`,
      );
    const m = s.source;
    if (mode === 'mark-applied' && !m)
      throw new MigrateError('work', `${s.id} has no file, so it cannot be recorded as applied.`, `Restore the file of ${s.id} from version control.`);
    const who = await whoAmI(session.db);
    // The decision is written with the adopted rows, all or none: an adoption without it would
    // leave the migration pending in our ledger, to be run again over what is in place.
    const marked: NewLedgerEntry[] =
      mode === 'mark-applied' && m
        ? [
            {
              id: m.id,
              checksum: m.checksum,
              phase: m.phase ?? null,
              appliedAt: new Date(),
              appliedBy: `${who} (repair --mark-applied after ${tool} left it unfinished)`,
              host: thisHost(),
              executionMs: null,
            },
          ]
        : [];
    await this.prepareLedger(session, status, marked);
    const recorded = mode === 'mark-applied' ? `${s.id} is recorded as applied` : `${s.id} is recorded as not applied`;
    this.logger.info(`${recorded} (${tool} had left it unfinished); no statement ran${mode === 'forget' ? `; "migrate up" runs it` : ''}`);
    return { id: s.id, mode, recorded, ran: [], skipped: [] };
  }

  /**
   * After a failed run: removes the ledger tables again when this run created them and nothing
   * is recorded in them, so a failed first `up` leaves the database as it found it. Safe because
   * every writer of the ledger holds the run lock we still hold. Never hides the run's own error.
   */
  private async dropLedgerCreatedBy(session: RunSession): Promise<void> {
    try {
      await this.writerOn(session).dropTablesIfEmpty();
    } catch (e) {
      this.logger.warn(
        `This run created the ledger table ${this.ledger.table} and could not remove it after the failure (${messageOf(e)}). An empty ledger is harmless: the next "migrate up" uses it.`,
      );
    }
  }

  /**
   * Unfinished runs found under the lock (so none of them is running): those that left nothing
   * are cleared, the others refuse the command before anything runs.
   */
  private async unfinished(session: RunSession, discovery: Discovery): Promise<{ stale: Assessment[]; partial: Assessment[] }> {
    const rows = await this.progress.read(session.db);
    const byId = new Map(discovery.migrations.map((m) => [m.id, m]));
    const all = await Promise.all(rows.map((r) => assess(session.db, this.config.dialect, r, byId.get(r.id))));
    return {
      stale: all.filter((a) => a.stays === 'nothing' || a.stays === 'resumable'),
      partial: all.filter((a) => a.stays === 'some' || a.stays === 'unknown'),
    };
  }

  private async locked(
    discovery: Discovery,
    plan: (status: MigrationStatus[]) => Promise<{ ids: string[]; note?: string }>,
    direction: Direction,
  ): Promise<RunResult> {
    if (this.pendingStop) throw stoppedBeforeStart(this.pendingStop);
    const session = await acquireRunLock(this.config);
    let createdLedger = false;
    try {
      // Validate everything before the first write, so a refused command changes nothing.
      const { status: before, adopted: history, absent } = await this.readState(session, discovery);
      if (history?.unfinished.length) throw unfinishedError(history);
      if (absent && direction === 'up') this.logger.warn(absent);
      const { partial, stale } = await this.unfinished(session, discovery);
      if (partial.length) throw partialError(partial);
      const { ids, note } = await plan(before);
      const drifted = before.filter((s) => s.state === 'drift');
      if (drifted.length) throw driftError(drifted);
      const foreignRows = before.filter((s) => s.entry !== undefined && s.entry.source !== 'ledger').length;
      for (const a of stale) {
        await this.writerOn(session).clearRun(a.row.id);
        this.logger.info(
          a.stays === 'resumable'
            ? `${a.row.id}: an earlier attempt ${howItEnded(a.row)}; its backfill recorded ${a.backfill}, so running it again continues from there`
            : `${a.row.id}: an earlier attempt ${howItEnded(a.row)}; nothing of it took effect, so it runs from the start`,
        );
      }
      if (ids.length === 0) this.logger.info(note ?? (direction === 'up' ? 'Nothing to apply: every migration is applied.' : 'Nothing to revert.'));
      if (ids.length === 0 && !foreignRows) return { direction, ids: [], adopted: 0 };
      const adopted = foreignRows;
      createdLedger = await this.prepareLedger(session, before);
      if (ids.length === 0) return { direction, ids, adopted };
      await this.run(session, discovery, ids, direction);
      return { direction, ids, adopted };
    } catch (e) {
      // Only while the lock is still ours: a lost session may have let another run in.
      if (
        createdLedger &&
        (await session.assertHeld().then(
          () => true,
          () => false,
        ))
      )
        await this.dropLedgerCreatedBy(session);
      throw e;
    } finally {
      this.control = undefined;
      await session.release();
    }
  }

  /** The execution context of a run on the locked session; the run can be stopped while fn runs. */
  private async withContext<T>(session: RunSession, fn: (ctx: ExecContext) => Promise<T>): Promise<T> {
    const control = new RunControl({
      dialect: this.config.dialect,
      connection: this.config.connection,
      logger: this.logger,
      ...(this.opts.migrationTimeoutMs !== undefined ? { migrationTimeoutMs: this.opts.migrationTimeoutMs } : {}),
      ...(this.opts.noticeEveryMs !== undefined ? { noticeEveryMs: this.opts.noticeEveryMs } : {}),
    });
    control.session = await sessionIdOf(session.db, this.config.dialect);
    this.control = control;
    if (this.pendingStop) await control.stop(this.pendingStop);
    const engine = engineFor(this.config.dialect).migrations;
    const ls = this.lockSafety();
    const safety = engine.guardsLockTimeout ? await PgLockSafety.open(session.db, this.config.connection, ls, this.logger) : undefined;
    try {
      let mysqlLockRetry: ExecContext['mysqlLockRetry'];
      const lockWait = engine.lockWaitTimeoutSql(ls.lockTimeoutMs);
      if (lockWait) {
        await session.db.raw(lockWait);
        mysqlLockRetry = { attempts: ls.attempts, backoff: (a) => backoffMs(a, ls), log: (m) => this.logger.warn(m) };
      }
      for (const sql of engine.runSessionSql) await session.db.raw(sql).catch(() => undefined);
      const reconnectMs = this.opts.reconnectMs ?? DEFAULT_RECONNECT_MS;
      const ctx: ExecContext = {
        session,
        dialect: this.config.dialect,
        database: this.config.connection.database,
        ledger: this.ledger,
        progress: this.progress,
        writer: this.writerOn(session),
        who: await whoAmI(session.db),
        host: thisHost(),
        logger: this.logger,
        control,
        reconnect: () => reconnect(this.config, reconnectMs),
        reconnectMs,
        safety,
        ...(mysqlLockRetry ? { mysqlLockRetry } : {}),
      };
      return await fn(ctx);
    } finally {
      if (control.reason) this.stoppedBy ??= control.reason;
      control.close();
      await safety?.close();
    }
  }

  private async run(session: RunSession, discovery: Discovery, ids: string[], direction: Direction): Promise<void> {
    const byId = new Map(discovery.migrations.map((m) => [m.id, m]));
    await this.withContext(session, (ctx) => this.runWith(ctx, session, discovery, ids, direction, byId));
  }

  private async runWith(
    ctx: ExecContext,
    session: RunSession,
    discovery: Discovery,
    ids: string[],
    direction: Direction,
    byId: Map<string, MigrationSource>,
  ): Promise<void> {
    const done: string[] = [];
    const storage: UmzugStorage = {
      executed: async () => (await this.ledger.read(session.db)).map((e) => e.id),
      // executeMigration already wrote the ledger row (in the transaction or round trip of its
      // last statement); these only make sure umzug's view and the ledger agree.
      logMigration: async ({ name }) => {
        if (!(await this.ledger.has(session.db, name)))
          throw workError(
            `Migration ${name} ran but is missing from the ledger ${this.ledger.table}.`,
            'Run "migrate status": it reads what ran from the ledger.',
          );
      },
      unlogMigration: async ({ name }) => {
        await ctx.writer.forgetIfPresent(name);
      },
    };
    // Loaded here, not at start-up: only a run that executes migrations needs it.
    const { Umzug } = await import('umzug');
    const umzug = new Umzug({
      migrations: discovery.migrations.map((m) => ({
        name: m.id,
        path: m.upPath,
        up: async () => {
          const found = await this.alreadyThere(session.db, m);
          if (found) {
            throw workError(
              `${m.id} is not recorded in the ledger, but ${found}. Running it would fail or repeat it; nothing of it was run.`,
              `If all of ${m.id} is in place (the ledger lost its row: dropped or edited by hand), record it with "migrate repair ${m.id} --mark-applied" and run "migrate up" again; if that object is something else of the same name, rename one of them.`,
            );
          }
          await executeMigration(ctx, m, 'up');
        },
        down: async () => {
          await executeMigration(ctx, byId.get(m.id) ?? m, 'down');
        },
      })),
      storage,
      logger: undefined,
    });
    umzug.on(direction === 'up' ? 'migrated' : 'reverted', ({ name }) => {
      done.push(name);
    });
    try {
      if (direction === 'up') await umzug.up({ migrations: ids });
      else await umzug.down({ migrations: ids });
    } catch (e) {
      const cause = e instanceof Error && 'cause' in e ? e.cause : e;
      let err = isMigrateError(cause)
        ? cause
        : isMigrateError(e)
          ? e
          : workError(
              `Running migrations failed: ${e instanceof Error ? e.message : String(e)}`,
              'See the message above; "migrate status" shows what is applied.',
              e,
            );
      // A stop between two migrations: nothing was in flight.
      if (!isMigrateError(cause) && ctx.control.reason) err = stoppedBeforeStart(ctx.control.reason);
      if (done.length === 0) throw err;
      const verb = direction === 'up' ? 'Applied' : 'Reverted';
      throw new MigrateError(err.kind, `${err.problem}\n${verb} in this run before the failure (kept): ${done.join(', ')}.`, err.fix, {
        cause: err,
        exitCode: err.exitCode,
      });
    }
  }
}

/** A stop that came before any migration started: nothing ran and nothing needs recording. */
function stoppedBeforeStart(reason: StopReason): MigrateError {
  const what = reason.kind === 'signal' ? `Interrupted by ${reason.signal}` : 'Stopped by --migration-timeout';
  return new MigrateError(
    'work',
    `${what} before the next migration started: it did not run, and the ledger is consistent.`,
    'Run the command again when ready ("migrate status" shows what is applied).',
    reason.kind === 'signal' ? { exitCode: reason.signal === 'SIGTERM' ? 143 : 130 } : undefined,
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A new connection once the server answers again, polled until `boundMs`. */
async function reconnect(config: ProjectConfig, boundMs: number): Promise<{ db: Knex; afterMs: number } | undefined> {
  const t0 = Date.now();
  for (;;) {
    const db = createKnex(config.dialect, config.connection, { pool: { min: 0, max: 1 } });
    try {
      await db.raw('SELECT 1');
      return { db, afterMs: Date.now() - t0 };
    } catch {
      await db.destroy().catch(() => undefined);
    }
    if (Date.now() - t0 >= boundMs) return undefined;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Directory problems no row of the status shows (duplicate ids, stray files, orphan downs). */
function discoveryProblems(discovery: Discovery, list: readonly MigrationStatus[]): string[] {
  const shown = new Set(list.flatMap((s) => s.problems));
  return [...new Set(discovery.issues.map((i) => i.problem).filter((p) => !shown.has(p)))];
}

function driftError(drifted: readonly MigrationStatus[]): MigrateError {
  const ids = drifted.map((s) => s.id);
  const detail = drifted.map((s) => `${s.id} (ledger ${shortChecksum(s.ledgerChecksum)}, file ${shortChecksum(s.checksum)})`).join(', ');
  return new MigrateError(
    'drift',
    `${ids.length === 1 ? 'A migration was' : `${ids.length} migrations were`} changed after being applied: ${detail}. The database was migrated with different files, so nothing was run.`,
    `Restore the applied version of the file${ids.length === 1 ? '' : 's'} (see git log), or review the change and accept it with "migrate ack-drift ${ids.join(' ')}".`,
  );
}
