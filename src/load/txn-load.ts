/**
 * sysbench oltp_write_only's transaction as a load (index update, non-index update, delete +
 * insert of the same id), rate-limited, through the writer endpoint, each connection reconnecting
 * after any error as a well-behaved application does. Used by bench/switchover and the
 * switchover tests (sysbench 1.0.20 segfaults when a switchover kills its connection).
 * The table needs `id INT PRIMARY KEY, k INT, c VARCHAR/CHAR(>= 119)`.
 */
import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';

export interface Target {
  host: string;
  port: number;
  user: string;
  password: string;
  database?: string;
}

const now = (): number => performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round1 = (x: number): number => Math.round(x * 10) / 10;

/** An error's code, or the driver's message for its own errors ("Can't add new command when connection is in closed state"). */
export function errCode(e: unknown): string {
  const x = e as { code?: string; errno?: number; message?: string };
  if (x.code) return x.code;
  if (x.errno) return `errno ${x.errno}`;
  const msg = (x.message ?? '').replace(/\s+/g, ' ').trim();
  return msg ? `"${msg.length > 60 ? `${msg.slice(0, 57)}...` : msg}"` : 'error';
}

const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

export interface LoadReport {
  threads: number;
  targetTps: number;
  committed: number;
  failed: number;
  errors: Record<string, number>;
  /** Commit times (bench clock) of every committed transaction. */
  commitTimes: number[];
  /** Longest successful transaction, BEGIN to COMMIT acknowledged (sysbench's "max latency"). */
  maxLatencyMs: number;
  maxLatencyAt: number;
  /** 99th percentile of successful transactions. */
  p99LatencyMs: number;
}

/**
 * sysbench oltp_write_only's transaction (index update, non-index update, delete + insert of the
 * same id; our table has no pad column), `threads` connections through the writer endpoint, `tps` transactions per second in
 * all. A thread that falls behind (a blocked table) skips ahead instead of bursting afterwards, so
 * throughput during a change shows the stall.
 */
export class WriteLoad {
  private running = false;
  private loops: Promise<void>[] = [];
  private committed = 0;
  private failed = 0;
  private readonly errors: Record<string, number> = {};
  private readonly commitTimes: number[] = [];
  private readonly latencies: number[] = [];
  private maxLat = 0;
  private maxLatAt = 0;

  constructor(
    private readonly target: Target,
    private readonly table: string,
    private readonly rows: number,
    private readonly threads: number,
    private readonly tps: number,
  ) {}

  begin(): void {
    this.running = true;
    const interval = (1000 * this.threads) / this.tps;
    for (let i = 0; i < this.threads; i++) this.loops.push(this.run(interval, (i * interval) / this.threads));
  }

  private async run(interval: number, offset: number): Promise<void> {
    let conn: mysql.Connection | undefined;
    let next = now() + offset;
    const t = `\`${this.table}\``;
    while (this.running) {
      const wait = next - now();
      if (wait > 0) await sleep(wait);
      if (!this.running) break;
      next += interval;
      if (now() - next > interval) next = now() + interval;
      const id = 1 + Math.floor(Math.random() * this.rows);
      const start = now();
      try {
        conn ??= await mysql.createConnection({ ...this.target, connectTimeout: 2000 });
        await conn.query('BEGIN');
        await conn.query(`UPDATE ${t} SET k = k + 1 WHERE id = ?`, [id]);
        await conn.query(`UPDATE ${t} SET c = ? WHERE id = ?`, [randomC(), id]);
        await conn.query(`DELETE FROM ${t} WHERE id = ?`, [id]);
        await conn.query(`INSERT INTO ${t} (id, k, c) VALUES (?, ?, ?)`, [id, Math.floor(Math.random() * this.rows), randomC()]);
        await conn.query('COMMIT');
        const end = now();
        this.committed++;
        this.commitTimes.push(end);
        const lat = end - start;
        this.latencies.push(lat);
        if (lat > this.maxLat) {
          this.maxLat = lat;
          this.maxLatAt = start;
        }
      } catch (e) {
        this.failed++;
        bump(this.errors, errCode(e));
        conn?.destroy();
        conn = undefined;
      }
    }
    await conn?.end().catch(() => undefined);
  }

  async stop(): Promise<LoadReport> {
    this.running = false;
    await Promise.all(this.loops);
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      threads: this.threads,
      targetTps: this.tps,
      committed: this.committed,
      failed: this.failed,
      errors: { ...this.errors },
      commitTimes: this.commitTimes,
      maxLatencyMs: round1(this.maxLat),
      maxLatencyAt: this.maxLatAt,
      p99LatencyMs: round1(sorted[Math.floor(sorted.length * 0.99)] ?? 0),
    };
  }
}

function digits(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(Math.floor(Math.random() * 10));
  return s;
}
/** sysbench's c: ten groups of 11 digits joined by '-' (119 characters). */
function randomC(): string {
  return Array.from({ length: 10 }, () => digits(11)).join('-');
}
