/**
 * The watchdog process of watchdog.ts: reads its configuration from the first stdin line, then
 * waits for stdin to end. "done" before the end: the coordinator finished the block, exit. The end
 * without it: the coordinator died; undo the block if the candidate was not promoted (the old
 * primary stays the primary), or finish moving the endpoint if it was; then, if it was inside the
 * block ("block" seen) and the old primary is not the primary again, end the old primary's
 * sessions before its read lock goes. In that order: while the endpoint still pointed at the old
 * primary, clients reconnecting through it would queue behind the lock there after the sweep, and
 * root's writes would commit on the old primary at UNLOCK (a fork; found by the kill-resume suite
 * with a root load, killed at move-endpoint). Exiting closes the inherited copy of the locking
 * session's socket (fd 3), so the lock never outlives this process.
 */
import { appendFileSync } from 'node:fs';
import { flavorFor } from '../engines/index.ts';
import type { NodeConfig } from '../config/index.ts';
import type { Flavor } from '../engines/index.ts';
import { endWithin, isReadOnly, NODE_ANSWER_MS, onNodeIfReachable, openNode, queryRowsWithin } from '../topology/index.ts';
import { endSessions } from './sessions.ts';
import { candidateWritesBeyond, positionFrom, type WatchdogConfig } from './watchdog.ts';

let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => {
  buffer += d;
});
process.stdin.on('end', () => {
  const [first, ...rest] = buffer.split('\n');
  const seen = (w: string): boolean => rest.some((l) => l.trim() === w);
  if (!first || seen('done')) process.exit(0);
  const cfg = JSON.parse(first) as WatchdogConfig;
  const position = positionFrom(rest);
  // However stuck a server makes us, we never hold the old primary's read lock (our copy of its
  // socket) for long: exiting closes it.
  setTimeout(() => process.exit(0), GIVE_UP_MS).unref();
  void (async () => {
    try {
      const oldIsPrimary = await act(cfg, seen('moved'), position);
      if (seen('block') && !oldIsPrimary) await fence(cfg);
    } finally {
      await release(cfg);
    }
  })().finally(() => process.exit(0));
});

/** The watchdog's whole job is bounded by this. */
const GIVE_UP_MS = 30_000;
/** How long the sweep keeps ending sessions that reappear. */
const SWEEP_MS = 3_000;

/**
 * The coordinator died holding the read lock (kept open by our copy of its socket): every other
 * session on the old primary is ended first, so that no write queued behind the lock, root's
 * included, commits there when the lock goes.
 */
async function fence(cfg: WatchdogConfig): Promise<void> {
  const spare = new Set(cfg.lockSessionId === undefined ? [] : [cfg.lockSessionId]);
  const swept = await onNodeIfReachable(
    cfg.primary,
    (c) => endSessions(c, spare, cfg.primary.name, performance.now() + SWEEP_MS).catch((e: unknown) => (e instanceof Error ? e.message : String(e))),
    undefined,
  );
  if (swept === undefined) note(cfg, `coordinator died inside the write block; ${cfg.primary.name} cannot be reached to end its sessions`);
  else if (typeof swept === 'string') note(cfg, `coordinator died inside the write block; ending the sessions on ${cfg.primary.name} failed: ${swept}`);
  else
    note(
      cfg,
      `coordinator died inside the write block: ${swept.killed} session(s) on ${cfg.primary.name} ended before its read lock was released${swept.left.length ? `; could not end ${swept.left.join(', ')}` : ''}`,
    );
}

/** Ends the locking session (its read lock with it), if it is still there. */
async function release(cfg: WatchdogConfig): Promise<void> {
  if (cfg.lockSessionId === undefined) return;
  await onNodeIfReachable(
    cfg.primary,
    (c) => queryRowsWithin(c, `KILL CONNECTION ${Math.trunc(cfg.lockSessionId!)}`, NODE_ANSWER_MS, cfg.primary.name).catch(() => undefined),
    undefined,
  );
}

function note(cfg: WatchdogConfig, what: string): void {
  try {
    appendFileSync(`${cfg.journalPath}.watchdog`, `${JSON.stringify({ at: new Date().toISOString(), what })}\n`);
  } catch {
    // Nowhere else to say it: the servers' state is what counts.
  }
}

/**
 * Returns true when the old primary is the primary again (made writable; nobody was promoted, or
 * the promotion was taken back before the candidate wrote anything). `position`: the old
 * primary's, sent just before the promotion; a read-only candidate seen after it may have been
 * promoted, taken writes (a client on it directly; root's pass read_only) and been closed again by
 * the coordinator's take-back before it died: the old primary is opened only when the candidate
 * holds nothing beyond that position, else those writes would be stranded on a node that goes on
 * replicating as a replica.
 */
async function act(cfg: WatchdogConfig, endpointMoved: boolean, position: string | undefined): Promise<boolean> {
  const flavor = flavorFor(cfg.flavor);
  try {
    const candidateReadOnly = await readOnlyOf(cfg.candidate, flavor);
    // Promoted or not, we cannot tell: making the old primary writable could make two.
    if (candidateReadOnly === undefined || candidateReadOnly === null) {
      note(
        cfg,
        `coordinator died inside the write block; the watchdog could not act: the candidate ${cfg.candidate.name} ${candidateReadOnly === undefined ? 'cannot be reached' : 'does not answer'}`,
      );
      return false;
    }
    if (!candidateReadOnly) {
      await finishEndpoint(cfg, endpointMoved);
      return false;
    }
    if (position !== undefined) {
      const own = await onNodeIfReachable(cfg.candidate, (c) => candidateWritesBeyond(c, flavor, position, cfg.candidate.name), undefined);
      if (own === undefined || own.length) {
        note(
          cfg,
          `coordinator died inside the write block after promoting ${cfg.candidate.name}, now read-only: ${own === undefined ? 'it cannot be reached to read' : `it holds writes of its own (${own.join(', ')} beyond ${position})`}, so ${cfg.primary.name} was not made writable; left for \`migrate resume\``,
        );
        return false;
      }
    }
    const old = await openNode(cfg.primary);
    try {
      for (const sql of flavor.setReadOnly(false)) await queryRowsWithin(old, sql, NODE_ANSWER_MS, cfg.primary.name, sql);
    } finally {
      await endWithin(old);
    }
    note(cfg, `coordinator died inside the write block before promoting ${cfg.candidate.name}: ${cfg.primary.name} made writable again`);
    return true;
  } catch (e) {
    note(cfg, `coordinator died inside the write block; the watchdog could not act: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}

/** The candidate is writable: point the endpoint at it if the old primary can take no writes. */
async function finishEndpoint(cfg: WatchdogConfig, endpointMoved: boolean): Promise<void> {
  const left = `left for \`migrate resume\``;
  if (endpointMoved || !cfg.cluster) {
    note(
      cfg,
      `coordinator died inside the write block after ${cfg.candidate.name} was made writable${endpointMoved ? ' and the endpoint moved to it' : ''}: ${left}`,
    );
    return;
  }
  // undefined: the old primary is gone (cannot be reached); null: it answers without saying.
  const oldReadOnly = await readOnlyOf(cfg.primary, flavorFor(cfg.flavor));
  // Two writable nodes (or an old primary that answers without saying): not ours to decide.
  if (oldReadOnly === false || oldReadOnly === null) {
    note(
      cfg,
      `coordinator died inside the write block with ${cfg.candidate.name} writable and ${cfg.primary.name} ${oldReadOnly === false ? 'writable too' : 'not answering'}: ${left}`,
    );
    return;
  }
  const { writerFor } = await import('./writer/index.ts');
  await writerFor(cfg.cluster).move(cfg.primary, cfg.candidate);
  note(
    cfg,
    `coordinator died inside the write block after promoting ${cfg.candidate.name}: endpoint moved to it (${cfg.primary.name} ${oldReadOnly ? 'is read-only' : 'cannot be reached'}); ${left}`,
  );
}

/** read_only of a node: undefined when it cannot be reached, null when it is reached but does not answer. */
function readOnlyOf(node: NodeConfig, flavor: Flavor): Promise<boolean | null | undefined> {
  return onNodeIfReachable(node, (c) => isReadOnly(c, flavor, node.name).catch(() => null), undefined);
}
