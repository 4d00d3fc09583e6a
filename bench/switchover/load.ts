/**
 * What the application sees during a schema change: a rate-limited, multi-threaded write-only load
 * (the transaction of sysbench oltp_write_only), a probe committing one INSERT every 10 ms into the
 * table being changed and recording every acknowledged id, and a poller of replica lag.
 * Every client reconnects after any error, as a well-behaved application does (sysbench 1.0.20
 * segfaults when a switchover kills its connection, so it cannot be the load here).
 */
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';

import { errCode, type Target } from '../../src/load/txn-load.ts';

export type { Target } from '../../src/load/txn-load.ts';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

/** ms on the shared bench clock (performance.now(), the same in every class here). */
export const now = (): number => performance.now();

export { WriteLoad, type LoadReport } from '../../src/load/txn-load.ts';

export interface ProbeReport {
  acknowledged: number[];
  /** Ack time of each acknowledged id (bench clock), same order. */
  ackTimes: number[];
  failed: number;
  errors: Record<string, number>;
  /** Longest time between two acknowledged commits (ms) and when it started (bench clock). */
  longestGapMs: number;
  longestGapAt: number;
  /** Inserts whose outcome was unknown (error) and that later proved committed (duplicate key). */
  unknownCommitted: number;
}

/**
 * One INSERT every `intervalMs` into the table being changed (ids from `firstId` up, clear of the
 * load's ids), through the writer endpoint. An insert that failed is retried with the same id, so
 * a duplicate-key answer means the earlier attempt did commit without its acknowledgement.
 */
export class Probe {
  private running = false;
  private loop?: Promise<void>;
  private readonly acked: number[] = [];
  private readonly ackTimes: number[] = [];
  private failed = 0;
  private unknownCommitted = 0;
  private readonly errors: Record<string, number> = {};
  private lastAck = 0;
  private longestGap = 0;
  private longestGapAt = 0;

  constructor(
    private readonly target: Target,
    private readonly table: string,
    private readonly firstId: number,
    private readonly intervalMs = 10,
  ) {}

  begin(): void {
    this.running = true;
    this.lastAck = now();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let conn: mysql.Connection | undefined;
    let id = this.firstId;
    let next = now();
    while (this.running) {
      try {
        conn ??= await mysql.createConnection({ ...this.target, connectTimeout: 2000 });
        await conn.query(`INSERT INTO \`${this.table}\` (id) VALUES (?)`, [id]);
        const t = now();
        this.acked.push(id);
        this.ackTimes.push(t);
        if (t - this.lastAck > this.longestGap) {
          this.longestGap = t - this.lastAck;
          this.longestGapAt = this.lastAck;
        }
        this.lastAck = t;
        id++;
      } catch (e) {
        const code = errCode(e);
        if (code === 'ER_DUP_ENTRY') {
          // The previous attempt with this id committed; its acknowledgement was lost.
          this.unknownCommitted++;
          id++;
        } else {
          this.failed++;
          bump(this.errors, code);
        }
        conn?.destroy();
        conn = undefined;
      }
      next += this.intervalMs;
      const wait = next - now();
      if (wait > 0) await sleep(wait);
      else next = now();
    }
    await conn?.end().catch(() => undefined);
  }

  async stop(): Promise<ProbeReport> {
    this.running = false;
    await this.loop;
    return {
      acknowledged: this.acked,
      ackTimes: this.ackTimes,
      failed: this.failed,
      errors: { ...this.errors },
      longestGapMs: round1(this.longestGap),
      longestGapAt: this.longestGapAt,
      unknownCommitted: this.unknownCommitted,
    };
  }
}

export interface LagReport {
  /** Highest Seconds_Behind_Master seen on any replica, and on which node. */
  peakSeconds: number;
  peakNode: string;
  samples: number;
  /** Replication errors seen while polling (node: errno message), deduplicated. */
  replicationErrors: string[];
}

/** Polls SHOW SLAVE STATUS on every node every `everyMs`; whichever nodes are replicas at that moment count. */
export class LagPoller {
  private running = false;
  private loops: Promise<void>[] = [];
  private peak = 0;
  private peakNode = '';
  private samples = 0;
  private readonly errors = new Set<string>();
  /** Non-zero lag readings: bench-clock time, node, Seconds_Behind_Master. */
  readonly series: [number, string, number][] = [];

  constructor(
    private readonly nodes: (Target & { name: string })[],
    private readonly everyMs = 100,
  ) {}

  begin(): void {
    this.running = true;
    this.loops = this.nodes.map((n) => this.run(n));
  }

  private async run(n: Target & { name: string }): Promise<void> {
    let conn: mysql.Connection | undefined;
    while (this.running) {
      const t = now();
      try {
        conn ??= await mysql.createConnection({ host: n.host, port: n.port, user: n.user, password: n.password, connectTimeout: 2000 });
        const [rows] = await conn.query('SHOW SLAVE STATUS');
        const st = (rows as Record<string, unknown>[])[0];
        if (st) {
          this.samples++;
          const sbm = st['Seconds_Behind_Master'];
          if (sbm !== null && sbm !== undefined && Number(sbm) > 0) this.series.push([Math.round(t), n.name, Number(sbm)]);
          if (sbm !== null && sbm !== undefined && Number(sbm) > this.peak) {
            this.peak = Number(sbm);
            this.peakNode = n.name;
          }
          const errno = Number(st['Last_SQL_Errno'] ?? 0) || Number(st['Last_IO_Errno'] ?? 0);
          if (errno) this.errors.add(`${n.name}: ${errno} ${String(st['Last_SQL_Error'] || st['Last_IO_Error'] || '')}`.slice(0, 300));
        }
      } catch {
        conn?.destroy();
        conn = undefined;
      }
      const wait = this.everyMs - (now() - t);
      if (wait > 0) await sleep(wait);
    }
    await conn?.end().catch(() => undefined);
  }

  async stop(): Promise<LagReport> {
    this.running = false;
    await Promise.all(this.loops);
    return { peakSeconds: this.peak, peakNode: this.peakNode, samples: this.samples, replicationErrors: [...this.errors] };
  }
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * The bench client's own stalls: a timer due every 5 ms that fires late means this process was
 * not running (CPU starvation on a busy machine, GC). A write gap that coincides with one is the
 * client's, not the database's.
 */
export class StallMonitor {
  private timer?: NodeJS.Timeout;
  private last = 0;
  readonly stalls: { at: number; ms: number }[] = [];

  constructor(private readonly thresholdMs = 50) {}

  begin(): void {
    this.last = now();
    this.timer = setInterval(() => {
      const t = now();
      const late = t - this.last - 5;
      if (late > this.thresholdMs) this.stalls.push({ at: this.last, ms: round1(late) });
      this.last = t;
    }, 5);
  }

  stop(): { at: number; ms: number }[] {
    clearInterval(this.timer);
    return this.stalls;
  }
}

export { longestGapWithin } from '../../src/load/write-probe.ts';
