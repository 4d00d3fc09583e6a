import type { Knex } from 'knex';
import type { UmzugStorage } from 'umzug';
import type { ProjectConfig } from '../config/types.ts';
import { isMigrateError, messageOf, MigrateError, usageError, workError } from '../errors.ts';
import { consoleLogger, type Logger } from '../log/logger.ts';
import { shortChecksum } from './checksum.ts';
import { blockingError, compareIds, discoverMigrations } from './discover.ts';
import { executeMigration, type Direction, type ExecContext } from './execute.ts';
import { adoptKnexHistory, knexHistoryAsLedger, readKnexHistory } from './knex-adopt.ts';
import { Ledger, thisHost, whoAmI, type LedgerEntry } from './ledger.ts';
import { acquireRunLock, type RunSession } from './lock.ts';
import { backoffMs } from './pg/retry.ts';
import { PgLockSafety } from './pg/session.ts';
import { resolveLockSafety, type LockSafety } from './pg/settings.ts';
import { computeStatus, isApplied, type MigrationStatus } from './status.ts';
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
}

export interface StatusReport {
  discovery: Discovery;
  migrations: MigrationStatus[];
  /** The applied rows come from knex's table, not yet adopted into ours. */
  fromKnex: boolean;
}

export interface RunResult {
  direction: Direction;
  /** Ids run, in the order they ran. */
  ids: string[];
  /** Rows adopted from knex's table before running. */
  adopted: number;
}

export interface DriftAck {
  id: string;
  previousChecksum: string;
  checksum: string;
  by: string;
  at: Date;
}

/**
 * Applies and reverts migrations: discovery gives the list, the ledger is umzug's storage, and a
 * per-database lock keeps a second runner out. Every refusal (drift, missing down, unknown
 * --to) happens before the first migration runs.
 */
export class Runner {
  private readonly config: ProjectConfig;
  private readonly db: Knex;
  private readonly logger: Logger;
  private readonly lockSafetyOverrides: Partial<LockSafety> | undefined;
  readonly ledger: Ledger;

  constructor(opts: RunnerOptions) {
    this.config = opts.config;
    this.db = opts.db;
    this.logger = opts.logger ?? consoleLogger;
    this.lockSafetyOverrides = opts.lockSafety;
    this.ledger = new Ledger(opts.config.dialect, opts.config.ledgerTable);
  }

  /** The lock-safe settings a run uses on PostgreSQL (flags/API over env over config over defaults). */
  lockSafety(): LockSafety {
    const fromConfig = (this.config as ProjectConfig & { lockSafety?: Partial<LockSafety> }).lockSafety;
    return resolveLockSafety(this.lockSafetyOverrides, fromConfig);
  }

  discover(): Promise<Discovery> {
    return discoverMigrations(this.config.migrationsDir, this.config.dialect);
  }

  /** Our ledger, or knex's history in its place while ours is empty and adoption is configured. */
  private async entries(db: Knex, migrations: readonly MigrationSource[]): Promise<{ entries: LedgerEntry[]; fromKnex: boolean }> {
    const entries = await this.ledger.read(db);
    const knexTable = this.config.adoptKnexTable;
    if (entries.length > 0 || !knexTable) return { entries, fromKnex: false };
    const rows = await readKnexHistory(db, knexTable);
    if (!rows || rows.length === 0) return { entries, fromKnex: false };
    return { entries: knexHistoryAsLedger(rows, migrations, knexTable), fromKnex: true };
  }

  async status(): Promise<StatusReport> {
    const discovery = await this.discover();
    const { entries, fromKnex } = await this.entries(this.db, discovery.migrations);
    return { discovery, migrations: computeStatus(discovery.migrations, entries), fromKnex };
  }

  async up(opts: { to?: string } = {}): Promise<RunResult> {
    const discovery = await this.discover();
    const blocking = blockingError(discovery.issues);
    if (blocking) throw blocking;
    return this.locked(discovery, async (status) => {
      let pending = status.filter((s) => s.state === 'pending');
      if (opts.to !== undefined) {
        const target = this.requireKnown(status, opts.to);
        if (target.state === 'missing-file') {
          throw usageError(`--to ${opts.to}: that migration is applied and its file is gone.`, 'Give the id of a pending migration (see "migrate status").');
        }
        if (isApplied(target)) return { ids: [], note: `${opts.to} is already applied; nothing to do.` };
        pending = pending.filter((s) => compareIds(s.id, opts.to ?? '') <= 0);
      }
      for (const s of status.filter((x) => x.state === 'missing-file')) {
        this.logger.warn(`${s.id} is recorded as applied but its file is gone from ${this.config.migrationsDir}.`);
      }
      const lastApplied = status.filter(isApplied).at(-1);
      const early = lastApplied ? pending.filter((s) => compareIds(s.id, lastApplied.id) < 0) : [];
      if (early.length) {
        this.logger.warn(`${early.map((s) => s.id).join(', ')} sort before the already applied ${lastApplied?.id} and will run out of order.`);
      }
      return { ids: pending.map((s) => s.id) };
    }, 'up');
  }

  async down(opts: { to?: string; step?: number } = {}): Promise<RunResult> {
    if (opts.to !== undefined && opts.step !== undefined) throw usageError('--to and --step cannot be used together.', 'Give either --to ID (revert down to and including ID) or --step N (revert the last N).');
    if (opts.step !== undefined && (!Number.isInteger(opts.step) || opts.step < 1)) throw usageError(`--step must be a whole number of at least 1 (got ${opts.step}).`, 'Write e.g. --step 2 to revert the last two migrations.');
    const discovery = await this.discover();
    return this.locked(discovery, async (status) => {
      const applied = status.filter(isApplied);
      let plan: MigrationStatus[];
      if (opts.to !== undefined) {
        const target = this.requireKnown(status, opts.to);
        if (!isApplied(target)) throw usageError(`--to ${opts.to}: that migration is not applied, so there is nothing to revert down to.`, 'Give the id of an applied migration (see "migrate status").');
        plan = applied.filter((s) => compareIds(s.id, opts.to ?? '') >= 0).reverse();
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
        for (const issue of discovery.issues.filter((i) => i.id === s.id)) {
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
    }, 'down');
  }

  /** Accepts the current files of drifted migrations as what was applied (Flyway's repair). */
  async ackDrift(ids: readonly string[]): Promise<DriftAck[]> {
    if (ids.length === 0) throw usageError('ack-drift needs at least one migration id.', 'Run "migrate status" to see which migrations drifted, then "migrate ack-drift <id>".');
    const discovery = await this.discover();
    const session = await acquireRunLock(this.config);
    try {
      const acks: DriftAck[] = [];
      const status = await this.readStatus(session, discovery);
      const chosen = ids.map((id) => {
        const s = this.requireKnown(status, id);
        if (s.state === 'missing-file') throw usageError(`${id} has no file any more, so there is no new checksum to accept.`, `Restore the file of ${id} from version control.`);
        if (s.state !== 'drift' || !s.source || !s.entry) throw usageError(`${id} has not drifted (it is ${s.state}).`, 'Only migrations shown as "drift" by "migrate status" need acknowledging.');
        return { source: s.source, entry: s.entry };
      });
      // Only now write: knex rows adopted as they were read, the table created if needed.
      await this.prepareLedger(session, discovery, status);
      const by = await whoAmI(session.db);
      const at = new Date();
      for (const t of chosen) {
        await this.ledger.acknowledgeDrift(session.db, t.source.id, t.source.checksum, t.entry.checksum, by, at);
        acks.push({ id: t.source.id, previousChecksum: t.entry.checksum, checksum: t.source.checksum, by, at });
        this.logger.info(`accepted the current file of ${t.source.id} (checksum ${shortChecksum(t.entry.checksum)} -> ${shortChecksum(t.source.checksum)}), recorded as acknowledged by ${by}`);
      }
      return acks;
    } finally {
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

  /** The status under the lock, from our ledger or knex's history; writes nothing. */
  private async readStatus(session: RunSession, discovery: Discovery): Promise<MigrationStatus[]> {
    const { entries } = await this.entries(session.db, discovery.migrations);
    return computeStatus(discovery.migrations, entries);
  }

  /**
   * Creates the ledger if needed and adopts knex's history into it (`status` read it under the
   * same lock: its rows come from knex when ours is still empty). True when this call created the
   * table, so a run that then fails before recording anything can remove it again.
   */
  private async prepareLedger(session: RunSession, discovery: Discovery, status: readonly MigrationStatus[]): Promise<boolean> {
    const fromKnex = status.some((s) => s.entry?.source === 'knex');
    const created = await this.ledger.ensureTable(session.db);
    if (fromKnex && this.config.adoptKnexTable) {
      const n = await adoptKnexHistory(session.db, this.ledger, this.config.adoptKnexTable, discovery.migrations, await whoAmI(session.db), thisHost());
      this.logger.info(`adopted ${n} applied migration${n === 1 ? '' : 's'} from ${this.config.adoptKnexTable} into ${this.ledger.table}`);
    }
    return created;
  }

  /**
   * After a failed run: removes the ledger table again when this run created it and recorded
   * nothing in it, so a failed first `up` leaves the database as it found it. Safe because every
   * writer of the ledger holds the run lock we still hold. Never hides the run's own error.
   */
  private async dropLedgerCreatedBy(session: RunSession): Promise<void> {
    try {
      await this.ledger.dropIfEmpty(session.db);
    } catch (e) {
      this.logger.warn(`This run created the ledger table ${this.ledger.table} and could not remove it after the failure (${messageOf(e)}). An empty ledger is harmless: the next "migrate up" uses it.`);
    }
  }

  private async locked(discovery: Discovery, plan: (status: MigrationStatus[]) => Promise<{ ids: string[]; note?: string }>, direction: Direction): Promise<RunResult> {
    const session = await acquireRunLock(this.config);
    let createdLedger = false;
    try {
      // Validate everything before the first write, so a refused command changes nothing.
      const before = await this.readStatus(session, discovery);
      const { ids, note } = await plan(before);
      const drifted = before.filter((s) => s.state === 'drift');
      if (drifted.length) throw driftError(drifted);
      const knexRows = before.some((s) => s.entry?.source === 'knex');
      if (ids.length === 0) this.logger.info(note ?? (direction === 'up' ? 'Nothing to apply: every migration is applied.' : 'Nothing to revert.'));
      if (ids.length === 0 && !knexRows) return { direction, ids: [], adopted: 0 };
      const adopted = knexRows ? before.filter((s) => s.entry?.source === 'knex').length : 0;
      createdLedger = await this.prepareLedger(session, discovery, before);
      if (ids.length === 0) return { direction, ids, adopted };
      await this.run(session, discovery, ids, direction);
      return { direction, ids, adopted };
    } catch (e) {
      if (createdLedger) await this.dropLedgerCreatedBy(session);
      throw e;
    } finally {
      await session.release();
    }
  }

  private async run(session: RunSession, discovery: Discovery, ids: string[], direction: Direction): Promise<void> {
    const byId = new Map(discovery.migrations.map((m) => [m.id, m]));
    const safety = this.config.dialect === 'postgres' ? await PgLockSafety.open(session.db, this.config.connection, this.lockSafety(), this.logger) : undefined;
    try {
      await this.runWith(session, discovery, ids, direction, byId, safety);
    } finally {
      await safety?.close();
    }
  }

  private async runWith(session: RunSession, discovery: Discovery, ids: string[], direction: Direction, byId: Map<string, MigrationSource>, safety: PgLockSafety | undefined): Promise<void> {
    let mysqlLockRetry: ExecContext['mysqlLockRetry'];
    const ls = this.lockSafety();
    if (this.config.dialect === 'mysql' && ls.lockTimeoutMs > 0) {
      // A metadata-lock wait queues every later write to the table behind the DDL: bound it.
      await session.db.raw(`SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(ls.lockTimeoutMs / 1000))}`);
      mysqlLockRetry = { attempts: ls.attempts, backoff: (a) => backoffMs(a, ls), log: (m) => this.logger.warn(m) };
    }
    const ctx: ExecContext = { session, dialect: this.config.dialect, ledger: this.ledger, who: await whoAmI(session.db), host: thisHost(), logger: this.logger, safety, ...(mysqlLockRetry ? { mysqlLockRetry } : {}) };
    const done: string[] = [];
    const storage: UmzugStorage = {
      executed: async () => (await this.ledger.read(session.db)).map((e) => e.id),
      // executeMigration already wrote the ledger row (inside the migration's transaction where
      // there is one); these only make sure umzug's view and the ledger agree.
      logMigration: async ({ name }) => {
        if (!(await this.ledger.has(session.db, name))) throw workError(`Migration ${name} ran but is missing from the ledger ${this.ledger.table}.`, `Insert its row by hand (see "migrate status") before running migrate again.`);
      },
      unlogMigration: async ({ name }) => {
        if (await this.ledger.has(session.db, name)) await this.ledger.remove(session.db, name);
      },
    };
    // Loaded here, not at start-up: only a run that executes migrations needs it.
    const { Umzug } = await import('umzug');
    const umzug = new Umzug({
      migrations: discovery.migrations.map((m) => ({
        name: m.id,
        path: m.upPath,
        up: async () => {
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
      const err = isMigrateError(cause) ? cause : isMigrateError(e) ? e : workError(`Running migrations failed: ${e instanceof Error ? e.message : String(e)}`, 'See the message above; "migrate status" shows what is applied.', e);
      if (done.length === 0) throw err;
      const verb = direction === 'up' ? 'Applied' : 'Reverted';
      throw new MigrateError(err.kind, `${err.problem}\n${verb} in this run before the failure (kept): ${done.join(', ')}.`, err.fix, { cause: err });
    }
  }
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
