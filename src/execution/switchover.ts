import { performance } from 'node:perf_hooks';
import type { ClusterConfig, NodeConfig } from '../config/index.ts';
import { MigrateError, messageOf, workError } from '../errors.ts';
import type { Flavor } from '../engines/index.ts';
import { mysqlString } from '../engines/index.ts';
import {
  endWithin,
  isConnectionLoss,
  isReadOnly,
  lossReason,
  NODE_ANSWER_MS,
  NodeSilentError,
  onNodeIfReachable,
  openNode,
  queryOneWithin,
  queryRowsWithin,
  socketFdOf,
  type NodeConnection,
} from '../topology/index.ts';
import { coordinatorLockName } from './cluster-lock.ts';
import { ForkError, readBinlogCoordinates, readGtidState, readOwnTransactions, type BinlogCoordinates } from './fork.ts';
import type { Journal } from './journal.ts';
import { endSessions, type Sweep } from './sessions.ts';
import { StepMachine, type MachineStep, type TakenBack } from './step-machine.ts';
import { candidateWritesBeyond, startWatchdog } from './watchdog.ts';
import type { WriterEndpoint } from './writer/contract.ts';
import { describeEndpointBack, type EndpointBack, restoreEndpoint } from './writer/restore.ts';

/**
 * What a refusal inside a replica-first run tells the operator to run next. `migrate rollback`
 * (hold.ts) runs the same switchover under a journal resume and abort do not take up, and says
 * its own next step in place of this one.
 */
export const RESUME_OR_ABORT = 'run `migrate resume` to finish the migration, or `migrate abort` to undo it on the replicas';

export interface SwitchoverOptions {
  flavor: Flavor;
  primary: NodeConfig;
  candidate: NodeConfig;
  /** Other replicas of the old primary, re-pointed to the candidate afterwards. */
  replicas: NodeConfig[];
  writer: WriterEndpoint;
  /** Replication account the re-pointed nodes use (the node admin account by default). */
  replicationUser: { user: string; password: string };
  /** The cluster (name and writer config), for the write-block watchdog to move the endpoint if we die. */
  cluster?: Pick<ClusterConfig, 'name' | 'writer'>;
  /** Upper bound on the write block; past it the switchover is undone. */
  maxWriteBlockMs: number;
  /**
   * Lag the candidate and the other replicas may have when the block starts; it is waited for
   * first, with a bound, so the block waits for nobody and the re-pointing after it is quick.
   */
  maxLagBeforeBlockMs: number;
  catchUpTimeoutMs: number;
  /** Master-master: the old primary keeps replicating from the new one as a hot rollback target. */
  masterMaster: boolean;
  /** How long the old primary's own transactions are watched after UNLOCK (default FORK_WATCH_MS). */
  forkWatchMs?: number;
  journal: Journal;
  log: (msg: string) => void;
}

export interface SwitchoverResult {
  /** From the read lock on the old primary to the endpoint pointing at the writable new primary. */
  writeBlockMs: number;
  position: string;
  /** Sessions ended on the old primary (every one but ours and replication's), and in how many sweeps. */
  killedSessions: number;
  killRounds: number;
  /** Every step's duration, ms, in the order they ran. */
  stepsMs: Record<string, number>;
  /** The steps inside the write block, in order (their durations are in stepsMs). */
  blockSteps: string[];
  /**
   * Set when the old primary stopped answering after the promotion: the switchover completed
   * without it (endpoint moved, other replicas re-pointed) and it still needs re-pointing.
   */
  oldPrimaryLost?: string;
}

/** Extra wait past a server-side timeout before a silent server counts as gone. */
const GRACE_MS = 100;
/** How long a replica's threads may be (re)connecting before catch-up calls it not replicating. */
const NOT_RUNNING_GRACE_MS = 10_000;
/**
 * After UNLOCK the old primary's own transactions are watched this long: a write that was queued
 * behind the read lock by a session that connected in the last instant commits within a few
 * milliseconds of UNLOCK, so a fork shows here rather than later as a replication error.
 */
export const FORK_WATCH_MS = 300;
/** How often the watch looks. */
const FORK_POLL_MS = 10;
/** The bound on the table flush before the write block. */
const PRE_FLUSH_MS = 1_000;
/** Sweeping sessions stops after this long even if clients keep reconnecting (the watch then decides). */
const SWEEP_MS = 3_000;

/**
 * The read-lock switchover of DESIGN.md, in the order measured to keep every acknowledged write
 * and the write block short. Before the block: every replica caught up, a connection open to
 * every node. The block (what clients wait on): the global read lock on the old primary, its
 * position, the candidate's GTID wait, read_only on the old primary, the candidate writable, the
 * endpoint moved: five round trips and one HAProxy command. After it, with the old primary still
 * locked: the candidate stops replicating from it, every session on it but ours and the
 * replication threads is ended (root's and the admin user's too: they bypass read_only), the
 * other replicas and the old primary are re-pointed, a last sweep, UNLOCK; then its own
 * transactions are watched (a fork is reported as one) and the topology verified.
 * Until promotion every step is undone on failure; after it, the old primary stays read-only, and
 * if it dies the switchover completes without it. One exception: an endpoint that did not move
 * takes the promotion back while the candidate has taken no write of its own (moveEndpoint).
 */
export async function switchover(o: SwitchoverOptions): Promise<SwitchoverResult> {
  const { journal } = o;
  const stepsMs: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>, data?: Record<string, unknown>): Promise<T> => {
    const t = performance.now();
    try {
      return await journal.step(step, fn, data);
    } finally {
      stepsMs[step] = Math.round((performance.now() - t) * 10) / 10;
    }
  };

  const conns: NodeConnection[] = [];
  const open = async (n: NodeConfig): Promise<NodeConnection> => {
    const c = await openNode(n);
    conns.push(c);
    return c;
  };
  try {
    // Every connection the switchover needs is open before the block: no connect inside it, and
    // none on a node's hot path right after it.
    const [oldConn, guardConn, candConn, ...replicaConns] = await Promise.all([open(o.primary), open(o.primary), open(o.candidate), ...o.replicas.map(open)]);
    const id = async (c: NodeConnection) => Number((await queryOneWithin(c, 'SELECT CONNECTION_ID() AS id', NODE_ANSWER_MS, o.primary.name))?.['id']);
    const oldId = await id(oldConn!);
    const ourIds = new Set<number>([oldId, await id(guardConn!)]);
    // The coordinator's cluster lock is a session of ours on the old primary too.
    if (o.cluster) {
      const holder = await queryOneWithin(
        guardConn!,
        `SELECT IS_USED_LOCK(${mysqlString(coordinatorLockName(o.cluster.name))}) AS id`,
        NODE_ANSWER_MS,
        o.primary.name,
      );
      if (holder?.['id'] !== null && holder?.['id'] !== undefined) ourIds.add(Number(holder['id']));
    }
    return await run(o, {
      oldConn: oldConn!,
      oldId,
      candConn: candConn!,
      guardConn: guardConn!,
      replicaConns: o.replicas.map((node, i) => ({ node, conn: replicaConns[i]! })),
      ourIds,
      timed,
      stepsMs,
    });
  } catch (e) {
    // Only a lost connection is the node failing before the first step; anything else (an SQL
    // error, a bug) is not said to be one, and goes on as it is.
    throw e instanceof MigrateError || !isConnectionLoss(e) ? e : notStarted(o, e);
  } finally {
    await Promise.all(conns.map((c) => endWithin(c)));
  }
}

/**
 * run() says its own failures (failed()); before it, a connection that died between its login and
 * its first statement (isConnectionLoss: nothing else comes here) is still the driver's error, which the operator would see as an unexpected
 * failure with no next step (and `migrate rollback` could not replace resume/abort in it).
 */
function notStarted(o: SwitchoverOptions, e: unknown): MigrateError {
  return workError(
    `The switchover could not start: the old primary ${o.primary.name} failed before the first step (${lossReason(e)}). Nothing was blocked.`,
    `Check that ${o.primary.name} answers (\`migrate topology\`), then ${RESUME_OR_ABORT}.`,
    e,
  );
}

interface Sessions {
  oldConn: NodeConnection;
  /** The old primary session's connection id: what the guard kills when a statement overruns. */
  oldId: number;
  candConn: NodeConnection;
  guardConn: NodeConnection;
  replicaConns: { node: NodeConfig; conn: NodeConnection }[];
  ourIds: Set<number>;
  timed: <T>(step: string, fn: () => Promise<T>, data?: Record<string, unknown>) => Promise<T>;
  stepsMs: Record<string, number>;
}

/** The switchover's steps, in the order they run; the journal names them exactly so. */
export type SwitchoverStep =
  | 'preflight-endpoint'
  | 'catch-up'
  | 'preflight-long-queries'
  | 'flush-tables'
  | 'block-writes'
  | 'record-position'
  | 'wait-candidate'
  | 'read-only-old-primary'
  | 'promote'
  | 'move-endpoint'
  | 'detach-candidate'
  | 'end-sessions'
  | 'fence-check'
  | 'repoint-replicas'
  | 'repoint-old-primary'
  | 'unlock'
  | 'watch-old-primary'
  | 'reattach-candidate'
  // Not `verify`: that is the hand-off's step, in the same journal (handoff/progress.ts).
  | 'switchover-verify';

/** The write block: what clients wait on, from the read lock to the endpoint on the candidate. */
const BLOCK_STEPS: readonly SwitchoverStep[] = ['block-writes', 'record-position', 'wait-candidate', 'read-only-old-primary', 'promote', 'move-endpoint'];

type Machine = StepMachine<SwitchoverStep, Run>;
type Step = MachineStep<SwitchoverStep, Run>;

/** What the steps share while the switchover runs. */
interface Run {
  o: SwitchoverOptions;
  s: Sessions;
  machine: Machine;
  watchdog: ReturnType<typeof startWatchdog>;
  P: string;
  C: string;
  /** performance.now() when the write block began; 0 before. */
  blockStart: number;
  position: string;
  writeBlockMs: number;
  ended: Sweep;
  last?: Sweep;
  fence?: Fence;
  errant: string[];
  /** Set when the old primary stopped answering after the promotion: why, and where it was noticed. */
  oldPrimaryLost?: string;
  /** Set when the endpoint did not move and the candidate, which took no write, was closed again: the block is undone. */
  promotionTakenBack?: boolean;
}

const onOld = (r: Run, c: NodeConnection, sql: string, what?: string) => queryRowsWithin(c, sql, NODE_ANSWER_MS, r.P, what);
const onCand = (r: Run, sql: string, ms = NODE_ANSWER_MS) => queryRowsWithin(r.s.candConn, sql, ms, r.C, `"${sql}"`);
const remainingMs = (r: Run): number => r.blockStart + r.o.maxWriteBlockMs - performance.now();
const sweep = (r: Run, untilMs: number): Promise<Sweep> => endSessions(r.s.guardConn, r.s.ourIds, r.P, untilMs);

async function run(o: SwitchoverOptions, s: Sessions): Promise<SwitchoverResult> {
  const { journal, log } = o;
  const P = o.primary.name;
  const C = o.candidate.name;
  journal.write('switchover', 'begin', { primary: P, candidate: C, replicas: o.replicas.map((r) => r.name), masterMaster: o.masterMaster });
  const machine: Machine = new StepMachine([...beforeBlock(), ...theBlock(), ...afterBlock()], {
    journaler: () => s.timed,
    undoJournal: 'undo',
    onFailure: () => journal.deferSync(false),
  });
  // Started now so that its start-up (a Node process) overlaps the catch-up, not the write block.
  const watchdog = startWatchdog(
    {
      flavor: o.flavor.name,
      primary: o.primary,
      candidate: o.candidate,
      journalPath: journal.path,
      lockSessionId: s.oldId,
      ...(o.cluster ? { cluster: o.cluster } : {}),
    },
    log,
    socketFdOf(s.oldConn),
  );
  const r: Run = { o, s, machine, watchdog, P, C, blockStart: 0, position: '', writeBlockMs: 0, ended: { killed: 0, rounds: 0, left: [] }, errant: [] };
  try {
    await machine.run(r);
    journal.write('switchover', 'end', {
      newPrimary: C,
      writeBlockMs: r.writeBlockMs,
      stepsMs: s.stepsMs,
      ...(r.oldPrimaryLost ? { oldPrimaryLost: r.oldPrimaryLost } : {}),
    });
    return {
      writeBlockMs: r.writeBlockMs,
      position: r.position,
      killedSessions: r.ended.killed + (r.last?.killed ?? 0),
      killRounds: r.ended.rounds + (r.last?.rounds ?? 0),
      stepsMs: s.stepsMs,
      blockSteps: [...BLOCK_STEPS],
      ...(r.oldPrimaryLost ? { oldPrimaryLost: r.oldPrimaryLost } : {}),
    };
  } catch (e) {
    throw failed(r, e, machine.takenBack ?? { undone: false });
  } finally {
    // Completed or undone by us: nothing for the watchdog to do.
    watchdog?.done();
  }
}

/** After the machine took the failed switchover back: journaled, and said as the operator needs it. */
function failed(r: Run, e: unknown, back: TakenBack): unknown {
  const { P } = r;
  if (back.undone && r.blockStart) r.o.log(`switchover undone after ${Math.round(performance.now() - r.blockStart)} ms of write block; ${P} is writable again`);
  // Closes the step the run began, so `migrate runs` shows a failed run, not an interrupted one.
  r.o.journal.write('switchover', 'fail', {
    error: messageOf(e),
    undone: back.undone,
    ...(r.promotionTakenBack ? { takenBack: true } : {}),
    ...(e instanceof ForkError ? { fork: true } : {}),
  });
  if (back.undoError !== undefined) {
    // An endpoint that did not move says what its undo leaves; that undo failing, what failed first.
    const first = r.promotionTakenBack && e instanceof MigrateError && e.cause !== undefined ? e.cause : e;
    return workError(
      `The switchover failed (${first instanceof MigrateError ? first.problem : messageOf(first)}) and undoing it failed too on ${P} (${lossReason(back.undoError)}): ${P} may be left read-only, so no node may take writes.`,
      `Bring ${P} back (\`migrate topology\` shows it), then run \`migrate abort\` or \`migrate resume\`: both make exactly one node writable and point the endpoint at it.`,
      e,
    );
  }
  return e instanceof MigrateError
    ? e
    : workError(`The switchover failed: ${messageOf(e)}`, 'Run `migrate topology` to see the state; the journal names the last step.', e);
}

/** Before the block: nothing is blocked yet, and a failure leaves the old primary as it was. */
function beforeBlock(): Step[] {
  return [
    { name: 'preflight-endpoint', do: (r) => r.o.writer.preflight() },
    { name: 'catch-up', do: (r) => waitForLag(r.o, r.s.candConn, r.s.replicaConns, r.o.log) },
    {
      name: 'preflight-long-queries',
      do: (r) => checkLongQueries(r.s.oldConn, r.s.ourIds, r.P),
      // Set on the locking session now, not inside the block: one round trip fewer there.
      after: async (r) => void (await onOld(r, r.s.oldConn, `SET SESSION lock_wait_timeout=${Math.max(1, Math.ceil(r.o.maxWriteBlockMs / 1000))}`)),
    },
    {
      // FLUSH TABLES WITH READ LOCK first closes every open table; the first one on a server that
      // has run for a while took 6-68 ms of the block here under load (measured: 0.1-21 ms after
      // this). Flushing now, just before, leaves it little to close (MHA does the same). Writes go
      // on meanwhile; it is only an optimisation, so a flush that is slow (bounded) or fails only
      // costs the block that time.
      name: 'flush-tables',
      do: async (r) => {
        try {
          await bounded(
            r.s.oldConn,
            r.s.oldId,
            r.s.guardConn,
            r.P,
            'FLUSH NO_WRITE_TO_BINLOG TABLES',
            PRE_FLUSH_MS,
            'flushing the tables before the write block',
          );
        } catch (e) {
          if (isConnectionLoss(e)) throw e;
          r.o.log(
            `warning: ${r.P}: flushing the tables before the write block did not finish within ${PRE_FLUSH_MS} ms (${messageOf(e)}); going on, the read lock will flush them`,
          );
        }
      },
    },
  ];
}

/**
 * The block, until the promotion the point of no return: every step that began is undone on a
 * failure (the candidate closed again before the old primary opens, so no moment has two
 * writable nodes), and the old primary takes writes again. Past it, only a move of the endpoint
 * that failed before the candidate took any write is undone so (moveEndpoint).
 */
function theBlock(): Step[] {
  return [
    {
      // The global read lock only: writes that arrive now wait for it instead of failing, so
      // clients see a pause rather than errors. read_only comes later, just before the promotion:
      // MariaDB checks read_only before a write waits for the read lock, so a write arriving after
      // it fails at once (1290) and its client retries into the same wall until the endpoint moves.
      name: 'block-writes',
      before: (r) => {
        r.watchdog?.blockStarted();
        r.o.journal.deferSync(true);
        r.blockStart = performance.now();
      },
      do: (r) => bounded(r.s.oldConn, r.s.oldId, r.s.guardConn, r.P, 'FLUSH TABLES WITH READ LOCK', remainingMs(r), 'taking the global read lock'),
      undo: async (r) => void (await onOld(r, r.s.oldConn, 'UNLOCK TABLES').catch(() => undefined)),
      // Past the promotion, still locked (a later step failed): a write queued behind the lock
      // (root's pass read_only) would commit on a node that is no longer the primary. End them
      // first, as the unlock step does before UNLOCK.
      release: async (r) => {
        if (r.machine.done('unlock') || r.oldPrimaryLost) return;
        await sweep(r, performance.now() + SWEEP_MS).catch(() => undefined);
        await onOld(r, r.s.oldConn, 'UNLOCK TABLES').catch(() => undefined);
      },
    },
    {
      name: 'record-position',
      do: async (r) => {
        r.position = String(
          (await queryOneWithin(r.s.oldConn, r.o.flavor.gtidPositionQuery(), Math.max(0, remainingMs(r)) + GRACE_MS, r.P, 'the GTID position read'))?.['pos'] ??
            '',
        );
      },
      after: (r) => r.o.journal.write('position', 'end', { position: r.position }),
    },
    { name: 'wait-candidate', data: (r) => ({ position: r.position }), do: waitCandidate },
    {
      // read_only before the candidate opens: if this process dies from here on, the read lock
      // dies with its session, and the writes queued behind it must fail rather than commit on a
      // node that is no longer the primary (root's still commit: the watchdog and `migrate resume`
      // check for that fork).
      name: 'read-only-old-primary',
      do: async (r) => {
        for (const sql of r.o.flavor.setReadOnly(true))
          await bounded(r.s.oldConn, r.s.oldId, r.s.guardConn, r.P, sql, remainingMs(r), 'setting read_only on the old primary');
      },
      undo: async (r) => {
        for (const sql of r.o.flavor.setReadOnly(false)) await onOld(r, r.s.guardConn, sql);
      },
      // The one moment no node takes writes and nothing undoes it but us (or the watchdog).
      after: (r) => r.o.journal.write('old-primary-read-only', 'end', { node: r.P }),
    },
    // Only read_only off inside the block. The candidate may keep its replication threads a few
    // milliseconds longer: the old primary is locked and read-only, nothing comes from it, and
    // stopping them (STOP SLAVE waits for the IO thread) is done after the endpoint moved.
    {
      name: 'promote',
      before: (r) => r.watchdog?.promoting(r.position),
      do: promote,
      commits: true,
      // A promotion cut off midway may have opened the candidate: undone first (the undos run in
      // reverse), so that no moment has two writable nodes (a coordinator killed between this and
      // the old primary's undo leaves none, which the watchdog repairs, rather than two, which
      // nothing would).
      undo: (r) => setReadOnlyOn(r.o.candidate, r.o.flavor, r.o.log),
    },
    {
      name: 'move-endpoint',
      do: moveEndpoint,
      uncommits: (r) => r.promotionTakenBack === true,
      after: (r) => {
        r.watchdog?.endpointMoved();
        r.writeBlockMs = Math.round((performance.now() - r.blockStart) * 10) / 10;
        r.o.journal.deferSync(false);
        r.o.log(
          `write block: ${r.writeBlockMs} ms (read lock on ${r.P} -> endpoint on ${r.C}): ${BLOCK_STEPS.map((k) => `${k} ${r.s.stepsMs[k]}`).join(', ')}`,
        );
      },
    },
  ];
}

/**
 * The endpoint onto the candidate, the block's last step. When it fails (the driver refused, the
 * writer command failed or timed out), left as it is the promoted candidate and the old primary
 * would both take writes: the candidate's own, and root's through the endpoint, which still
 * points at the old primary and whose read_only they pass. So while the candidate has taken no
 * write of its own, the promotion is taken back: the candidate is closed again, then the machine
 * runs the block's undos (the old primary writable, its read lock released; the candidate never
 * stopped replicating from it), and the old primary is the primary behind the endpoint that never
 * left it. A candidate that took writes stays promoted: undoing it would leave them on a replica.
 * The watchdog needs no word of this: if we die meanwhile, it sees a read-only candidate and
 * makes the old primary writable, the same undo.
 */
async function moveEndpoint(r: Run): Promise<void> {
  try {
    await r.o.writer.move(r.o.primary, r.o.candidate);
  } catch (e) {
    let endpoint: EndpointBack | undefined;
    const kept = await closeUnwrittenCandidate({
      flavor: r.o.flavor,
      C: r.C,
      position: r.position,
      candConn: r.s.candConn,
      reopen: () => openCandidate(r.o.candidate),
      // Put back before the second look: a write a half-moved endpoint sent to the candidate
      // until then shows in it (and keeps the promotion) rather than being stranded there.
      afterClose: async () => void (endpoint ??= await restoreEndpoint(r.o.writer, r.o.primary, r.o.candidate)),
    });
    if (kept === undefined) {
      r.promotionTakenBack = true;
      // Before the old primary's undo, which may fail or be cut off: a recovery then knows the
      // candidate is no longer the promoted node (recover.ts intendedWriter).
      r.o.journal.write('promotion-taken-back', 'end', { node: r.C, position: r.position });
      throw endpointUndone(r, e, endpoint ?? { on: 'unknown', why: 'it was not looked at' });
    }
    throw await endpointNotMoved(r, e, kept);
  }
}

/** What closeUnwrittenCandidate needs: the candidate, the position under the lock, its connection. */
export interface CandidateClose {
  flavor: Flavor;
  C: string;
  /** The old primary's position recorded under its read lock. */
  position: string;
  candConn: NodeConnection;
  /** A fresh connection to the candidate, or undefined when none opens (QUICK bounds in production). */
  reopen: () => Promise<NodeConnection | undefined>;
  /** Once the candidate is read-only, before the second look. */
  afterClose?: () => Promise<void>;
}

const openCandidate = (n: NodeConfig): Promise<NodeConnection | undefined> => openNode(n, { connectTimeoutMs: QUICK.connectTimeoutMs }).catch(() => undefined);

/**
 * Closes the promoted candidate again if it holds no transaction beyond the position recorded
 * under the old primary's read lock (read from the server, not assumed): looked at first, so a
 * candidate that took writes is left as it is, and again once it is read-only, for a write that
 * committed in between (it is opened again then). Returns why it stays promoted, or undefined
 * when it was closed.
 *
 * The rule when the switchover's connection to it dies after the first look (while or after
 * read_only=ON is set): the first look only says nothing was written up to it; a client connected
 * to the candidate directly may commit between it and read_only=ON (and root's pass read_only even
 * after it). So the undo is taken only on a second look made once read_only=ON is known to hold:
 * read_only=ON is set again (it is idempotent) and the GTIDs read over a fresh connection. When
 * no fresh connection answers, not knowing is no ground to undo: opening the old primary would
 * strand such a write on a node that is then a replica. Both nodes are left as they are (the
 * error reads and names each one's read_only, "unknown" where it cannot be read).
 */
export async function closeUnwrittenCandidate(k: CandidateClose): Promise<string | undefined> {
  const { flavor, C } = k;
  const onC = (c: NodeConnection, sql: string) => queryRowsWithin(c, sql, NODE_ANSWER_MS, C, `"${sql}"`);
  const own = (c: NodeConnection): Promise<string[]> => candidateWritesBeyond(c, flavor, k.position, C);
  const tookWrites = (gtids: string[]) =>
    `${C} took writes of its own after its promotion (GTIDs ${gtids.join(', ')} beyond ${k.position}), so the promotion was not undone:`;
  const unread = (e: unknown) => `whether ${C} took writes of its own could not be read (${messageOf(e)}), so the promotion was not undone:`;
  let before: string[];
  try {
    before = await own(k.candConn);
  } catch (e) {
    return unread(e);
  }
  if (before.length) return tookWrites(before);
  const closeAndLook = async (c: NodeConnection): Promise<string | undefined> => {
    for (const sql of flavor.setReadOnly(true)) await onC(c, sql);
    await k.afterClose?.();
    const after = await own(c);
    if (after.length === 0) return undefined;
    // Opened again: the promotion stands with its write. Failing that, the error reads the state.
    for (const sql of flavor.setReadOnly(false)) await onC(c, sql).catch(() => undefined);
    return tookWrites(after);
  };
  try {
    return await closeAndLook(k.candConn);
  } catch (e) {
    if (!isConnectionLoss(e)) return unread(e);
    const fresh = await k.reopen();
    if (!fresh) return unread(e);
    try {
      return await closeAndLook(fresh);
    } catch (e2) {
      return unread(e2);
    } finally {
      await endWithin(fresh, QUICK.endMs);
    }
  }
}

/** The promotion taken back: what the undo leaves, the endpoint as read back, and how to go on once it can move. */
function endpointUndone(r: Run, e: unknown, endpoint: EndpointBack): MigrateError {
  const why = e instanceof MigrateError ? e.problem : messageOf(e);
  const ep = describeEndpointBack(endpoint, r.P);
  return workError(
    `${why} The switchover was undone: ${r.C} had taken no write of its own (still at ${r.P}'s position ${r.position || '(empty)'}), so it is read-only again and replicates from ${r.P}; ${r.P} is writable again${ep.state ? `, and ${ep.state}` : ''}.`,
    `${e instanceof MigrateError ? `${e.fix} ` : ''}Then ${RESUME_OR_ABORT}${ep.check ? ` (check first that the endpoint sends writes to ${r.P} only, and point it there if not: a move that failed midway may have changed part of it)` : ''}.`,
    e,
  );
}

type ReadOnlyState = 'read-only' | 'writable' | 'unknown';

/** A node's read_only as the server says it, over `conn` or else a fresh connection; "unknown" when neither answers. */
export async function readOnlyState(conn: NodeConnection, node: NodeConfig, flavor: Flavor): Promise<ReadOnlyState> {
  const ask = (c: NodeConnection) =>
    queryOneWithin(c, flavor.readOnlyQuery(), QUICK.connectTimeoutMs, node.name, 'read_only').then(
      (row): ReadOnlyState => (Number(row?.['ro']) === 1 ? 'read-only' : 'writable'),
    );
  try {
    return await ask(conn);
  } catch {
    return onNodeIfReachable(node, (c) => ask(c).catch((): ReadOnlyState => 'unknown'), 'unknown' as ReadOnlyState, QUICK);
  }
}

/**
 * The candidate took writes (or could not be asked), so the promotion stands: it takes writes
 * while the endpoint still sends them to the old primary, read-only, where they fail, root's
 * excepted (they commit there and reach the candidate only while it still replicates). The
 * driver's message says why it failed; this says what that leaves and how to finish: endpoint
 * first, then resume (measured: resume alone, root writing all along, stopped on an out-of-order
 * GTID on the old primary). Each node's read_only is read, not assumed: a candidate whose
 * connection died while it was being closed may be read-only (or unknown), and then no node
 * takes writes.
 */
async function endpointNotMoved(r: Run, e: unknown, kept: string): Promise<MigrateError> {
  const { C, P } = r;
  const why = e instanceof MigrateError ? e.problem : messageOf(e);
  const [c, p] = await Promise.all([readOnlyState(r.s.candConn, r.o.candidate, r.o.flavor), readOnlyState(r.s.guardConn, r.o.primary, r.o.flavor)]);
  const byHand = `(a writer command: run it by hand with MIGRATE_OLD_PRIMARY=${P} MIGRATE_NEW_PRIMARY=${C} and their _HOST/_PORT)`;
  const driverFix = e instanceof MigrateError ? `${e.fix} ` : '';
  const usual = c === 'writable' && p === 'read-only';
  const unknown = 'of unknown read_only (it did not answer)';
  // One error, worded by the state read: the usual one (the candidate took writes and stays
  // writable), or one where the candidate's close or re-open was cut off.
  return workError(
    `${why} ${kept} ${
      usual
        ? `${C} was promoted and takes writes, ${P} is read-only, but the writer endpoint still points at ${P}: writes through it fail, except those of users that pass read_only (root), which still commit on ${P}.`
        : `${C} was promoted and is now ${c === 'unknown' ? unknown : c}, ${P} is ${p === 'unknown' ? unknown : p}${c !== 'writable' && p !== 'writable' ? ': no node is known to take writes' : ''}; the writer endpoint still points at ${P}.`
    }`,
    `${driverFix}${
      usual
        ? `Move the endpoint to ${C} now, ending the sessions it still sends to ${P} ${byHand}; then run \`migrate resume\`: it re-points ${P} to ${C} and finishes the migration.`
        : `Check both nodes (\`migrate topology\`; a stopped server must be restarted). Once both answer, make ${C} writable if it is not, move the endpoint to it ${byHand}, then run \`migrate resume\`: it re-points ${P} to ${C} and finishes the migration.`
    }`,
    e,
  );
}

async function waitCandidate(r: Run): Promise<void> {
  const { o, P, C, position } = r;
  const budgetMs = Math.max(0, remainingMs(r));
  let row: Record<string, unknown> | undefined;
  try {
    // The server-side timeout bounds a candidate that is slow; the client-side one a
    // candidate that does not answer at all (stopped, hung), which would otherwise hold the
    // write block open forever.
    row = await queryOneWithin(r.s.candConn, o.flavor.waitForGtid(position, Math.round(budgetMs) / 1000), budgetMs + GRACE_MS, C, 'the GTID wait');
  } catch (e) {
    if (!isConnectionLoss(e)) throw e;
    throw workError(
      `The candidate ${C} ${e instanceof NodeSilentError ? 'did not answer' : `was lost (${lossReason(e)})`} while the write block (bound: ${o.maxWriteBlockMs} ms) waited for it to reach the old primary's position ${position}.`,
      `The switchover was undone: ${P} is writable again and the endpoint never moved. Check ${C} (\`migrate topology\`; a stopped server must be resumed or restarted), then ${RESUME_OR_ABORT}.`,
      e,
    );
  }
  if (!o.flavor.isWaitOk(row?.['res'])) {
    throw workError(
      `The candidate ${C} did not execute the old primary's position ${position} within the write-block bound of ${o.maxWriteBlockMs} ms.`,
      `The switchover was undone and the old primary is writable again. Let the candidate catch up (check its lag; raise --max-write-block if it needs more time), then ${RESUME_OR_ABORT}.`,
    );
  }
}

async function promote(r: Run): Promise<void> {
  try {
    for (const sql of r.o.flavor.setReadOnly(false)) await onCand(r, sql, Math.max(remainingMs(r), 1000) + GRACE_MS);
  } catch (e) {
    if (!isConnectionLoss(e)) throw e;
    throw workError(
      `The candidate ${r.C} was lost during its promotion (${lossReason(e)}).`,
      `The switchover was undone: ${r.P} is writable again and the endpoint never moved. Start ${r.C} again (it must come back read-only) and check it replicates (\`migrate topology\`), then ${RESUME_OR_ABORT}.`,
      e,
    );
  }
}

/**
 * From here on the old primary may die (crash, kill, host loss): the new primary is writable
 * and the endpoint points at it, so the switchover completes without the old one and says so.
 * A step on the old primary is skipped once it is lost, and its losing does not fail the run.
 */
function whileOldAnswers(step: Step): Step {
  return {
    ...step,
    when: (r) => !r.oldPrimaryLost && (step.when?.(r) ?? true),
    survive: async (r, e) => {
      if (!isConnectionLoss(e) || (await answers(r.o.primary))) return false;
      // Its read lock and read-only session died with it; a restarted server comes back read-only.
      r.oldPrimaryLost = `${lossReason(e)}; noticed at ${step.name}`;
      r.o.journal.write('old-primary-lost', 'end', { step: step.name, error: messageOf(e) });
      r.o.log(`${r.P} stopped answering after the promotion (${lossReason(e)}); finishing the switchover without it`);
      return true;
    },
  };
}

/** After the block, with the old primary still locked until `unlock`; then the watch and the checks. */
function afterBlock(): Step[] {
  return [
    // Every session still on the old primary is ended, whoever its user: writes queued behind
    // the lock die there rather than commit after UNLOCK. Repeated until a look finds none, as a
    // privileged client may reconnect to the old primary directly. First thing after the
    // endpoint moved: those clients wait on the read lock until they are ended, and only then
    // reconnect to the new primary, so every step before this one lengthens the gap they see
    // (the read lock keeps the old primary from committing anything meanwhile, so detaching the
    // candidate can come after).
    whileOldAnswers({
      name: 'end-sessions',
      do: async (r) => void (r.ended = await sweep(r, performance.now() + SWEEP_MS)),
      after: (r) => (r.ended.killed ? r.o.log(`${r.P}: ended ${r.ended.killed} session(s) in ${r.ended.rounds} sweep(s)`) : undefined),
    }),
    // The candidate forgets the old primary before anything can commit there again. Master-master
    // keeps the link (the old active is the hot rollback target) but pauses it until the watch
    // below shows nothing came from the old active.
    {
      name: 'detach-candidate',
      do: async (r) => {
        await onCand(r, r.o.flavor.stopReplica());
        if (!r.o.masterMaster) await onCand(r, r.o.flavor.resetReplicaAll());
      },
    },
    whileOldAnswers({ name: 'fence-check', do: fenceCheck }),
    // Before UNLOCK: nothing the old primary might still commit afterwards can reach them.
    {
      name: 'repoint-replicas',
      do: (r) => Promise.all(r.s.replicaConns.map((x) => repoint(x.node, x.conn, r.o, r.position, r.oldPrimaryLost !== undefined))).then(() => undefined),
    },
    whileOldAnswers({ name: 'repoint-old-primary', do: repointOldPrimary }),
    whileOldAnswers({
      name: 'unlock',
      do: async (r) => {
        // The last sweep right before UNLOCK: a session that connected since would commit at UNLOCK.
        r.last = await sweep(r, performance.now() + SWEEP_MS);
        await onOld(r, r.s.oldConn, 'UNLOCK TABLES');
      },
      after: (r) =>
        r.last?.left.length
          ? r.o.log(
              `warning: ${r.P}: ${r.last.left.length} session(s) could not be ended before UNLOCK (${r.last.left.join('; ')}); watching for writes from them`,
            )
          : undefined,
    }),
    whileOldAnswers({
      name: 'watch-old-primary',
      when: (r) => r.fence !== undefined,
      do: async (r) => void (r.errant = await watchOwnWrites(r.s.guardConn, r.o, r.fence!, r.s.ourIds)),
      after: async (r) => (r.errant.length ? reportFork(r.o, r.s.guardConn, r.fence!, r.errant, r.o.log) : undefined),
    }),
    { name: 'reattach-candidate', when: (r) => r.o.masterMaster, do: (r) => onCand(r, r.o.flavor.startReplica()).then(() => undefined) },
    { name: 'switchover-verify', do: verifyStep },
  ];
}

async function fenceCheck(r: Run): Promise<void> {
  const { o, P, C, position } = r;
  const now = String((await onOld(r, r.s.guardConn, o.flavor.gtidPositionQuery()))[0]?.['pos'] ?? '');
  if (now !== position) {
    // The likelier cause: MariaDB 10.11 holds every binary-logged statement behind the lock (FLUSH
    // PRIVILEGES and statement-logged temporary tables included), but a session that ends the
    // locking one (a DBA, a tool that kills idle or blocking sessions) lets root write through read_only.
    const lockHeld = await onOld(
      r,
      r.s.guardConn,
      `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ${r.s.oldId} AND COMMAND <> 'Killed'`,
    ).then(
      (rows) => Number(rows[0]?.['n']) > 0,
      () => true,
    );
    const why = lockHeld
      ? 'something on it is not blocked by FLUSH TABLES WITH READ LOCK'
      : `the session holding that lock (connection ${r.s.oldId}) was ended by someone else, and a client that passes read_only (root, SUPER) wrote there`;
    throw workError(
      `The old primary ${P} moved from ${position} to ${now} during the write block, under its read lock: ${why}.`,
      `Compare the two nodes' data; ${C} is the new primary. Re-point ${P} by hand once it holds nothing ${C} lacks.`,
    );
  }
  const [st, binlog] = await Promise.all([readGtidState(r.s.guardConn, o.flavor, P), readBinlogCoordinates(r.s.guardConn, o.flavor, P)]);
  r.fence = { position, ...st, ...(binlog ? { binlog } : {}) };
}

async function repointOldPrimary(r: Run): Promise<void> {
  const { o, s } = r;
  // A master-master active already replicates from the candidate: nothing to change.
  const rs = (await onOld(r, s.guardConn, o.flavor.showReplicaStatus()))[0];
  const st = rs ? o.flavor.parseReplicaStatus(rs) : null;
  if (st && st.sourcePort === o.candidate.port && st.sourceHost === o.candidate.host && st.ioRunning && st.sqlRunning) return;
  // On the guard session: the session holding the read lock may not stop replication (1192).
  if (st) await onOld(r, s.guardConn, o.flavor.stopReplica());
  for (const sql of o.flavor.changeSource(
    { host: o.candidate.host, port: o.candidate.port, user: o.replicationUser.user, password: o.replicationUser.password },
    'current_pos',
  ))
    await onOld(r, s.guardConn, sql, 'CHANGE MASTER');
  await onOld(r, s.guardConn, o.flavor.startReplica());
}

async function verifyStep(r: Run): Promise<void> {
  const { o, s, P, C, fence } = r;
  // Once more, on the way out: nothing the old primary wrote since the block may be missing.
  if (fence && !r.oldPrimaryLost) {
    const now = await readGtidState(s.guardConn, o.flavor, P).catch(() => undefined);
    const late = now ? o.flavor.ownTransactionsBeyond(fence.state, now.state, fence.sid) : [];
    if (late.length) await reportFork(o, s.guardConn, fence, late, o.log);
  }
  await verifyAfter(
    o,
    { [P]: s.guardConn, [C]: s.candConn, ...Object.fromEntries(s.replicaConns.map((x) => [x.node.name, x.conn])) },
    o.log,
    r.oldPrimaryLost ? [P] : [],
  );
}

interface Fence {
  /** The old primary's position under the lock (what the candidate executed before promotion). */
  position: string;
  /** The old primary's transaction state under the lock, and its own writer identity. */
  state: string;
  sid: string;
  /** Its binary log position under the lock: where any errant transaction begins. */
  binlog?: BinlogCoordinates;
}

/**
 * Watches the old primary's own transactions for FORK_WATCH_MS after UNLOCK, ending any session
 * that appears meanwhile. Returns the transactions it wrote since the lock (none: no fork).
 */
async function watchOwnWrites(guard: NodeConnection, o: SwitchoverOptions, fence: Fence, ours: Set<number>): Promise<string[]> {
  const until = performance.now() + (o.forkWatchMs ?? FORK_WATCH_MS);
  for (;;) {
    const now = await readGtidState(guard, o.flavor, o.primary.name);
    const errant = o.flavor.ownTransactionsBeyond(fence.state, now.state, fence.sid);
    if (errant.length || performance.now() >= until) return errant;
    await endSessions(guard, ours, o.primary.name, 0);
    await new Promise((r) => setTimeout(r, FORK_POLL_MS));
  }
}

/**
 * A fork: the old primary is fenced (read-only, not replicating, out of the endpoint already),
 * the evidence read from its binary log and journaled, and a ForkError thrown.
 */
async function reportFork(o: SwitchoverOptions, guard: NodeConnection, fence: Fence, summary: string[], log: (m: string) => void): Promise<never> {
  const P = o.primary.name;
  o.journal.write('fork', 'begin', { node: P, errant: summary });
  await queryRowsWithin(guard, o.flavor.stopReplica(), NODE_ANSWER_MS, P).catch((e: unknown) =>
    log(`${P}: STOP SLAVE failed while fencing it (${messageOf(e)})`),
  );
  for (const sql of o.flavor.setReadOnly(true)) await queryRowsWithin(guard, sql, NODE_ANSWER_MS, P).catch(() => undefined);
  const found = fence.binlog ? await readOwnTransactions(guard, P, fence.binlog, fence.sid).catch(() => undefined) : undefined;
  // Replication stopped: what it applied from the new primary is final now.
  const before = o.flavor.replicatedBeforeQuery();
  const slavePos = before
    ? await queryOneWithin(guard, before, NODE_ANSWER_MS, P).then(
        (r) => String(r?.['p'] ?? ''),
        () => undefined,
      )
    : undefined;
  const resumeFrom = slavePos !== undefined ? o.flavor.resumeAfterFork(fence.position, slavePos) : undefined;
  const evidence = {
    node: P,
    newPrimary: o.candidate.name,
    gtids: found?.gtids.length ? found.gtids : summary,
    tables: found?.tables ?? [],
    statements: found?.statements ?? [],
    ...(fence.binlog ? { from: fence.binlog } : {}),
    ...(resumeFrom !== undefined ? { resumeFrom } : {}),
  };
  o.journal.write('fork', 'end', evidence as unknown as Record<string, unknown>);
  log(`FORK on ${P}: ${evidence.gtids.join(', ')}${evidence.tables.length ? ` (${evidence.tables.join(', ')})` : ''}; ${P} fenced`);
  throw new ForkError(evidence);
}

/** Probes of a node that may be gone: short waits for the connection and for closing it. */
const QUICK = { connectTimeoutMs: 2_000, endMs: 1_000 };

/** Whether a node answers a fresh connection at all (it may have crashed or been stopped). */
async function answers(node: NodeConfig): Promise<boolean> {
  return onNodeIfReachable(
    node,
    (c) =>
      queryRowsWithin(c, 'SELECT 1', 2_000, node.name).then(
        () => true,
        () => false,
      ),
    false,
    QUICK,
  );
}

async function setReadOnlyOn(node: NodeConfig, flavor: Flavor, log: (m: string) => void): Promise<void> {
  const reached = await onNodeIfReachable(
    node,
    async (c) => {
      try {
        for (const sql of flavor.setReadOnly(true)) await queryRowsWithin(c, sql, 2_000, node.name);
      } catch (e) {
        log(`${node.name}: could not set read_only back (${messageOf(e)}); check it before sending it writes`);
      }
      return true;
    },
    false,
    QUICK,
  );
  if (!reached) log(`${node.name} does not answer; it must come back read-only (check before sending it writes)`);
}

/**
 * Runs a statement that may wait on locks; past the budget it is cancelled from the guard
 * connection, and if the server does not even answer that, the connection is closed.
 */
async function bounded(conn: NodeConnection, id: number, guard: NodeConnection, node: string, sql: string, budgetMs: number, what: string): Promise<void> {
  if (budgetMs <= 0) throw workError(`The write-block budget ran out before ${what}.`, 'Raise --max-write-block or find what is slow on the old primary.');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    guard.query(`KILL QUERY ${id}`).catch(() => undefined);
  }, budgetMs);
  try {
    await queryRowsWithin(conn, sql, budgetMs + 1_000, node, what);
  } catch (e) {
    if (timedOut)
      throw workError(
        `${what} did not finish within the write-block budget (${Math.round(budgetMs)} ms left).`,
        `A long transaction or DDL holds a lock on the old primary, or the bound is too tight: wait for it to finish (or raise --max-write-block), then ${RESUME_OR_ABORT}.`,
        e,
      );
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits, with a bound, until the candidate and every other replica are within the lag bound:
 * the block then waits for nobody, and re-pointing the others after it needs no long wait.
 */
async function waitForLag(
  o: SwitchoverOptions,
  candConn: NodeConnection,
  others: { node: NodeConfig; conn: NodeConnection }[],
  log: (m: string) => void,
): Promise<void> {
  const { flavor } = o;
  const start = performance.now();
  const nextSteps = `Nothing was blocked: ${o.primary.name} still takes writes.`;
  const lastLog = new Map<string, number | null>();
  const notRunningSince = new Map<string, number>();
  for (;;) {
    const behind: { name: string; secs: number | null }[] = [];
    for (const { node, conn } of [{ node: o.candidate, conn: candConn }, ...others]) {
      const who = node === o.candidate ? `The candidate ${node.name}` : `Replica ${node.name}`;
      let rs: Record<string, unknown> | undefined;
      try {
        rs = await queryOneWithin(conn, flavor.showReplicaStatus(), NODE_ANSWER_MS, node.name, 'its replication status');
      } catch (e) {
        if (!(e instanceof NodeSilentError)) throw e;
        throw workError(
          `${e.problem.replace(/^Node /, node === o.candidate ? 'The candidate ' : 'Replica ')} ${nextSteps}`,
          `Once ${node.name} answers again (a stopped server must be resumed or restarted; \`migrate topology\` shows it), ${RESUME_OR_ABORT}.`,
          e,
        );
      }
      const st = rs ? flavor.parseReplicaStatus(rs) : null;
      if (!st?.ioRunning || !st.sqlRunning) {
        // Just after START SLAVE (the type-conversion restart) the IO thread is still
        // connecting: that passes. A stopped SQL thread with an error, or no replication at
        // all, does not.
        const since = notRunningSince.get(node.name) ?? performance.now();
        notRunningSince.set(node.name, since);
        const why = st ? st.lastSqlError || st.lastIoError : '';
        if (!st || (!st.sqlRunning && st.lastSqlError) || performance.now() - since > NOT_RUNNING_GRACE_MS) {
          throw workError(
            `${who} is not replicating${why ? ` (${why})` : ''}. ${nextSteps}`,
            `Repair replication on ${node.name} (\`migrate topology\` shows it), then ${RESUME_OR_ABORT}.`,
          );
        }
        behind.push({ name: node.name, secs: null });
        continue;
      }
      notRunningSince.delete(node.name);
      const lagMs = st.secondsBehind === null ? Infinity : st.secondsBehind * 1000;
      if (lagMs > o.maxLagBeforeBlockMs) behind.push({ name: node.name, secs: st.secondsBehind });
    }
    if (behind.length === 0) return;
    for (const b of behind) {
      if (lastLog.get(b.name) !== b.secs) log(`catch-up: ${b.name} ${b.secs === null ? 'reconnecting' : `${b.secs}s behind`}`);
      lastLog.set(b.name, b.secs);
    }
    if (performance.now() - start > o.catchUpTimeoutMs) {
      throw workError(
        `After ${Math.round(o.catchUpTimeoutMs / 1000)} s of waiting for every replica to catch up before the write block, ${behind.map((b) => (b.secs === null ? `${b.name} is still not replicating` : `${b.name} is still ${b.secs} s behind`)).join(', ')}. ${nextSteps}`,
        'Wait for replication to catch up (or find what slows it; raise --catch-up-timeout), then run `migrate resume`.',
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A statement running for seconds makes FLUSH TABLES WITH READ LOCK (and read_only) wait for it
 * while every write queues behind: measured here, a 4 s UPDATE held all writes for 3.7 s.
 */
async function checkLongQueries(conn: NodeConnection, ours: Set<number>, node: string): Promise<void> {
  const rows = await queryRowsWithin(
    conn,
    `SELECT ID AS id, USER AS user, TIME AS age, LEFT(INFO, 120) AS info FROM information_schema.PROCESSLIST
      WHERE COMMAND = 'Query' AND TIME >= 1 AND INFO IS NOT NULL
        AND USER NOT IN ('system user', 'event_scheduler')`,
    NODE_ANSWER_MS,
    node,
    'the process list',
  );
  const long = rows.filter((r) => !ours.has(Number(r['id'])));
  if (long.length) {
    const list = long.map((r) => `connection ${r['id']} of ${r['user']} running ${r['age']} s: ${r['info']}`).join('; ');
    throw workError(
      `Long-running statements on the primary (${list}); the write block would wait for them with every write queued.`,
      `Wait for them to finish (or kill them), then ${RESUME_OR_ABORT}; nothing was blocked.`,
    );
  }
}

/**
 * Re-points one replica of the old primary to the new one. Normally it must first have
 * everything the old primary had; when the old primary is gone, the new primary has all of it
 * (it executed that position), so the replica follows it straight away and catches up from it.
 */
async function repoint(r: NodeConfig, c: NodeConnection, o: SwitchoverOptions, position: string, oldPrimaryLost: boolean): Promise<void> {
  const waitSec = 30;
  const wait = async (): Promise<void> => {
    const row = await queryOneWithin(c, o.flavor.waitForGtid(position, waitSec), waitSec * 1000 + NODE_ANSWER_MS, r.name, 'the GTID wait');
    if (!o.flavor.isWaitOk(row?.['res'])) {
      throw workError(
        `Replica ${r.name} did not reach the old primary's position ${position} within ${waitSec} s after the switchover; ${o.candidate.name} is the new primary and takes writes, ${r.name} still replicates from ${o.primary.name}.`,
        `Find what holds ${r.name} back (\`migrate topology\`, SHOW SLAVE STATUS there); once it has caught up, run \`migrate resume\`: it re-points ${r.name} to ${o.candidate.name} and finishes the migration.`,
      );
    }
  };
  if (!oldPrimaryLost) await wait();
  await queryRowsWithin(c, o.flavor.stopReplica(), NODE_ANSWER_MS, r.name);
  for (const sql of o.flavor.changeSource(
    { host: o.candidate.host, port: o.candidate.port, user: o.replicationUser.user, password: o.replicationUser.password },
    'slave_pos',
  ))
    await queryRowsWithin(c, sql, NODE_ANSWER_MS, r.name, 'CHANGE MASTER');
  await queryRowsWithin(c, o.flavor.startReplica(), NODE_ANSWER_MS, r.name);
  if (oldPrimaryLost) await wait();
}

/** Exactly one writable node (the candidate), every other node replicating: on the switchover's own connections. */
async function verifyAfter(o: SwitchoverOptions, conns: Record<string, NodeConnection>, log: (m: string) => void, skip: string[]): Promise<void> {
  const nodes = [o.primary, o.candidate, ...o.replicas].filter((n) => !skip.includes(n.name));
  const problems: string[] = [];
  let writable = 0;
  // Replication threads need a moment to connect after START, and a refused connect (the new
  // primary at max_connections while every client reconnects to it) is retried each second
  // (MASTER_CONNECT_RETRY=1): that passes as long as catch-up lets it. 50 polls of 100 ms
  // reported a switchover that had worked as failed when the refusals lasted 7 s.
  const until = performance.now() + NOT_RUNNING_GRACE_MS;
  for (const n of nodes) {
    const c = conns[n.name]!;
    const ro = await isReadOnly(c, o.flavor, n.name);
    if (!ro) writable++;
    if (n !== o.candidate || o.masterMaster) {
      let ok = false;
      for (;;) {
        const rs = await queryOneWithin(c, o.flavor.showReplicaStatus(), NODE_ANSWER_MS, n.name);
        const st = rs ? o.flavor.parseReplicaStatus(rs) : null;
        ok = !!st && st.ioRunning && st.sqlRunning;
        if (!ok && st && st.lastSqlError) {
          problems.push(`${n.name}: replication error ${st.lastSqlErrno}: ${st.lastSqlError}`);
          break;
        }
        if (ok || performance.now() >= until) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!ok && !problems.some((p) => p.startsWith(n.name))) problems.push(`${n.name}: replication not running`);
    }
  }
  if (writable !== 1) problems.push(`${writable} writable nodes, expected exactly 1`);
  if (problems.length)
    throw workError(
      `After the switchover: ${problems.join('; ')}.`,
      `Run \`migrate topology\` and repair the nodes named; the new primary is ${o.candidate.name}.`,
    );
  log(`verified: ${o.candidate.name} is the only writable node; every ${skip.length ? 'reachable ' : ''}other node replicates`);
}
