import type { Knex } from 'knex';
import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import type { SqlStatement } from './types.ts';

/** A statement the server rejected, with where it is in the file. */
export class StatementError extends Error {
  readonly statement: SqlStatement;
  /** 0-based position of the statement in its file. */
  readonly index: number;
  /** The line of the file the server's complaint points at (falls back to the statement's). */
  readonly fileLine: number;
  readonly serverMessage: string;
  readonly code: string | undefined;

  constructor(statement: SqlStatement, index: number, cause: unknown) {
    const info = driverErrorInfo(cause);
    super(info.message, { cause });
    this.name = 'StatementError';
    this.statement = statement;
    this.index = index;
    this.serverMessage = info.message;
    this.code = info.code;
    this.fileLine = statement.line + lineOffsetOfError(statement.sql, info);
  }
}

interface DriverErrorInfo {
  message: string;
  code: string | undefined;
  /** PostgreSQL: 1-based character position in the statement. */
  position: number | undefined;
}

function driverErrorInfo(e: unknown): DriverErrorInfo {
  if (typeof e !== 'object' || e === null) return { message: String(e), code: undefined, position: undefined };
  const r = e as Record<string, unknown>;
  const message = typeof r['sqlMessage'] === 'string' ? r['sqlMessage'] : typeof r['message'] === 'string' ? r['message'] : String(e);
  const code = typeof r['code'] === 'string' ? r['code'] : undefined;
  const pos = typeof r['position'] === 'string' ? Number(r['position']) : typeof r['position'] === 'number' ? r['position'] : undefined;
  return { message, code, position: pos !== undefined && Number.isFinite(pos) ? pos : undefined };
}

/** How many lines into the statement the server says the error is. */
function lineOffsetOfError(sql: string, info: DriverErrorInfo): number {
  if (info.position !== undefined && info.position > 0) {
    return (sql.slice(0, info.position - 1).match(/\n/g) ?? []).length;
  }
  // MySQL/MariaDB parse errors end with "... near '...' at line N" (N counts within the statement).
  const m = /at line (\d+)\s*$/.exec(info.message);
  if (m?.[1]) return Math.max(0, Number(m[1]) - 1);
  return 0;
}

type NativeQuery = (sql: string) => Promise<void>;

/**
 * A file's own BEGIN / START TRANSACTION / COMMIT / END (golang-migrate and psql-style files wrap
 * themselves). Sent inside the runner's transaction, the COMMIT would end it early: what follows a
 * failure would no longer be rolled back, though the runner reports the file as one transaction.
 * Where the engine has its server's grammar (PostgreSQL; load it first), its parse tree says so:
 * a TransactionStmt opening or committing a block (COMMIT AND CHAIN too), never a savepoint, a
 * two-phase PREPARE/COMMIT PREPARED, or text the grammar refuses (the server reports that one).
 * A file's own ROLLBACK/ABORT is not skipped (as before): the runner's transaction would then
 * commit what the file meant to discard.
 */
const TRANSACTION_CONTROL =
  /^\s*(?:begin|start\s+transaction|commit|end)(?:\s+(?:work|transaction))?(?:\s+(?:isolation\s+level\s+[\w\s]+|read\s+(?:only|write)|(?:not\s+)?deferrable)(?:\s*,\s*|\s+)?)*\s*;?\s*$/i;

export function isTransactionControl(sql: string, dialect: Dialect): boolean {
  const grammar = engineFor(dialect).sqlGrammar;
  if (!grammar) return TRANSACTION_CONTROL.test(sql);
  const control = grammar.transactionControl(sql)?.kind;
  return control === 'begin' || control === 'commit';
}

interface KnexClientInternals {
  acquireConnection(): Promise<unknown>;
  releaseConnection(conn: unknown): Promise<unknown>;
}

/**
 * Runs fn with the driver's own connection under a knex instance or transaction. SQL files go to
 * the driver directly: knex's raw() rewrites every `?` into a bind placeholder on PostgreSQL
 * (breaking jsonb operators and question marks in strings), and mysql2 without values sends the
 * text untouched.
 */
export async function withNativeConnection<T>(knex: Knex, dialect: Dialect, fn: (query: NativeQuery, conn: unknown) => Promise<T>): Promise<T> {
  const client = knex.client as unknown as KnexClientInternals;
  const conn = await client.acquireConnection();
  try {
    return await fn(engineFor(dialect).migrations.nativeQuery(conn), conn);
  } finally {
    await client.releaseConnection(conn);
  }
}

/**
 * Runs statements in order on one connection. `onRan` hears about each success so a caller can
 * say which statements of a failed migration already took effect.
 */
export interface MysqlLockRetry {
  attempts: number;
  backoff: (attempt: number) => number;
  log: (msg: string) => void;
}

export async function runStatements(
  knex: Knex,
  dialect: Dialect,
  statements: readonly SqlStatement[],
  opts: {
    offset?: number;
    onStart?: (index: number) => void;
    onRan?: (index: number) => void;
    mysqlLockRetry?: MysqlLockRetry;
    /** The caller holds a transaction around these: the file's own BEGIN/COMMIT are not sent (isTransactionControl). */
    inTransaction?: boolean;
  } = {},
): Promise<void> {
  if (opts.inTransaction) await engineFor(dialect).sqlGrammar?.load();
  await withNativeConnection(knex, dialect, async (query) => {
    for (let k = 0; k < statements.length; k++) {
      const s = statements[k];
      if (!s) continue;
      const index = (opts.offset ?? 0) + k;
      opts.onStart?.(index);
      if (opts.inTransaction && isTransactionControl(s.sql, dialect)) {
        opts.onRan?.(index);
        continue;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          await query(s.sql);
          break;
        } catch (e) {
          // MySQL/MariaDB: a DDL that waited lock_wait_timeout for a metadata lock gave up without
          // changing anything (1205); waiting in the queue longer would hold the application's
          // writes behind it, so it backs off and tries again instead.
          const r = opts.mysqlLockRetry;
          if (r && engineFor(dialect).isLockWaitTimeout(e) && attempt < r.attempts) {
            const wait = r.backoff(attempt);
            r.log(
              `statement ${index + 1} (line ${s.line}) waited lock_wait_timeout for a metadata lock; attempt ${attempt}/${r.attempts}, retrying in ${Math.round(wait)} ms`,
            );
            await new Promise((res) => setTimeout(res, wait));
            continue;
          }
          throw new StatementError(s, index, e);
        }
      }
      opts.onRan?.(index);
    }
  });
}

/** Driver errors that mean the session is gone (server restarted or killed it, network down). */
export function isConnectionLost(e: unknown): boolean {
  const r = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; errno?: unknown; message?: unknown; fatal?: unknown };
  const code = typeof r.code === 'string' ? r.code : '';
  const msg = typeof r.message === 'string' ? r.message : '';
  if (
    [
      'PROTOCOL_CONNECTION_LOST',
      'ECONNRESET',
      'EPIPE',
      'ECONNREFUSED',
      'ETIMEDOUT',
      'ER_SERVER_SHUTDOWN',
      'ER_CONNECTION_KILLED',
      '57P01',
      '57P02',
      '57P03',
      '08006',
      '08003',
      '08000',
    ].includes(code)
  )
    return true;
  if (r.errno === 2013 || r.errno === 2006 || r.errno === 1053 || r.errno === 1927) return true;
  if (r.fatal === true && /connection|closed|socket/i.test(msg)) return true;
  return /Connection terminated|Connection lost|server has gone away|Client has encountered a connection error|socket hang up|This socket has been ended/i.test(
    msg,
  );
}

/** The session broke while a tracked statement ran; `ran`: its completion marker had arrived. */
export class LostConnection extends Error {
  readonly started: boolean;
  readonly ran: boolean;
  constructor(cause: unknown, started: boolean, ran: boolean) {
    super(driverErrorInfo(cause).message, { cause });
    this.name = 'LostConnection';
    this.started = started;
    this.ran = ran;
  }
}

/**
 * Our own bookkeeping around a statement failed: before it (it did not run) or after it (it ran
 * and the record of it did not commit).
 */
export class BookkeepingError extends Error {
  readonly ran: boolean;
  constructor(cause: unknown, ran: boolean) {
    super(driverErrorInfo(cause).message, { cause });
    this.name = 'BookkeepingError';
    this.ran = ran;
  }
}

const MARKER = 'migrate_statement_done';

interface MysqlQuery {
  on(event: 'fields', fn: (fields: Array<{ name?: string }> | undefined) => void): MysqlQuery;
}

/**
 * MySQL/MariaDB: runs `before; statement; SELECT <marker>; after` in one round trip, so the record
 * written after the statement does not depend on the client being alive: measured on MariaDB
 * 10.11, a client SIGKILLed during a long statement still gets the rest of its multi-statement
 * executed by the server. Each part commits on its own (DDL cannot share a transaction), so
 * which part failed is told apart by what the server sent back before the error: the first
 * answer is `before`'s, the marker's result set arrives only after the statement completed.
 */
export async function runTrackedMysql(knex: Knex, s: SqlStatement, index: number, before: string, after: string, retry?: MysqlLockRetry): Promise<void> {
  const text = `${before};\n${s.sql}\n;\nSELECT 1 AS ${MARKER};\n${after}`;
  await withNativeConnection(knex, 'mysql', async (_query, conn) => {
    for (let attempt = 1; ; attempt++) {
      const r = await new Promise<{ started: boolean; ran: boolean; error?: unknown }>((resolve) => {
        let started = false;
        let ran = false;
        let settled = false;
        const done = (error?: unknown): void => {
          if (settled) return;
          settled = true;
          resolve({ started, ran, ...(error === undefined ? {} : { error }) });
        };
        // The callback hears every error, a lost connection included (mysql2 hands those to the
        // connection, not the query, when a query has none); 'fields' fires once per statement
        // answered (undefined for an OK packet), in order, whether or not there is a callback.
        const q = (conn as { query: (sql: string, cb: (e: unknown) => void) => MysqlQuery }).query(text, (e) => done(e ?? undefined));
        q.on('fields', (fields) => {
          started = true;
          if (fields?.[0]?.name === MARKER) ran = true;
        });
      });
      if (r.error === undefined) return;
      if (isConnectionLost(r.error)) throw new LostConnection(r.error, r.started, r.ran);
      if (!r.started) throw new BookkeepingError(r.error, false);
      if (r.ran) throw new BookkeepingError(r.error, true);
      if ((r.error as { errno?: number }).errno === 1205 && retry && attempt < retry.attempts) {
        const wait = retry.backoff(attempt);
        retry.log(
          `statement ${index + 1} (line ${s.line}) waited lock_wait_timeout for a metadata lock; attempt ${attempt}/${retry.attempts}, retrying in ${Math.round(wait)} ms`,
        );
        await new Promise((res) => setTimeout(res, wait));
        continue;
      }
      throw new StatementError(s, index, r.error);
    }
  });
}
