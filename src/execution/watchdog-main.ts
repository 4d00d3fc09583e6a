/**
 * The watchdog process of watchdog.ts: reads its configuration from the first stdin line, then
 * waits for stdin to end. "done" before the end: the coordinator finished the block, exit. The end
 * without it: the coordinator died inside the block; undo it if the candidate was not promoted.
 */
import { appendFileSync } from 'node:fs';
import { flavorFor } from '../topology/flavors/index.ts';
import type { NodeConfig } from '../config/types.ts';
import type { Flavor } from '../topology/flavors/contract.ts';
import { endWithin, isReadOnly, NODE_ANSWER_MS, onNodeIfReachable, openNode, queryRowsWithin } from '../topology/node-connection.ts';
import type { WatchdogConfig } from './watchdog.ts';

let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => {
  buffer += d;
});
process.stdin.on('end', () => {
  const [first, ...rest] = buffer.split('\n');
  if (!first || rest.some((l) => l.trim() === 'done')) process.exit(0);
  void act(JSON.parse(first) as WatchdogConfig, rest.some((l) => l.trim() === 'moved')).finally(() => process.exit(0));
});

async function act(cfg: WatchdogConfig, endpointMoved: boolean): Promise<void> {
  const note = (what: string): void => {
    try {
      appendFileSync(`${cfg.journalPath}.watchdog`, `${JSON.stringify({ at: new Date().toISOString(), what })}\n`);
    } catch {
      // Nowhere else to say it: the servers' state is what counts.
    }
  };
  const flavor = flavorFor(cfg.flavor);
  try {
    const candidateReadOnly = await readOnlyOf(cfg.candidate, flavor);
    // Promoted or not, we cannot tell: making the old primary writable could make two.
    if (candidateReadOnly === undefined || candidateReadOnly === null) {
      note(`coordinator died inside the write block; the watchdog could not act: the candidate ${cfg.candidate.name} ${candidateReadOnly === undefined ? 'cannot be reached' : 'does not answer'}`);
      return;
    }
    if (!candidateReadOnly) {
      await finishEndpoint(cfg, endpointMoved, note);
      return;
    }
    const old = await openNode(cfg.primary);
    try {
      for (const sql of flavor.setReadOnly(false)) await queryRowsWithin(old, sql, NODE_ANSWER_MS, cfg.primary.name, sql);
    } finally {
      await endWithin(old);
    }
    note(`coordinator died inside the write block before promoting ${cfg.candidate.name}: ${cfg.primary.name} made writable again`);
  } catch (e) {
    note(`coordinator died inside the write block; the watchdog could not act: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The candidate is writable: point the endpoint at it if the old primary can take no writes. */
async function finishEndpoint(cfg: WatchdogConfig, endpointMoved: boolean, note: (what: string) => void): Promise<void> {
  const left = `left for \`migrate resume\``;
  if (endpointMoved || !cfg.cluster) {
    note(`coordinator died inside the write block after ${cfg.candidate.name} was made writable${endpointMoved ? ' and the endpoint moved to it' : ''}: ${left}`);
    return;
  }
  // undefined: the old primary is gone (cannot be reached); null: it answers without saying.
  const oldReadOnly = await readOnlyOf(cfg.primary, flavorFor(cfg.flavor));
  // Two writable nodes (or an old primary that answers without saying): not ours to decide.
  if (oldReadOnly === false || oldReadOnly === null) {
    note(`coordinator died inside the write block with ${cfg.candidate.name} writable and ${cfg.primary.name} ${oldReadOnly === false ? 'writable too' : 'not answering'}: ${left}`);
    return;
  }
  const { writerFor } = await import('./writer/index.ts');
  await writerFor(cfg.cluster).move(cfg.primary, cfg.candidate);
  note(`coordinator died inside the write block after promoting ${cfg.candidate.name}: endpoint moved to it (${cfg.primary.name} ${oldReadOnly ? 'is read-only' : 'cannot be reached'}); ${left}`);
}

/** read_only of a node: undefined when it cannot be reached, null when it is reached but does not answer. */
function readOnlyOf(node: NodeConfig, flavor: Flavor): Promise<boolean | null | undefined> {
  return onNodeIfReachable(node, (c) => isReadOnly(c, flavor, node.name).catch(() => null), undefined);
}
