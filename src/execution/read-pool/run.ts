import type { ClusterConfig, NodeConfig } from '../../config/index.ts';
import type { Flavor } from '../../engines/index.ts';
import type { Journal } from '../journal.ts';
import type { ReadPool } from './contract.ts';
import { readPoolFor } from './for-cluster.ts';
import { decideDrain, lastReaderWarning, poolLists, servingNow } from './decide.ts';
import { waitCaughtUp } from './lag.ts';

export interface ReadPoolRunOptions {
  pool: ReadPool;
  cluster: ClusterConfig;
  writer: string;
  /** MySQL/MariaDB: how a returning replica's lag is read (SHOW REPLICA STATUS). */
  flavor?: Flavor;
  /** Other engines: waits until the replica's lag is under the bound, answers it (PostgreSQL: its replay lag). */
  caughtUp?: (node: NodeConfig) => Promise<number>;
  drainLastReader: boolean;
  catchUpTimeoutMs: number;
  journal: Journal;
  log: (m: string) => void;
}

/**
 * The read pool through one replica-first migration. Every change is journaled before it runs
 * (`read-pool-drain:<node>`, `read-pool-ready:<node>`, `read-pool-leave`, `read-pool-join`), and the membership at the start is journaled as
 * `read-pool` so `migrate resume` / `abort` can put the pool back as it was (restore.ts).
 */
export class ReadPoolRun {
  private readonly drained = new Set<string>();
  private constructor(
    private readonly o: ReadPoolRunOptions,
    private readonly serving: Set<string>,
  ) {}

  static async start(o: ReadPoolRunOptions): Promise<ReadPoolRun> {
    const serving = await servingNow(o.pool, o.cluster, o.writer);
    o.journal.write('read-pool', 'end', { writer: o.writer, serving: [...serving] });
    o.log(`read pool (${o.pool.kind}): serving reads: ${[...serving].join(', ') || 'none'}`);
    return new ReadPoolRun(o, serving);
  }

  /** Before the node's ALTER: out of the pool, unless it is not in it or is the last reader. */
  beforeAlter(node: NodeConfig): Promise<void> {
    return this.drain(node, ' before its ALTER', 'while its ALTER runs');
  }

  /** An in-place run: the replica has not replayed the migration within the bound, so its reads are stale. Same rules. */
  stale(node: NodeConfig, behindBytes: string): Promise<void> {
    const why = `its replay is more than ${this.o.pool.maxLagSeconds} s behind (${behindBytes} bytes of WAL to replay)`;
    return this.drain(node, `: ${why}`, 'until it has replayed the migration');
  }

  private async drain(node: NodeConfig, why: string, meanwhile: string): Promise<void> {
    const { o } = this;
    const d = decideDrain(node.name, this.serving, o.drainLastReader);
    if (d === 'not-serving') return;
    if (d === 'keep-last') return o.log(lastReaderWarning(node.name, meanwhile));
    if (d === 'drain-last')
      o.log(`read pool: draining ${node.name}, the last replica serving reads (--drain-last-reader): reads have no server until it returns`);
    else o.log(`read pool: draining ${node.name}${why}`);
    await o.journal.step(`read-pool-drain:${node.name}`, () => o.pool.drain(node, o.log), { node: node.name });
    this.serving.delete(node.name);
    this.drained.add(node.name);
  }

  /** After the node's ALTER: back once its lag is under the bound (only a node this run drained). */
  async afterAlter(node: NodeConfig): Promise<void> {
    if (!this.drained.has(node.name)) return;
    await this.back(node, 'ready');
    this.drained.delete(node.name);
  }

  /** The switchover made `node` the writer: it leaves the read pool. */
  async promoted(node: NodeConfig): Promise<void> {
    const { o } = this;
    if (!(await poolLists(o.pool, node.name))) return;
    o.log(`read pool: ${node.name} is the writer now: out of the read pool`);
    await o.journal.step('read-pool-leave', () => o.pool.leave(node), { node: node.name });
    this.serving.delete(node.name);
    this.drained.delete(node.name);
  }

  /** The old writer, re-pointed (and altered): joins the read pool once caught up. */
  async demoted(node: NodeConfig): Promise<void> {
    if (!(await poolLists(this.o.pool, node.name))) return;
    await this.back(node, 'join');
    this.drained.delete(node.name);
  }

  private async back(node: NodeConfig, how: 'ready' | 'join'): Promise<void> {
    const { o } = this;
    const lag = o.caughtUp ? await o.caughtUp(node) : await waitCaughtUp(node, flavorOf(o), o.pool.maxLagSeconds, o.catchUpTimeoutMs);
    // The switchover's two moves are named by role, not node (the nodes swap roles from run to run).
    await o.journal.step(how === 'join' ? 'read-pool-join' : `read-pool-ready:${node.name}`, () => o.pool.ready(node), { node: node.name, lagSeconds: lag });
    o.log(`read pool: ${node.name} ${how === 'join' ? 'joins' : 'is back in'} the read pool (lag ${lag} s)`);
    this.serving.add(node.name);
  }
}

function flavorOf(o: ReadPoolRunOptions): Flavor {
  if (!o.flavor) throw new Error('a read pool run needs the flavor or a caughtUp check');
  return o.flavor;
}

/** The cluster's read pool through a run of its own (finalize, rollback), or undefined when it names none. */
export async function readPoolRunFor(o: Omit<ReadPoolRunOptions, 'pool'>): Promise<ReadPoolRun | undefined> {
  const pool = readPoolFor(o.cluster);
  return pool ? ReadPoolRun.start({ ...o, pool }) : undefined;
}
