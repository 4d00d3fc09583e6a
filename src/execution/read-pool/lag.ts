import type { NodeConfig } from '../../config/index.ts';
import type { Flavor } from '../../engines/index.ts';
import { workError } from '../../errors.ts';
import { endWithin, NODE_ANSWER_MS, openNode, queryOneWithin } from '../../topology/index.ts';

/**
 * Waits until the node replicates (both threads) with its lag at most maxLagSeconds, polling
 * every 200 ms for at most timeoutMs. Returns the lag it reached; throws when the bound runs out.
 */
export async function waitCaughtUp(node: NodeConfig, flavor: Flavor, maxLagSeconds: number, timeoutMs: number): Promise<number> {
  const c = await openNode(node);
  const until = Date.now() + timeoutMs;
  let last = 'not replicating';
  try {
    for (;;) {
      const row = await queryOneWithin(c, flavor.showReplicaStatus(), NODE_ANSWER_MS, node.name, 'its replication status');
      const st = row ? flavor.parseReplicaStatus(row) : null;
      if (st?.ioRunning && st.sqlRunning && st.secondsBehind !== null) {
        if (st.secondsBehind <= maxLagSeconds) return st.secondsBehind;
        last = `${st.secondsBehind} s behind`;
      } else last = st ? 'not replicating (threads stopped)' : 'not replicating';
      if (Date.now() >= until)
        throw workError(
          `${node.name} is ${last} after ${Math.round(timeoutMs / 1000)} s of waiting to return it to the read pool (bound: ${maxLagSeconds} s of lag); it stays out of the pool.`,
          `Let ${node.name} catch up (\`migrate topology\` shows its lag), then run \`migrate resume\`: it returns ${node.name} to the read pool once its lag is under the bound.`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await endWithin(c);
  }
}
