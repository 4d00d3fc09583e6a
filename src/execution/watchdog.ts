import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterConfig, NodeConfig } from '../config/types.ts';
import type { FlavorName } from '../topology/flavors/contract.ts';

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
 */
export interface WatchdogConfig {
  flavor: FlavorName;
  primary: NodeConfig;
  candidate: NodeConfig;
  journalPath: string;
  /** The cluster's writer endpoint: moved to a promoted candidate the coordinator died before moving it to. */
  cluster?: Pick<ClusterConfig, 'name' | 'writer'>;
}

export interface Watchdog {
  /** The endpoint is on the candidate now: nothing left for the watchdog to move. */
  endpointMoved(): void;
  /** The block is over (completed or undone by the coordinator): the watchdog exits doing nothing. */
  done(): void;
}

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'watchdog-main.ts');

/** Starts the watchdog; returns undefined (and the caller goes on without it) if it cannot start. */
export function startWatchdog(cfg: WatchdogConfig, log: (m: string) => void): Watchdog | undefined {
  let child: ChildProcess;
  try {
    // tsx loads the TypeScript entry; resolved from this module, not from the user's directory
    // (where a bare "tsx" may not resolve). The same Node, detached, no stdout/stderr of ours.
    child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  } catch (e) {
    log(`write-block watchdog not started (${e instanceof Error ? e.message : String(e)}); if this process dies inside the block, run \`migrate resume\` or \`migrate abort\``);
    return undefined;
  }
  child.on('error', (e) => log(`write-block watchdog failed (${e.message})`));
  child.unref();
  // Secrets go through the pipe, never the command line (visible to every user in ps).
  child.stdin?.write(`${JSON.stringify(cfg)}\n`);
  let finished = false;
  return {
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
