import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import { parseTime } from './ledger.ts';
import { num, str, type Row } from '../engines/index.ts';

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
 * Read side only: LedgerWriter (ledger-writer.ts) writes it, with the ledger.
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

  /** Every row, in id order; empty when the table does not exist. */
  async read(db: Knex): Promise<ProgressRow[]> {
    if (!(await this.exists(db))) return [];
    const utcText = engineFor(this.dialect).migrations.utcTextTimes;
    const cols = utcText ? ['*', ...['started_at', 'updated_at', 'ended_at'].map((c) => db.raw('CAST(?? AS CHAR) AS ??', [c, `${c}_text`]))] : ['*'];
    const rows = (await db(this.table).select(cols).orderBy('id')) as Row[];
    const time = (r: Row, c: string): Date | null => parseTime(utcText ? r[`${c}_text`] : r[c], utcText);
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
}
