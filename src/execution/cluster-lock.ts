import type { ClusterConfig } from '../config/index.ts';
import { MigrateError } from '../errors.ts';
import { mysqlString } from '../engines/index.ts';
import { closeNow, endWithin, NODE_ANSWER_MS, openNode, queryOneWithin, queryRowsWithin, type NodeConnection } from '../topology/index.ts';

export interface ClusterLock {
  release(): Promise<void>;
}

/** The GET_LOCK name; the switchover spares the session holding it when it ends every other session. */
export function coordinatorLockName(cluster: string): string {
  return `migrate:coordinator:${cluster}`.slice(0, 64);
}

/** How long releasing waits for a node; a stopped node's lock dies with the closed connection anyway. */
const RELEASE_MS = 3_000;

/**
 * One coordinator per cluster: GET_LOCK on every node, held on admin sessions for the whole
 * run. Every node, because the writer moves during a run and a second coordinator may look at
 * either side; admin sessions, because the switchover ends application sessions only.
 * `holderHint` describes what this machine knows of a running holder (its run, from the journal).
 */
export async function lockCluster(cluster: ClusterConfig, holderHint?: () => string | undefined): Promise<ClusterLock> {
  const name = coordinatorLockName(cluster.name);
  const held: { node: string; c: NodeConnection }[] = [];
  const release = async (): Promise<void> => {
    await Promise.all(
      held.map(async ({ node, c }) => {
        // A node that stopped answering must not keep the coordinator from exiting: closing the
        // session releases its lock just as well.
        const released = await queryRowsWithin(c, `SELECT RELEASE_LOCK(${mysqlString(name)})`, RELEASE_MS, node).then(
          () => true,
          () => false,
        );
        if (released) await endWithin(c, RELEASE_MS);
        else closeNow(c);
      }),
    );
  };
  try {
    for (const node of cluster.nodes) {
      const c = await openNode(node);
      held.push({ node: node.name, c });
      const got = await queryOneWithin(c, `SELECT GET_LOCK(${mysqlString(name)}, 0) AS got`, NODE_ANSWER_MS, node.name, 'GET_LOCK');
      if (Number(got?.['got']) !== 1) {
        const holder = await queryOneWithin(
          c,
          `SELECT p.ID AS id, p.USER AS user, p.HOST AS host, p.TIME AS age FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(${mysqlString(name)})`,
          NODE_ANSWER_MS,
          node.name,
          'the lock holder lookup',
        );
        const hint = holderHint?.();
        throw new MigrateError(
          'lock',
          `Another coordinator is running on cluster ${cluster.name}: node ${node.name} has the lock held by connection ${holder?.['id'] ?? '?'} (${holder?.['user'] ?? '?'}@${holder?.['host'] ?? '?'}, ${holder?.['age'] ?? '?'} s)${hint ? `; ${hint}` : ''}. Nothing was changed.`,
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
