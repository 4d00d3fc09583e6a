import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { MigrateError } from '../../errors.ts';
import type { Effect, Ident, LockedDatabase, MigrationsEngine, RunSession } from '../migrations-contract.ts';
import { num, rawRows, str } from '../rows.ts';
import { lostLock } from '../run-lock.ts';
import { QID } from '../sql-names.ts';

export function mysqlLockName(database: string): string {
  const name = `migrate:${database}`;
  // GET_LOCK names are limited to 64 characters.
  return name.length <= 64 ? name : `migrate:${createHash('sha256').update(database).digest('hex').slice(0, 48)}`;
}

async function lockMysql(db: Knex, to: LockedDatabase, close: () => Promise<void>, waitMs: number): Promise<RunSession> {
  const name = mysqlLockName(to.database);
  const got = await rawRows(db, 'SELECT GET_LOCK(?, ?) AS got', [name, Math.ceil(waitMs / 1000)]);
  if (num(got[0]?.['got']) !== 1) throw await mysqlHolderError(db, to, name);
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

async function mysqlHolderError(db: Knex, to: LockedDatabase, name: string): Promise<MigrateError> {
  const where = `${to.host}:${to.port}`;
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
    `Another migrate run is working on database "${to.database}" at ${where}: the lock "${name}" is held by ${who}.`,
    `Wait for that run to finish and try again. If it is stuck or its process is gone, end its connection: KILL ${id};`,
  );
}

async function count(db: Knex, sql: string, bindings: readonly Knex.Value[]): Promise<number> {
  const r = await rawRows(db, sql, bindings);
  return num(r[0]?.['n']) ?? 0;
}

/** Whether the object is there, asked of information_schema. */
async function effectPresent(db: Knex, e: Effect): Promise<boolean> {
  const schema = (i: Ident): string | null => i.schema ?? null;
  switch (e.kind) {
    case 'table':
      return (
        (await count(db, 'SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?', [
          schema(e.object),
          e.object.name,
        ])) > 0
      );
    case 'view':
      return (
        (await count(db, 'SELECT COUNT(*) AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?', [
          schema(e.object),
          e.object.name,
        ])) > 0
      );
    case 'column':
      return (
        (await count(
          db,
          'SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND LOWER(COLUMN_NAME) = LOWER(?)',
          [schema(e.table), e.table.name, e.column],
        )) > 0
      );
    case 'index':
      return (
        (await count(
          db,
          `SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND INDEX_NAME = ?${e.table ? ' AND TABLE_NAME = ?' : ''}`,
          e.table ? [schema(e.table), e.index.name, e.table.name] : [schema(e.index), e.index.name],
        )) > 0
      );
    case 'trigger':
      return (
        (await count(db, 'SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = COALESCE(?, DATABASE()) AND TRIGGER_NAME = ?', [
          schema(e.object),
          e.object.name,
        ])) > 0
      );
    case 'routine':
      return (
        (await count(db, 'SELECT COUNT(*) AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = COALESCE(?, DATABASE()) AND ROUTINE_NAME = ?', [
          schema(e.object),
          e.object.name,
        ])) > 0
      );
    default:
      return false;
  }
}

/** Triggers and stored routines: created and dropped by name. */
function objectEffects(s: string, id: (raw: string) => Ident): Effect[] | undefined {
  let m = new RegExp(String.raw`^CREATE\s+(OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?(TRIGGER|PROCEDURE|FUNCTION)\s+(IF\s+NOT\s+EXISTS\s+)?(${QID})`, 'i').exec(
    s,
  );
  if (m) return m[1] || m[3] || !m[4] ? undefined : [{ kind: m[2]?.toUpperCase() === 'TRIGGER' ? 'trigger' : 'routine', object: id(m[4]), present: true }];
  m = new RegExp(String.raw`^DROP\s+(TRIGGER|PROCEDURE|FUNCTION)\s+(IF\s+EXISTS\s+)?(${QID})`, 'i').exec(s);
  if (m) return m[2] || !m[3] ? undefined : [{ kind: m[1]?.toUpperCase() === 'TRIGGER' ? 'trigger' : 'routine', object: id(m[3]), present: false }];
  return undefined;
}

export const mysqlMigrations: MigrationsEngine = {
  acquireRunLock: lockMysql,
  async runLockHolder(db, database) {
    const r = await rawRows(db, 'SELECT IS_USED_LOCK(?) AS id', [mysqlLockName(database)]);
    return num(r[0]?.['id']);
  },
  // DATETIME has no zone: the migrate tables hold UTC, written as text so the driver's zone cannot shift it.
  utcTextTimes: true,
  tracksInStatementRoundTrip: true,
  nativeQuery(conn) {
    const c = conn as { query: (sql: string, cb: (err: unknown) => void) => unknown };
    return (sql) =>
      new Promise<void>((resolve, reject) => {
        c.query(sql, (err: unknown) => (err ? reject(err) : resolve()));
      });
  },
  guardsLockTimeout: false,
  // A metadata-lock wait queues every later write to the table behind the DDL: bound it.
  lockWaitTimeoutSql: (ms) => (ms > 0 ? `SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(ms / 1000))}` : undefined),
  runSessionSql: [],
  transactionLockTimeout: () => undefined,
  alterNamesIndexes: true,
  objectEffects,
  effectPresent,
};
