import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { configError, usageError, workError } from '../../errors.ts';
import { consoleLogger } from '../../log/index.ts';
import { withRecordedRoles, type NodeState, type readPoolStates, type TopologyReport } from '../../topology/index.ts';

type PoolStates = Awaited<ReturnType<typeof readPoolStates>>;

function formatNode(n: NodeState, pool: PoolStates): string {
  const reads = pool ? ` read-pool=${pool.states[n.name] ?? '?'}` : '';
  if (!n.reachable) return `  ${n.name.padEnd(10)} ${`${n.host}:${n.port}`.padEnd(21)} UNREACHABLE ${n.error ?? ''}${reads}`;
  const rep = n.replication
    ? `from ${n.replication.sourceHost}:${n.replication.sourcePort} io=${n.replication.ioRunning ? 'on' : 'OFF'} sql=${n.replication.sqlRunning ? 'on' : 'OFF'} lag=${n.replication.lagSeconds ?? '?'}s`
    : 'not replicating';
  return `  ${n.name.padEnd(10)} ${`${n.host}:${n.port}`.padEnd(21)} ${n.configuredRole.padEnd(8)} ${n.readOnly ? 'read-only' : 'WRITABLE '} ${(n.flavor ?? '').padEnd(8)} gtid=${n.gtidPosition || '-'} ${rep}${reads}`;
}

function formatReport(r: TopologyReport, pool: PoolStates): string {
  const lines = [`cluster ${r.cluster}`, ...r.nodes.map((n) => formatNode(n, pool))];
  if (pool?.error) lines.push(`  read pool: ${pool.error}`);
  if (r.problems.length) lines.push('  problems:', ...r.problems.map((p) => `   - ${p}`));
  else lines.push('  healthy: matches the config');
  return lines.join('\n');
}

export function registerTopologyCommands(program: Command): void {
  program
    .command('topology')
    .description('read the live state of every node of every configured cluster and compare it with the config')
    .option('--cluster <name>', 'only this cluster')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { cluster?: string; format: string }, cmd: Command) => {
      if (opts.format !== 'text' && opts.format !== 'json')
        throw usageError(`--format ${opts.format} is not supported by topology.`, 'Use --format text or --format json.');
      const globals = cmd.optsWithGlobals<{ config?: string }>();
      const config = await loadConfig({ configPath: globals.config });
      let clusters = withRecordedRoles(config);
      if (clusters.length === 0)
        throw configError(
          `${config.source} describes no clusters.`,
          'Add a "clusters" list (see README "Configuration"); `migrate sandbox up` writes one for you.',
        );
      if (opts.cluster) {
        clusters = clusters.filter((c) => c.name === opts.cluster);
        if (clusters.length === 0)
          throw usageError(`No cluster named ${opts.cluster} in ${config.source}.`, `Use one of: ${config.clusters.map((c) => c.name).join(', ')}.`);
      }
      const { configMismatch, connectionProblem, inspectCluster, readPoolStates } = await import('../../topology/index.ts');
      const fileRoles = (name: string) => new Map(config.clusters.find((c) => c.name === name)?.nodes.map((n) => [n.name, n.role] as const) ?? []);
      const reports = await Promise.all(clusters.map((c) => inspectCluster(c, { configuredRoles: fileRoles(c.name) })));
      // Each node's state in the cluster's read pool (HAProxy's runtime API), when it names one.
      const pools = await Promise.all(clusters.map((c) => readPoolStates(c)));
      if (opts.format === 'json')
        consoleLogger.out(JSON.stringify({ clusters: reports.map((r, i) => ({ ...r, ...(pools[i] ? { readPool: pools[i] } : {}) })) }, null, 2));
      else consoleLogger.out(reports.map((r, i) => formatReport(r, pools[i])).join('\n\n'));
      for (const r of reports) {
        const unreachable = connectionProblem(r);
        if (unreachable) throw unreachable;
      }
      // A config entry that names the wrong server is a config error (exit 2), whatever else is wrong.
      for (const r of reports) {
        const mismatch = configMismatch(r, config.source);
        if (mismatch) throw mismatch;
      }
      const problems = reports.flatMap((r) => r.problems.map((p) => `${r.cluster}: ${p}`));
      if (problems.length) {
        throw workError(
          `The live topology disagrees with the config (${problems.length} problem${problems.length > 1 ? 's' : ''}): ${problems.join('; ')}.`,
          'Repair replication or correct the roles in the config before running migrations on this cluster.',
        );
      }
    });
}
