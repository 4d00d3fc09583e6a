import type { Knex } from 'knex';
import type { ProjectConfig } from '../config/index.ts';
import { createKnex, verifyConnection } from '../db/index.ts';
import { engineFor, type RunSession } from '../engines/index.ts';
import { num, rawRows } from '../engines/index.ts';

export interface RunLockOptions {
  /**
   * How long to wait for a holder to finish; 0 (the default) fails at once, which is what a
   * command run by hand wants. Replica-first writes of the ledger wait (ledger-writer.ts).
   */
  waitMs?: number;
}

export async function acquireRunLock(config: ProjectConfig, opts: RunLockOptions = {}): Promise<RunSession> {
  // min 1: the pool must never reap the idle session, or the lock would go with it.
  const db = createKnex(config.dialect, config.connection, { pool: { min: 1, max: 1 } });
  let released = false;
  const close = async (): Promise<void> => {
    if (released) return;
    released = true;
    await db.destroy();
  };
  try {
    await verifyConnection(db, config.dialect, config.connection);
    const waitMs = Math.max(0, opts.waitMs ?? 0);
    return await engineFor(config.dialect).migrations.acquireRunLock(db, config.connection, close, waitMs);
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * The server session holding the run lock of this database, or null when nobody holds it: a
 * progress row whose run holds the lock is running now, one without is interrupted.
 */
export async function runLockHolder(db: Knex, config: ProjectConfig): Promise<number | null> {
  return engineFor(config.dialect).migrations.runLockHolder(db, config.connection.database);
}

/** The statement that cancels what a server session is running, leaving the session (and its locks' owner) alive. */
export function cancelStatementSql(dialect: ProjectConfig['dialect'], session: number): string {
  return engineFor(dialect).cancelStatementSql(session);
}

/** The server session id of a connection (MySQL CONNECTION_ID(), PostgreSQL backend pid). */
export async function sessionIdOf(db: Knex, dialect: ProjectConfig['dialect']): Promise<number | null> {
  const r = await rawRows(db, engineFor(dialect).sessionIdSql());
  return num(r[0]?.['id']);
}
