import { hostname, userInfo } from 'node:os';
import type { Knex } from 'knex';
import type { AdoptTool, Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import { num, str, type Row } from '../engines/index.ts';
import { PHASES, type Phase } from './types.ts';

/** One applied migration as the ledger records it. */
export interface LedgerEntry {
  id: string;
  /** '' for rows adopted from another tool whose file was already gone. */
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
  /** The tool whose table the row was read from, while it is not yet adopted (copied on the next write). */
  source: 'ledger' | AdoptTool;
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
  return engineFor(dialect).migrations.utcTextTimes ? mysqlUtc(d) : d;
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
 * Our record of applied migrations, read side: one row per applied id. Times are UTC; applied_by
 * is the database user and the OS user; host is the machine that ran it. Every write (the table,
 * its rows, the progress companion) goes through LedgerWriter (ledger-writer.ts), under the
 * per-database run lock.
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

  /** All entries in id order; empty when the table does not exist yet. */
  async read(db: Knex): Promise<LedgerEntry[]> {
    if (!(await this.exists(db))) return [];
    const utcText = engineFor(this.dialect).migrations.utcTextTimes;
    const cols = utcText
      ? [
          'id',
          'checksum',
          'phase',
          'applied_by',
          'host',
          'execution_ms',
          'drift_acked_by',
          'previous_checksum',
          db.raw('CAST(?? AS CHAR) AS ??', ['applied_at', 'applied_at']),
          db.raw('CAST(?? AS CHAR) AS ??', ['drift_acked_at', 'drift_acked_at']),
        ]
      : ['*'];
    const rows = (await db(this.table).select(cols).orderBy('id')) as Row[];
    return rows
      .map((r) => ({
        id: str(r['id']) ?? '',
        checksum: str(r['checksum']) ?? '',
        phase: asPhase(r['phase']),
        appliedAt: parseTime(r['applied_at'], utcText),
        appliedBy: str(r['applied_by']),
        host: str(r['host']),
        executionMs: num(r['execution_ms']),
        driftAckedAt: parseTime(r['drift_acked_at'], utcText),
        driftAckedBy: str(r['drift_acked_by']),
        previousChecksum: str(r['previous_checksum']),
        source: 'ledger' as const,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async has(db: Knex, id: string): Promise<boolean> {
    return (await db(this.table).where({ id }).first('id')) !== undefined;
  }
}
