import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterConfig, NodeConfig } from '../config/index.ts';
import type { Flavor, FlavorName } from '../engines/index.ts';
import { NODE_ANSWER_MS, queryRowsWithin, type NodeConnection } from '../topology/index.ts';

/**
 * The write block's dead-man switch. The read lock dies with the coordinator's session, but
 * read_only does not: a coordinator SIGKILLed (or crashed, or Ctrl-C'd) between setting read_only
 * on the old primary and promoting the candidate would leave no writable node until someone runs
 * `migrate resume` or `migrate abort`. So before the block a separate process is started (its own
 * process group: a kill of the coordinator or of its terminal's group does not reach it) holding
 * the read end of a pipe from the coordinator. The kernel closes the pipe when the coordinator
 * dies, however it dies; without the "done" line first, the watchdog checks the servers and, if
 * the candidate was not promoted (it is still read-only), makes the old primary writable again:
 * the undo the coordinator itself would have done. If the candidate was promoted and the old
 * primary is read-only (or gone) but the endpoint was not moved yet, it moves the endpoint to the
 * candidate, the coordinator's next step: otherwise the only writable node would get no writes.
 * It never promotes anything, never touches a node that took writes, and records what it did
 * beside the journal (`<journal>.watchdog`).
 *
 * The read lock itself must not die with the coordinator either: a client that bypasses read_only
 * (root) and waits on the lock would commit on the old primary the moment the lock's session
 * closes, after the candidate may have been promoted (a fork). So the watchdog is handed a copy
 * of the locking session's socket (an inherited file descriptor it never reads or writes): while
 * it runs, the kernel keeps that TCP connection, and so the session and its lock, open. When the
 * coordinator dies inside the block, the watchdog first decides as above (so that a promoted
 * candidate has the endpoint before anything else), then, unless the old primary is the primary
 * again, ends every other session on it, then releases the lock (KILL of that session).
 */
export interface WatchdogConfig {
  flavor: FlavorName;
  primary: NodeConfig;
  candidate: NodeConfig;
  journalPath: string;
  /** The cluster's writer endpoint: moved to a promoted candidate the coordinator died before moving it to. */
  cluster?: Pick<ClusterConfig, 'name' | 'writer'>;
  /** The old primary session that takes the read lock (its socket is the watchdog's fd 3). */
  lockSessionId?: number;
}

export interface Watchdog {
  /** The read lock is about to be taken: from now on a death of ours needs the watchdog's sweep. */
  blockStarted(): void;
  /**
   * The candidate is about to be made writable at this position (the old primary's, under its
   * lock): from now on a read-only candidate may have been promoted and closed again, and the
   * watchdog opens the old primary only if the candidate holds nothing beyond it.
   */
  promoting(position: string): void;
  /** The endpoint is on the candidate now: nothing left for the watchdog to move. */
  endpointMoved(): void;
  /** The block is over (completed or undone by the coordinator): the watchdog exits doing nothing. */
  done(): void;
}

// Beside this module, in its own form: watchdog-main.js in the compiled build, .ts from the sources.
const OWN = fileURLToPath(import.meta.url);
const MAIN = join(dirname(OWN), `watchdog-main${OWN.endsWith('.js') ? '.js' : '.ts'}`);

/** Starts the watchdog; returns undefined (and the caller goes on without it) if it cannot start. */
export function startWatchdog(cfg: WatchdogConfig, log: (m: string) => void, lockSocketFd?: number): Watchdog | undefined {
  let child: ChildProcess;
  try {
    // tsx loads a TypeScript entry; resolved from this module, not from the user's directory
    // (where a bare "tsx" may not resolve). The same Node, detached, no stdout/stderr of ours.
    const loader = MAIN.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
    child = spawn(process.execPath, [...loader, MAIN], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore', ...(lockSocketFd === undefined ? [] : [lockSocketFd])],
    });
  } catch (e) {
    log(
      `write-block watchdog not started (${e instanceof Error ? e.message : String(e)}); if this process dies inside the block, run \`migrate resume\` or \`migrate abort\``,
    );
    return undefined;
  }
  child.on('error', (e) => log(`write-block watchdog failed (${e.message})`));
  child.unref();
  // For `migrate resume`/`abort`: they wait for a watchdog still at work (awaitWatchdog).
  if (child.pid !== undefined) {
    try {
      writeFileSync(pidFile(cfg.journalPath), `${child.pid}\n`);
    } catch {
      // Only the wait of a recovery started within a second of a crash depends on it.
    }
  }
  // Secrets go through the pipe, never the command line (visible to every user in ps).
  child.stdin?.write(`${JSON.stringify(cfg)}\n`);
  let finished = false;
  return {
    blockStarted(): void {
      if (!finished) child.stdin?.write('block\n');
    },
    promoting(position: string): void {
      if (!finished) child.stdin?.write(positionLine(position));
    },
    endpointMoved(): void {
      if (!finished) child.stdin?.write('moved\n');
    },
    done(): void {
      if (finished) return;
      finished = true;
      child.stdin?.end('done\n');
    },
  };
}

const pidFile = (journalPath: string): string => `${journalPath}.watchdog.pid`;

/** Is pid a live watchdog of ours (not a process that reused the number)? */
function watchdogAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('watchdog-main');
  } catch {
    // No /proc (not Linux): trust the signal check.
    return true;
  }
}

/**
 * `migrate resume` and `abort` wait for the watchdog of the run they recover, if it is still at
 * work (at most its own bound, about 30 s; usually about a second): it ends every session on the
 * old primary but the read lock's before releasing that lock, and a recovery running meanwhile
 * would have its connections ended under it (seen in the kill-resume suite: "Connection lost").
 */
export async function awaitWatchdog(journalPath: string, log: (m: string) => void, maxMs = 35_000): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile(journalPath), 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !watchdogAlive(pid)) return;
  log(`waiting for the write-block watchdog of the interrupted run (pid ${pid}) to finish`);
  const until = Date.now() + maxMs;
  while (watchdogAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
}

/**
 * The position as one line of the watchdog's input. MySQL's gtid_executed puts a newline after each
 * server's UUID set; whitespace means nothing in a GTID set, so it is dropped rather than cut at.
 */
export const positionLine = (position: string): string => `position ${position.replace(/\s+/g, '')}\n`;

/** The position a coordinator sent (positionLine), from the watchdog's input lines. */
export const positionFrom = (lines: readonly string[]): string | undefined =>
  lines
    .find((l) => l.startsWith('position '))
    ?.slice('position '.length)
    .trim();

/**
 * The transactions a candidate executed beyond `position` (its own writes since it was promoted),
 * read from the server: what the switchover's take-back and the watchdog both check before the
 * old primary may take writes again.
 */
export async function candidateWritesBeyond(
  c: NodeConnection,
  flavor: Pick<Flavor, 'gtidPositionQuery' | 'errantGtidQuery' | 'errantGtids'>,
  position: string,
  node: string,
): Promise<string[]> {
  const pos = String((await queryRowsWithin(c, flavor.gtidPositionQuery(), NODE_ANSWER_MS, node, 'its GTID position'))[0]?.['pos'] ?? '');
  const q = flavor.errantGtidQuery(pos, position);
  if (!q) return flavor.errantGtids(pos, position);
  const errant = String((await queryRowsWithin(c, q, NODE_ANSWER_MS, node, 'its GTIDs beyond the position'))[0]?.['errant'] ?? '').trim();
  return errant ? [errant.replace(/\s+/g, '')] : [];
}
