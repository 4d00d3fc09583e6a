import { hostname, userInfo } from 'node:os';
import type { Knex } from 'knex';
import type { Dialect } from '../config/types.ts';
import { num, str, type Row } from './rows.ts';
import { PHASES, type Phase } from './types.ts';

/** One applied migration as the ledger records it. */
export interface LedgerEntry {
  id: string;
  /** '' for rows adopted from knex whose file was already gone. */
  checksum: string;
  phase: Phase | null;
  appliedAt: Date | null;
  appliedBy: string | null;
  host: string | null;
  executionMs: number | null;
  /** Set by `migrate ack-drift`: when, by whom, and the checksum it replaced. */
  driftAckedAt: Date | null;
  driftAckedBy: string | null;
  previousChecksum: string | null;
  /** 'knex' while the row is only read from knex's table (adopted on the next write). */
  source: 'ledger' | 'knex';
}

export interface NewLedgerEntry {
  id: string;
  checksum: string;
  phase: Phase | null;
  appliedAt: Date;
  appliedBy: string;
  host: string;
  executionMs: number | null;
}

/** The OS account running us; userInfo() throws when the uid has no passwd entry (containers). */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['USERNAME'] ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}

export function thisHost(): string {
  return hostname();
}

/** "dbuser (os: osuser)", with the database's own idea of who we are. */
export async function whoAmI(db: Knex): Promise<string> {
  const row = (await db.first(db.raw('current_user as u'))) as Row | undefined;
  return `${str(row?.['u']) ?? '?'} (os: ${osUser()})`;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** MySQL DATETIME has no zone: we always store UTC, written as text so the driver's zone cannot shift it. */
/** A time as the dialect's driver should bind it for the migrate tables (MySQL: UTC text). */
export function timeFor(dialect: Dialect, d: Date): Date | string {
  return dialect === 'mysql' ? mysqlUtc(d) : d;
}

/** Drops a migrate table (ledger, progress) if it exists and holds no row; true when it dropped it. */
export async function dropTableIfEmpty(db: Knex, table: string): Promise<boolean> {
  if (!(await db.schema.hasTable(table))) return false;
  if ((await db(table).first('id')) !== undefined) return false;
  await db.schema.dropTable(table);
  return true;
}

export function mysqlUtc(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

export function parseTime(v: unknown, utcText: boolean): Date | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v;
  const s = str(v);
  if (!s) return null;
  const d = new Date(utcText ? `${s.replace(' ', 'T')}Z` : s);
  return Number.isNaN(d.getTime()) ? null : d;
}

function asPhase(v: unknown): Phase | null {
  const s = str(v);
  return s && (PHASES as readonly string[]).includes(s) ? (s as Phase) : null;
}

/**
 * Our record of applied migrations: one row per applied id, created on first write. Times are
 * UTC; applied_by is the database user and the OS user; host is the machine that ran it.
 */
export class Ledger {
  readonly table: string;
  private readonly dialect: Dialect;

  constructor(dialect: Dialect, table: string) {
    this.dialect = dialect;
    this.table = table;
  }

  async exists(db: Knex): Promise<boolean> {
    return db.schema.hasTable(this.table);
  }

  async ensureTable(db: Knex): Promise<boolean> {
    if (await this.exists(db)) return false;
    await db.schema.createTable(this.table, (t) => {
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

  /** Drops the table if it exists and holds no row; true when it dropped it. */
  dropIfEmpty(db: Knex): Promise<boolean> {
    return dropTableIfEmpty(db, this.table);
  }

  /** All entries in id order; empty when the table does not exist yet. */
  async read(db: Knex): Promise<LedgerEntry[]> {
    if (!(await this.exists(db))) return [];
    const mysql = this.dialect === 'mysql';
    const cols = mysql
      ? [
          'id', 'checksum', 'phase', 'applied_by', 'host', 'execution_ms', 'drift_acked_by', 'previous_checksum',
          db.raw('CAST(?? AS CHAR) AS ??', ['applied_at', 'applied_at']),
          db.raw('CAST(?? AS CHAR) AS ??', ['drift_acked_at', 'drift_acked_at']),
        ]
      : ['*'];
    const rows = (await db(this.table).select(cols).orderBy('id')) as Row[];
    return rows.map((r) => ({
      id: str(r['id']) ?? '',
      checksum: str(r['checksum']) ?? '',
      phase: asPhase(r['phase']),
      appliedAt: parseTime(r['applied_at'], mysql),
      appliedBy: str(r['applied_by']),
      host: str(r['host']),
      executionMs: num(r['execution_ms']),
      driftAckedAt: parseTime(r['drift_acked_at'], mysql),
      driftAckedBy: str(r['drift_acked_by']),
      previousChecksum: str(r['previous_checksum']),
      source: 'ledger' as const,
    })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  time(d: Date): Date | string {
    return timeFor(this.dialect, d);
  }

  async has(db: Knex, id: string): Promise<boolean> {
    return (await db(this.table).where({ id }).first('id')) !== undefined;
  }

  async insert(db: Knex, e: NewLedgerEntry): Promise<void> {
    await db(this.table).insert(this.row(e));
  }

  /** The INSERT of insert() as SQL text, to share a round trip with a migration's last statement. */
  insertSql(db: Knex, e: NewLedgerEntry, database?: string): string {
    return this.q(db, database).insert(this.row(e)).toQuery();
  }

  removeSql(db: Knex, id: string, database?: string): string {
    return this.q(db, database).where({ id }).delete().toQuery();
  }

  private q(db: Knex, database?: string): Knex.QueryBuilder {
    return database && this.dialect === 'mysql' ? db.withSchema(database).table(this.table) : db(this.table);
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

  async remove(db: Knex, id: string): Promise<void> {
    await db(this.table).where({ id }).delete();
  }

  async acknowledgeDrift(db: Knex, id: string, checksum: string, previous: string, by: string, at: Date): Promise<void> {
    await db(this.table).where({ id }).update({
      checksum,
      previous_checksum: previous,
      drift_acked_at: this.time(at),
      drift_acked_by: by.slice(0, 255),
    });
  }
}
