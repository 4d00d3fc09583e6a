/**
 * The watchdog process of watchdog.ts: reads its configuration from the first stdin line, then
 * waits for stdin to end. "done" before the end: the coordinator finished the block, exit. The end
 * without it: the coordinator died inside the block; undo it if the candidate was not promoted.
 */
import { appendFileSync } from 'node:fs';
import { flavorFor } from '../topology/flavors/index.ts';
import { endWithin, NODE_ANSWER_MS, openNode, queryOneWithin, queryRowsWithin } from '../topology/node-connection.ts';
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
    const cand = await openNode(cfg.candidate);
    let candidateReadOnly: boolean;
    try {
      const row = await queryOneWithin(cand, flavor.readOnlyQuery(), NODE_ANSWER_MS, cfg.candidate.name, 'read_only');
      candidateReadOnly = Number(row?.['ro']) === 1;
    } finally {
      await endWithin(cand);
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
  const flavor = flavorFor(cfg.flavor);
  let oldWritable: boolean | undefined;
  const old = await openNode(cfg.primary).catch(() => undefined);
  if (old) {
    try {
      oldWritable = Number((await queryOneWithin(old, flavor.readOnlyQuery(), NODE_ANSWER_MS, cfg.primary.name, 'read_only'))?.['ro']) !== 1;
    } catch {
      oldWritable = undefined;
    } finally {
      await endWithin(old);
    }
  }
  // Two writable nodes (or an old primary that answers without saying): not ours to decide.
  if (oldWritable !== false && old) {
    note(`coordinator died inside the write block with ${cfg.candidate.name} writable and ${cfg.primary.name} ${oldWritable ? 'writable too' : 'not answering'}: ${left}`);
    return;
  }
  const { writerFor } = await import('./writer/index.ts');
  await writerFor(cfg.cluster).move(cfg.primary, cfg.candidate);
  note(`coordinator died inside the write block after promoting ${cfg.candidate.name}: endpoint moved to it (${cfg.primary.name} ${old ? 'is read-only' : 'does not answer'}); ${left}`);
}
