import type { ClusterConfig } from '../../config/index.ts';
import type { ReadPool } from './contract.ts';

export type DrainDecision = 'drain' | 'drain-last' | 'not-serving' | 'keep-last';

/**
 * Whether a replica about to run its ALTER leaves the read pool: only a node serving reads is
 * drained (one the operator took out stays out), and the last one serving reads only with
 * --drain-last-reader (else reads would have no server at all for the ALTER's duration).
 */
export function decideDrain(node: string, serving: ReadonlySet<string>, drainLastReader: boolean): DrainDecision {
  if (!serving.has(node)) return 'not-serving';
  const others = [...serving].filter((n) => n !== node);
  if (others.length > 0) return 'drain';
  return drainLastReader ? 'drain-last' : 'keep-last';
}

/** The nodes serving reads now: those the pool lists as ready; a command hook: every node but the writer. */
export async function servingNow(pool: ReadPool, cluster: ClusterConfig, writer: string): Promise<Set<string>> {
  const members = await pool.members();
  if (!members) return new Set(cluster.nodes.filter((n) => n.name !== writer).map((n) => n.name));
  return new Set([...members].filter(([, s]) => s === 'ready').map(([n]) => n));
}

/** Whether the pool can take the node in: HAProxy only knows the servers its backend declares. */
export async function poolLists(pool: ReadPool, node: string): Promise<boolean> {
  const members = await pool.members();
  return !members || members.has(node);
}

export function lastReaderWarning(node: string, meanwhile = 'while its ALTER runs'): string {
  return `read pool: ${node} is the last replica serving reads: it is not drained (--drain-last-reader allows it), so ${meanwhile} it keeps serving reads that grow stale`;
}
