import type { ClusterConfig, NodeConfig } from '../../config/index.ts';
import type { ReadPool } from './contract.ts';
import { decideDrain, lastReaderWarning, servingNow } from './decide.ts';

/** What --dry-run shows of the read pool around each replica-first ALTER, same decisions as ReadPoolRun. */
export interface ReadPoolPlan {
  beforeAlter(node: NodeConfig): string[];
  afterAlter(node: NodeConfig): string[];
  promoted(node: NodeConfig): string[];
  demoted(node: NodeConfig): string[];
}

export async function planReadPool(pool: ReadPool, cluster: ClusterConfig, writer: string, drainLastReader: boolean): Promise<ReadPoolPlan> {
  const members = await pool.members().catch(() => undefined);
  const serving = await servingNow(pool, cluster, writer).catch(() => new Set(cluster.nodes.filter((n) => n.name !== writer).map((n) => n.name)));
  const drained = new Set<string>();
  const lag = `wait until its lag <= ${pool.maxLagSeconds} s`;
  const head = [`-- read pool (${pool.kind}): serving reads now: ${[...serving].join(', ') || 'none'}`];
  return {
    beforeAlter(node) {
      const out = head.splice(0);
      const d = decideDrain(node.name, serving, drainLastReader);
      if (d === 'not-serving') return [...out, `-- read pool: ${node.name} is not serving reads: not drained`];
      if (d === 'keep-last') return [...out, `-- ${lastReaderWarning(node.name)}`];
      serving.delete(node.name);
      drained.add(node.name);
      return [
        ...out,
        ...(d === 'drain-last' ? [`-- read pool: ${node.name} is the last replica serving reads, drained (--drain-last-reader)`] : []),
        pool.describe('drain', node),
      ];
    },
    afterAlter(node) {
      if (!drained.delete(node.name)) return [];
      serving.add(node.name);
      return [`${node.name}: ${lag}`, pool.describe('ready', node)];
    },
    promoted(node) {
      if (members && !members.has(node.name)) return [];
      serving.delete(node.name);
      return [`-- read pool: ${node.name} is the writer now`, pool.describe('leave', node)];
    },
    demoted(node) {
      if (members && !members.has(node.name)) return [];
      serving.add(node.name);
      return [`${node.name}: ${lag}`, pool.describe('ready', node)];
    },
  };
}
