import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { MigrateError } from '../../errors.ts';
import type { Effect, Ident, LockedDatabase, MigrationsEngine, RunSession } from '../migrations-contract.ts';
import { num, rawRows, str } from '../rows.ts';
import { lostLock } from '../run-lock.ts';
import { QID } from '../sql-names.ts';

/** The application_name our PostgreSQL session shows in pg_stat_activity, so holders are recognisable. */
export const PG_APPLICATION_NAME = 'migrate';

/** Two positive int4 keys, so pg_locks shows them unchanged in classid/objid (objsubid 2). */
export function pgLockKeys(database: string): [number, number] {
  const h = createHash('sha256').update(`migrate:${database}`).digest();
  return [h.readUInt32BE(0) & 0x7fffffff, h.readUInt32BE(4) & 0x7fffffff];
}

async function lockPg(db: Knex, to: LockedDatabase, close: () => Promise<void>, waitMs: number): Promise<RunSession> {
  await db.raw(`SET application_name = '${PG_APPLICATION_NAME}'`);
  const [k1, k2] = pgLockKeys(to.database);
  const name = `pg_advisory_lock(${k1}, ${k2})`;
  const until = Date.now() + waitMs;
  const attempt = async (): Promise<boolean> => (await rawRows(db, 'SELECT pg_try_advisory_lock(?, ?) AS got', [k1, k2]))[0]?.['got'] === true;
  let got = await attempt();
  while (!got && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    got = await attempt();
  }
  if (!got) throw await pgHolderError(db, to, k1, k2, name);
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

async function pgHolderError(db: Knex, to: LockedDatabase, k1: number, k2: number, name: string): Promise<MigrateError> {
  const where = `${to.host}:${to.port}`;
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
    `Another migrate run is working on database "${to.database}" at ${where}: the advisory lock ${name} is held by pid ${pid}, user ${str(h['usename'])} from ${from}, application_name "${app ?? ''}", ${str(h['state'])}, connected ${num(h['connected_s']) ?? '?'} s ago.`,
    `Wait for that run to finish and try again. If it is stuck or its process is gone, end its session: SELECT pg_terminate_backend(${pid});`,
  );
}

async function count(db: Knex, sql: string, bindings: readonly Knex.Value[]): Promise<number> {
  const r = await rawRows(db, sql, bindings);
  return num(r[0]?.['n']) ?? 0;
}

/** Whether the object is there, asked of pg_catalog. */
async function effectPresent(db: Knex, e: Effect): Promise<boolean> {
  switch (e.kind) {
    case 'table':
    case 'view':
      return (await count(db, 'SELECT count(*)::int AS n WHERE to_regclass(?) IS NOT NULL', [e.object.raw])) > 0;
    case 'index':
      // An INVALID index is what an interrupted CONCURRENTLY build leaves: not a CREATE INDEX's
      // effect, but still there for a DROP INDEX to remove.
      return (
        (await count(db, `SELECT count(*)::int AS n FROM pg_index WHERE indexrelid = to_regclass(?)${e.present ? ' AND indisvalid' : ''}`, [e.index.raw])) > 0
      );
    case 'column':
      return (
        (await count(db, 'SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = to_regclass(?) AND attname = ? AND attnum > 0 AND NOT attisdropped', [
          e.table.raw,
          e.column,
        ])) > 0
      );
    case 'type':
      return (await count(db, 'SELECT count(*)::int AS n WHERE to_regtype(?) IS NOT NULL', [e.object.raw])) > 0;
    case 'enum-value':
      return (await count(db, 'SELECT count(*)::int AS n FROM pg_enum WHERE enumtypid = to_regtype(?) AND enumlabel = ?', [e.type.raw, e.value])) > 0;
    default:
      return false;
  }
}

/** Types and their enum values. */
function objectEffects(s: string, id: (raw: string) => Ident): Effect[] | undefined {
  let m = new RegExp(String.raw`^CREATE\s+TYPE\s+(${QID})`, 'i').exec(s);
  if (m?.[1]) return [{ kind: 'type', object: id(m[1]), present: true }];
  m = new RegExp(String.raw`^DROP\s+TYPE\s+(IF\s+EXISTS\s+)?(${QID})`, 'i').exec(s);
  if (m) return m[1] || !m[2] ? undefined : [{ kind: 'type', object: id(m[2]), present: false }];
  m = new RegExp(String.raw`^ALTER\s+TYPE\s+(${QID})\s+ADD\s+VALUE\s+(IF\s+NOT\s+EXISTS\s+)?'((?:[^']|'')*)'`, 'i').exec(s);
  if (m) return m[2] || !m[1] ? undefined : [{ kind: 'enum-value', type: id(m[1]), value: (m[3] ?? '').replace(/''/g, "'"), present: true }];
  return undefined;
}

export const postgresMigrations: MigrationsEngine = {
  acquireRunLock: lockPg,
  async runLockHolder(db, database) {
    const [k1, k2] = pgLockKeys(database);
    const r = await rawRows(
      db,
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = ?::oid AND objid = ?::oid AND objsubid = 2
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [k1, k2],
    );
    return num(r[0]?.['pid']);
  },
  utcTextTimes: false,
  tracksInStatementRoundTrip: false,
  nativeQuery(conn) {
    const c = conn as { query: (sql: string) => Promise<unknown> };
    return async (sql) => {
      await c.query(sql);
    };
  },
  guardsLockTimeout: true,
  lockWaitTimeoutSql: () => undefined,
  // PostgreSQL 14+: a statement whose client died is cancelled within a second instead of
  // running on (with its locks) until it ends; older servers do not know the setting.
  runSessionSql: ["SELECT set_config('client_connection_check_interval', '1s', false)"],
  transactionLockTimeout: (ms) => (ms > 0 ? { sql: 'SELECT set_config(?, ?, true)', bindings: ['lock_timeout', `${ms}ms`] } : undefined),
  alterNamesIndexes: false,
  objectEffects,
  effectPresent,
};
