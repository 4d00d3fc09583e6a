import type { ClusterConfig, ProjectConfig } from '../config/index.ts';
import { isMigrateError, messageOf, usageError, workError } from '../errors.ts';
import { apply, type ApplyOptions, type ApplyReport } from './apply.ts';

export interface ClusterOutcome {
  cluster: string;
  status: 'done' | 'failed' | 'skipped';
  report?: ApplyReport;
  error?: string;
}

/**
 * Where the migrations run for one cluster (a shard): the same database and application login,
 * reached through that cluster's writer endpoint (writer.host/port); for the only cluster of the
 * config, with a writer driver (haproxy, command) but no writer.host/port, through `connection`
 * as written: the endpoint that driver moves. Else through its writer node. Pinned to the writer
 * node there, a replica-first run wrote its ledger row to the old primary, read-only after the
 * switchover (test/faults/error-paths.test.ts, c1).
 */
export function configForCluster(config: ProjectConfig, cluster: ClusterConfig): ProjectConfig {
  const w = cluster.writer;
  // A `connection` naming one of the nodes is not the endpoint: after a switchover it would be a
  // replica, so such a config stays pinned to the recorded writer node (review).
  const namesANode = cluster.nodes.some((n) => n.host === config.connection.host && n.port === config.connection.port);
  if (w && w.type !== 'none' && w.host === undefined && w.port === undefined && config.clusters.length <= 1 && !namesANode) return config;
  const mm = cluster.topology === 'master-master';
  const writer = cluster.nodes.find((n) => n.role === (mm ? 'active' : 'primary'));
  const host = cluster.writer?.host ?? writer?.host ?? config.connection.host;
  const port = cluster.writer?.port ?? writer?.port ?? config.connection.port;
  return { ...config, connection: { ...config.connection, host, port } };
}

/**
 * Shards roll out canary first, then the rest with a concurrency limit. The first failure stops
 * the rollout: no further cluster starts, the ones running finish their own run (each leaves its
 * cluster consistent), and the report names what ran, what failed and what was not started.
 */
export async function rollout(
  config: ProjectConfig,
  clusters: ClusterConfig[],
  opts: Omit<ApplyOptions, 'config' | 'cluster'> & { canary?: string; concurrency: number },
): Promise<ClusterOutcome[]> {
  if (opts.canary && !clusters.some((c) => c.name === opts.canary)) {
    throw usageError(`--canary ${opts.canary} is not a cluster of this config.`, `Use one of: ${clusters.map((c) => c.name).join(', ')}.`);
  }
  const canary = clusters.find((c) => c.name === (opts.canary ?? clusters[0]?.name));
  const rest = clusters.filter((c) => c !== canary);
  const outcomes = new Map<string, ClusterOutcome>(clusters.map((c) => [c.name, { cluster: c.name, status: 'skipped' }]));
  let failed = false;
  const runOne = async (c: ClusterConfig): Promise<void> => {
    opts.logger.info(`cluster ${c.name}: starting`);
    try {
      const report = await apply({ ...opts, config: configForCluster(config, c), cluster: c });
      outcomes.set(c.name, { cluster: c.name, status: 'done', report });
    } catch (e) {
      failed = true;
      outcomes.set(c.name, { cluster: c.name, status: 'failed', error: isMigrateError(e) ? `${e.problem} Fix: ${e.fix}` : messageOf(e) });
    }
  };
  if (canary) await runOne(canary);
  const queue = [...rest];
  const workers = Array.from({ length: Math.max(1, opts.concurrency) }, async () => {
    while (!failed && queue.length) await runOne(queue.shift() as ClusterConfig);
  });
  await Promise.all(workers);
  const list = clusters.map((c) => outcomes.get(c.name) as ClusterOutcome);
  const bad = list.find((o) => o.status === 'failed');
  if (bad) {
    const done = list.filter((o) => o.status === 'done').map((o) => o.cluster);
    const skipped = list.filter((o) => o.status === 'skipped').map((o) => o.cluster);
    throw workError(
      `The rollout stopped: cluster ${bad.cluster} failed (${bad.error}). Done: ${done.join(', ') || 'none'}; not started: ${skipped.join(', ') || 'none'}.`,
      `Repair ${bad.cluster} (\`migrate topology --cluster ${bad.cluster}\`, \`migrate runs\`), then run \`migrate apply --all-clusters\` again: finished clusters have nothing pending.`,
    );
  }
  return list;
}
