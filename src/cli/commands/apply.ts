import { engineFor, ownShadowServes } from '../../engines/index.ts';
import type { Command } from 'commander';
import { loadConfig, type ClusterConfig, type ConnectionConfig, type ProjectConfig } from '../../config/index.ts';
import type { ShadowOrigin } from '../../analysis/index.ts';
import { configError, usageError } from '../../errors.ts';
import type { ApplyReport, StepStrategy } from '../../execution/index.ts';
import { consoleLogger, jsonLinesLogger } from '../../log/index.ts';
import { withRecordedRoles } from '../../topology/index.ts';
import { lockSafetyFlags, withLockFlags, type LockFlags } from './migrations.ts';
import { handoffOptions, withHandoffFlags, type HandoffFlags } from './handoff-flags.ts';

interface ApplyFlags extends LockFlags, HandoffFlags {
  cluster?: string;
  allClusters?: boolean;
  canary?: string;
  concurrency: string;
  dryRun?: boolean;
  maxWriteBlock: string;
  catchUpTimeout: string;
  shadow?: string;
  shadowThrowaway?: boolean;
  strategy?: string;
  hold?: boolean;
  drainLastReader?: boolean;
  format: string;
}

function positiveInt(v: string, flag: string, example: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw usageError(`${flag} must be a whole number above 0 (got "${v}").`, `Write e.g. ${flag} ${example}.`);
  return n;
}

/**
 * The shadow server of apply's gate: --shadow, MIGRATE_SHADOW_URL, else the `migrate shadow`
 * server (started when none runs; it is MariaDB, so a MySQL cluster needs a URL). Never the target
 * or a node of the cluster (see findShadowServer). Looked up only when the gate runs.
 */
export async function shadowConnection(
  config: Pick<ProjectConfig, 'dialect' | 'connection' | 'clusters'>,
  url?: string,
  cluster?: Pick<ClusterConfig, 'flavor' | 'name'>,
  assertThrowaway = false,
): Promise<{ server: ConnectionConfig; origin: ShadowOrigin }> {
  const { findShadowServer, forbiddenServers } = await import('../../analysis/index.ts');
  const found = await findShadowServer(config.dialect, {
    url,
    assertThrowaway,
    forbidden: forbiddenServers(config, 'apply'),
    ...(cluster && !ownShadowServes(cluster.flavor)
      ? {
          ownUnsuitable: `cluster ${cluster.name} runs MySQL, and the local \`migrate shadow\` server is MariaDB, whose ALTER algorithms (and so the verdicts) differ`,
        }
      : {}),
  });
  if (found.started) consoleLogger.warn(found.started);
  return { server: found.server, origin: found.origin };
}

function pickCluster(config: ProjectConfig, name?: string): ClusterConfig {
  const clusters = withRecordedRoles(config);
  if (clusters.length === 0)
    throw configError(
      `${config.source} describes no clusters.`,
      'Add a "clusters" list (see README "Configuration"); `migrate sandbox up` writes one for you.',
    );
  if (name) {
    const c = clusters.find((x) => x.name === name);
    if (!c) throw usageError(`No cluster named ${name} in ${config.source}.`, `Use one of: ${clusters.map((x) => x.name).join(', ')}.`);
    return c;
  }
  if (clusters.length > 1)
    throw usageError(`${config.source} has ${clusters.length} clusters.`, `Choose one with --cluster (${clusters.map((x) => x.name).join(', ')}).`);
  return clusters[0] as ClusterConfig;
}

function printReport(r: ApplyReport, format: string): void {
  if (format === 'json') {
    jsonLinesLogger.out(JSON.stringify({ ts: new Date().toISOString(), event: 'result', ...r }));
    return;
  }
  for (const line of r.statements ?? []) consoleLogger.out(line);
  if (r.statements) consoleLogger.out('');
  for (const s of r.steps) {
    consoleLogger.out(
      `${s.ran ? 'done   ' : r.dryRun ? 'planned' : 'pending'} ${s.id.padEnd(32)} ${s.phase.padEnd(11)} ${s.strategy.padEnd(13)}${s.writeBlockMs !== undefined ? ` write block ${s.writeBlockMs} ms, new primary ${s.newPrimary}` : ''}`,
    );
    if (s.switchover) {
      const sw = s.switchover;
      const list = (keys: string[]) => keys.map((k) => `${k} ${sw.stepsMs[k]}`).join(', ');
      const keys = Object.keys(sw.stepsMs);
      const before = keys.slice(0, keys.indexOf(sw.blockSteps[0] ?? ''));
      const after = keys.slice(keys.indexOf(sw.blockSteps.at(-1) ?? '') + 1);
      consoleLogger.out(`        switchover steps (ms), before the write block: ${list(before)}`);
      consoleLogger.out(`        write block ${sw.writeBlockMs} ms: ${list(sw.blockSteps)}`);
      consoleLogger.out(`        after it (writes flow to ${s.newPrimary}): ${list(after)}; ${sw.endedSessions} session(s) ended on the old primary`);
    }
  }
  if (r.awaitingDeploy) consoleLogger.out(`plan ${r.planId}: waiting for the code deploy; run \`migrate continue\` when the new code is live`);
}

/** apply's options; resume and continue leave out those they cannot honour. */
function applyOptions(program: Command, name: 'apply' | 'continue' | 'resume', description: string): Command {
  // The in-place steps run through the runner: the same lock-wait bounds as `migrate up`.
  const cmd = withLockFlags(program.command(name)).description(description);
  if (name === 'resume') cmd.option('--cluster <name>', 'the cluster whose interrupted run to resume (required when the config has several)');
  // Not for resume: it works on one cluster, and it repairs the topology before anything else, so
  // it can neither roll out shards nor promise to change nothing.
  else
    cmd
      .option('--cluster <name>', 'the cluster to apply to (required when the config has several, unless --all-clusters)')
      .option('--all-clusters', 'every cluster (shards): the canary first, then the rest with --concurrency; stops at the first failure')
      .option('--canary <name>', 'with --all-clusters: the cluster to run first (default: the first in the config)')
      .option('--concurrency <n>', 'with --all-clusters: clusters run at once after the canary', '2')
      .option(
        '--dry-run',
        'print every statement per node, in order, and change nothing (after the checks apply makes before it changes anything: the gate, the writer endpoint and the nodes)',
      );
  // continue and resume run replica-first ALTERs too (the contract phase, the rest of a died run).
  cmd
    .option('--drain-last-reader', "drain the read pool's last replica serving reads for its ALTER too (reads then have no server until it returns)")
    .option('--max-write-block <ms>', 'upper bound on the switchover write block; past it the switchover is undone', '2000')
    .option('--catch-up-timeout <s>', 'how long to wait for an altered replica to catch up before the switchover', '600');
  // continue hands off too (deploy and verify before the contract phase: after a failed hand-off
  // it is the next command), but a hold in the contract phase only ends the run as an error.
  withHandoffFlags(cmd);
  if (name !== 'continue') cmd.option('--hold', 'master-master: keep the old active on the old schema as a hot rollback target until `migrate finalize`');
  return cmd
    .option(
      '--shadow <url>',
      "server for the gate's analysis (default: MIGRATE_SHADOW_URL, else the `migrate shadow` server, started when none runs); never the target or a cluster node",
    )
    .option('--shadow-throwaway', 'the --shadow server holds nothing that matters: analyse there as the given account (env MIGRATE_SHADOW_THROWAWAY=1)')
    .option('--strategy <s>', 'force in-place or replica-first for every migration (default: the gate decides)')
    .option('--format <format>', 'text, or json (JSON-lines events, then a result line)', 'text');
}

function register(program: Command, name: 'apply' | 'continue' | 'resume', description: string, phases: 'all' | 'post-deploy'): void {
  applyOptions(program, name, description).action(async (flags: ApplyFlags, cmd: Command) => {
    if (flags.format !== 'text' && flags.format !== 'json')
      throw usageError(`--format ${flags.format} is not supported by ${name}.`, 'Use --format text or --format json.');
    if (flags.strategy !== undefined && flags.strategy !== 'in-place' && flags.strategy !== 'replica-first')
      throw usageError(
        `--strategy ${flags.strategy} is not a strategy.`,
        'Use --strategy in-place or --strategy replica-first, or leave it out to let the gate decide.',
      );
    const maxWriteBlockMs = positiveInt(flags.maxWriteBlock, '--max-write-block', '500');
    const catchUpTimeoutMs = positiveInt(flags.catchUpTimeout, '--catch-up-timeout', '300') * 1000;
    const lockSafety = lockSafetyFlags(flags);
    const globals = cmd.optsWithGlobals<{ config?: string }>();
    const config = await loadConfig({ configPath: globals.config });
    // MySQL/MariaDB clusters run replica-first where needed, PostgreSQL ones in place; an engine with neither is refused.
    const engine = engineFor(config.dialect);
    if (!engine.drivesClusters && !engine.inPlaceCluster)
      throw usageError(`migrate ${name} cannot drive ${engine.label} clusters.`, 'Use `migrate up` for this database.');
    // statement_timeout is PostgreSQL's: the in-place runner sets it there; on MySQL/MariaDB clusters it would bound nothing.
    if (lockSafety.statementTimeoutMs && !engine.inPlaceCluster)
      throw usageError(
        `--statement-timeout sets PostgreSQL's statement_timeout; migrate ${name} on ${engine.label} clusters would bound no statement with it.`,
        'Leave --statement-timeout out (it is for PostgreSQL); bound the lock waits with --lock-timeout and --lock-retries. Nothing was changed.',
      );
    const common = {
      shadow: (cluster: ClusterConfig) => shadowConnection(config, flags.shadow, cluster, Boolean(flags.shadowThrowaway)),
      dryRun: Boolean(flags.dryRun),
      maxWriteBlockMs,
      catchUpTimeoutMs,
      ...handoffOptions(flags, config),
      phases,
      ...(flags.strategy ? { strategy: flags.strategy as StepStrategy } : {}),
      hold: Boolean(flags.hold),
      drainLastReader: Boolean(flags.drainLastReader),
      ...(Object.keys(lockSafety).length ? { lockSafety } : {}),
      logger: flags.format === 'json' ? jsonLinesLogger : consoleLogger,
    };
    // Loaded here, not at start-up: `--help` and usage errors should not pay for the engine.
    const { apply, resume, configForCluster, rollout } = await import('../../execution/index.ts');
    if (flags.allClusters) {
      const outcomes = await rollout(config, withRecordedRoles(config), {
        ...common,
        ...(flags.canary ? { canary: flags.canary } : {}),
        concurrency: positiveInt(flags.concurrency, '--concurrency', '2'),
      });
      for (const o of outcomes) {
        consoleLogger.out(`cluster ${o.cluster}: ${o.status}`);
        if (o.report) printReport(o.report, flags.format);
      }
      return;
    }
    const cluster = pickCluster(config, flags.cluster);
    const run = name === 'resume' ? resume : apply;
    const report = await run({ ...common, config: configForCluster(config, cluster), cluster });
    printReport(report, flags.format);
  });
}

async function clusterFromFlags(cmd: Command, clusterName?: string): Promise<{ config: ProjectConfig; cluster: ClusterConfig }> {
  const globals = cmd.optsWithGlobals<{ config?: string }>();
  const config = await loadConfig({ configPath: globals.config });
  return { config, cluster: pickCluster(config, clusterName) };
}

export function registerApplyCommands(program: Command): void {
  register(
    program,
    'apply',
    'apply pending migrations to a cluster: in place or replica-first with a bounded switchover, hand-off to the code deploy, then the contract phase',
    'all',
  );
  register(program, 'continue', 'after the code deploy: run the post-deploy (contract) migrations', 'post-deploy');
  register(program, 'resume', 'after a run died: make the topology consistent, finish the interrupted migration from its journal, then run the rest', 'all');
  program
    .command('runs')
    .description('list coordinator runs from their journals: where each stands, and any that died mid-way')
    .option('--format <format>', 'text or json', 'text')
    .action(async (flags: { format: string }, cmd: Command) => {
      if (flags.format !== 'text' && flags.format !== 'json')
        throw usageError(`--format ${flags.format} is not supported by runs.`, 'Use --format text or --format json.');
      const globals = cmd.optsWithGlobals<{ config?: string }>();
      const config = await loadConfig({ configPath: globals.config });
      const { summarizeRuns } = await import('../../execution/index.ts');
      const runs = summarizeRuns(config);
      if (flags.format === 'json') return consoleLogger.out(JSON.stringify({ runs }, null, 2));
      if (runs.length === 0) return consoleLogger.out('no runs yet');
      for (const r of runs) {
        const state = r.finished
          ? 'finished'
          : r.awaitingDeploy
            ? 'waiting for `migrate continue`'
            : r.openStep
              ? `INTERRUPTED in ${r.openStep} (run \`migrate resume\` or \`migrate abort\`)`
              : `stopped after ${r.lastStep}`;
        consoleLogger.out(`${r.run.padEnd(28)} ${r.startedAt ?? ''}  ${state}`);
      }
    });
  program
    .command('abort')
    .description(
      'after a run died: make the topology consistent (one writer, all others replicating from it, endpoint on it) and undo the interrupted change where it can',
    )
    .option('--cluster <name>', 'the cluster')
    .action(async (flags: { cluster?: string }, cmd: Command) => {
      const { config, cluster } = await clusterFromFlags(cmd, flags.cluster);
      const { abort } = await import('../../execution/index.ts');
      const writer = await abort(config, cluster, (m) => consoleLogger.info(m));
      consoleLogger.out(`aborted: ${writer} is the writer`);
    });
  program
    .command('finalize')
    .description('master-master after `apply --hold`: the deploy is confirmed, alter the held node too')
    .option('--cluster <name>', 'the cluster')
    .action(async (flags: { cluster?: string }, cmd: Command) => {
      const { config, cluster } = await clusterFromFlags(cmd, flags.cluster);
      const { finalize } = await import('../../execution/index.ts');
      await finalize(config, cluster, (m) => consoleLogger.info(m));
    });
  program
    .command('rollback')
    .description('master-master after `apply --hold`: switch back to the node with the old schema and undo the change on the other')
    .option('--cluster <name>', 'the cluster')
    .option('--max-write-block <ms>', 'upper bound on the switchover write block', '2000')
    .action(async (flags: { cluster?: string; maxWriteBlock: string }, cmd: Command) => {
      const maxWriteBlockMs = positiveInt(flags.maxWriteBlock, '--max-write-block', '500');
      const { config, cluster } = await clusterFromFlags(cmd, flags.cluster);
      const { rollback } = await import('../../execution/index.ts');
      await rollback(config, cluster, { maxWriteBlockMs }, (m) => consoleLogger.info(m));
    });
}
