/**
 * The PostgreSQL read pool's watcher (read-pool/replay-watch.ts) with a pool double: two replicas
 * falling behind at the same moment must not both be drained when that leaves no reader (the
 * changes are serialized), and a replica returns only through the engine's lag check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterConfig, NodeConfig } from '../../src/config/index.ts';
import { Journal } from '../../src/execution/journal.ts';
import { replayWatch, type ReadPool } from '../../src/execution/read-pool/index.ts';

const node = (name: string, role: 'primary' | 'replica', port: number): NodeConfig => ({ name, role, host: '127.0.0.1', port, user: 'postgres' });
const nodes = [node('primary', 'primary', 1), node('replica1', 'replica', 2), node('replica2', 'replica', 3)];
const cluster = { name: 'c', nodes } as unknown as ClusterConfig;

/** An HAProxy-like pool in memory; a drain takes a while, as the real one waits for sessions. */
function pool(states: Record<string, string>): ReadPool & { calls: string[] } {
  const calls: string[] = [];
  return {
    kind: 'haproxy',
    maxLagSeconds: 1,
    calls,
    preflight: async () => undefined,
    members: async () => new Map(Object.entries(states)),
    drain: async (n) => {
      await new Promise((r) => setTimeout(r, 30));
      calls.push(`drain ${n.name}`);
      states[n.name] = 'maint';
    },
    leave: async (n) => {
      calls.push(`leave ${n.name}`);
      states[n.name] = 'maint';
    },
    ready: async (n) => {
      calls.push(`ready ${n.name}`);
      states[n.name] = 'ready';
    },
    describe: () => '',
  };
}

describe('read pool on PostgreSQL: the replay watcher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rp-watch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function watch(p: ReadPool, drainLastReader: boolean, log: string[], caughtUp: string[]) {
    return replayWatch({
      pool: p,
      cluster,
      writer: 'primary',
      drainLastReader,
      catchUpTimeoutMs: 1000,
      journal: Journal.open(dir, `run-${Math.random()}`),
      log: (m) => log.push(m),
      caughtUp: async (n) => {
        caughtUp.push(n.name);
        return 0;
      },
    });
  }

  it('both replicas behind at once: one is drained, the last reader is kept and the log says so', async () => {
    const p = pool({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
    const log: string[] = [];
    const w = watch(p, false, log, []);
    expect(w.staleAfterMs).toBe(1000);
    await Promise.all([w.stale(nodes[1]!, '100'), w.stale(nodes[2]!, '100')]);
    expect(p.calls).toEqual(['drain replica1']);
    expect(log.join('\n')).toMatch(/replica2 is the last replica serving reads: it is not drained/);
  });

  it('with --drain-last-reader both go, and each returns through the lag check once replayed', async () => {
    const p = pool({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
    const caughtUp: string[] = [];
    const w = watch(p, true, [], caughtUp);
    await Promise.all([w.stale(nodes[1]!, '100'), w.stale(nodes[2]!, '100')]);
    await w.replayed(nodes[2]!);
    await w.replayed(nodes[1]!);
    expect(p.calls).toEqual(['drain replica1', 'drain replica2', 'ready replica2', 'ready replica1']);
    expect(caughtUp).toEqual(['replica2', 'replica1']);
  });

  it('a replica that was never drained (kept, or not serving) is not readied', async () => {
    const p = pool({ primary: 'maint', replica1: 'ready', replica2: 'maint' });
    const w = watch(p, false, [], []);
    await w.stale(nodes[1]!, '100');
    await w.replayed(nodes[1]!);
    await w.replayed(nodes[2]!);
    expect(p.calls).toEqual([]);
  });
});
