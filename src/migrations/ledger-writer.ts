import type { Knex } from 'knex';
import type { Dialect, ProjectConfig } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import { Ledger, timeFor, type NewLedgerEntry } from './ledger.ts';
import type { RunSession } from '../engines/index.ts';
import { acquireRunLock } from './lock.ts';
import { Progress, type ProgressRow, type Outcome } from './progress.ts';

/**
 * The one writer of the migration ledger and of its progress table. Nothing else in migrate
 * inserts, updates or deletes their rows, creates or drops them.
 *
 * Lock discipline: every write happens on the session that holds the per-database run lock
 * (lock.ts), or in a transaction of that session. A LedgerWriter can only be made from a
 * RunSession, so holding one is holding the lock:
 * - `migrate up/down/repair/ack-drift` and the knex adoption write on the runner's session;
 * - the replica-first paths write through withLedgerWriter(), which takes the run lock for the
 *   write: apply's ledger step and `migrate rollback` of a held run inside the cluster lock
 *   (cluster-lock.ts) they hold, `migrate resume` before its apply takes the cluster lock.
 *   The order is always cluster lock, then run lock; nothing takes the cluster lock while
 *   holding the run lock (an in-place step of apply is a `migrate up` inside the cluster lock),
 *   so two coordinators cannot wait on each other.
 *   The run lock is taken on the writer after the switchover, not held across it: the
 *   switchover ends every session on the old primary, and the writer moves.
 * A `migrate up` and a replica-first run therefore never write the ledger at the same time, and
 * what a run reads under the lock (status, unfinished runs) stays true until it writes.
 */
export class LedgerWriter {
  readonly ledger: Ledger;
  readonly progress: Progress;
  private readonly dialect: Dialect;

  constructor(
    readonly session: RunSession,
    config: Pick<ProjectConfig, 'dialect' | 'ledgerTable'>,
  ) {
    this.dialect = config.dialect;
    this.ledger = new Ledger(config.dialect, config.ledgerTable);
    this.progress = new Progress(config.dialect, config.ledgerTable);
  }

  private get db(): Knex {
    return this.session.db;
  }

  private time(d: Date): Date | string {
    return timeFor(this.dialect, d);
  }

  // --- the tables ---

  /** Creates the ledger if needed; true when it created it. */
  async ensureLedgerTable(): Promise<boolean> {
    if (await this.ledger.exists(this.db)) return false;
    await this.db.schema.createTable(this.ledger.table, (t) => {
      t.string('id', 255).primary();
      t.string('checksum', 64).notNullable();
      t.string('phase', 16).nullable();
      t.datetime('applied_at', { precision: 3 }).notNullable();
      t.string('applied_by', 255).notNullable();
      t.string('host', 255).notNullable();
      t.integer('execution_ms').nullable();
      t.datetime('drift_acked_at', { precision: 3 }).nullable();
      t.string('drift_acked_by', 255).nullable();
      t.string('previous_checksum', 64).nullable();
    });
    return true;
  }

  /** Creates the progress table if needed (safe beside an existing ledger of any age). */
  async ensureProgressTable(): Promise<boolean> {
    if (await this.progress.exists(this.db)) return false;
    await this.db.schema.createTable(this.progress.table, (t) => {
      t.string('id', 255).primary();
      t.string('direction', 4).notNullable();
      t.string('checksum', 64).notNullable();
      t.string('format', 4).notNullable();
      t.integer('statements_total').nullable();
      t.integer('statements_done').notNullable().defaultTo(0);
      t.string('done_hash', 64).nullable();
      t.integer('current_statement').nullable();
      t.boolean('transactional').notNullable().defaultTo(false);
      t.string('host', 255).notNullable();
      t.integer('pid').notNullable();
      t.string('run_by', 255).notNullable();
      t.bigInteger('session_id').nullable();
      t.datetime('started_at', { precision: 3 }).notNullable();
      t.datetime('updated_at', { precision: 3 }).notNullable();
      t.datetime('ended_at', { precision: 3 }).nullable();
      t.string('outcome', 32).nullable();
      t.text('note').nullable();
    });
    return true;
  }

  /** Drops both tables when neither holds a row (a failed first run that created them). */
  async dropTablesIfEmpty(): Promise<void> {
    if ((await this.progress.read(this.db)).length === 0 && (await dropTableIfEmpty(this.db, this.ledger.table)))
      await dropTableIfEmpty(this.db, this.progress.table);
  }

  // --- ledger rows (on `on`: the session, or a transaction of it) ---

  async record(e: NewLedgerEntry, on: Knex = this.db): Promise<void> {
    await on(this.ledger.table).insert(this.row(e));
  }

  async recordIfAbsent(e: NewLedgerEntry, on: Knex = this.db): Promise<void> {
    if (!(await this.ledger.has(on, e.id))) await this.record(e, on);
  }

  async forget(id: string, on: Knex = this.db): Promise<void> {
    await on(this.ledger.table).where({ id }).delete();
  }

  async forgetIfPresent(id: string, on: Knex = this.db): Promise<void> {
    if (await this.ledger.has(on, id)) await this.forget(id, on);
  }

  /** The INSERT of record() as SQL text, to share a round trip with a migration's last statement. */
  recordSql(e: NewLedgerEntry, database?: string): string {
    return this.q(this.ledger.table, database).insert(this.row(e)).toQuery();
  }

  forgetSql(id: string, database?: string): string {
    return this.q(this.ledger.table, database).where({ id }).delete().toQuery();
  }

  /**
   * The ledger change that ends a migration (an up's row recorded, or a down's removed) and its
   * progress row's removal, as SQL text for the round trip of its last statement.
   */
  finishSql(id: string, applied: NewLedgerEntry | undefined, database?: string): string {
    return [applied ? this.recordSql(applied, database) : this.forgetSql(id, database), this.clearRunSql(id, database)].join(';\n');
  }

  /** Copies adopted rows (knex's history) into the ledger, all or none. */
  async adopt(entries: readonly NewLedgerEntry[]): Promise<void> {
    await this.db.transaction(async (trx) => {
      for (const e of entries) await this.record(e, trx);
    });
  }

  async acknowledgeDrift(id: string, checksum: string, previous: string, by: string, at: Date): Promise<void> {
    await this.db(this.ledger.table)
      .where({ id })
      .update({
        checksum,
        previous_checksum: previous,
        drift_acked_at: this.time(at),
        drift_acked_by: by.slice(0, 255),
      });
  }

  private row(e: NewLedgerEntry): Record<string, unknown> {
    return {
      id: e.id,
      checksum: e.checksum,
      phase: e.phase,
      applied_at: this.time(e.appliedAt),
      applied_by: e.appliedBy.slice(0, 255),
      host: e.host.slice(0, 255),
      execution_ms: e.executionMs,
    };
  }

  // --- progress rows ---

  /** Written before the migration's first statement (replacing a stale row of an earlier attempt). */
  async startRun(
    r: Pick<ProgressRow, 'id' | 'direction' | 'checksum' | 'format' | 'total' | 'transactional' | 'host' | 'pid' | 'runBy' | 'session'>,
    at = new Date(),
  ): Promise<void> {
    const t = this.progress.table;
    await this.db(t).where({ id: r.id }).delete();
    await this.db(t).insert({
      id: r.id,
      direction: r.direction,
      checksum: r.checksum,
      format: r.format,
      statements_total: r.total,
      statements_done: 0,
      done_hash: null,
      current_statement: null,
      transactional: r.transactional,
      host: r.host.slice(0, 255),
      pid: r.pid,
      run_by: r.runBy.slice(0, 255),
      session_id: r.session,
      started_at: this.time(at),
      updated_at: this.time(at),
    });
  }

  /** The UPDATE that marks statement n as sent (SQL text, so it can share a round trip with the statement). */
  startedSql(id: string, n: number, database?: string): string {
    return this.q(this.progress.table, database).where({ id }).update({ current_statement: n, updated_at: this.now() }).toQuery();
  }

  /** The UPDATE that records statements 1..n as done. */
  doneSql(id: string, n: number, hash: string, database?: string): string {
    return this.q(this.progress.table, database)
      .where({ id })
      .update({ statements_done: n, done_hash: hash, current_statement: null, updated_at: this.now() })
      .toQuery();
  }

  /** The DELETE of the progress row as SQL text, for the round trip that ends the migration. */
  clearRunSql(id: string, database?: string): string {
    return this.q(this.progress.table, database).where({ id }).delete().toQuery();
  }

  async markStarted(id: string, n: number): Promise<void> {
    await this.db(this.progress.table).where({ id }).update({ current_statement: n, updated_at: this.now() });
  }

  async markDone(id: string, n: number, hash: string, on: Knex = this.db): Promise<void> {
    await on(this.progress.table).where({ id }).update({ statements_done: n, done_hash: hash, current_statement: null, updated_at: this.now() });
  }

  /** How the run ended, as migrate saw it; `current` null when the statement is known not to have run. */
  async endRun(id: string, outcome: Outcome, note: string, current: number | null | undefined): Promise<void> {
    const at = this.time(new Date());
    await this.db(this.progress.table)
      .where({ id })
      .update({ outcome, note: note.slice(0, 4000), ended_at: at, updated_at: at, ...(current === undefined ? {} : { current_statement: current }) });
  }

  /** The row now belongs to this run (repair): `status` from elsewhere shows it running, not interrupted. */
  async takeOverRun(id: string, r: Pick<ProgressRow, 'session' | 'host' | 'pid' | 'runBy'>): Promise<void> {
    await this.db(this.progress.table)
      .where({ id })
      .update({
        session_id: r.session,
        host: r.host,
        pid: r.pid,
        run_by: r.runBy,
        outcome: null,
        ended_at: null,
        note: null,
        updated_at: this.time(new Date()),
      });
  }

  async clearRun(id: string, on: Knex = this.db): Promise<void> {
    if (await this.progress.exists(on)) await on(this.progress.table).where({ id }).delete();
  }

  /**
   * The server's clock at the moment the statement executes: an UPDATE sent in the same round trip
   * as a long statement runs after it, so a time taken by the client would be too early.
   */
  private now(): Knex.Raw {
    return this.session.db.raw(engineFor(this.dialect).nowSql);
  }

  /** The table, qualified with the database on MySQL so a migration's `USE other` cannot redirect our writes. */
  private q(table: string, database?: string): Knex.QueryBuilder {
    return database && engineFor(this.dialect).switchesDatabases ? this.db.withSchema(database).table(table) : this.db(table);
  }
}

/** Drops a migrate table (ledger, progress) if it exists and holds no row; true when it dropped it. */
async function dropTableIfEmpty(db: Knex, table: string): Promise<boolean> {
  if (!(await db.schema.hasTable(table))) return false;
  if ((await db(table).first('id')) !== undefined) return false;
  await db.schema.dropTable(table);
  return true;
}

/** How long a replica-first write waits for a `migrate up` that holds the run lock to finish. */
export const LEDGER_LOCK_WAIT_MS = 60_000;

/**
 * Takes the run lock of the configured database (waiting up to LEDGER_LOCK_WAIT_MS for a
 * running `migrate up`), runs fn with a writer on that session, and releases it. For callers
 * that do not run migrations themselves: the replica-first paths, under the cluster lock.
 */
export async function withLedgerWriter<T>(config: ProjectConfig, fn: (w: LedgerWriter) => Promise<T>): Promise<T> {
  const session = await acquireRunLock(config, { waitMs: LEDGER_LOCK_WAIT_MS });
  try {
    return await fn(new LedgerWriter(session, config));
  } finally {
    await session.release();
  }
}

/**
 * The one write without the lock: the run's session was lost, and the run lock with it. Its own
 * progress row, and only that (matched by the lost session's id, which no later run can have),
 * is closed on a fresh connection `db`; with `clear` (nothing of it stays) it is removed.
 */
export async function closeRunOfLostSession(
  db: Knex,
  config: Pick<ProjectConfig, 'dialect' | 'ledgerTable'>,
  id: string,
  session: number | null,
  note: string,
  clear: boolean,
): Promise<void> {
  const progress = new Progress(config.dialect, config.ledgerTable);
  const own = { id, session_id: session };
  await db(progress.table)
    .where(own)
    .update({ outcome: 'connection-lost', note: note.slice(0, 4000), ended_at: timeFor(config.dialect, new Date()) });
  if (clear) await db(progress.table).where(own).delete();
}
