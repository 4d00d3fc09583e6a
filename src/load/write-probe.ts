import { performance } from 'node:perf_hooks';
import mysql from 'mysql2/promise';

export interface ProbeTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

export interface ProbeReport {
  acknowledged: number[];
  /** When each acknowledged write was acknowledged (performance.now()), same order. */
  ackTimes: number[];
  failed: number;
  /** Longest time between two acknowledged commits, in ms. */
  longestGapMs: number;
  /** When the longest gap started, ms since the probe started. */
  longestGapAtMs: number;
  errors: Record<string, number>;
}

/**
 * A client that commits one INSERT every `intervalMs` through the writer endpoint and records
 * every acknowledged id. It reconnects after any error, as a well-behaved application does, so
 * the gap it measures is what users see during a switchover.
 */
export class WriteProbe {
  private running = false;
  private loop?: Promise<void>;
  private readonly acked: number[] = [];
  private readonly ackTimes: number[] = [];
  private failed = 0;
  private readonly errors: Record<string, number> = {};
  private lastAck = 0;
  private longestGap = 0;
  private longestGapAt = 0;
  private start = 0;

  constructor(
    private readonly target: ProbeTarget,
    private readonly table = 'probe',
    private readonly intervalMs = 10,
  ) {}

  static async prepare(target: ProbeTarget, table = 'probe'): Promise<void> {
    const c = await mysql.createConnection({ ...target });
    try {
      await c.query(`CREATE TABLE IF NOT EXISTS \`${table}\` (id BIGINT PRIMARY KEY, at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`);
    } finally {
      await c.end();
    }
  }

  begin(): void {
    this.running = true;
    this.start = performance.now();
    this.lastAck = this.start;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let conn: mysql.Connection | undefined;
    let next = 1;
    while (this.running) {
      const t = performance.now();
      try {
        conn ??= await mysql.createConnection({ ...this.target, connectTimeout: 2000 });
        const id = next;
        await conn.query(`INSERT INTO \`${this.table}\` (id) VALUES (?)`, [id]);
        next++;
        const now = performance.now();
        this.acked.push(id);
        this.ackTimes.push(now);
        if (now - this.lastAck > this.longestGap) {
          this.longestGap = now - this.lastAck;
          this.longestGapAt = this.lastAck - this.start;
        }
        this.lastAck = now;
      } catch (e) {
        this.failed++;
        const code = (e as { code?: string }).code ?? 'error';
        this.errors[code] = (this.errors[code] ?? 0) + 1;
        // A duplicate means the insert committed but the ack was lost; count it acknowledged-unknown and move on.
        if (code === 'ER_DUP_ENTRY') next++;
        await conn?.end().catch(() => undefined);
        conn?.destroy();
        conn = undefined;
      }
      const wait = this.intervalMs - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await conn?.end().catch(() => undefined);
  }

  async stop(): Promise<ProbeReport> {
    this.running = false;
    await this.loop;
    return this.snapshot();
  }

  /** What the probe saw so far, while it keeps running. */
  snapshot(): ProbeReport {
    return {
      acknowledged: [...this.acked],
      ackTimes: [...this.ackTimes],
      failed: this.failed,
      longestGapMs: Math.round(this.longestGap * 10) / 10,
      longestGapAtMs: Math.round(this.longestGapAt),
      errors: { ...this.errors },
    };
  }
}

/** Longest time between consecutive acknowledgements that overlaps [from, to] (performance.now() times), ms. */
export function longestGapWithin(ackTimes: number[], from: number, to: number): { ms: number; at: number } {
  let best = { ms: 0, at: 0 };
  for (let i = 1; i < ackTimes.length; i++) {
    const a = ackTimes[i - 1]!;
    const b = ackTimes[i]!;
    if (b < from || a > to) continue;
    if (b - a > best.ms) best = { ms: Math.round((b - a) * 10) / 10, at: a };
  }
  return best;
}

/** A multi-connection update load (like sysbench oltp_write_only) that reconnects after errors. */
export class UpdateLoad {
  private running = false;
  private loops: Promise<void>[] = [];
  ok = 0;
  failed = 0;

  constructor(
    private readonly target: ProbeTarget,
    private readonly table: string,
    private readonly maxId: number,
    private readonly threads = 4,
    private readonly perThreadIntervalMs = 10,
    private readonly column = 'k',
  ) {}

  begin(): void {
    this.running = true;
    for (let i = 0; i < this.threads; i++) this.loops.push(this.run());
  }

  private async run(): Promise<void> {
    let conn: mysql.Connection | undefined;
    while (this.running) {
      try {
        conn ??= await mysql.createConnection({ ...this.target, connectTimeout: 2000 });
        const id = 1 + Math.floor(Math.random() * this.maxId);
        await conn.query(`UPDATE \`${this.table}\` SET \`${this.column}\` = \`${this.column}\` + 1 WHERE id = ?`, [id]);
        this.ok++;
      } catch {
        this.failed++;
        conn?.destroy();
        conn = undefined;
      }
      await new Promise((r) => setTimeout(r, this.perThreadIntervalMs));
    }
    await conn?.end().catch(() => undefined);
  }

  async stop(): Promise<{ ok: number; failed: number }> {
    this.running = false;
    await Promise.all(this.loops);
    return { ok: this.ok, failed: this.failed };
  }
}
