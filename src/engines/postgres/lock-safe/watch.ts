import type { Knex } from 'knex';
import { num, rawRows, str } from '../../rows.ts';
import { formatMs } from '../../../config/index.ts';

/** A session in the way of our lock request, as pg_stat_activity shows it. */
export interface LockHolder {
  pid: number;
  user: string | null;
  application: string | null;
  /** active, idle in transaction, ... */
  state: string | null;
  /** How long its transaction has been open. */
  transactionMs: number | null;
  /** Its current (active) or last (idle) query. */
  query: string | null;
}

/** What our session was seen waiting for. */
export interface LockWait {
  /** 'table "accounts"', 'a row of table "accounts"', 'older transactions to finish', ... */
  target: string;
  /** The lock mode we asked for, e.g. AccessExclusiveLock. */
  mode: string;
  holders: LockHolder[];
}

// Our session's ungranted lock requests and, for each, the sessions ahead of it
// (pg_blocking_pids: holders of conflicting locks and conflicting requests queued before ours).
const WAIT_SQL = `
SELECT w.locktype, w.mode, w.relation::regclass::text AS rel,
       (SELECT c.relkind::text FROM pg_class c WHERE c.oid = w.relation) AS relkind,
       (SELECT t.relation::regclass::text FROM pg_locks t WHERE t.pid = w.pid AND t.locktype = 'tuple' AND t.granted LIMIT 1) AS tuple_rel,
       b.pid, b.usename, b.application_name, b.state,
       (extract(epoch FROM now() - b.xact_start) * 1000)::float8 AS xact_ms,
       b.query
  FROM pg_locks w
  LEFT JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid) ON true
  LEFT JOIN pg_stat_activity b ON b.pid = bp.pid
 WHERE w.pid = ? AND NOT w.granted`;

const KIND: Record<string, string> = {
  r: 'table',
  p: 'table',
  i: 'index',
  I: 'index',
  S: 'sequence',
  v: 'view',
  m: 'materialized view',
  t: 'TOAST table',
  f: 'foreign table',
};

function targetOf(locktype: string, rel: string | null, relkind: string | null, tupleRel: string | null): string {
  const what = rel ? `${KIND[relkind ?? ''] ?? 'relation'} ${rel}` : undefined;
  switch (locktype) {
    case 'relation':
      return what ?? 'a relation';
    case 'tuple':
      return what ? `a row of ${what}` : 'a row';
    case 'transactionid':
      // A row wait: we hold the row's tuple lock and wait for the transaction that locked it.
      return tupleRel ? `a row of table ${tupleRel}` : 'a row';
    case 'virtualxid':
      return 'older transactions to finish';
    case 'object':
      return 'a database object';
    default:
      return `a ${locktype} lock`;
  }
}

/** Reads what a session is waiting for and who is in its way; undefined when it waits for nothing. */
export async function readLockWait(monitor: Knex, pid: number): Promise<LockWait | undefined> {
  const rows = await rawRows(monitor, WAIT_SQL, [pid]);
  const first = rows[0];
  if (!first) return undefined;
  const holders: LockHolder[] = [];
  for (const r of rows) {
    const p = num(r['pid']);
    if (p === null || holders.some((h) => h.pid === p)) continue;
    holders.push({
      pid: p,
      user: str(r['usename']),
      application: str(r['application_name']),
      state: str(r['state']),
      transactionMs: num(r['xact_ms']),
      query: str(r['query']),
    });
  }
  // The oldest transaction first: a long-running one is what keeps us waiting; brief ones come and go.
  holders.sort((a, b) => (b.transactionMs ?? -1) - (a.transactionMs ?? -1));
  return {
    target: targetOf(str(first['locktype']) ?? '', str(first['rel']), str(first['relkind']), str(first['tuple_rel'])),
    mode: str(first['mode']) ?? '?',
    holders,
  };
}

function oneLine(q: string, max = 120): string {
  const s = q.replace(/\s+/g, ' ').trim();
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** "pid 123 (user app, application "psql", idle in transaction for 3.2 s, query: SELECT ...)" */
export function describeHolder(h: LockHolder): string {
  const parts: string[] = [];
  if (h.user) parts.push(`user ${h.user}`);
  if (h.application) parts.push(`application "${h.application}"`);
  if (h.state) parts.push(h.transactionMs !== null ? `${h.state}, transaction open for ${formatMs(h.transactionMs)}` : h.state);
  if (h.query) parts.push(`${h.state === 'active' ? 'query' : 'last query'}: ${oneLine(h.query)}`);
  return `pid ${h.pid}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** "lock on table accounts held by pid 123 (...)" */
export function describeWait(w: LockWait | undefined): string {
  if (!w) return 'a lock (its holder was not seen)';
  const older = w.target.startsWith('older');
  const on = older ? w.target : `lock on ${w.target}`;
  if (w.holders.length === 0) return `${on} (${w.mode})`;
  const [h, ...rest] = w.holders;
  const more = rest.length ? ` and ${rest.length} more session${rest.length === 1 ? '' : 's'} (pid ${rest.map((x) => x.pid).join(', ')})` : '';
  return `${on}${older ? ', among them' : ' held by'} ${h ? describeHolder(h) : '?'}${more}`;
}

/**
 * Watches one session from a second connection while it runs a statement, remembering the last
 * lock wait seen, so that when lock_timeout cancels the statement the report can name the table
 * and the session holding it (the error itself names neither).
 */
export class LockWatch {
  private readonly monitor: Knex;
  private readonly pid: number;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private last: { wait: LockWait; at: number } | undefined;
  /** Watches may nest (a backfill's batch inside a migration that runs outside a transaction). */
  private depth = 0;
  private broken = false;

  constructor(monitor: Knex, pid: number, intervalMs: number) {
    this.monitor = monitor;
    this.pid = pid;
    this.intervalMs = intervalMs;
  }

  /** Starts watching; pass the token to end(). */
  begin(): number {
    this.depth++;
    if (!this.timer && !this.broken) {
      this.timer = setInterval(() => this.poll(), this.intervalMs);
      this.timer.unref();
    }
    return performance.now();
  }

  /** Stops watching (when no outer watch goes on); returns the last wait seen since begin() gave the token. */
  async end(token: number): Promise<LockWait | undefined> {
    this.depth = Math.max(0, this.depth - 1);
    if (this.depth === 0) this.stopTimer();
    await this.inflight;
    return this.last && this.last.at >= token ? this.last.wait : undefined;
  }

  async close(): Promise<void> {
    this.stopTimer();
    await this.inflight;
    await this.monitor.destroy();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    if (this.inflight) return;
    const at = performance.now();
    this.inflight = readLockWait(this.monitor, this.pid)
      .then((w) => {
        if (w) this.last = { wait: w, at };
      })
      .catch(() => {
        // The monitor is a convenience: without it the report only lacks the holder.
        this.broken = true;
        this.stopTimer();
      })
      .finally(() => {
        this.inflight = undefined;
      });
  }
}
