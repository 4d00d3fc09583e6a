import type { NodeConfig } from '../config/index.ts';
import { flavorFor, flavorNameFromVersion, type Flavor } from '../engines/index.ts';
import { openNode, queryOne } from './node-connection.ts';

/** The flavor a node runs, from its SELECT VERSION(). */
export async function detectFlavor(node: NodeConfig): Promise<Flavor> {
  const c = await openNode(node);
  try {
    return flavorFor(flavorNameFromVersion(String((await queryOne(c, 'SELECT VERSION() AS v'))?.['v'] ?? '')));
  } finally {
    await c.end().catch(() => undefined);
  }
}
