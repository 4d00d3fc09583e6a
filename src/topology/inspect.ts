import type { ClusterConfig, NodeConfig } from '../config/types.ts';
import { connectionError, isMigrateError, type MigrateError } from '../errors.ts';
import type { Flavor, FlavorName } from './flavors/contract.ts';
import { flavorFor, flavorNameFromVersion } from './flavors/index.ts';
import { openNode, queryOne, type NodeConnection } from './node-connection.ts';

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
    await conn?.end().catch(() => undefined);
  }
}

export async function readState(conn: NodeConnection, base: NodeState): Promise<NodeState> {
  const v = await queryOne(conn, 'SELECT VERSION() AS v, @@server_id AS sid, @@GLOBAL.read_only AS ro, @@log_bin AS lb, @@log_slave_updates AS lsu');
  const version = String(v?.['v'] ?? '');
  const flavorName = flavorNameFromVersion(version);
  const flavor: Flavor = flavorFor(flavorName);
  const pos = await queryOne(conn, flavor.gtidPositionQuery());
  const rs = await queryOne(conn, flavor.showReplicaStatus());
  const status = rs ? flavor.parseReplicaStatus(rs) : null;
  return {
    ...base,
    reachable: true,
    version,
    flavor: flavorName,
    serverId: Number(v?.['sid']),
    readOnly: Number(v?.['ro']) === 1,
    logBin: Number(v?.['lb']) === 1,
    logReplicaUpdates: Number(v?.['lsu']) === 1,
    gtidPosition: String(pos?.['pos'] ?? ''),
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
        problems.push(`${n.name}: replication stopped (IO ${n.replication.ioRunning ? 'running' : 'stopped'}, SQL ${n.replication.sqlRunning ? 'running' : 'stopped'})${n.replication.lastError ? `: ${n.replication.lastError}` : ''}`);
      }
    }
    if (!isWriter && n.replication) {
      const writer = nodes.find((w) => writerRoles.has(w.configuredRole));
      if (writer && (n.replication.sourcePort !== writer.port || !sameHost(n.replication.sourceHost, writer.host))) {
        problems.push(`${n.name}: replicates from ${n.replication.sourceHost}:${n.replication.sourcePort}, not from the ${writer.configuredRole} ${writer.name} (${writer.host}:${writer.port})`);
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

export async function inspectCluster(cluster: ClusterConfig): Promise<TopologyReport> {
  const nodes = await Promise.all(cluster.nodes.map((n) => inspectNode(n)));
  return { cluster: cluster.name, nodes, problems: findProblems(cluster, nodes) };
}
