import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { ProjectConfig } from '../config/types.ts';
import { createKnex, verifyConnection } from '../db/connect.ts';
import { MigrateError } from '../errors.ts';
import { num, rawRows, str } from './rows.ts';

/** The application_name our PostgreSQL session shows in pg_stat_activity, so holders are recognisable. */
export const PG_APPLICATION_NAME = 'migrate';

/**
 * One runner per database. The lock lives on a dedicated session that is held for the whole run,
 * and the migrations run on that same session: if the session were lost, the lock would be lost
 * with it, which assertHeld() detects before each migration.
 */
export interface RunSession {
  /** A knex whose pool is exactly the session holding the lock. */
  db: Knex;
  lockName: string;
  /** Throws a 'lock' error when the session no longer holds the lock. */
  assertHeld(): Promise<void>;
  /** Releases the lock and closes the session; safe to call twice. */
  release(): Promise<void>;
}

export function mysqlLockName(database: string): string {
  const name = `migrate:${database}`;
  // GET_LOCK names are limited to 64 characters.
  return name.length <= 64 ? name : `migrate:${createHash('sha256').update(database).digest('hex').slice(0, 48)}`;
}

/** Two positive int4 keys, so pg_locks shows them unchanged in classid/objid (objsubid 2). */
export function pgLockKeys(database: string): [number, number] {
  const h = createHash('sha256').update(`migrate:${database}`).digest();
  return [h.readUInt32BE(0) & 0x7fffffff, h.readUInt32BE(4) & 0x7fffffff];
}

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
    return config.dialect === 'mysql' ? await lockMysql(db, config, close, waitMs) : await lockPg(db, config, close, waitMs);
  } catch (e) {
    await close();
    throw e;
  }
}

async function lockMysql(db: Knex, config: ProjectConfig, close: () => Promise<void>, waitMs: number): Promise<RunSession> {
  const name = mysqlLockName(config.connection.database);
  const got = await rawRows(db, 'SELECT GET_LOCK(?, ?) AS got', [name, Math.ceil(waitMs / 1000)]);
  if (num(got[0]?.['got']) !== 1) throw await mysqlHolderError(db, config, name);
  return {
    db,
    lockName: name,
    assertHeld: async () => {
      const r = await rawRows(db, 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS held', [name]);
      if (num(r[0]?.['held']) !== 1) throw lostLock(name);
    },
    release: async () => {
      try {
        await rawRows(db, 'SELECT RELEASE_LOCK(?) AS r', [name]);
      } catch {
        // Closing the session below releases it anyway.
      }
      await close();
    },
  };
}

async function mysqlHolderError(db: Knex, config: ProjectConfig, name: string): Promise<MigrateError> {
  const where = `${config.connection.host}:${config.connection.port}`;
  const r = await rawRows(db, 'SELECT IS_USED_LOCK(?) AS id', [name]);
  const id = num(r[0]?.['id']);
  if (id === null) {
    // Released between our attempt and the lookup.
    return new MigrateError('lock', `Another migrate run held the lock "${name}" on ${where} a moment ago.`, 'Run the command again.');
  }
  const p = (await rawRows(db, 'SELECT USER, HOST, DB, COMMAND, TIME, STATE FROM information_schema.PROCESSLIST WHERE ID = ?', [id]))[0];
  const who = p
    ? `connection ${id}, user ${str(p['USER'])} from ${str(p['HOST'])}, connected to ${str(p['DB']) ?? '(no database)'}, ${str(p['COMMAND'])} for ${num(p['TIME']) ?? '?'} s`
    : `connection ${id} (its details are hidden: the PROCESS privilege shows other users' connections)`;
  return new MigrateError(
    'lock',
    `Another migrate run is working on database "${config.connection.database}" at ${where}: the lock "${name}" is held by ${who}.`,
    `Wait for that run to finish and try again. If it is stuck or its process is gone, end its connection: KILL ${id};`,
  );
}

async function lockPg(db: Knex, config: ProjectConfig, close: () => Promise<void>, waitMs: number): Promise<RunSession> {
  await db.raw(`SET application_name = '${PG_APPLICATION_NAME}'`);
  const [k1, k2] = pgLockKeys(config.connection.database);
  const name = `pg_advisory_lock(${k1}, ${k2})`;
  const until = Date.now() + waitMs;
  const attempt = async (): Promise<boolean> => (await rawRows(db, 'SELECT pg_try_advisory_lock(?, ?) AS got', [k1, k2]))[0]?.['got'] === true;
  let got = await attempt();
  while (!got && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    got = await attempt();
  }
  if (!got) throw await pgHolderError(db, config, k1, k2, name);
  return {
    db,
    lockName: name,
    assertHeld: async () => {
      const r = await rawRows(
        db,
        `SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
           AND classid = ?::oid AND objid = ?::oid AND objsubid = 2 AND granted`,
        [k1, k2],
      );
      if (num(r[0]?.['held']) !== 1) throw lostLock(name);
    },
    release: async () => {
      try {
        await rawRows(db, 'SELECT pg_advisory_unlock(?, ?) AS r', [k1, k2]);
      } catch {
        // Closing the session below releases it anyway.
      }
      await close();
    },
  };
}

async function pgHolderError(db: Knex, config: ProjectConfig, k1: number, k2: number, name: string): Promise<MigrateError> {
  const where = `${config.connection.host}:${config.connection.port}`;
  const rows = await rawRows(
    db,
    `SELECT a.pid, a.usename, host(a.client_addr) AS client_addr, a.client_port, a.application_name, a.state,
            extract(epoch FROM now() - a.backend_start)::int AS connected_s
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ?::oid AND l.objid = ?::oid AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [k1, k2],
  );
  const h = rows[0];
  if (!h) return new MigrateError('lock', `Another migrate run held the lock ${name} on ${where} a moment ago.`, 'Run the command again.');
  const pid = num(h['pid']);
  const addr = str(h['client_addr']);
  const from = addr ? `${addr}:${num(h['client_port']) ?? '?'}` : 'a local socket';
  const app = str(h['application_name']);
  return new MigrateError(
    'lock',
    `Another migrate run is working on database "${config.connection.database}" at ${where}: the advisory lock ${name} is held by pid ${pid}, user ${str(h['usename'])} from ${from}, application_name "${app ?? ''}", ${str(h['state'])}, connected ${num(h['connected_s']) ?? '?'} s ago.`,
    `Wait for that run to finish and try again. If it is stuck or its process is gone, end its session: SELECT pg_terminate_backend(${pid});`,
  );
}

function lostLock(name: string): MigrateError {
  return new MigrateError(
    'lock',
    `The migrate lock ${name} is no longer held by this run (its database session was lost), so it stopped before the next migration.`,
    'Check "migrate status" and run the command again once no other run is active.',
  );
}

/**
 * The server session holding the run lock of this database, or null when nobody holds it: a
 * progress row whose run holds the lock is running now, one without is interrupted.
 */
export async function runLockHolder(db: Knex, config: ProjectConfig): Promise<number | null> {
  if (config.dialect === 'mysql') {
    const r = await rawRows(db, 'SELECT IS_USED_LOCK(?) AS id', [mysqlLockName(config.connection.database)]);
    return num(r[0]?.['id']);
  }
  const [k1, k2] = pgLockKeys(config.connection.database);
  const r = await rawRows(
    db,
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ?::oid AND objid = ?::oid AND objsubid = 2
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [k1, k2],
  );
  return num(r[0]?.['pid']);
}

/** The statement that cancels what a server session is running, leaving the session (and its locks' owner) alive. */
export function cancelStatementSql(dialect: ProjectConfig['dialect'], session: number): string {
  return dialect === 'mysql' ? `KILL QUERY ${session}` : `SELECT pg_cancel_backend(${session})`;
}

/** The server session id of a connection (MySQL CONNECTION_ID(), PostgreSQL backend pid). */
export async function sessionIdOf(db: Knex, dialect: ProjectConfig['dialect']): Promise<number | null> {
  const r = await rawRows(db, dialect === 'mysql' ? 'SELECT CONNECTION_ID() AS id' : 'SELECT pg_backend_pid() AS id');
  return num(r[0]?.['id']);
}
