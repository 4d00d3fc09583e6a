import type { ConnectionConfig, Dialect } from '../config/index.ts';
import { createKnex } from '../db/index.ts';
import { messageOf } from '../errors.ts';
import type { Logger } from '../log/index.ts';
import { statementExcerpt } from './excerpt.ts';
import { cancelStatementSql } from './lock.ts';

/** Why a run was stopped from outside its migration: a signal, or --migration-timeout. */
export type StopReason = { kind: 'signal'; signal: NodeJS.Signals } | { kind: 'timeout'; ms: number };

/** What is executing right now, for the still-running notices and the cancel. */
export type InFlight =
  | { kind: 'statement'; migration: string; index: number; total: number; line: number; sql: string; since: number }
  | { kind: 'script'; migration: string; since: number; query?: { sql: string; since: number } };

export class Stopped extends Error {
  readonly reason: StopReason;
  constructor(reason: StopReason) {
    super(describeReason(reason));
    this.name = 'Stopped';
    this.reason = reason;
  }
}

export function describeReason(r: StopReason): string {
  return r.kind === 'signal' ? `interrupted by ${r.signal}` : `did not finish within ${formatMs(r.ms)} (--migration-timeout)`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 120 ? `${Number.isInteger(s) ? s : s.toFixed(1)} s` : `${Math.round(s / 60)} min`;
}

export interface RunControlOptions {
  dialect: Dialect;
  connection: ConnectionConfig;
  logger: Logger;
  /** Per migration; 0 or absent: unbounded. */
  migrationTimeoutMs?: number;
  /** First "still running" notice after this long, then at this interval; 0 turns them off. */
  noticeEveryMs?: number;
}

/**
 * Stops a run from outside its migration (SIGINT/SIGTERM, --migration-timeout) and says what is
 * running while it takes long. A statement in flight is cancelled on the server from a second
 * connection (KILL QUERY / pg_cancel_backend): closing our end would not stop it, and the
 * server would keep it running, with its locks, after we exit. Code of a TypeScript migration
 * that never settles is abandoned through `stopped`, which the runner races it against.
 */
export class RunControl {
  reason: StopReason | null = null;
  /** The server session running the migrations (MySQL CONNECTION_ID(), PostgreSQL backend pid). */
  session: number | null = null;
  inFlight: InFlight | null = null;
  /** What cancelling on the server answered, for the message. */
  cancelNote: string | undefined;
  /** Rejects once the run is stopped; never resolves. */
  readonly stopped: Promise<never>;
  private reject!: (e: Stopped) => void;
  private readonly o: RunControlOptions;
  private timeout: NodeJS.Timeout | undefined;
  private notice: NodeJS.Timeout | undefined;
  private cancelling: Promise<void> | undefined;

  constructor(o: RunControlOptions) {
    this.o = o;
    this.stopped = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    // Only raced against migration code; a rejection nobody awaited must not end the process.
    this.stopped.catch(() => undefined);
  }

  /** Throws when the run was stopped: called before every statement and migration. */
  checkpoint(): void {
    if (this.reason) throw new Stopped(this.reason);
  }

  /** A migration starts: its timeout runs from here. */
  beginMigration(): void {
    this.clearTimers();
    const t = this.o.migrationTimeoutMs ?? 0;
    if (t > 0) this.timeout = setTimeout(() => void this.stop({ kind: 'timeout', ms: t }), t);
  }

  endMigration(): void {
    this.clearTimers();
    this.inFlight = null;
  }

  running(what: InFlight): void {
    this.inFlight = what;
    this.scheduleNotice();
  }

  /** A TypeScript migration's query started or ended (knex events), for notices and the cancel. */
  scriptQuery(sql: string | undefined): void {
    if (this.inFlight?.kind !== 'script') return;
    this.inFlight.query = sql === undefined ? undefined : { sql, since: Date.now() };
  }

  idle(): void {
    this.inFlight = null;
    if (this.notice) clearTimeout(this.notice);
    this.notice = undefined;
  }

  /**
   * Stops the run: cancels what runs on the server and rejects `stopped`. Idempotent; resolves
   * once the cancel was sent (bounded: a server that does not answer is not waited for).
   */
  stop(reason: StopReason): Promise<void> {
    if (!this.reason) {
      this.reason = reason;
      this.clearTimers();
      this.cancelling = this.cancelOnServer();
      this.reject(new Stopped(reason));
    }
    return this.cancelling ?? Promise.resolve();
  }

  close(): void {
    this.clearTimers();
  }

  private clearTimers(): void {
    if (this.timeout) clearTimeout(this.timeout);
    if (this.notice) clearTimeout(this.notice);
    this.timeout = undefined;
    this.notice = undefined;
  }

  private scheduleNotice(): void {
    const every = this.o.noticeEveryMs ?? 30_000;
    if (every <= 0 || this.notice) return;
    const tick = (): void => {
      this.notice = undefined;
      const f = this.inFlight;
      if (!f || this.reason) return;
      this.o.logger.info(stillRunning(f, this.session));
      this.notice = setTimeout(tick, every);
      this.notice.unref();
    };
    this.notice = setTimeout(tick, every);
    this.notice.unref();
  }

  private async cancelOnServer(): Promise<void> {
    const f = this.inFlight;
    // Between statements nothing runs on the server; the checkpoint stops the run there.
    if (!f || this.session === null || (f.kind === 'script' && !f.query)) return;
    const session = this.session;
    const sql = cancelStatementSql(this.o.dialect, session);
    const db = createKnex(this.o.dialect, this.o.connection, { pool: { min: 0, max: 1 }, applicationName: 'migrate-cancel' });
    try {
      await Promise.race([db.raw(sql), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref())]);
      this.cancelNote = `cancelled on the server (${sql})`;
    } catch (e) {
      this.cancelNote = `cancelling it on the server (${sql}) failed: ${messageOf(e)}`;
    } finally {
      void db.destroy().catch(() => undefined);
    }
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** "0002_x: statement 3 of 5 (line 7) still running after 30 s: ALTER TABLE ... (server session 12)" */
export function stillRunning(f: InFlight, session: number | null): string {
  const on = session === null ? '' : ` (server session ${session})`;
  if (f.kind === 'statement') {
    return `${f.migration}: statement ${f.index + 1} of ${f.total} (line ${f.line}) still running after ${seconds(Date.now() - f.since)}${on}: ${statementExcerpt(f.sql, 100)}`;
  }
  const q = f.query
    ? `its query has been running for ${seconds(Date.now() - f.query.since)}${on}: ${statementExcerpt(f.query.sql, 100)}`
    : 'no query of it is running on the server: its code is waiting on something else';
  return `${f.migration} still running after ${seconds(Date.now() - f.since)}; ${q}. Ctrl-C stops it (the run records what ran); --migration-timeout bounds it.`;
}
