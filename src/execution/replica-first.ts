import { performance } from 'node:perf_hooks';
import type { ClusterConfig, NodeConfig } from '../config/index.ts';
import { configError, workError } from '../errors.ts';
import type { Flavor } from '../engines/index.ts';
import { mysqlIdent, mysqlString } from '../engines/index.ts';
import { endWithin, NODE_ANSWER_MS, openNode, queryOne, queryOneWithin, queryRowsWithin, type NodeConnection } from '../topology/index.ts';
import type { Journal } from './journal.ts';
import { ReadPoolRun, type ReadPool } from './read-pool/index.ts';
import { checkCandidateLogs, checkNoErrantGtids, describeBypassers, readOnlyBypassers, type ReadOnlyBypass } from './preflight.ts';
import { switchover, type SwitchoverResult } from './switchover.ts';
import type { WriterEndpoint } from './writer/contract.ts';

export interface ReplicaFirstOptions {
  cluster: ClusterConfig;
  flavor: Flavor;
  /** The DDL statements of the migration, run with binary logging off on each node in turn. */
  statements: string[];
  /** The application database the statements run in. */
  database: string;
  /**
   * Row-based type conversions the change needs while old and new schemas coexist, e.g.
   * ALL_NON_LOSSY for a widening; set on the altered nodes and restored afterwards.
   */
  typeConversions?: { forward: string; reverse: string };
  writer: WriterEndpoint;
  maxWriteBlockMs: number;
  catchUpTimeoutMs: number;
  journal: Journal;
  log: (msg: string) => void;
  /** Master-master: stop after promotion and keep the old active on the old schema (finalize later). */
  holdOldActive?: boolean;
  /** Nodes a previous, interrupted attempt already altered (from its journal). */
  alreadyAltered?: ReadonlySet<string>;
  /** For the journal: which migration the statements belong to. */
  migrationId?: string;
  /** Application users, checked for privileges that bypass read_only. */
  appUsers?: string[];
  /** The cluster's read pool: each replica leaves it for its ALTER (docs/read-pool.md). */
  readPool?: ReadPool;
  /** Drain the last replica serving reads too (--drain-last-reader). */
  drainLastReader?: boolean;
}

export interface ReplicaFirstResult {
  newPrimary: string;
  switchover: SwitchoverResult;
  alterMs: Record<string, number>;
  /** Nodes left on the old schema (the hot rollback target of a master-master run). */
  pending: string[];
  /** Type-conversion settings to put back once every node has the new schema. */
  restore: { node: string; value: string }[];
  /**
   * The old primary stopped answering after the promotion: the switchover completed without it
   * and it was not altered (`migrate resume` re-points and alters it once it is back).
   */
  oldPrimaryLost?: string;
}

export function replicaFirstRoles(cluster: ClusterConfig): { primary: NodeConfig; others: NodeConfig[] } {
  const writerRole = cluster.topology === 'master-master' ? 'active' : 'primary';
  const primaries = cluster.nodes.filter((n) => n.role === writerRole);
  if (primaries.length !== 1) {
    throw configError(
      `Cluster ${cluster.name} has ${primaries.length} nodes with role "${writerRole}"; exactly one is needed.`,
      `Mark exactly one node "role": "${writerRole}" in the config.`,
    );
  }
  const others = cluster.nodes.filter((n) => n.role !== writerRole);
  if (others.length === 0)
    throw configError(
      `Cluster ${cluster.name} has no replica to alter first.`,
      'Replica-first needs at least one replica (or the passive side of a master-master pair).',
    );
  return { primary: primaries[0] as NodeConfig, others };
}

/**
 * What a replica-first run checks on the nodes before it changes anything: the candidate logs
 * what it applies and has no errant GTIDs. It also names the users that write through read_only
 * (their sessions are ended at the switchover like everyone's), returned and logged as a warning.
 */
export async function preflightNodes(cluster: ClusterConfig, flavor: Flavor, appUsers: string[], warn?: (m: string) => void): Promise<ReadOnlyBypass[]> {
  const { primary, others } = replicaFirstRoles(cluster);
  const candidate = others[0] as NodeConfig;
  await checkCandidateLogs(candidate);
  await checkNoErrantGtids(flavor, primary, candidate);
  const bypass = await readOnlyBypassers(flavor, primary, appUsers);
  const text = describeBypassers(primary.name, bypass);
  if (text && warn) warn(text);
  return bypass;
}

/** Errors that mean "this change is already there": tolerated when redoing an interrupted ALTER. */
const ALREADY_DONE = new Set([1050, 1060, 1061, 1091]);

/** Runs the statements on one node without writing them to its binary log. */
export async function alterNodeLocally(
  node: NodeConfig,
  flavor: Flavor,
  database: string,
  statements: string[],
  log: (m: string) => void,
  opts: { redo?: boolean } = {},
): Promise<number> {
  const c = await openNode(node);
  const t = performance.now();
  try {
    await c.query(`USE ${mysqlIdent(database)}`);
    await c.query(flavor.disableBinlogForSession());
    const id = Number((await queryOne(c, 'SELECT CONNECTION_ID() AS id'))?.['id']);
    for (const sql of statements) {
      log(`${node.name}: ${sql}`);
      const stopProgress = watchProgress(node, id, log);
      try {
        await c.query(sql);
      } catch (e) {
        const errno = (e as { errno?: number }).errno ?? 0;
        if (!opts.redo || !ALREADY_DONE.has(errno)) throw e;
        log(`${node.name}: already applied (${(e as Error).message})`);
      } finally {
        await stopProgress();
      }
    }
    return Math.round(performance.now() - t);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * MariaDB reports a running ALTER's progress in the process list (PROGRESS, 0-100); a second
 * session reads it every second so a long copy shows where it is instead of looking hung.
 */
function watchProgress(node: NodeConfig, connectionId: number, log: (m: string) => void): () => Promise<void> {
  let stopped = false;
  let wake: () => void = () => undefined;
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });
  let last = -1;
  const started = performance.now();
  const loop = (async () => {
    await sleep(1000);
    if (stopped) return;
    const c = await openNode(node).catch(() => undefined);
    if (!c) return;
    try {
      while (!stopped) {
        const row = await queryOne(
          c,
          `SELECT PROGRESS AS p, STAGE AS st, MAX_STAGE AS ms FROM information_schema.PROCESSLIST WHERE ID = ${connectionId}`,
        ).catch(() => undefined);
        const p = Number(row?.['p'] ?? NaN);
        if (Number.isFinite(p) && Math.floor(p) !== last) {
          last = Math.floor(p);
          const secs = (performance.now() - started) / 1000;
          const eta = p > 1 ? ` ~${Math.round((secs * (100 - p)) / p)} s left` : '';
          log(`${node.name}: ALTER ${bar(p)} ${p.toFixed(1)}% (stage ${row?.['st'] ?? '?'}/${row?.['ms'] ?? '?'}, ${secs.toFixed(1)} s${eta})`);
        }
        await sleep(1000);
      }
    } finally {
      await c.end().catch(() => undefined);
    }
  })();
  return async () => {
    stopped = true;
    wake();
    await loop.catch(() => undefined);
  };
}

function bar(p: number): string {
  const n = Math.max(0, Math.min(20, Math.round(p / 5)));
  return `[${'#'.repeat(n)}${'.'.repeat(20 - n)}]`;
}

async function setTypeConversions(conn: NodeConnection, flavor: Flavor, value: string): Promise<string> {
  const v = flavor.typeConversionVariable();
  const before = String((await queryOne(conn, `SELECT @@GLOBAL.${v} AS v`))?.['v'] ?? '');
  // The SQL thread reads the setting when it starts; restart it so the new value applies.
  await conn.query(`SET GLOBAL ${v}=${mysqlString(value)}`);
  return before;
}

async function withNode<T>(node: NodeConfig, fn: (c: NodeConnection) => Promise<T>): Promise<T> {
  const c = await openNode(node);
  try {
    return await fn(c);
  } finally {
    await endWithin(c);
  }
}

/**
 * Waits, bounded by the catch-up timeout, until `node` has executed `position` (read on the
 * primary before the first ALTER). Read-only, so not journaled: a run killed here redoes it.
 */
async function caughtUpBeforeAlter(o: ReplicaFirstOptions, node: NodeConfig, position: string): Promise<void> {
  const waitSec = Math.max(1, Math.round(o.catchUpTimeoutMs / 1000));
  // Bounded on our side too, as every statement to a node: a stopped server would never answer.
  const row = await withNode(node, (c) =>
    queryOneWithin(c, o.flavor.waitForGtid(position, waitSec), waitSec * 1000 + NODE_ANSWER_MS, node.name, 'the GTID wait'),
  );
  if (!o.flavor.isWaitOk(row?.['res'])) {
    throw workError(
      `Replica ${node.name} has not applied what the primary had executed before this migration (GTID position ${position}) within ${waitSec} s, so its ALTER would run against an older schema; nothing of this migration ran on it.`,
      `Find what holds ${node.name} back (\`migrate topology\`, ${o.flavor.showReplicaStatus()} there); once it has caught up, run \`migrate resume\` (or raise --catch-up-timeout).`,
    );
  }
}

/** One node that is not the primary, before the switchover: its type conversions, then the ALTER. */
async function alterReplica(
  o: ReplicaFirstOptions,
  node: NodeConfig,
  alterMs: Record<string, number>,
  restore: { node: NodeConfig; value: string }[],
): Promise<void> {
  const j = o.journal;
  if (o.typeConversions) {
    const before = await j.step(`type-conversions:${node.name}`, () => withNode(node, (c) => setTypeConversions(c, o.flavor, o.typeConversions!.forward)));
    j.write(`type-conversions:${node.name}`, 'end', { before });
    restore.push({ node, value: before });
  }
  if (o.alreadyAltered?.has(node.name)) {
    o.log(`${node.name}: already altered by the interrupted run`);
  } else {
    alterMs[node.name] = await j.step(
      `alter:${node.name}`,
      () => alterNodeLocally(node, o.flavor, o.database, o.statements, o.log, { redo: o.alreadyAltered !== undefined }),
      { node: node.name, migration: o.migrationId, statements: o.statements },
    );
  }
  if (o.typeConversions)
    await withNode(node, async (c) => {
      await queryRowsWithin(c, o.flavor.stopReplica(), NODE_ANSWER_MS, node.name);
      await queryRowsWithin(c, o.flavor.startReplica(), NODE_ANSWER_MS, node.name);
    });
}

function startReadPool(o: ReplicaFirstOptions, primary: NodeConfig): Promise<ReadPoolRun | undefined> {
  if (!o.readPool) return Promise.resolve(undefined);
  return ReadPoolRun.start({
    pool: o.readPool,
    cluster: o.cluster,
    writer: primary.name,
    flavor: o.flavor,
    drainLastReader: o.drainLastReader ?? false,
    catchUpTimeoutMs: o.catchUpTimeoutMs,
    journal: o.journal,
    log: o.log,
  });
}

/** Every node but the primary, one at a time: caught up, out of the read pool, altered, back. */
async function alterReplicas(
  o: ReplicaFirstOptions,
  primary: NodeConfig,
  others: NodeConfig[],
  drains: (n: NodeConfig) => ReadPoolRun | undefined,
  alterMs: Record<string, number>,
  restore: { node: NodeConfig; value: string }[],
): Promise<void> {
  // What the primary had executed before this migration (earlier in-place migrations included):
  // each replica applies it before its own ALTER, which otherwise could run against a schema the
  // replica has not caught up to yet (a table an earlier migration created, not there yet).
  const primaryPosition = await withNode(primary, async (c) =>
    String((await queryOneWithin(c, o.flavor.gtidPositionQuery(), NODE_ANSWER_MS, primary.name, 'the GTID position read'))?.['pos'] ?? ''),
  );
  for (const node of others) {
    // Before it leaves the read pool or gets its settings: a replica that never catches up is
    // refused as it stands.
    if (primaryPosition && !o.alreadyAltered?.has(node.name)) await caughtUpBeforeAlter(o, node, primaryPosition);
    await drains(node)?.beforeAlter(node);
    await alterReplica(o, node, alterMs, restore);
    await drains(node)?.afterAlter(node);
  }
}

/**
 * Replica-first: alter every replica (or the passive master) with binlog off, let each catch
 * up, switch the writer to one altered node with a bounded write block, then alter the old
 * primary, now a replica. A master-master run may keep the old active on the old schema.
 */
export async function runReplicaFirst(o: ReplicaFirstOptions): Promise<ReplicaFirstResult> {
  const { primary, others } = replicaFirstRoles(o.cluster);
  const candidate = others[0] as NodeConfig;
  const alterMs: Record<string, number> = {};
  const restore: { node: NodeConfig; value: string }[] = [];
  const j = o.journal;

  if (o.statements.length === 0) throw workError('The migration has no statements to run replica-first.', 'Run it in place instead.');
  await j.step('preflight-endpoint', () => o.writer.preflight());
  const bypass = await j.step('preflight-nodes', () => preflightNodes(o.cluster, o.flavor, o.appUsers ?? []));
  if (bypass.length) j.write('read-only-bypass', 'end', { users: bypass });
  const rp = await startReadPool(o, primary);
  // A node an interrupted run already altered has no ALTER left to hide from the readers.
  const drains = (n: NodeConfig): ReadPoolRun | undefined => (o.alreadyAltered?.has(n.name) ? undefined : rp);

  await alterReplicas(o, primary, others, drains, alterMs, restore);

  if (o.typeConversions) {
    // Once it is a replica of the new primary, the old primary applies new-schema rows to the old schema.
    const before = await j.step(`type-conversions:${primary.name}`, () =>
      withNode(primary, (c) => setTypeConversions(c, o.flavor, o.typeConversions!.reverse)),
    );
    restore.push({ node: primary, value: before });
  }

  const password = candidate.password ?? '';
  const sw = await switchover({
    flavor: o.flavor,
    primary,
    candidate,
    replicas: o.cluster.topology === 'master-master' ? [] : others.slice(1),
    writer: o.writer,
    cluster: o.cluster,
    replicationUser: { user: candidate.user, password },
    maxWriteBlockMs: o.maxWriteBlockMs,
    maxLagBeforeBlockMs: 1000,
    catchUpTimeoutMs: o.catchUpTimeoutMs,
    masterMaster: o.cluster.topology === 'master-master',
    journal: j,
    log: o.log,
  });

  await rp?.promoted(candidate);
  if (sw.oldPrimaryLost) {
    return {
      newPrimary: candidate.name,
      switchover: sw,
      alterMs,
      pending: [],
      restore: restore.map((r) => ({ node: r.node.name, value: r.value })),
      oldPrimaryLost: sw.oldPrimaryLost,
    };
  }
  const pending: string[] = [];
  if (o.holdOldActive) {
    pending.push(primary.name);
  } else {
    await drains(primary)?.beforeAlter(primary);
    alterMs[primary.name] = await j.step(
      `alter:${primary.name}`,
      () => alterNodeLocally(primary, o.flavor, o.database, o.statements, o.log, { redo: o.alreadyAltered !== undefined }),
      { node: primary.name, migration: o.migrationId, statements: o.statements },
    );
    await drains(primary)?.afterAlter(primary);
    for (const r of restore)
      await j.step(`restore-type-conversions:${r.node.name}`, () =>
        withNode(r.node, (c) => c.query(`SET GLOBAL ${o.flavor.typeConversionVariable()}=${mysqlString(r.value)}`).then(() => undefined)),
      );
  }
  await rp?.demoted(primary);
  return { newPrimary: candidate.name, switchover: sw, alterMs, pending, restore: restore.map((r) => ({ node: r.node.name, value: r.value })) };
}
