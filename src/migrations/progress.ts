import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Dialect } from '../config/types.ts';
import { dropTableIfEmpty, parseTime, timeFor } from './ledger.ts';
import { num, str, type Row } from './rows.ts';

export type Direction = 'up' | 'down';

/** How migrate itself saw a run end; null while it runs, and when the process died without a word. */
export type Outcome = 'failed' | 'interrupted' | 'timeout' | 'connection-lost';

/**
 * One migration that a run started and did not finish, as recorded while it ran. The row is
 * written before the first statement and deleted in the same transaction (PostgreSQL) or the same
 * round trip (MySQL/MariaDB) as the ledger change that ends the migration, so it exists exactly
 * while the migration is neither applied nor pending.
 */
export interface ProgressRow {
  id: string;
  direction: Direction;
  /** The file's checksum when the run started. */
  checksum: string;
  format: 'sql' | 'ts';
  /** Statements of the file the run executed (SQL); null for TypeScript. */
  total: number | null;
  /** Statements 1..done completed, as the server acknowledged them. */
  done: number;
  /** sha256 over the text of statements 1..done: a later `repair --continue` must find them unchanged. */
  doneHash: string | null;
  /** 1-based statement sent to the server whose completion was not recorded (yet). */
  current: number | null;
  /** PostgreSQL: what was not done yet ran in transactions, so an interrupted attempt left nothing of it. */
  transactional: boolean;
  host: string;
  pid: number;
  runBy: string;
  /** The server session that ran it: MySQL CONNECTION_ID(), PostgreSQL backend pid. */
  session: number | null;
  startedAt: Date | null;
  updatedAt: Date | null;
  endedAt: Date | null;
  outcome: Outcome | null;
  /** The server's message, the signal, or (TypeScript) the queries that had completed. */
  note: string | null;
}

/** sha256 over statement texts, NUL-separated. */
export function statementsHash(sqls: readonly string[]): string {
  const h = createHash('sha256');
  for (const s of sqls) h.update(s).update('\0');
  return h.digest('hex');
}

/** The companion table's name: "<ledger>_progress", shortened with a hash past 63 characters (PostgreSQL's limit). */
export function progressTableName(ledgerTable: string): string {
  const name = `${ledgerTable}_progress`;
  return name.length <= 63 ? name : `migrate_progress_${createHash('sha256').update(ledgerTable).digest('hex').slice(0, 16)}`;
}

const OUTCOMES: readonly Outcome[] = ['failed', 'interrupted', 'timeout', 'connection-lost'];

/**
 * The record of migrations in flight, a companion of the ledger. A separate table rather than
 * columns of the ledger: the ledger keeps meaning "these are applied" for every reader (older
 * versions of migrate, dashboards, the knex adoption), and an existing ledger is never altered.
 */
export class Progress {
  readonly table: string;
  private readonly dialect: Dialect;

  constructor(dialect: Dialect, ledgerTable: string) {
    this.dialect = dialect;
    this.table = progressTableName(ledgerTable);
  }

  async exists(db: Knex): Promise<boolean> {
    return db.schema.hasTable(this.table);
  }

  /** Creates the table if needed (safe beside an existing ledger of any age); true when it created it. */
  async ensureTable(db: Knex): Promise<boolean> {
    if (await this.exists(db)) return false;
    await db.schema.createTable(this.table, (t) => {
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

  /** Drops the table if it holds no row; true when it dropped it. */
  dropIfEmpty(db: Knex): Promise<boolean> {
    return dropTableIfEmpty(db, this.table);
  }

  time(d: Date): Date | string {
    return timeFor(this.dialect, d);
  }

  /**
   * The server's clock at the moment the statement executes: an UPDATE sent in the same round trip
   * as a long statement runs after it, so a time taken by the client would be too early.
   */
  private now(db: Knex): Knex.Raw {
    return db.raw(this.dialect === 'mysql' ? 'UTC_TIMESTAMP(3)' : 'clock_timestamp()');
  }

  /** Every row, in id order; empty when the table does not exist. */
  async read(db: Knex): Promise<ProgressRow[]> {
    if (!(await this.exists(db))) return [];
    const mysql = this.dialect === 'mysql';
    const cols = mysql
      ? ['*', ...['started_at', 'updated_at', 'ended_at'].map((c) => db.raw('CAST(?? AS CHAR) AS ??', [c, `${c}_text`]))]
      : ['*'];
    const rows = (await db(this.table).select(cols).orderBy('id')) as Row[];
    const time = (r: Row, c: string): Date | null => parseTime(mysql ? r[`${c}_text`] : r[c], mysql);
    return rows.map((r) => {
      const outcome = str(r['outcome']);
      return {
        id: str(r['id']) ?? '',
        direction: str(r['direction']) === 'down' ? 'down' : 'up',
        checksum: str(r['checksum']) ?? '',
        format: str(r['format']) === 'ts' ? 'ts' : 'sql',
        total: num(r['statements_total']),
        done: num(r['statements_done']) ?? 0,
        doneHash: str(r['done_hash']),
        current: num(r['current_statement']),
        transactional: r['transactional'] === true || num(r['transactional']) === 1,
        host: str(r['host']) ?? '?',
        pid: num(r['pid']) ?? 0,
        runBy: str(r['run_by']) ?? '?',
        session: num(r['session_id']),
        startedAt: time(r, 'started_at'),
        updatedAt: time(r, 'updated_at'),
        endedAt: time(r, 'ended_at'),
        outcome: outcome && (OUTCOMES as readonly string[]).includes(outcome) ? (outcome as Outcome) : null,
        note: str(r['note']),
      } satisfies ProgressRow;
    });
  }

  async get(db: Knex, id: string): Promise<ProgressRow | undefined> {
    return (await this.read(db)).find((r) => r.id === id);
  }

  /** Written before the migration's first statement (replacing a stale row of an earlier attempt). */
  async start(db: Knex, r: Pick<ProgressRow, 'id' | 'direction' | 'checksum' | 'format' | 'total' | 'transactional' | 'host' | 'pid' | 'runBy' | 'session'>, at = new Date()): Promise<void> {
    await db(this.table).where({ id: r.id }).delete();
    await db(this.table).insert({
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
  startedSql(db: Knex, id: string, n: number, qualified?: string): string {
    return this.q(db, qualified).where({ id }).update({ current_statement: n, updated_at: this.now(db) }).toQuery();
  }

  /** The UPDATE that records statements 1..n as done. */
  doneSql(db: Knex, id: string, n: number, hash: string, qualified?: string): string {
    return this.q(db, qualified).where({ id }).update({ statements_done: n, done_hash: hash, current_statement: null, updated_at: this.now(db) }).toQuery();
  }

  deleteSql(db: Knex, id: string, qualified?: string): string {
    return this.q(db, qualified).where({ id }).delete().toQuery();
  }

  async markDone(db: Knex, id: string, n: number, hash: string): Promise<void> {
    await db(this.table).where({ id }).update({ statements_done: n, done_hash: hash, current_statement: null, updated_at: this.now(db) });
  }

  async markStarted(db: Knex, id: string, n: number): Promise<void> {
    await db(this.table).where({ id }).update({ current_statement: n, updated_at: this.now(db) });
  }

  /** How the run ended, as migrate saw it; `current` null when the statement is known not to have run. */
  async end(db: Knex, id: string, outcome: Outcome, note: string, current: number | null | undefined): Promise<void> {
    const at = this.time(new Date());
    await db(this.table).where({ id }).update({ outcome, note: note.slice(0, 4000), ended_at: at, updated_at: at, ...(current === undefined ? {} : { current_statement: current }) });
  }

  async remove(db: Knex, id: string): Promise<void> {
    if (await this.exists(db)) await db(this.table).where({ id }).delete();
  }

  /** The table, qualified with the database on MySQL so a migration's `USE other` cannot redirect our writes. */
  private q(db: Knex, database?: string): Knex.QueryBuilder {
    return database && this.dialect === 'mysql' ? db.withSchema(database).table(this.table) : db(this.table);
  }
}
