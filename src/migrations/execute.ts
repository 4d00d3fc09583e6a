import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import { isMigrateError, MigrateError, messageOf } from '../errors.ts';
import type { Logger } from '../log/index.ts';
import { clearBackfillState } from './backfill.ts';
import { runInMigration } from './context.ts';
import { describeReason, formatMs, Stopped, type RunControl, type StopReason } from './control.ts';
import { statementExcerpt } from './excerpt.ts';
import type { Ledger, NewLedgerEntry } from './ledger.ts';
import { closeRunOfLostSession, type LedgerWriter } from './ledger-writer.ts';
import type { RunSession } from '../engines/index.ts';
import { assess, howItEnded, repairChoices, summary, uncertainText, type Assessment } from './partial.ts';
import { dropLeftoverIndexes, isLockWaitExhausted, type PgLockSafety } from '../engines/index.ts';
import { statementsHash, type Direction, type Outcome, type Progress } from './progress.ts';
import {
  BookkeepingError,
  isConnectionLost,
  isTransactionControl,
  LostConnection,
  runStatements,
  runTrackedMysql,
  StatementError,
  type MysqlLockRetry,
} from './sql-exec.ts';
import type { MigrationSource, SqlStatement } from './types.ts';

export type { Direction } from './progress.ts';
export { statementExcerpt } from './excerpt.ts';

export interface ExecContext {
  session: RunSession;
  dialect: Dialect;
  /** The database the migrations run in: our bookkeeping names it, so a migration's `USE` cannot redirect it. */
  database: string;
  /** Read side of the ledger tables, for messages and reading back after a lost connection. */
  ledger: Ledger;
  progress: Progress;
  /** Every write of the ledger tables, on the locked session. */
  writer: LedgerWriter;
  /** "dbuser (os: osuser)" */
  who: string;
  host: string;
  logger: Logger;
  control: RunControl;
  /** A fresh connection once the server answers again (bounded), to read what ran after the session was lost; undefined when it did not answer in time. */
  reconnect: () => Promise<{ db: Knex; afterMs: number } | undefined>;
  /** How long reconnect() waits, for messages. */
  reconnectMs: number;
  /** PostgreSQL: lock_timeout, retries and statement_timeout for this run; absent: statements run as they are. */
  safety?: PgLockSafety;
  /** MySQL/MariaDB: retry statements that gave up on lock_wait_timeout. */
  mysqlLockRetry?: MysqlLockRetry;
}

export interface ExecOptions {
  /** 1-based statement to start from: `repair --continue` of an interrupted run, whose progress row stays. */
  from?: number;
  /** Appended to applied_by, e.g. "(repair --continue)". */
  byNote?: string;
}

interface Segment {
  /** Index in the file of the first statement. */
  from: number;
  statements: SqlStatement[];
  transaction: boolean;
}

/**
 * PostgreSQL runs each migration in one transaction, except statements that refuse to run in
 * one: those run alone, and the statements between them are grouped into transactions.
 * MySQL/MariaDB commits DDL implicitly, so a transaction would promise an atomicity it cannot
 * keep; statements run one by one and each is recorded as it completes.
 */
function segmentsOf(statements: readonly SqlStatement[], dialect: Dialect, offset: number): Segment[] {
  if (!engineFor(dialect).ddlIsTransactional) return statements.length ? [{ from: offset, statements: [...statements], transaction: false }] : [];
  const out: Segment[] = [];
  statements.forEach((s, k) => {
    const last = out[out.length - 1];
    const tx = !s.noTransaction;
    if (last?.transaction && tx) last.statements.push(s);
    else out.push({ from: offset + k, statements: [s], transaction: tx });
  });
  return out;
}

/** "MySQL/MariaDB commits DDL implicitly" where the engine does, for saying why completed statements stay. */
function implicitCommit(ctx: Pick<ExecContext, 'dialect'>): string | undefined {
  const engine = engineFor(ctx.dialect);
  return engine.ddlIsTransactional ? undefined : `${engine.label} commits DDL implicitly`;
}

/** A server's message as a sentence, so the text we append after it does not run into it. */
function sentence(msg: string): string {
  const t = msg.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** Queries that change something (not reads or session settings), as knex reports them. */
const READ_ONLY = /^\s*(select|show|set|pragma|explain)\b/i;

/**
 * Records the statements a script migration completes on the session, so a failure outside a
 * transaction (or on MySQL, where DDL commits implicitly) can say what already took effect, and
 * tells the run control which query is running (for notices and the cancel).
 */
function watchQueries(db: Knex, control: RunControl): { completed: string[]; stop(): void } {
  const completed: string[] = [];
  const onQuery = (q: { sql?: unknown }): void => control.scriptQuery(typeof q?.sql === 'string' ? q.sql : '?');
  const onEnd = (): void => control.scriptQuery(undefined);
  const onResponse = (_response: unknown, query: { sql?: unknown }): void => {
    onEnd();
    if (typeof query?.sql === 'string' && !READ_ONLY.test(query.sql)) completed.push(query.sql);
  };
  db.on('query', onQuery);
  db.on('query-response', onResponse);
  db.on('query-error', onEnd);
  return {
    completed,
    stop: () => {
      db.removeListener('query', onQuery);
      db.removeListener('query-response', onResponse);
      db.removeListener('query-error', onEnd);
    },
  };
}

function listCompleted(completed: readonly string[]): string {
  const shown = completed.slice(0, 5).map((q, k) => `${k + 1}) ${statementExcerpt(q, 100)}`);
  return `${shown.join('; ')}${completed.length > shown.length ? `; and ${completed.length - shown.length} more` : ''}`;
}

/** The line of the migration file in a stack trace, when the error came from it. */
function lineInStack(e: unknown, file: string): number | undefined {
  const stack = e instanceof Error ? (e.stack ?? '') : '';
  const name = basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${name}(?:\\?[^:]*)?:(\\d+):\\d+`).exec(stack);
  return m?.[1] ? Number(m[1]) : undefined;
}

/** Awaits migration code unless the run is stopped first; the abandoned promise can no longer end the process. */
async function raced<T>(p: Promise<T>, control: RunControl): Promise<T> {
  p.catch(() => undefined);
  return Promise.race([p, control.stopped]);
}

/** Runs one migration in one direction and records it in the ledger (in the same transaction or round trip as its last statement). */
export async function executeMigration(ctx: ExecContext, m: MigrationSource, direction: Direction, opts: ExecOptions = {}): Promise<number> {
  // Only an engine with a lock_timeout guard opens one (runner.ts).
  const safety = ctx.safety;
  const transactional = m.format === 'ts' ? (m.transactional ?? true) : engineFor(ctx.dialect).ddlIsTransactional && (m.transactional ?? true);
  return runInMigration(
    {
      id: m.id,
      direction,
      dialect: ctx.dialect,
      logger: ctx.logger,
      lockSafety: safety?.retries ? safety.settings : undefined,
      lockWatch: safety?.lockWatch,
      transactional,
    },
    async () => {
      ctx.control.checkpoint();
      ctx.control.beginMigration();
      try {
        return await execute(ctx, safety, m, direction, opts);
      } finally {
        ctx.control.endMigration();
      }
    },
  );
}

async function execute(ctx: ExecContext, safety: PgLockSafety | undefined, m: MigrationSource, direction: Direction, opts: ExecOptions): Promise<number> {
  await ctx.session.assertHeld();
  const db = ctx.session.db;
  const started = Date.now();
  const statements = direction === 'up' ? m.upStatements : m.downStatements;
  const file = direction === 'up' || m.format === 'ts' ? m.upPath : (m.downPath ?? m.upPath);
  if (safety) await safety.applySession(db);
  /** The ledger change that ends the migration, with the progress row's removal, in one transaction. */
  const finish = async (trx: Knex): Promise<void> => {
    if (direction === 'up') {
      await ctx.writer.record(appliedEntry(ctx, m, opts, started), trx);
    } else {
      await ctx.writer.forget(m.id, trx);
    }
    await ctx.writer.clearRun(m.id, trx);
    // Backfills resume from this state only while the migration is unrecorded.
    await clearBackfillState(trx, m.id);
  };
  if (m.format === 'sql' && statements) await runSql(ctx, safety, m, direction, statements, file, opts, finish, started);
  else await runScript(ctx, safety, m, direction, file, finish);
  const ms = Date.now() - started;
  ctx.logger.info(
    `${direction === 'up' ? 'applied' : 'reverted'} ${m.id}${m.phase ? ` [${m.phase}]` : ''}${opts.from ? ` from statement ${opts.from}` : ''} (${ms} ms)`,
  );
  return ms;
}

/** Which statement is in flight (0-based) and how many completed, for the failure report. */
interface Tracker {
  done: number;
  current: number | null;
}

/** The progress row a SQL migration starts with, or, continuing (`from`), where it goes on from. */
async function recordSqlStart(
  ctx: ExecContext,
  m: MigrationSource,
  direction: Direction,
  total: number,
  from: number | undefined,
  hash: (n: number) => string,
): Promise<void> {
  if (from === undefined) {
    await ctx.writer.startRun({
      id: m.id,
      direction,
      checksum: m.checksum,
      format: 'sql',
      total,
      transactional: false,
      host: ctx.host,
      pid: process.pid,
      runBy: ctx.who,
      session: ctx.control.session,
    });
  } else if (from > 0) {
    // repair --continue past a statement the server showed had run: recorded before going on.
    await ctx.writer.markDone(m.id, from, hash(from));
  }
}

async function runSql(
  ctx: ExecContext,
  safety: PgLockSafety | undefined,
  m: MigrationSource,
  direction: Direction,
  statements: readonly SqlStatement[],
  file: string,
  opts: ExecOptions,
  finish: (trx: Knex) => Promise<void>,
  started: number,
): Promise<void> {
  const db = ctx.session.db;
  const total = statements.length;
  const from = Math.max(0, (opts.from ?? 1) - 1);
  const t: Tracker = { done: from, current: null };
  const hash = (n: number): string => statementsHash(statements.slice(0, n).map((s) => s.sql));
  const running = (i: number): void => {
    const s = statements[i];
    t.current = i;
    if (s) ctx.control.running({ kind: 'statement', migration: m.id, index: i, total, line: s.line, sql: s.sql, since: Date.now() });
  };
  try {
    await recordSqlStart(ctx, m, direction, total, opts.from === undefined ? undefined : from, hash);
    if (total === 0 || from >= total) {
      await db.transaction((trx) => finish(trx));
      return;
    }
    await noteOwnTransactionControl(ctx, m, statements);
    for (const seg of segmentsOf(statements.slice(from), ctx.dialect, from)) {
      const end = seg.from + seg.statements.length;
      if (seg.transaction) {
        ctx.control.checkpoint();
        const label = seg.from === 0 && end === total ? m.id : `${m.id} (statements ${seg.from + 1}-${end} of ${total})`;
        const attempt = (): Promise<void> =>
          db.transaction(async (trx) => {
            await safety?.applyTransaction(trx);
            await runStatements(trx, ctx.dialect, seg.statements, { offset: seg.from, onStart: running, inTransaction: true });
            ctx.control.idle();
            t.current = null;
            // The count of statements done commits with them, or not at all.
            if (end === total) await finish(trx);
            else await ctx.writer.markDone(m.id, end, hash(end), trx);
          });
        // A lock timeout aborts the transaction: it is rolled back and tried again as a whole.
        await (safety ? safety.run(label, attempt) : attempt());
        t.done = end;
        continue;
      }
      for (const [j, st] of seg.statements.entries()) {
        const i = seg.from + j;
        ctx.control.checkpoint();
        running(i);
        await runTracked(ctx, safety, m, st, i, i === total - 1, {
          hash,
          finish,
          ending: () => (direction === 'up' ? appliedEntry(ctx, m, opts, started) : undefined),
        });
        ctx.control.idle();
        t.current = null;
        t.done = i + 1;
      }
    }
  } catch (e) {
    ctx.control.idle();
    throw await sqlFailure(ctx, m, direction, file, statements, t, e);
  }
}

/** Says which of the file's own BEGIN/COMMIT the runner does not send, since it runs the file in its own transaction. */
async function noteOwnTransactionControl(ctx: ExecContext, m: MigrationSource, statements: readonly SqlStatement[]): Promise<void> {
  const engine = engineFor(ctx.dialect);
  if (!engine.ddlIsTransactional) return;
  await engine.sqlGrammar?.load();
  const own = statements.filter((s) => !s.noTransaction && isTransactionControl(s.sql, ctx.dialect));
  if (!own.length) return;
  ctx.logger.info(
    `${m.id}: its own ${own.map((s) => `${s.sql.trim().split(/\s+/)[0]!.toUpperCase()} (line ${s.line})`).join(', ')} not sent: the runner already runs the file in one transaction, so a failure rolls all of it back.`,
  );
}

/** What a statement outside a transaction records around it. */
interface Tracking {
  /** sha256 over statements 1..n. */
  hash: (n: number) => string;
  /** The ledger change that ends the migration, in a transaction (PostgreSQL). */
  finish: (trx: Knex) => Promise<void>;
  /** The ledger row an up records (undefined: a down, whose row is removed). */
  ending: () => NewLedgerEntry | undefined;
}

/**
 * One statement outside a transaction, its progress recorded before and after it: on MySQL in
 * the same round trip as the statement (the last one's with the ledger change), on PostgreSQL
 * in statements of their own.
 */
async function runTracked(
  ctx: ExecContext,
  safety: PgLockSafety | undefined,
  m: MigrationSource,
  st: SqlStatement,
  i: number,
  last: boolean,
  k: Tracking,
): Promise<void> {
  const db = ctx.session.db;
  if (engineFor(ctx.dialect).migrations.tracksInStatementRoundTrip) {
    const after = last ? ctx.writer.finishSql(m.id, k.ending(), ctx.database) : ctx.writer.doneSql(m.id, i + 1, k.hash(i + 1), ctx.database);
    await runTrackedMysql(db, st, i, ctx.writer.startedSql(m.id, i + 1, ctx.database), after, ctx.mysqlLockRetry);
    return;
  }
  await bookkeeping(() => ctx.writer.markStarted(m.id, i + 1), false);
  const attempt = async (): Promise<void> => {
    // A CONCURRENTLY build that failed (or was killed) left an INVALID index behind.
    if (safety) await cleanupLeftovers(db, st, i, ctx.logger, `${m.id} (statement ${i + 1}, line ${st.line})`);
    await runStatements(db, ctx.dialect, [st], { offset: i });
  };
  await (safety ? safety.run(`${m.id} (statement ${i + 1}, line ${st.line})`, attempt) : attempt());
  await bookkeeping(() => (last ? db.transaction((trx) => k.finish(trx)) : ctx.writer.markDone(m.id, i + 1, k.hash(i + 1))), true);
}

/** The ledger row of a migration applied now. */
function appliedEntry(ctx: ExecContext, m: MigrationSource, opts: ExecOptions, started: number): NewLedgerEntry {
  return {
    id: m.id,
    checksum: m.checksum,
    phase: m.phase ?? null,
    appliedAt: new Date(),
    appliedBy: `${ctx.who}${opts.byNote ? ` ${opts.byNote}` : ''}`,
    host: ctx.host,
    executionMs: Date.now() - started,
  };
}

async function bookkeeping<T>(fn: () => Promise<T>, ran: boolean): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw new BookkeepingError(e, ran);
  }
}

/** Drops INVALID leftovers of an earlier try of a CONCURRENTLY statement; failures point at the statement. */
async function cleanupLeftovers(db: Knex, st: SqlStatement, index: number, logger: Logger, label: string): Promise<void> {
  try {
    await dropLeftoverIndexes(db, st.sql, logger, label);
  } catch (e) {
    if (isMigrateError(e)) throw e;
    throw new StatementError(st, index, e);
  }
}

function outcomeOf(stop: StopReason | null): Outcome {
  if (!stop) return 'failed';
  return stop.kind === 'timeout' ? 'timeout' : 'interrupted';
}

/** Exit code of a run stopped by a signal: 128 + the signal's number, as a shell reports it. */
function stopExit(stop: StopReason): number | undefined {
  if (stop.kind !== 'signal') return undefined;
  return stop.signal === 'SIGTERM' ? 143 : 130;
}

/** The cause chain's first StatementError (lock retries wrap it). */
function statementErrorIn(e: unknown): StatementError | undefined {
  for (let x: unknown = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (x instanceof StatementError) return x;
  }
  return undefined;
}

function lostIn(e: unknown): boolean {
  if (e instanceof LostConnection) return true;
  for (let x: unknown = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (isConnectionLost(x)) return true;
  }
  return false;
}

/**
 * A BookkeepingError: the statement completed and only its record failed (record it now, or leave
 * it marked as sent, uncertain, if that fails too: `status` then asks the server), or recording
 * its start failed and it was not sent.
 */
async function afterBookkeepingError(
  ctx: ExecContext,
  m: MigrationSource,
  statements: readonly SqlStatement[],
  t: Tracker,
  e: unknown,
): Promise<{ current: number | null; bookkeepingNote: string }> {
  let current: number | null = null;
  let bookkeepingNote = '';
  if (e instanceof BookkeepingError && e.ran && t.current !== null) {
    try {
      await ctx.writer.markDone(m.id, t.current + 1, statementsHash(statements.slice(0, t.current + 1).map((s) => s.sql)));
    } catch {
      current = t.current + 1;
    }
    bookkeepingNote = ` Statement ${t.current + 1} ran, but recording it failed: ${e.message}`;
  } else if (e instanceof BookkeepingError) {
    bookkeepingNote = ` Recording statement ${(t.current ?? 0) + 1} as started failed (${e.message}), so it was not sent.`;
  }
  return { current, bookkeepingNote };
}

/** What the failed migration left behind, and what the ledger says of it; `a` when some of it stays. */
function failureState(ctx: ExecContext, m: MigrationSource, direction: Direction, statements: readonly SqlStatement[], a: Assessment | undefined): string {
  const total = statements.length;
  const ledgerNote = direction === 'up' ? 'the ledger records nothing for it' : 'the ledger still lists it as applied';
  if (!a) {
    return engineFor(ctx.dialect).ddlIsTransactional
      ? `Nothing of it was ${direction === 'up' ? 'applied' : 'reverted'} (rolled back); ${ledgerNote}.`
      : `No statement of it had run; ${ledgerNote}.`;
  }
  const implicit = implicitCommit(ctx);
  const why = implicit ? `${implicit}, so they were not rolled back` : 'they ran outside the failed transaction and stay in effect';
  const ran = a.ran;
  const list = statements
    .slice(0, ran)
    .map((s, k) => `#${k + 1} (line ${s.line})`)
    .join(', ');
  const u = uncertainText(a);
  const ledger = direction === 'up' ? `the ledger records ${m.id} as ${summary(a)}` : `the ledger still lists it as applied and records it as ${summary(a)}`;
  return `Statements ${list} of ${total} had already run (${why}); ${ledger}.${u ? ` ${u[0]?.toUpperCase()}${u.slice(1)}.` : ''}`;
}

/** Where in the file the migration failed: the statement the server refused, the one running, or the next. */
function failurePlace(file: string, statements: readonly SqlStatement[], t: Tracker, at: StatementError | undefined): string {
  const total = statements.length;
  return at
    ? `${basename(file)} line ${at.fileLine} (statement ${at.index + 1} of ${total}) "${statementExcerpt(at.statement.sql)}"`
    : t.current !== null
      ? `${basename(file)} line ${statements[t.current]?.line ?? '?'} (statement ${t.current + 1} of ${total})`
      : `${basename(file)}, before statement ${t.done + 1} of ${total}`;
}

/**
 * After a failure of a SQL migration: records how it ended, then reads back what the ledger
 * holds, so the message says what the database recorded rather than what the error suggests.
 */
async function sqlFailure(
  ctx: ExecContext,
  m: MigrationSource,
  direction: Direction,
  file: string,
  statements: readonly SqlStatement[],
  t: Tracker,
  e: unknown,
): Promise<MigrateError> {
  if (lostIn(e)) return lostConnectionFailure(ctx, m, direction, file, statements, t, e);
  if (isMigrateError(e) && !isLockWaitExhausted(e) && e.kind === 'lock') return e;
  const stop = e instanceof Stopped ? e.reason : ctx.control.reason;
  const db = ctx.session.db;
  const { current, bookkeepingNote } = await afterBookkeepingError(ctx, m, statements, t, e);
  const se = statementErrorIn(e);
  const note = stop
    ? `${describeReason(stop)}${ctx.control.cancelNote ? `; statement ${(t.current ?? t.done) + 1} ${ctx.control.cancelNote}` : ''}`
    : se
      ? se.serverMessage
      : messageOf(e);
  let a: Assessment | undefined;
  try {
    await ctx.writer.endRun(m.id, outcomeOf(stop), note, current);
    const row = await ctx.progress.get(db, m.id);
    a = row ? await assess(db, ctx.dialect, row, m) : undefined;
    if (a && a.stays === 'nothing') {
      await ctx.writer.clearRun(m.id);
    }
  } catch (e2) {
    if (lostIn(e2)) return lostConnectionFailure(ctx, m, direction, file, statements, t, e2);
    return new MigrateError(
      'work',
      `Migration ${m.id} failed (${direction}): ${messageOf(e)} Recording the failure in ${ctx.progress.table} failed too: ${messageOf(e2)}`,
      `Run "migrate status": it reads from the ledger what ran.`,
      { cause: e },
    );
  }
  const kept = a && a.stays !== 'nothing';
  const state = failureState(ctx, m, direction, statements, kept ? a : undefined);
  const where = failurePlace(file, statements, t, se ?? undefined);
  if (stop) {
    const cancelled = ctx.control.cancelNote ? ` The statement running then was ${ctx.control.cancelNote}.` : '';
    return new MigrateError(
      'work',
      `Migration ${m.id} ${describeReason(stop)} (${direction}) at ${where}.${cancelled} ${state}`,
      kept
        ? repairChoices(a!)
        : `Run "migrate ${direction}" again when ready${stop.kind === 'timeout' ? ' (with a larger --migration-timeout, or 0 for none, if it needs longer)' : ''}.`,
      { cause: e, ...(stopExit(stop) ? { exitCode: stopExit(stop) } : {}) },
    );
  }
  const lock = isLockWaitExhausted(e) ? e : undefined;
  if (lock && !se) {
    return new MigrateError('work', `Migration ${m.id} (${direction}) ${lock.describe()} ${state}`, lock.fix(`migrate ${direction}`), { cause: e });
  }
  if (lock)
    return new MigrateError(
      'work',
      `Migration ${m.id} failed (${direction}) at ${where}: it ${lock.describe()} ${state}`,
      kept ? repairChoices(a!) : lock.fix(`migrate ${direction}`),
      { cause: lock },
    );
  // migrate's own refusal before the statement was sent (an INVALID index being built): its fix, not "check the ledger".
  if (!se && isMigrateError(e)) return e;
  if (!se) {
    return new MigrateError(
      'work',
      `Migration ${m.id} failed (${direction}) at ${where}.${bookkeepingNote} ${state}`,
      kept ? repairChoices(a!) : `Check the ledger tables (${ctx.ledger.table}, ${ctx.progress.table}), then run "migrate ${direction}" again.`,
      { cause: e },
    );
  }
  let fix: string;
  if (kept) fix = repairChoices(a!);
  else if (direction === 'up') fix = `Correct the statement at ${file}:${se.fileLine}, then run "migrate up" again.`;
  else fix = `Correct the statement at ${file}:${se.fileLine}; ${ACK_EDITED(m.id)}, then run "migrate down" again.`;
  return new MigrateError('work', `Migration ${m.id} failed (${direction}) at ${where}: ${sentence(se.serverMessage)} ${state}`, fix + timeoutHint(se), {
    cause: e,
  });
}

/**
 * The session broke: nothing is said about what ran until the server answers again and the
 * ledger is read (PostgreSQL: whether the transaction committed, its ledger row being part of it;
 * MySQL/MariaDB: the statement count, and the server's view of the statement in flight).
 */
async function lostConnectionFailure(
  ctx: ExecContext,
  m: MigrationSource,
  direction: Direction,
  file: string,
  statements: readonly SqlStatement[] | undefined,
  t: Tracker,
  e: unknown,
): Promise<MigrateError> {
  const total = statements?.length;
  const inFlight = t.current !== null && statements ? ` statement ${t.current + 1} of ${total} (${basename(file)}:${statements[t.current]?.line ?? '?'})` : '';
  const head = `The connection to the server was lost while ${m.id} ran (${direction})${inFlight ? ` at${inFlight}` : ''}: ${sentence(messageOf(e))}`;
  const back = await ctx.reconnect();
  if (!back) {
    return new MigrateError(
      'work',
      `${head} The server did not answer again within ${formatMs(ctx.reconnectMs)}, so what ran is not known yet; the ledger holds the answer.`,
      'Once the server answers again, run "migrate status": it reads from the ledger which statements completed, and asks the server about the one in flight.',
      { cause: e },
    );
  }
  const { db, afterMs } = back;
  try {
    const readBack = `The server answered again after ${formatMs(afterMs)}; read back from the ledger:`;
    const applied = (await ctx.ledger.exists(db)) && (await ctx.ledger.has(db, m.id));
    const row = await ctx.progress.get(db, m.id);
    const mine = row && row.session === ctx.control.session;
    if (!row || !mine) {
      const done = direction === 'up' ? applied : !applied;
      return new MigrateError(
        'work',
        done
          ? `${head} ${readBack} ${m.id} is ${direction === 'up' ? 'applied' : 'reverted'}: its last statement and the ledger change committed before the connection was lost. The run stopped there.`
          : `${head} ${readBack} nothing of ${m.id} stays (${engineFor(ctx.dialect).ddlIsTransactional ? 'its transaction did not commit' : 'no statement of it had completed'}); ${direction === 'up' ? 'the ledger records nothing for it' : 'the ledger still lists it as applied'}.`,
        `Run "migrate ${direction}" again${done ? ' for the rest' : ''} once the server is stable.`,
        { cause: e },
      );
    }
    const a = await assess(db, ctx.dialect, row, m);
    // Our session is gone, and with it the run lock: only our own row is touched, by session id.
    await closeRunOfLostSession(db, { dialect: ctx.dialect, ledgerTable: ctx.ledger.table }, m.id, row.session, messageOf(e), a.stays === 'nothing');
    if (a.stays === 'nothing') {
      const why =
        engineFor(ctx.dialect).ddlIsTransactional && (m.format === 'ts' || row.current === null)
          ? 'its transaction did not commit'
          : 'no statement of it had completed';
      return new MigrateError(
        'work',
        `${head} ${readBack} nothing of ${m.id} stays (${why}${a.uncertain ? `; ${uncertainText(a)}` : ''}); ${direction === 'up' ? 'the ledger records nothing for it' : 'the ledger still lists it as applied'}.`,
        `Run "migrate ${direction}" again once the server is stable.`,
        { cause: e },
      );
    }
    const u = uncertainText(a);
    return new MigrateError('work', `${head} ${readBack} ${m.id} is ${summary(a)}.${u ? ` ${u[0]?.toUpperCase()}${u.slice(1)}.` : ''}`, repairChoices(a), {
      cause: e,
    });
  } catch (e2) {
    return new MigrateError(
      'work',
      `${head} Reading the ledger after reconnecting failed: ${messageOf(e2)}.`,
      'Run "migrate status" once the server is stable: it reads from the ledger what ran.',
      { cause: e },
    );
  } finally {
    await db.destroy().catch(() => undefined);
  }
}

/** The file of an applied migration is checksummed: correcting its down is drift until accepted. */
const ACK_EDITED = (id: string): string => `accept the edited file with "migrate ack-drift ${id}" (it is applied, so an edit counts as drift)`;

/** The statement_timeout guard stopped a statement: say how to give it more time. */
function timeoutHint(e: unknown): string {
  const text = e instanceof StatementError ? e.serverMessage : messageOf(e);
  if (!/canceling statement due to statement timeout/i.test(text)) return '';
  return " The statement ran longer than the statement_timeout guard: if it may (and the locks it holds meanwhile are acceptable), raise --statement-timeout / MIGRATE_STATEMENT_TIMEOUT, or 0 to leave the server's setting.";
}

async function runScript(
  ctx: ExecContext,
  safety: PgLockSafety | undefined,
  m: MigrationSource,
  direction: Direction,
  file: string,
  finish: (trx: Knex) => Promise<void>,
): Promise<void> {
  const db = ctx.session.db;
  const fn = direction === 'up' ? m.up : m.down;
  if (!fn) throw new MigrateError('work', `Migration ${m.id} has no ${direction}().`, `Add ${direction}() to ${m.upPath}.`);
  const transactional = m.transactional ?? true;
  const inTx = engineFor(ctx.dialect).ddlIsTransactional && transactional;
  let ran = false;
  await ctx.writer.startRun({
    id: m.id,
    direction,
    checksum: m.checksum,
    format: 'ts',
    total: null,
    transactional: inTx,
    host: ctx.host,
    pid: process.pid,
    runBy: ctx.who,
    session: ctx.control.session,
  });
  const watch = watchQueries(db, ctx.control);
  ctx.control.running({ kind: 'script', migration: m.id, since: Date.now() });
  try {
    if (transactional) {
      const attempt = (): Promise<void> =>
        db.transaction(async (trx) => {
          ran = false;
          await safety?.applyTransaction(trx);
          await raced(fn(trx), ctx.control);
          ran = true;
          ctx.control.idle();
          await finish(trx);
        });
      await (safety ? safety.run(m.id, attempt) : attempt());
    } else {
      // Outside a transaction a retry could repeat what the migration already did: a lock
      // timeout is reported with its holder, not retried (backfill() retries its own batches).
      await raced(safety ? safety.run(m.id, () => fn(db), false) : fn(db), ctx.control);
      ran = true;
      ctx.control.idle();
      await db.transaction((trx) => finish(trx));
    }
  } catch (e) {
    ctx.control.idle();
    // Our own bookkeeping after the failure must not count as the migration's queries.
    watch.stop();
    throw await scriptFailure(ctx, m, direction, file, ran, [...watch.completed], inTx, e);
  } finally {
    watch.stop();
  }
}

/** A script migration stopped by migrate itself (a signal, --migration-timeout): what stays, and what to do next. */
function stoppedScriptFailure(
  ctx: ExecContext,
  m: MigrationSource,
  direction: Direction,
  file: string,
  stop: StopReason,
  e: unknown,
  o: { rolledBack: boolean; completed: readonly string[]; nothing: boolean; resumable: string | undefined; ledgerNote: string; partialNote: string },
): MigrateError {
  const { rolledBack, completed, nothing, resumable, ledgerNote, partialNote } = o;
  const q = ctx.control.cancelNote
    ? `its query then running was ${ctx.control.cancelNote}`
    : 'no query of it was running on the server (its code was waiting on something else)';
  const state = rolledBack
    ? `Its transaction was rolled back: nothing of it was ${direction === 'up' ? 'applied' : 'reverted'}; ${ledgerNote}.`
    : completed.length === 0
      ? `It had completed no statement; ${ledgerNote}.`
      : `${implicitCommit(ctx) ?? 'It ran outside a transaction'}: what it did before stays (statements it had completed: ${listCompleted(completed)}).${partialNote}`;
  const fix =
    nothing || resumable
      ? `Run "migrate ${direction}" again when ready${stop.kind === 'timeout' ? ` (with a larger --migration-timeout, or 0 for none, if it needs longer; a promise that never settles is a bug in ${basename(file)})` : ''}.`
      : `Make ${direction}() safe to run again over what it already did, then "migrate repair ${m.id} --continue" runs it again; or finish or undo it by hand and record that with "migrate repair ${m.id} --mark-applied" or "migrate repair ${m.id} --forget".`;
  return new MigrateError('work', `Migration ${m.id} ${describeReason(stop)} (${direction}, ${basename(file)}): ${q}. ${state}`, fix, {
    cause: e,
    ...(stopExit(stop) ? { exitCode: stopExit(stop) } : {}),
  });
}

/** What a script that failed outside a transaction left, by how many of its statements had completed. */
function outsideTransactionState(ctx: ExecContext, completed: readonly string[]): string {
  const implicit = implicitCommit(ctx);
  // With no statement completed there is nothing to keep: saying changes "remain" would contradict the count.
  if (!completed.length) return 'It had completed no statement before the one that failed, so none of its changes remain';
  return `${implicit ? `${implicit}: schema changes it made before failing remain` : 'It ran outside a transaction: changes it made before failing remain'} (statements it had completed: ${listCompleted(completed)})`;
}

async function scriptFailure(
  ctx: ExecContext,
  m: MigrationSource,
  direction: Direction,
  file: string,
  ran: boolean,
  completed: readonly string[],
  inTx: boolean,
  e: unknown,
): Promise<MigrateError> {
  if (lostIn(e)) return lostConnectionFailure(ctx, m, direction, file, undefined, { done: 0, current: null }, e);
  const stop = e instanceof Stopped ? e.reason : ctx.control.reason;
  const rolledBack = inTx;
  const db = ctx.session.db;
  // What stays is known only for a transaction (nothing) or a run that completed no query (nothing).
  const nothing = rolledBack || (completed.length === 0 && !ran);
  let resumable: string | undefined;
  try {
    if (nothing) await ctx.writer.clearRun(m.id);
    else {
      const what = ran ? `${direction}() completed; recording it in the ledger failed` : `queries it had completed: ${listCompleted(completed)}`;
      await ctx.writer.endRun(m.id, outcomeOf(stop), what, undefined);
      const row = await ctx.progress.get(db, m.id);
      const a = row && !ran ? await assess(db, ctx.dialect, row, m) : undefined;
      if (a?.stays === 'resumable') resumable = a.backfill;
    }
  } catch (e2) {
    if (lostIn(e2)) return lostConnectionFailure(ctx, m, direction, file, undefined, { done: 0, current: null }, e2);
  }
  const ledgerNote = direction === 'up' ? 'the ledger records nothing for it' : 'the ledger still lists it as applied';
  const partialNote = nothing
    ? ''
    : resumable
      ? ` Its backfill recorded ${resumable}: running it again continues from there.`
      : ` The ledger records ${m.id} as interrupted (run "migrate status").`;
  if (stop) return stoppedScriptFailure(ctx, m, direction, file, stop, e, { rolledBack, completed, nothing, resumable, ledgerNote, partialNote });
  if (isLockWaitExhausted(e) && !ran) {
    const line = lineInStack(e.cause, file);
    return new MigrateError(
      'work',
      `Migration ${m.id} failed (${direction}) in ${line ? `${basename(file)} line ${line}` : basename(file)}: it ${e.describe()} ${inTx ? 'Its transaction was rolled back, nothing of it was applied' : outsideTransactionState(ctx, completed)}; the ledger is unchanged for it.`,
      e.fix(`migrate ${direction}`),
      { cause: e },
    );
  }
  const line = lineInStack(e, file);
  const where = line ? `${basename(file)} line ${line}` : basename(file);
  if (ran) {
    return new MigrateError(
      'work',
      `Migration ${m.id} ran (${direction}) but recording it in the ledger ${ctx.ledger.table} failed: ${messageOf(e)}`,
      rolledBack
        ? `Nothing was committed; run "migrate ${direction}" again.`
        : `Its changes are in place: record that with "migrate repair ${m.id} --mark-applied"${direction === 'down' ? ' (or --forget if the revert is complete)' : ''}.`,
      { cause: e },
    );
  }
  let state: string;
  if (rolledBack) state = `Its transaction was rolled back, nothing of it was ${direction === 'up' ? 'applied' : 'reverted'}`;
  else state = outsideTransactionState(ctx, completed);
  const needsNoTx = /cannot run inside a transaction block/i.test(messageOf(e));
  // migrate's own refusal from inside the script (a backfill's): its problem, and its fix first.
  const own = isMigrateError(e) ? e : undefined;
  return new MigrateError(
    'work',
    `Migration ${m.id} failed (${direction}) in ${where}: ${sentence(own ? own.problem : messageOf(e))} ${state}; ${ledgerNote}.${partialNote}`,
    (own ? `${own.fix} ` : '') +
      (needsNoTx
        ? `Add \`export const transaction = false\` to ${file} so it runs outside a transaction (then make it safe to re-run, since a failure midway is not rolled back), and run "migrate ${direction}" again.`
        : nothing || resumable
          ? direction === 'up'
            ? `Fix up() in ${file}, then run "migrate up" again.${timeoutHint(e)}`
            : `Fix down() in ${file}; ${ACK_EDITED(m.id)}, then run "migrate down" again.${timeoutHint(e)}`
          : `Fix ${direction}() in ${file} so that it can run again after its partial changes, then run it again with "migrate repair ${m.id} --continue"; or finish or undo them by hand and record that with "migrate repair ${m.id} --mark-applied" or "migrate repair ${m.id} --forget".${timeoutHint(e)}`),
    { cause: e },
  );
}

export { howItEnded };
