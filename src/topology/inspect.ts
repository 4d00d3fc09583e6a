import type { ClusterConfig, NodeConfig, NodeRole } from '../config/index.ts';
import { configError, connectionError, isMigrateError, type MigrateError } from '../errors.ts';
import { flavorFor, flavorNameFromVersion, type Flavor, type FlavorName } from '../engines/index.ts';
import { endWithin, NODE_ANSWER_MS, openNode, queryOneWithin, type NodeConnection } from './node-connection.ts';

export interface NodeState {
  name: string;
  configuredRole: NodeConfig['role'];
  host: string;
  port: number;
  reachable: boolean;
  error?: string;
  /** The fix that goes with `error` (wrong password, server down...). */
  errorFix?: string;
  version?: string;
  flavor?: FlavorName;
  serverId?: number;
  readOnly?: boolean;
  logBin?: boolean;
  logReplicaUpdates?: boolean;
  gtidPosition?: string;
  /** Which server answered (host name, port, datadir): two config entries may name the same one. */
  identity?: string;
  /** False when the node never applied a replicated event (undefined: the flavor cannot tell). */
  replicatedBefore?: boolean;
  /** null when the node replicates from nobody. */
  replication: null | {
    sourceHost: string;
    sourcePort: number;
    ioRunning: boolean;
    sqlRunning: boolean;
    lagSeconds: number | null;
    lastError: string;
  };
}

export interface TopologyReport {
  cluster: string;
  nodes: NodeState[];
  /** Disagreements between the config and the live state; any of these stops a run. */
  problems: string[];
  /**
   * The subset of `problems` that mean the config itself is wrong (a replica entry naming a
   * server that is no replica, two entries naming one server): fixed in the config, not on the
   * servers, so commands answer them as configuration errors.
   */
  configProblems: string[];
}

export interface InspectOptions {
  /** Roles as written in the config file, before recorded switchovers: see configProblems. */
  configuredRoles?: ReadonlyMap<string, NodeRole>;
}

/** Reads the live state of one node: nothing here writes. */
export async function inspectNode(node: NodeConfig): Promise<NodeState> {
  const base: NodeState = { name: node.name, configuredRole: node.role, host: node.host, port: node.port, reachable: false, replication: null };
  let conn: NodeConnection | undefined;
  try {
    conn = await openNode(node, { connectTimeoutMs: 3000 });
    return await readState(conn, base);
  } catch (e) {
    return isMigrateError(e) ? { ...base, error: e.problem, errorFix: e.fix } : { ...base, error: String(e) };
  } finally {
    if (conn) await endWithin(conn);
  }
}

export async function readState(conn: NodeConnection, base: NodeState): Promise<NodeState> {
  // A stopped or hung server keeps the connection open and never answers: bounded reads.
  const q = (sql: string) => queryOneWithin(conn, sql, NODE_ANSWER_MS, base.name);
  const v = await q('SELECT VERSION() AS v, @@server_id AS sid, @@GLOBAL.read_only AS ro, @@log_bin AS lb, @@hostname AS hn, @@port AS port, @@datadir AS dd');
  const version = String(v?.['v'] ?? '');
  const flavorName = flavorNameFromVersion(version);
  const flavor: Flavor = flavorFor(flavorName);
  const lsu = await q(`SELECT @@${flavor.logReplicaUpdatesVariable()} AS lsu`);
  const pos = await q(flavor.gtidPositionQuery());
  const rs = await q(flavor.showReplicaStatus());
  const status = rs ? flavor.parseReplicaStatus(rs) : null;
  const before = flavor.replicatedBeforeQuery();
  const replicatedBefore = before ? String((await q(before))?.['p'] ?? '').trim() !== '' : undefined;
  return {
    ...base,
    reachable: true,
    version,
    flavor: flavorName,
    serverId: Number(v?.['sid']),
    readOnly: Number(v?.['ro']) === 1,
    logBin: Number(v?.['lb']) === 1,
    logReplicaUpdates: Number(lsu?.['lsu']) === 1,
    gtidPosition: String(pos?.['pos'] ?? ''),
    identity: `host ${String(v?.['hn'] ?? '?')}, port ${String(v?.['port'] ?? '?')}, datadir ${String(v?.['dd'] ?? '?')}`,
    ...(replicatedBefore !== undefined ? { replicatedBefore } : {}),
    replication: status
      ? {
          sourceHost: status.sourceHost,
          sourcePort: status.sourcePort,
          ioRunning: status.ioRunning,
          sqlRunning: status.sqlRunning,
          lagSeconds: status.secondsBehind,
          lastError: status.lastSqlError || status.lastIoError,
        }
      : null,
  };
}

/** Compares the live state with the roles the config declares. */
export function findProblems(cluster: ClusterConfig, nodes: NodeState[]): string[] {
  const problems: string[] = [];
  const writerRoles = new Set(['primary', 'active']);
  const writable = nodes.filter((n) => n.reachable && n.readOnly === false);
  for (const n of nodes) {
    if (!n.reachable) {
      problems.push(`${n.name}: unreachable (${n.error ?? 'no answer'})`);
      continue;
    }
    const isWriter = writerRoles.has(n.configuredRole);
    if (isWriter && n.readOnly) problems.push(`${n.name}: configured as ${n.configuredRole} but read_only is ON`);
    if (!isWriter && n.readOnly === false) problems.push(`${n.name}: configured as ${n.configuredRole} but writable (read_only is OFF)`);
    if (!isWriter || cluster.topology === 'master-master') {
      const shouldReplicate = !isWriter || cluster.topology === 'master-master';
      if (shouldReplicate && !n.replication) problems.push(`${n.name}: configured as ${n.configuredRole} but replicates from nobody`);
      if (n.replication && (!n.replication.ioRunning || !n.replication.sqlRunning)) {
        problems.push(
          `${n.name}: replication stopped (IO ${n.replication.ioRunning ? 'running' : 'stopped'}, SQL ${n.replication.sqlRunning ? 'running' : 'stopped'})${n.replication.lastError ? `: ${n.replication.lastError}` : ''}`,
        );
      }
    }
    if (!isWriter && n.replication) {
      const writer = nodes.find((w) => writerRoles.has(w.configuredRole));
      if (writer && (n.replication.sourcePort !== writer.port || !sameHost(n.replication.sourceHost, writer.host))) {
        problems.push(
          `${n.name}: replicates from ${n.replication.sourceHost}:${n.replication.sourcePort}, not from the ${writer.configuredRole} ${writer.name} (${writer.host}:${writer.port})`,
        );
      }
    }
  }
  if (writable.length > 1) problems.push(`${writable.length} writable nodes (${writable.map((n) => n.name).join(', ')}): exactly one must accept writes`);
  return problems;
}

function sameHost(a: string, b: string): boolean {
  const norm = (h: string) => (h === 'localhost' ? '127.0.0.1' : h);
  return norm(a) === norm(b);
}

/**
 * Nodes we could not log in to or reach are a connection problem (exit 2, fix the config or
 * start the server), not a topology disagreement to repair.
 */
export function connectionProblem(report: TopologyReport): MigrateError | undefined {
  const down = report.nodes.filter((n) => !n.reachable);
  if (down.length === 0) return undefined;
  const fixes = [...new Set(down.map((n) => n.errorFix).filter((f): f is string => Boolean(f)))];
  return connectionError(
    `Cluster ${report.cluster}: ${down.map((n) => n.error ?? `${n.name} did not answer`).join(' ')}`,
    `${fixes.join(' ') || 'Check that the nodes run and that their host, port, user and password source in the config are right.'} Nothing was changed.`,
  );
}

/**
 * Config entries that cannot be right whatever state the servers are in: two entries reaching
 * the same server, or a replica entry naming a server that replicates from nobody and never has
 * (an independent server). A node the config file itself calls the writer is exempt from the
 * second rule: after a switchover it is recorded as a replica, and if it died before it was
 * re-pointed it is a member to repair (`migrate resume`), not a config mistake.
 */
export function findConfigProblems(_cluster: ClusterConfig, nodes: NodeState[], opts: InspectOptions = {}): string[] {
  const problems: string[] = [];
  const byIdentity = new Map<string, NodeState[]>();
  for (const n of nodes) if (n.reachable && n.identity) byIdentity.set(n.identity, [...(byIdentity.get(n.identity) ?? []), n]);
  for (const [identity, same] of byIdentity) {
    if (same.length < 2) continue;
    const [first, ...rest] = same as [NodeState, ...NodeState[]];
    for (const n of rest)
      problems.push(`node ${n.name} (${n.host}:${n.port}) is the same server as node ${first.name} (${first.host}:${first.port}; ${identity})`);
  }
  const writerRoles = new Set<NodeRole>(['primary', 'active']);
  for (const n of nodes) {
    if (!n.reachable || writerRoles.has(n.configuredRole) || n.replication || n.replicatedBefore !== false) continue;
    const fileRole = opts.configuredRoles?.get(n.name) ?? n.configuredRole;
    if (writerRoles.has(fileRole)) continue;
    if (problems.some((p) => p.startsWith(`node ${n.name} `))) continue;
    problems.push(
      `node ${n.name} (${n.host}:${n.port}) is configured as ${n.configuredRole} but is not one: it replicates from nobody and never has${n.readOnly === false ? ', and it is writable' : ''}`,
    );
  }
  return problems;
}

/** Config problems as the error every command answers them with (exit 2, nothing changed). */
export function configMismatch(report: TopologyReport, source: string): MigrateError | undefined {
  if (report.configProblems.length === 0) return undefined;
  const names = [...new Set(report.configProblems.map((p) => /^node (\S+)/.exec(p)?.[1]).filter((x): x is string => Boolean(x)))];
  const writer = report.nodes.find((n) => n.configuredRole === 'primary' || n.configuredRole === 'active');
  // The statements are the cluster's own flavor's (MySQL 8.4 removed CHANGE MASTER / START SLAVE).
  const flavorName = writer?.flavor ?? report.nodes.find((n) => n.flavor)?.flavor ?? 'mariadb';
  return configError(
    `Cluster ${report.cluster} in ${source}: ${report.configProblems.join('; ')}.`,
    `Point ${names.join(', ')} at ${names.length > 1 ? 'replicas' : 'a replica'}${writer ? ` of ${writer.name}` : ''} (host and port of a server that replicates from it), or remove ${names.length > 1 ? 'them' : 'it'} from cluster ${report.cluster}; a server meant to join must replicate first (${flavorFor(flavorName).joinReplicationHint()}). Nothing was changed.`,
  );
}

export async function inspectCluster(cluster: ClusterConfig, opts: InspectOptions = {}): Promise<TopologyReport> {
  const nodes = await Promise.all(cluster.nodes.map((n) => inspectNode(n)));
  const configProblems = findConfigProblems(cluster, nodes, opts);
  const live = findProblems(cluster, nodes).filter((p) => !configProblems.some((c) => c.startsWith(`node ${p.split(':')[0]} `)));
  return { cluster: cluster.name, nodes, problems: [...configProblems, ...live], configProblems };
}
