import { join } from 'node:path';
import type { ClusterConfig, NodeConfig, ProjectConfig } from '../config/index.ts';
import { workError } from '../errors.ts';
import { flavorFor, flavorNameFromVersion } from '../engines/index.ts';
import { inspectCluster, type NodeState } from '../topology/index.ts';
import { endWithin, openNode } from '../topology/index.ts';
import type { Flavor } from '../engines/index.ts';
import { ForkError, readGtidState, type ForkEvidence } from './fork.ts';
import { saveRoles, stateDir } from '../topology/index.ts';
import { listRuns, openStep, readJournal, type JournalEntry } from './journal.ts';
import { writerFor } from './writer/index.ts';

export interface RunSummary {
  run: string;
  path: string;
  startedAt?: string;
  lastStep?: string;
  lastPhase?: string;
  /** The step that began and never ended: where a dead run stopped. */
  openStep?: string;
  finished: boolean;
  awaitingDeploy: boolean;
}

export function runsDir(config: ProjectConfig): string {
  return join(stateDir(config), 'runs');
}

export function summarizeRuns(config: ProjectConfig): RunSummary[] {
  const dir = runsDir(config);
  return listRuns(dir).map((run) => {
    const path = join(dir, `${run}.jsonl`);
    const entries = readJournal(path);
    const last = entries.at(-1);
    const finished = entries.some((e) => e.step === 'done' || e.step === 'aborted' || e.step === 'resumed' || e.step === 'held');
    const open = openStep(entries);
    return {
      run,
      path,
      ...(entries[0] ? { startedAt: entries[0].ts } : {}),
      ...(last ? { lastStep: last.step, lastPhase: last.phase } : {}),
      ...(open && !finished ? { openStep: open } : {}),
      finished,
      awaitingDeploy: !finished && last?.step === 'awaiting-deploy',
    };
  });
}

/**
 * The newest run that neither finished nor waits for the deploy. With `cluster`, only runs of that
 * cluster (the plan record names it): one config may drive several clusters, and resuming one
 * must not pick up another's run. A run that died before its plan changed nothing and is skipped then.
 */
export function unfinishedRun(config: ProjectConfig, cluster?: string): { summary: RunSummary; entries: JournalEntry[] } | undefined {
  const open = summarizeRuns(config).filter((r) => !r.finished && !r.awaitingDeploy && /^\d{8}T/.test(r.run));
  for (const s of open.reverse()) {
    const entries = readJournal(s.path);
    if (cluster === undefined || entries.find((e) => e.step === 'plan')?.data?.['cluster'] === cluster) return { summary: s, entries };
  }
  return undefined;
}

function ended(entries: JournalEntry[], step: string): boolean {
  return entries.some((e) => e.step === step && e.phase === 'end');
}

function began(entries: JournalEntry[], step: string): boolean {
  return entries.some((e) => e.step === step && e.phase === 'begin');
}

/**
 * Whether the last switchover's promotion was taken back (its endpoint did not move and the
 * candidate, which took no write of its own, was closed again): its own entry or the fail
 * entry's flag; journals written before those existed show it as an undo after promote:end (the
 * machine undoes nothing past the promotion but that).
 */
function promotionTakenBack(run: JournalEntry[]): boolean {
  if (run.some((e) => e.step === 'promotion-taken-back' || (e.step === 'switchover' && e.phase === 'fail' && e.data?.['takenBack'] === true))) return true;
  const promoted = run.findIndex((e) => e.step === 'promote' && e.phase === 'end');
  return promoted >= 0 && run.slice(promoted).some((e) => e.step === 'undo' && e.phase === 'begin');
}

/**
 * Which node should be the writer after a run died. Whatever step it died in, the answer is
 * the candidate once it was promoted (it may have taken writes), else the old primary. A
 * promotion taken back counts as none: the candidate holds nothing of its own and may still be
 * behind the old primary (root's writes pass its read_only), so electing it would drop them.
 */
export function intendedWriter(entries: JournalEntry[], live: NodeState[], configuredWriter: string): string {
  const writable = live.filter((n) => n.reachable && n.readOnly === false);
  if (writable.length > 1) {
    throw workError(
      `${writable.length} nodes are writable (${writable.map((n) => n.name).join(', ')}): the data may have forked.`,
      "Compare the nodes' GTID positions and data, make one node read-only by hand, then run `migrate abort` again.",
    );
  }
  const sw = [...entries].reverse().find((e) => e.step === 'switchover' && e.phase === 'begin');
  const candidate = typeof sw?.data?.['candidate'] === 'string' ? sw.data['candidate'] : undefined;
  const primary = typeof sw?.data?.['primary'] === 'string' ? sw.data['primary'] : configuredWriter;
  if (writable.length === 1) return writable[0]!.name;
  if (sw && promotionTakenBack(entries.slice(entries.lastIndexOf(sw)))) return primary;
  if (candidate && (ended(entries, 'promote') || (began(entries, 'promote') && !live.find((n) => n.name === candidate)?.replication))) return candidate;
  return primary;
}

/**
 * After a taken-back promotion the old primary is the writer (intendedWriter, or the only writable
 * node once its undo landed); that holds only while the candidate has no transaction the old
 * primary lacks. Root passes read_only, so one may have committed on the candidate after the
 * second look: compare what each node holds of the candidate's own writes (the candidate goes on
 * replicating the old primary's newer ones, so the position recorded under the lock is no measure
 * any more), and with any, refuse rather than strand them on a replica (the watchdog refuses the same).
 */
async function refuseStrandedCandidateWrites(cluster: ClusterConfig, entries: JournalEntry[], writerName: string, flavor: Flavor): Promise<void> {
  const sw = [...entries].reverse().find((e) => e.step === 'switchover' && e.phase === 'begin');
  if (!sw || sw.data?.['candidate'] === writerName) return;
  if (!promotionTakenBack(entries.slice(entries.lastIndexOf(sw)))) return;
  const candidate = cluster.nodes.find((n) => n.name === sw.data?.['candidate']);
  const writer = cluster.nodes.find((n) => n.name === writerName);
  if (!candidate || !writer) return;
  const stateOf = async (n: NodeConfig): Promise<{ state: string; sid: string }> => {
    const c = await openNode(n);
    try {
      return await readGtidState(c, flavor, n.name);
    } finally {
      await endWithin(c).catch(() => undefined);
    }
  };
  // Which server wrote what (MariaDB gtid_binlog_state, MySQL gtid_executed): the candidate's own
  // transactions beyond what the writer holds of the candidate's.
  const [w, cand] = await Promise.all([stateOf(writer), stateOf(candidate)]);
  const own = flavor.ownTransactionsBeyond(w.state, cand.state, cand.sid);
  if (own.length)
    throw workError(
      `${candidate.name}'s promotion was taken back, but it holds transactions of its own that ${writer.name} does not have (${own.join(', ')}). Making ${writer.name} the writer would leave them stranded on a replica; making ${candidate.name} the writer would drop what ${writer.name} took since.`,
      `Compare the two nodes' data (those GTIDs on ${candidate.name}), carry what must be kept over by hand, make the node to keep the only writable one, then run \`migrate resume\` or \`migrate abort\` again.`,
    );
}

/**
 * Brings a cluster back to one consistent state after a run died: exactly one writable node,
 * every other node read-only and replicating from it, the endpoint on it. Idempotent.
 */
/**
 * The writer, once every other node is read-only: a primary stops replicating from anyone, a
 * master-master active keeps (or restarts) replicating from the passive; then it takes writes.
 */
async function makeWritable(writer: NodeConfig, st: NodeState['replication'], mm: boolean, flavor: Flavor): Promise<void> {
  const w = await openNode(writer);
  try {
    if (!mm) {
      if (st) {
        await w.query(flavor.stopReplica());
        await w.query(flavor.resetReplicaAll());
      }
    } else if (st && (!st.ioRunning || !st.sqlRunning)) await w.query(flavor.startReplica());
    for (const sql of flavor.setReadOnly(false)) await w.query(sql);
  } finally {
    await w.end().catch(() => undefined);
  }
}

/** How long converge waits for re-pointed replicas to show replication running. */
const SETTLE_MS = 10_000;

export async function converge(config: ProjectConfig, cluster: ClusterConfig, entries: JournalEntry[], log: (m: string) => void): Promise<string> {
  const topo = await inspectCluster(cluster);
  const unreachable = topo.nodes.filter((n) => !n.reachable);
  if (unreachable.length)
    throw workError(
      `Cannot reach ${unreachable.map((n) => `${n.name}${n.error ? ` (${n.error})` : ''}`).join(', ')}.`,
      'Start the nodes named (a stopped server must be resumed), then run `migrate resume` or `migrate abort` again.',
    );
  const mm = cluster.topology === 'master-master';
  const configuredWriter = cluster.nodes.find((n) => n.role === (mm ? 'active' : 'primary'))?.name ?? '';
  const writerName = intendedWriter(entries, topo.nodes, configuredWriter);
  const writer = cluster.nodes.find((n) => n.name === writerName) as NodeConfig;
  const flavor = flavorFor(flavorNameFromVersion(topo.nodes[0]?.version ?? ''));
  await refuseUnresolvedFork(cluster, entries, writer, flavor);
  await refuseStrandedCandidateWrites(cluster, entries, writerName, flavor);
  const others = cluster.nodes.filter((n) => n.name !== writerName);
  const runPrimary = [...entries].reverse().find((e) => e.step === 'switchover' && e.phase === 'begin')?.data?.['primary'];

  // Others read-only first, so there is never a moment with two writable nodes.
  for (const n of others) {
    const c = await openNode(n);
    try {
      for (const sql of flavor.setReadOnly(true)) await c.query(sql);
      const st = topo.nodes.find((x) => x.name === n.name)?.replication;
      const pointsAtWriter = st && st.sourcePort === writer.port && st.sourceHost === writer.host;
      if (!pointsAtWriter) {
        if (st) await c.query(flavor.stopReplica());
        // A node that was a writer (the configured one, the run's old primary, or one that
        // replicates from nobody) must start from its own binlog position: slave_pos would
        // replay from a stale (often empty) replica position and break on duplicates.
        const wasWriter = n.name === configuredWriter || n.name === runPrimary || !st;
        for (const sql of flavor.changeSource(
          { host: writer.host, port: writer.port, user: writer.user, password: writer.password ?? '' },
          wasWriter ? 'current_pos' : 'slave_pos',
        ))
          await c.query(sql);
        await c.query(flavor.startReplica());
        log(`${n.name}: now replicates from ${writer.name}`);
      } else if (!st.ioRunning || !st.sqlRunning) {
        await c.query(flavor.startReplica());
        log(`${n.name}: replication restarted`);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  await makeWritable(writer, topo.nodes.find((x) => x.name === writerName)?.replication ?? null, mm, flavor);
  const endpoint = writerFor(cluster);
  await endpoint.preflight();
  for (const n of others) await endpoint.move(n, writer);
  const roles = Object.fromEntries(
    cluster.nodes.map((n) => [n.name, n.name === writerName ? (mm ? 'active' : 'primary') : mm ? 'passive' : 'replica'] as const),
  );
  saveRoles(config, cluster, roles);
  // A replica just re-pointed shows its IO thread "Connecting" (not running) for a moment, longer
  // on a busy machine: look again for a few seconds before calling it a problem.
  const inspectAfter = () => inspectCluster({ ...cluster, nodes: cluster.nodes.map((n) => ({ ...n, role: roles[n.name] ?? n.role })) });
  let after = await inspectAfter();
  for (const until = Date.now() + SETTLE_MS; after.problems.length && Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 200));
    after = await inspectAfter();
  }
  if (after.problems.length)
    throw workError(`After converging: ${after.problems.join('; ')}.`, 'Repair the nodes named by hand; `migrate topology` shows the state.');
  log(`${writerName} is the only writable node; every other node replicates from it; the endpoint points at it`);
  return writerName;
}

/**
 * A run that forked (journal step `fork`) left its old primary fenced with transactions the new
 * primary lacks. Re-pointing it would stop its replication at the first conflicting GTID, and
 * making it the writer would drop what the new primary took since: nothing is done until the
 * operator has reconciled it (the recovery steps), which shows as the old primary holding no
 * transaction of its own that the writer does not have.
 */
async function refuseUnresolvedFork(cluster: ClusterConfig, entries: JournalEntry[], writer: NodeConfig, flavor: Flavor): Promise<void> {
  for (const e of entries.filter((x) => x.step === 'fork' && x.phase === 'end')) {
    const j = e.data as Partial<ForkEvidence> | undefined;
    const forked = cluster.nodes.find((n) => n.name === j?.node);
    if (!forked || forked.name === writer.name) continue;
    const [a, b] = await Promise.all([openNode(forked), openNode(writer)]);
    try {
      const [mine, theirs] = await Promise.all([readGtidState(a, flavor, forked.name), readGtidState(b, flavor, writer.name)]);
      const errant = flavor.ownTransactionsBeyond(theirs.state, mine.state, mine.sid);
      if (errant.length) {
        throw new ForkError({
          node: forked.name,
          newPrimary: writer.name,
          gtids: j?.gtids?.length ? j.gtids : errant,
          tables: j?.tables ?? [],
          statements: j?.statements ?? [],
          ...(j?.from ? { from: j.from } : {}),
          ...(j?.resumeFrom !== undefined ? { resumeFrom: j.resumeFrom } : {}),
        });
      }
    } finally {
      await Promise.all([endWithin(a), endWithin(b)]);
    }
  }
}

/** Nodes whose ALTER finished in this run, and one whose ALTER was cut off (to redo). */
export function alteredNodes(entries: JournalEntry[]): { done: Set<string>; open?: string } {
  const done = new Set<string>();
  for (const e of entries) if (e.phase === 'end' && e.step.startsWith('alter:')) done.add(e.step.slice('alter:'.length));
  const open = openStep(entries);
  return { done, ...(open?.startsWith('alter:') ? { open: open.slice('alter:'.length) } : {}) };
}
