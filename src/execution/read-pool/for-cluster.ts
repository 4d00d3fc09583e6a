import type { ClusterConfig } from '../../config/index.ts';
import { configError } from '../../errors.ts';
import { CommandReadPool } from './command.ts';
import type { ReadPool } from './contract.ts';
import { HaproxyReadPool } from './haproxy.ts';

/** The cluster's read pool, or undefined when the config names none. */
export function readPoolFor(cluster: Pick<ClusterConfig, 'name' | 'readPool'>): ReadPool | undefined {
  const rp = cluster.readPool;
  if (!rp) return undefined;
  const maxLag = rp.maxLagSeconds ?? 1;
  if (rp.type === 'haproxy') {
    if (!rp.socket || !rp.backend)
      throw configError(
        `Cluster ${cluster.name}: readPool type haproxy needs "socket" and "backend".`,
        'Add "socket": "/path/to/haproxy.sock" and "backend": "<backend of the replicas>" to readPool.',
      );
    return new HaproxyReadPool(rp.socket, rp.backend, maxLag, (rp.drainTimeoutSeconds ?? 30) * 1000);
  }
  if (!rp.command)
    throw configError(`Cluster ${cluster.name}: readPool type command needs "command".`, 'Add "command": "the command that drains or readies a replica".');
  return new CommandReadPool(rp.command, maxLag);
}
