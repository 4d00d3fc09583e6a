import type { ClusterConfig, NodeConfig } from '../../config/index.ts';
import { messageOf } from '../../errors.ts';
import { detectFlavor } from '../../topology/index.ts';
import type { Journal, JournalEntry } from '../journal.ts';
import { readPoolFor } from './for-cluster.ts';
import { waitCaughtUp } from './lag.ts';

/**
 * After a run died (`migrate resume` / `abort`, once the topology is consistent): the read pool as
 * the last migration found it, with the writer swapped if its switchover happened. Every node
 * that served reads then (or the old writer, now a replica) and is not taking reads now is put
 * back once its lag is under the bound; a new writer still in the pool leaves it. A node that does
 * not catch up in time stays out and the log says so: the next resume or abort tries again.
 * Returns what it did, one line each (also logged).
 */
export async function restoreReadPool(
  cluster: ClusterConfig,
  entries: JournalEntry[],
  writer: string,
  journal: Journal,
  log: (m: string) => void,
  timeoutMs: number,
  /** Engines other than MySQL/MariaDB: how a node's lag is waited for (PostgreSQL: its replay lag). */
  caughtUp?: (node: NodeConfig, maxLagSeconds: number, timeoutMs: number) => Promise<number>,
): Promise<string[]> {
  const pool = readPoolFor(cluster);
  const start = entries.filter((e) => e.step === 'read-pool' && e.phase === 'end').at(-1);
  if (!pool || !start) return [];
  const before = String(start.data?.['writer'] ?? '');
  const want = new Set((start.data?.['serving'] as string[] | undefined) ?? []);
  const members = await pool.members();
  if (before && before !== writer && (!members || members.has(before))) want.add(before);
  want.delete(writer);
  const did: string[] = [];
  const say = (m: string): void => {
    did.push(m);
    log(m);
  };
  for (const name of want) {
    const node = cluster.nodes.find((n) => n.name === name);
    if (!node || members?.get(name) === 'ready') continue;
    try {
      const lag = caughtUp
        ? await caughtUp(node, pool.maxLagSeconds, timeoutMs)
        : await waitCaughtUp(node, await detectFlavor(node), pool.maxLagSeconds, timeoutMs);
      await journal.step(`read-pool-ready:${name}`, () => pool.ready(node), { node: name, lagSeconds: lag, restore: true });
      say(`read pool: ${name} put back in the read pool (lag ${lag} s)`);
    } catch (e) {
      say(`read pool: ${name} left out of the read pool: ${messageOf(e)}`);
    }
  }
  const w = cluster.nodes.find((n) => n.name === writer);
  const ws = members?.get(writer);
  if (w && before !== writer && (members ? ws === 'ready' || ws === 'drain' : true)) {
    await journal.step('read-pool-leave', () => pool.leave(w), { node: writer, restore: true });
    say(`read pool: ${writer} is the writer: taken out of the read pool`);
  }
  return did;
}
