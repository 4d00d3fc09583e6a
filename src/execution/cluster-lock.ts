import type { ClusterConfig } from '../config/types.ts';
import { MigrateError } from '../errors.ts';
import { mysqlString } from '../topology/flavors/quote.ts';
import { openNode, queryOne, type NodeConnection } from '../topology/node-connection.ts';

export interface ClusterLock {
  release(): Promise<void>;
}

/**
 * One coordinator per cluster: GET_LOCK on every node, held on admin sessions for the whole
 * run. Every node, because the writer moves during a run and a second coordinator may look at
 * either side; admin sessions, because the switchover ends application sessions only.
 */
export async function lockCluster(cluster: ClusterConfig): Promise<ClusterLock> {
  const name = `migrate:coordinator:${cluster.name}`.slice(0, 64);
  const held: NodeConnection[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(held.map((c) => c.query(`SELECT RELEASE_LOCK(${mysqlString(name)})`).catch(() => undefined).then(() => c.end().catch(() => undefined))));
  };
  try {
    for (const node of cluster.nodes) {
      const c = await openNode(node);
      held.push(c);
      const got = await queryOne(c, `SELECT GET_LOCK(${mysqlString(name)}, 0) AS got`);
      if (Number(got?.['got']) !== 1) {
        const holder = await queryOne(
          c,
          `SELECT p.ID AS id, p.USER AS user, p.HOST AS host, p.TIME AS age FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(${mysqlString(name)})`,
        );
        throw new MigrateError(
          'lock',
          `Another coordinator is running on cluster ${cluster.name}: node ${node.name} has the lock held by connection ${holder?.['id'] ?? '?'} (${holder?.['user'] ?? '?'}@${holder?.['host'] ?? '?'}, ${holder?.['age'] ?? '?'} s).`,
          'Wait for it to finish (see `migrate runs`), or if it died, end that connection (KILL <id>) and run `migrate abort`.',
        );
      }
    }
    return { release };
  } catch (e) {
    await release();
    throw e;
  }
}
