import { performance } from 'node:perf_hooks';
import type { NodeConfig } from '../config/types.ts';
import { MigrateError, workError } from '../errors.ts';
import type { Flavor } from '../topology/flavors/contract.ts';
import { mysqlString } from '../topology/flavors/quote.ts';
import { openNode, queryOne, queryRows, type NodeConnection } from '../topology/node-connection.ts';
import type { Journal } from './journal.ts';
import type { WriterEndpoint } from './writer/contract.ts';

export interface SwitchoverOptions {
  flavor: Flavor;
  primary: NodeConfig;
  candidate: NodeConfig;
  /** Other replicas of the old primary, re-pointed to the candidate afterwards. */
  replicas: NodeConfig[];
  writer: WriterEndpoint;
  /** Replication account the re-pointed nodes use (the node admin account by default). */
  replicationUser: { user: string; password: string };
  /** Upper bound on the write block; past it the switchover is undone. */
  maxWriteBlockMs: number;
  /** Lag the candidate may have when the block starts; it is waited for first, with a bound. */
  maxLagBeforeBlockMs: number;
  catchUpTimeoutMs: number;
  /** Master-master: the old primary keeps replicating from the new one as a hot rollback target. */
  masterMaster: boolean;
  journal: Journal;
  log: (msg: string) => void;
}

export interface SwitchoverResult {
  /** From read_only=ON on the old primary to the endpoint pointing at the writable new primary. */
  writeBlockMs: number;
  position: string;
  killedSessions: number;
  stepsMs: Record<string, number>;
}

/**
 * The read-lock switchover of DESIGN.md, in the order measured to keep every acknowledged write:
 * read_only first (FTWRL alone lets queued writes run after UNLOCK), end the clients' sessions,
 * FTWRL, record the position, wait for the candidate with the remaining budget, promote, move the
 * endpoint, re-point the old primary while still locked and read-only, then unlock.
 * Until promotion every step is undone on failure; after it, the old primary stays read-only.
 */
export async function switchover(o: SwitchoverOptions): Promise<SwitchoverResult> {
  const { flavor, journal, log } = o;
  const stepsMs: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>, data?: Record<string, unknown>): Promise<T> => {
    const t = performance.now();
    try {
      return await journal.step(step, fn, data);
    } finally {
      stepsMs[step] = Math.round((performance.now() - t) * 10) / 10;
    }
  };

  const oldConn = await openNode(o.primary);
  const candConn = await openNode(o.candidate);
  // A second connection to the old primary: to cancel a read_only or FTWRL that waits too long.
  const guardConn = await openNode(o.primary);
  const ourIds = new Set<number>();
  for (const c of [oldConn, guardConn]) ourIds.add(Number((await queryOne(c, 'SELECT CONNECTION_ID() AS id'))?.['id']));

  journal.write('switchover', 'begin', { primary: o.primary.name, candidate: o.candidate.name, replicas: o.replicas.map((r) => r.name), masterMaster: o.masterMaster });
  await timed('preflight-endpoint', () => o.writer.preflight());
  let blockStart = 0;
  let promoted = false;
  let readOnlySet = false;
  let locked = false;
  try {
    await timed('catch-up', () => waitForLag(candConn, flavor, o.maxLagBeforeBlockMs, o.catchUpTimeoutMs, log));
    await timed('preflight-long-queries', () => checkLongQueries(oldConn, ourIds));

    blockStart = performance.now();
    const deadline = blockStart + o.maxWriteBlockMs;
    const remainingMs = () => deadline - performance.now();

    // The global read lock first: writes that arrive now wait instead of failing, so clients
    // see a pause rather than errors. read_only follows at once, so nothing queued can run on
    // this node after UNLOCK; the queued sessions are killed before UNLOCK (end-client-sessions).
    await timed('block-writes', async () => {
      await oldConn.query(`SET SESSION lock_wait_timeout=${Math.max(1, Math.ceil(remainingMs() / 1000))}`);
      locked = true;
      await bounded(oldConn, guardConn, 'FLUSH TABLES WITH READ LOCK', remainingMs(), 'taking the global read lock');
      readOnlySet = true;
      for (const sql of flavor.setReadOnly(true)) await bounded(oldConn, guardConn, sql, remainingMs(), 'setting read_only on the old primary');
    });
    const position = String((await timed('record-position', () => queryOne(oldConn, flavor.gtidPositionQuery())))?.['pos'] ?? '');
    journal.write('position', 'end', { position });

    await timed('wait-candidate', async () => {
      const budgetSec = Math.max(0, remainingMs()) / 1000;
      const row = await queryOne(candConn, flavor.waitForGtid(position, Math.round(budgetSec * 1000) / 1000));
      if (!flavor.isWaitOk(row?.['res'])) {
        throw workError(
          `The candidate ${o.candidate.name} did not execute the old primary's position ${position} within the write-block bound of ${o.maxWriteBlockMs} ms.`,
          'The switchover was undone and the old primary is writable again. Let the candidate catch up (check its lag) or raise --max-write-block, then run again.',
        );
      }
    }, { position });

    await timed('promote', async () => {
      await candConn.query(flavor.stopReplica());
      if (!o.masterMaster) await candConn.query(flavor.resetReplicaAll());
      for (const sql of flavor.setReadOnly(false)) await candConn.query(sql);
      promoted = true;
      if (o.masterMaster) await candConn.query(flavor.startReplica());
    });
    await timed('move-endpoint', () => o.writer.move(o.primary, o.candidate));
    const writeBlockMs = Math.round((performance.now() - blockStart) * 10) / 10;
    log(`write block: ${writeBlockMs} ms (read lock on ${o.primary.name} -> endpoint on ${o.candidate.name})`);
    // Sessions still attached to the old primary (direct connections, or writes queued behind the
    // lock) are ended before UNLOCK, so none of them can commit there afterwards.
    const killed = await timed('end-client-sessions', () => killClientSessions(oldConn, ourIds, o.primary.user));

    await timed('verify-frozen', async () => {
      const now = String((await queryOne(oldConn, flavor.gtidPositionQuery()))?.['pos'] ?? '');
      if (now !== position) {
        throw workError(
          `The old primary ${o.primary.name} moved from ${position} to ${now} during the write block: a write bypassed read_only (split brain).`,
          'Stop the application users that hold SUPER / READ ONLY ADMIN, compare the two nodes\' data, and re-point the old primary by hand.',
        );
      }
    });
    await timed('repoint-old-primary', async () => {
      // A master-master active already replicates from the candidate: nothing to change.
      const rs = await queryOne(guardConn, flavor.showReplicaStatus());
      const st = rs ? flavor.parseReplicaStatus(rs) : null;
      if (st && st.sourcePort === o.candidate.port && st.sourceHost === o.candidate.host && st.ioRunning && st.sqlRunning) return;
      // On the guard session: the session holding the read lock may not stop replication (1192).
      if (st) await guardConn.query(flavor.stopReplica());
      for (const sql of flavor.changeSource({ host: o.candidate.host, port: o.candidate.port, user: o.replicationUser.user, password: o.replicationUser.password }, 'current_pos')) await guardConn.query(sql);
      await guardConn.query(flavor.startReplica());
    });
    await timed('unlock', async () => {
      await oldConn.query('UNLOCK TABLES');
      locked = false;
    });
    await timed('repoint-replicas', () => Promise.all(o.replicas.map((r) => repoint(r, o, position))).then(() => undefined));
    await timed('verify', () => verifyAfter(o, log));
    journal.write('switchover', 'end', { newPrimary: o.candidate.name, writeBlockMs });
    return { writeBlockMs, position, killedSessions: killed, stepsMs };
  } catch (e) {
    if (!promoted) {
      await journal.step('undo', async () => {
        if (locked) await oldConn.query('UNLOCK TABLES').catch(() => undefined);
        if (readOnlySet) for (const sql of flavor.setReadOnly(false)) await guardConn.query(sql);
      });
      if (blockStart) log(`switchover undone after ${Math.round(performance.now() - blockStart)} ms of write block; ${o.primary.name} is writable again`);
    } else if (locked) {
      await oldConn.query('UNLOCK TABLES').catch(() => undefined);
    }
    throw e instanceof MigrateError ? e : workError(`The switchover failed: ${e instanceof Error ? e.message : String(e)}`, 'Run `migrate topology` to see the state; the journal names the last step.', e);
  } finally {
    await Promise.all([oldConn.end(), candConn.end(), guardConn.end()].map((p) => p.catch(() => undefined)));
  }
}

/** Runs a statement that may wait on locks; past the budget it is cancelled from the guard connection. */
async function bounded(conn: NodeConnection, guard: NodeConnection, sql: string, budgetMs: number, what: string): Promise<void> {
  if (budgetMs <= 0) throw workError(`The write-block budget ran out before ${what}.`, 'Raise --max-write-block or find what is slow on the old primary.');
  const id = Number((await queryOne(conn, 'SELECT CONNECTION_ID() AS id'))?.['id']);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    guard.query(`KILL QUERY ${id}`).catch(() => undefined);
  }, budgetMs);
  try {
    await conn.query(sql);
  } catch (e) {
    if (timedOut) throw workError(`${what} did not finish within the write-block budget (${Math.round(budgetMs)} ms left).`, 'A long transaction or DDL holds a lock on the old primary: wait for it to finish, then run again.', e);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function waitForLag(conn: NodeConnection, flavor: Flavor, maxLagMs: number, timeoutMs: number, log: (m: string) => void): Promise<void> {
  const start = performance.now();
  let last = -1;
  for (;;) {
    const rs = await queryOne(conn, flavor.showReplicaStatus());
    const st = rs ? flavor.parseReplicaStatus(rs) : null;
    if (!st || !st.ioRunning || !st.sqlRunning) throw workError('The candidate is not replicating.', 'Repair replication on the candidate (see `migrate topology`) before switching over.');
    const lagMs = (st.secondsBehind ?? 0) * 1000;
    if (lagMs <= maxLagMs) return;
    if (st.secondsBehind !== last) log(`catch-up: candidate ${st.secondsBehind}s behind`);
    last = st.secondsBehind ?? -1;
    if (performance.now() - start > timeoutMs) throw workError(`The candidate is still ${st.secondsBehind}s behind after ${Math.round(timeoutMs / 1000)} s.`, 'Wait for replication to catch up (or find what slows it), then run again; nothing was blocked.');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A statement running for seconds makes FLUSH TABLES WITH READ LOCK (and read_only) wait for it
 * while every write queues behind: measured here, a 4 s UPDATE held all writes for 3.7 s.
 */
async function checkLongQueries(conn: NodeConnection, ours: Set<number>): Promise<void> {
  const rows = await queryRows(
    conn,
    `SELECT ID AS id, USER AS user, TIME AS age, LEFT(INFO, 120) AS info FROM information_schema.PROCESSLIST
      WHERE COMMAND = 'Query' AND TIME >= 1 AND INFO IS NOT NULL
        AND USER NOT IN ('system user', 'event_scheduler')`,
  );
  const long = rows.filter((r) => !ours.has(Number(r['id'])));
  if (long.length) {
    const list = long.map((r) => `connection ${r['id']} of ${r['user']} running ${r['age']} s: ${r['info']}`).join('; ');
    throw workError(`Long-running statements on the primary (${list}); the write block would wait for them with every write queued.`, 'Wait for them to finish (or kill them), then run again; nothing was blocked.');
  }
}

/** Ends the clients' sessions so they reconnect through the endpoint to the new primary. */
async function killClientSessions(conn: NodeConnection, ours: Set<number>, adminUser: string): Promise<number> {
  const rows = await queryRows(
    conn,
    `SELECT ID AS id FROM information_schema.PROCESSLIST
      WHERE USER NOT IN (${mysqlString(adminUser)}, 'system user', 'event_scheduler', 'root')
        AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker')`,
  );
  const ids = rows.map((r) => Number(r['id'])).filter((id) => !ours.has(id));
  // One statement per id, sent without waiting for each answer: the driver pipelines them.
  await Promise.all(ids.map((id) => conn.query(`KILL CONNECTION ${id}`).catch(() => undefined)));
  return ids.length;
}

async function repoint(r: NodeConfig, o: SwitchoverOptions, position: string): Promise<void> {
  const c = await openNode(r);
  try {
    // The replica must have everything the old primary had before it follows the new one.
    const row = await queryOne(c, o.flavor.waitForGtid(position, 30));
    if (!o.flavor.isWaitOk(row?.['res'])) throw workError(`Replica ${r.name} did not reach ${position} within 30 s.`, `Re-point ${r.name} to ${o.candidate.name} by hand once it has caught up.`);
    await c.query(o.flavor.stopReplica());
    for (const sql of o.flavor.changeSource({ host: o.candidate.host, port: o.candidate.port, user: o.replicationUser.user, password: o.replicationUser.password }, 'slave_pos')) await c.query(sql);
    await c.query(o.flavor.startReplica());
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function verifyAfter(o: SwitchoverOptions, log: (m: string) => void): Promise<void> {
  const nodes = [o.primary, o.candidate, ...o.replicas];
  const problems: string[] = [];
  let writable = 0;
  for (const n of nodes) {
    const c = await openNode(n);
    try {
      const ro = Number((await queryOne(c, o.flavor.readOnlyQuery()))?.['ro']) === 1;
      if (!ro) writable++;
      if (n !== o.candidate || o.masterMaster) {
        // Replication threads need a moment to connect after START.
        let ok = false;
        for (let i = 0; i < 50 && !ok; i++) {
          const rs = await queryOne(c, o.flavor.showReplicaStatus());
          const st = rs ? o.flavor.parseReplicaStatus(rs) : null;
          ok = !!st && st.ioRunning && st.sqlRunning;
          if (!ok && st && st.lastSqlError) {
            problems.push(`${n.name}: replication error ${st.lastSqlErrno}: ${st.lastSqlError}`);
            break;
          }
          if (!ok) await new Promise((r) => setTimeout(r, 100));
        }
        if (!ok && !problems.some((p) => p.startsWith(n.name))) problems.push(`${n.name}: replication not running`);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  if (writable !== 1) problems.push(`${writable} writable nodes, expected exactly 1`);
  if (problems.length) throw workError(`After the switchover: ${problems.join('; ')}.`, 'Run `migrate topology` and repair the nodes named; the new primary is ' + o.candidate.name + '.');
  log(`verified: ${o.candidate.name} is the only writable node; every other node replicates`);
}
