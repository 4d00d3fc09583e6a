import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { Dialect } from '../config/types.ts';
import { isMigrateError, MigrateError, messageOf } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { clearBackfillState } from './backfill.ts';
import { runInMigration } from './context.ts';
import type { Ledger } from './ledger.ts';
import type { RunSession } from './lock.ts';
import { dropLeftoverIndexes } from './pg/invalid-index.ts';
import { isLockWaitExhausted } from './pg/retry.ts';
import type { PgLockSafety } from './pg/session.ts';
import { runStatements, StatementError, type MysqlLockRetry } from './sql-exec.ts';
import type { MigrationSource, SqlStatement } from './types.ts';

export type Direction = 'up' | 'down';

export interface ExecContext {
  session: RunSession;
  dialect: Dialect;
  ledger: Ledger;
  /** "dbuser (os: osuser)" */
  who: string;
  host: string;
  logger: Logger;
  /** PostgreSQL: lock_timeout, retries and statement_timeout for this run; absent: statements run as they are. */
  safety?: PgLockSafety;
  /** MySQL/MariaDB: retry statements that gave up on lock_wait_timeout. */
  mysqlLockRetry?: MysqlLockRetry;
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
 * keep; statements run one by one and a failure reports which ones already took effect.
 */
function segmentsOf(statements: readonly SqlStatement[], dialect: Dialect): Segment[] {
  if (dialect === 'mysql') return statements.length ? [{ from: 0, statements: [...statements], transaction: false }] : [];
  const out: Segment[] = [];
  statements.forEach((s, k) => {
    const last = out[out.length - 1];
    const tx = !s.noTransaction;
    if (last && last.transaction && tx) last.statements.push(s);
    else out.push({ from: k, statements: [s], transaction: tx });
  });
  return out;
}

function describeLines(statements: readonly SqlStatement[], indexes: readonly number[]): string {
  return indexes.map((k) => `#${k + 1} (line ${statements[k]?.line ?? '?'})`).join(', ');
}

/**
 * One line of a statement for an error message, so the reader sees which one without opening
 * the file. String literals of statements that set passwords are masked: messages end up in CI logs.
 */
export function statementExcerpt(sql: string, max = 80): string {
  let s = sql.replace(/\s+/g, ' ').trim();
  if (/\b(IDENTIFIED|PASSWORD)\b/i.test(s)) s = s.replace(/'(?:[^'\\]|\\.|'')*'/g, "'***'");
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** A server's message as a sentence, so the text we append after it does not run into it. */
function sentence(msg: string): string {
  const t = msg.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function numbered(indexes: readonly number[]): string {
  return `${indexes.length === 1 ? 'statement' : 'statements'} ${indexes.map((k) => k + 1).join(', ')}`;
}

/** Queries that change something (not reads or session settings), as knex reports them. */
const READ_ONLY = /^\s*(select|show|set|pragma|explain)\b/i;

/**
 * Records the statements a script migration completes on the session, so a failure outside a
 * transaction (or on MySQL, where DDL commits implicitly) can say what already took effect.
 */
function watchQueries(db: Knex): { completed: string[]; stop(): void } {
  const completed: string[] = [];
  const listener = (_response: unknown, query: { sql?: unknown }): void => {
    if (typeof query?.sql === 'string' && !READ_ONLY.test(query.sql)) completed.push(query.sql);
  };
  db.on('query-response', listener);
  return { completed, stop: () => void db.removeListener('query-response', listener) };
}

function listCompleted(completed: readonly string[]): string {
  const shown = completed.slice(0, 5).map((q, k) => `${k + 1}) ${statementExcerpt(q, 100)}`);
  return `${shown.join('; ')}${completed.length > shown.length ? `; and ${completed.length - shown.length} more` : ''}`;
}

/** The line of the migration file in a stack trace, when the error came from it. */
function lineInStack(e: unknown, file: string): number | undefined {
  const stack = e instanceof Error ? e.stack ?? '' : '';
  const name = basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`${name}(?:\\?[^:]*)?:(\\d+):\\d+`).exec(stack);
  return m?.[1] ? Number(m[1]) : undefined;
}

/** Runs one migration in one direction and records it in the ledger (in the same transaction where there is one). */
export async function executeMigration(ctx: ExecContext, m: MigrationSource, direction: Direction): Promise<number> {
  const safety = ctx.dialect === 'postgres' ? ctx.safety : undefined;
  const transactional = m.format === 'ts' ? (m.transactional ?? true) : ctx.dialect === 'postgres' && (m.transactional ?? true);
  return runInMigration(
    { id: m.id, direction, dialect: ctx.dialect, logger: ctx.logger, lockSafety: safety?.retries ? safety.settings : undefined, lockWatch: safety?.lockWatch, transactional },
    () => execute(ctx, safety, m, direction),
  );
}

async function execute(ctx: ExecContext, safety: PgLockSafety | undefined, m: MigrationSource, direction: Direction): Promise<number> {
  await ctx.session.assertHeld();
  const db = ctx.session.db;
  const started = Date.now();
  let ms = 0;
  const record = async (q: Knex): Promise<void> => {
    ms = Date.now() - started;
    if (direction === 'up') {
      await ctx.ledger.insert(q, { id: m.id, checksum: m.checksum, phase: m.phase ?? null, appliedAt: new Date(), appliedBy: ctx.who, host: ctx.host, executionMs: ms });
    } else {
      await ctx.ledger.remove(q, m.id);
    }
    // Backfills resume from this state only while the migration is unrecorded.
    await clearBackfillState(q, m.id);
  };
  const verb = direction === 'up' ? 'applied' : 'reverted';
  const statements = direction === 'up' ? m.upStatements : m.downStatements;
  const file = direction === 'up' || m.format === 'ts' ? m.upPath : m.downPath ?? m.upPath;
  if (safety) await safety.applySession(db);

  if (m.format === 'sql' && statements) {
    const segments = segmentsOf(statements, ctx.dialect);
    const committed: number[] = [];
    try {
      if (segments.length === 0) await record(db);
      for (const [k, seg] of segments.entries()) {
        const last = k === segments.length - 1;
        if (seg.transaction) {
          const label = segments.length === 1 ? m.id : `${m.id} (statements ${seg.from + 1}-${seg.from + seg.statements.length} of ${statements.length})`;
          const attempt = (): Promise<void> =>
            db.transaction(async (trx) => {
              await safety?.applyTransaction(trx);
              await runStatements(trx, ctx.dialect, seg.statements, { offset: seg.from });
              if (last) await record(trx);
            });
          // A lock timeout aborts the transaction: it is rolled back and tried again as a whole.
          await (safety ? safety.run(label, attempt) : attempt());
          seg.statements.forEach((_, j) => committed.push(seg.from + j));
        } else {
          const attempt = async (): Promise<void> => {
            if (safety) {
              // A CONCURRENTLY build that failed (or was killed) left an INVALID index behind.
              for (const [j, st] of seg.statements.entries()) {
                await cleanupLeftovers(db, st, seg.from + j, ctx.logger, `${m.id} (statement ${seg.from + j + 1}, line ${st.line})`);
              }
            }
            await runStatements(db, ctx.dialect, seg.statements, { offset: seg.from, onRan: (i) => committed.push(i), ...(ctx.mysqlLockRetry ? { mysqlLockRetry: ctx.mysqlLockRetry } : {}) });
          };
          // Outside a transaction each statement is retried on its own.
          const first = seg.statements[0];
          await (safety ? safety.run(`${m.id} (statement ${seg.from + 1}, line ${first?.line ?? '?'})`, attempt) : attempt());
          if (last) await record(db);
        }
      }
    } catch (e) {
      throw sqlFailure(ctx, m, direction, file, statements, committed, e);
    }
  } else {
    const fn = direction === 'up' ? m.up : m.down;
    if (!fn) throw new MigrateError('work', `Migration ${m.id} has no ${direction}().`, `Add ${direction}() to ${m.upPath}.`);
    let ran = false;
    const watch = watchQueries(db);
    try {
      if ((m.transactional ?? true)) {
        const attempt = (): Promise<void> =>
          db.transaction(async (trx) => {
            ran = false;
            await safety?.applyTransaction(trx);
            await fn(trx);
            ran = true;
            await record(trx);
          });
        await (safety ? safety.run(m.id, attempt) : attempt());
      } else {
        // Outside a transaction a retry could repeat what the migration already did: a lock
        // timeout is reported with its holder, not retried (backfill() retries its own batches).
        await (safety ? safety.run(m.id, () => fn(db), false) : fn(db));
        ran = true;
        await record(db);
      }
    } catch (e) {
      if (isMigrateError(e)) throw e;
      throw scriptFailure(ctx, m, direction, file, ran, watch.completed, e);
    } finally {
      watch.stop();
    }
  }
  ctx.logger.info(`${verb} ${m.id}${m.phase ? ` [${m.phase}]` : ''} (${ms} ms)`);
  return ms;
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

function sqlFailure(ctx: ExecContext, m: MigrationSource, direction: Direction, file: string, statements: readonly SqlStatement[], committed: readonly number[], e: unknown): MigrateError {
  if (isMigrateError(e)) return e;
  const ledgerNote = direction === 'up' ? 'the ledger records nothing for it' : 'the ledger still lists it as applied';
  const lock = isLockWaitExhausted(e) ? e : undefined;
  if (lock && !(lock.cause instanceof StatementError)) {
    return new MigrateError('work', `Migration ${m.id} (${direction}) ${lock.describe()} ${ledgerNote[0]?.toUpperCase()}${ledgerNote.slice(1)}.`, lock.fix(`migrate ${direction}`), { cause: e });
  }
  if (lock?.cause instanceof StatementError) e = lock.cause;
  if (!(e instanceof StatementError)) {
    // Every statement ran; writing the ledger row failed.
    return new MigrateError(
      'work',
      `Migration ${m.id} ran (${direction}) but recording it in the ledger ${ctx.ledger.table} failed: ${messageOf(e)}`,
      `Check the ledger table; ${direction === 'up' ? `the changes of ${m.id} are in place, so insert its ledger row by hand` : `the changes of ${m.id} are undone, so delete its ledger row by hand`} before running migrate again.`,
      { cause: e },
    );
  }
  const total = statements.length;
  let state: string;
  if (committed.length === 0) {
    state = ctx.dialect === 'postgres'
      ? `Nothing of it was ${direction === 'up' ? 'applied' : 'reverted'} (rolled back); ${ledgerNote}.`
      : `No statement of it had run before; ${ledgerNote}.`;
  } else {
    const why = ctx.dialect === 'mysql' ? 'MySQL/MariaDB commits DDL implicitly, so they were not rolled back' : 'they ran outside the failed transaction and stay in effect';
    // A half-done down is the dangerous case: the schema no longer matches what the ledger says.
    const left = direction === 'up' ? `; ${ledgerNote}` : `: the schema is partly reverted while ${ledgerNote}`;
    state = `Statements ${describeLines(statements, committed)} of ${total} had already run (${why})${left}.`;
  }
  const where = `${basename(file)} line ${e.fileLine} (statement ${e.index + 1} of ${total}) "${statementExcerpt(e.statement.sql)}"`;
  if (lock) {
    return new MigrateError(
      'work',
      `Migration ${m.id} failed (${direction}) at ${where}: it ${lock.describe()} ${state}`,
      lock.fix(`migrate ${direction}`),
      { cause: lock },
    );
  }
  let fix: string;
  if (direction === 'up') {
    fix = committed.length === 0
      ? `Correct the statement at ${file}:${e.fileLine}, then run "migrate up" again.`
      : `Correct the statement at ${file}:${e.fileLine}; undo what ${numbered(committed)} did (or make them safe to repeat), then run "migrate up" again.`;
  } else {
    const repeat = committed.length ? ` (${numbered(committed)} already took effect, so make ${committed.length === 1 ? 'it' : 'them'} safe to run again, e.g. DROP ... IF EXISTS)` : '';
    fix = `Correct the statement at ${file}:${e.fileLine}${repeat}; ${ACK_EDITED(m.id)}, then run "migrate down" again.`;
  }
  return new MigrateError('work', `Migration ${m.id} failed (${direction}) at ${where}: ${sentence(e.serverMessage)} ${state}`, fix + timeoutHint(e), { cause: e });
}

/** The file of an applied migration is checksummed: correcting its down is drift until accepted. */
const ACK_EDITED = (id: string): string => `accept the edited file with "migrate ack-drift ${id}" (it is applied, so an edit counts as drift)`;

/** The statement_timeout guard stopped a statement: say how to give it more time. */
function timeoutHint(e: unknown): string {
  const text = e instanceof StatementError ? e.serverMessage : messageOf(e);
  if (!/canceling statement due to statement timeout/i.test(text)) return '';
  return ' The statement ran longer than the statement_timeout guard: if it may (and the locks it holds meanwhile are acceptable), raise --statement-timeout / MIGRATE_STATEMENT_TIMEOUT, or 0 to leave the server\'s setting.';
}

function scriptFailure(ctx: ExecContext, m: MigrationSource, direction: Direction, file: string, ran: boolean, completed: readonly string[], e: unknown): MigrateError {
  if (isLockWaitExhausted(e) && !ran) {
    const inTx = ctx.dialect === 'postgres' && (m.transactional ?? true);
    const line = lineInStack(e.cause, file);
    return new MigrateError(
      'work',
      `Migration ${m.id} failed (${direction}) in ${line ? `${basename(file)} line ${line}` : basename(file)}: it ${e.describe()} ${inTx ? 'Its transaction was rolled back, nothing of it was applied' : 'It ran outside a transaction: changes it made before failing remain'}; the ledger is unchanged for it.`,
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
      (m.transactional ?? true) ? `Nothing was committed; run "migrate ${direction}" again.` : `Its changes are in place: fix the ledger row of ${m.id} by hand before running migrate again.`,
      { cause: e },
    );
  }
  const rolledBack = ctx.dialect === 'postgres' && (m.transactional ?? true);
  let state: string;
  if (rolledBack) state = `Its transaction was rolled back, nothing of it was ${direction === 'up' ? 'applied' : 'reverted'}`;
  else {
    state = ctx.dialect === 'mysql' ? 'MySQL/MariaDB commits DDL implicitly: schema changes it made before failing remain' : 'It ran outside a transaction: changes it made before failing remain';
    state += completed.length ? ` (statements it had completed: ${listCompleted(completed)})` : ' (it had completed no statement)';
  }
  const ledgerNote = direction === 'up' ? 'the ledger records nothing for it' : 'the ledger still lists it as applied';
  const needsNoTx = /cannot run inside a transaction block/i.test(messageOf(e));
  return new MigrateError(
    'work',
    `Migration ${m.id} failed (${direction}) in ${where}: ${sentence(messageOf(e))} ${state}; ${ledgerNote}.`,
    needsNoTx
      ? `Add \`export const transaction = false\` to ${file} so it runs outside a transaction (then make it safe to re-run, since a failure midway is not rolled back), and run "migrate ${direction}" again.`
      : direction === 'up'
        ? `Fix up() in ${file}${rolledBack || completed.length === 0 ? '' : ' and undo its partial changes'}, then run "migrate up" again.${timeoutHint(e)}`
        : `Fix down() in ${file}${rolledBack || completed.length === 0 ? '' : ' so that it can run again after its partial changes'}; ${ACK_EDITED(m.id)}, then run "migrate down" again.${timeoutHint(e)}`,
    { cause: e },
  );
}
