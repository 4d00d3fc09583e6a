import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { analyse, FileCache } from '../analysis/index.ts';
import type { ShadowOrigin } from '../analysis/shadow-run.ts';
import type { MigrationVerdict } from '../analysis/types.ts';
import type { ClusterConfig, ConnectionConfig, NodeConfig, ProjectConfig } from '../config/types.ts';
import { createKnex, verifyConnection } from '../db/connect.ts';
import { configError, isMigrateError, MigrateError, workError } from '../errors.ts';
import { thisHost, whoAmI } from '../migrations/ledger.ts';
import { withLedgerWriter } from '../migrations/ledger-writer.ts';
import { blockingError } from '../migrations/discover.ts';
import { Runner } from '../migrations/runner.ts';
import type { MigrationSource } from '../migrations/types.ts';
import type { LockSafety } from '../migrations/pg/settings.ts';
import type { Logger } from '../log/logger.ts';
import { flavorFor, flavorNameFromVersion } from '../topology/flavors/index.ts';
import { configMismatch, connectionProblem, inspectCluster, type TopologyReport } from '../topology/inspect.ts';
import { stateDir, saveRoles, swappedRoles } from '../topology/roles-state.ts';
import { lockCluster } from './cluster-lock.ts';
import { loadHold, saveHold } from './hold.ts';
import { runDeployCommand } from './handoff.ts';
import { ForkError } from './fork.ts';
import { Journal } from './journal.ts';
import { syncJournalTable } from './journal-table.ts';
import { stepsFromVerdicts, type ApplyStep, type StepStrategy } from './plan-steps.ts';
import { alteredNodes, summarizeRuns, unfinishedRun } from './recover.ts';
import { preflightNodes, runReplicaFirst, type ReplicaFirstResult } from './replica-first.ts';
import { describeReplicaFirst } from './dry-run.ts';
import { writerFor } from './writer/index.ts';

export interface ApplyOptions {
  config: ProjectConfig;
  cluster: ClusterConfig;
  /**
   * The gate's shadow server, or how to find it (called only when something is pending). A plain
   * connection is looked at like a --shadow URL (shadow-run.ts); the lookup says what it knows.
   */
  shadow: ConnectionConfig | ((cluster: ClusterConfig) => Promise<{ server: ConnectionConfig; origin: ShadowOrigin }>);
  dryRun: boolean;
  maxWriteBlockMs: number;
  catchUpTimeoutMs: number;
  /** Run after the pre-deploy migrations; without it the run stops for `migrate continue`. */
  deployCommand?: string;
  /** Which phases to run now: both (with the hand-off between), or only the contract phase. */
  phases: 'all' | 'post-deploy';
  strategy?: StepStrategy;
  /** Master-master: keep the old active on the old schema until `migrate finalize`. */
  hold: boolean;
  /** Resuming: nodes an interrupted run already altered, per migration id. */
  alreadyAltered?: Map<string, Set<string>>;
  /** --lock-timeout / --lock-retries / --statement-timeout for the in-place steps (runner). */
  lockSafety?: Partial<LockSafety>;
  logger: Logger;
}

/** Unwinds the run after a held step without it counting as a failure. */
class HoldStop extends Error {
  constructor(readonly id: string) {
    super(`held after ${id}`);
  }
}

export interface ApplyReport {
  planId: string;
  /** The migration a master-master --hold run stopped after. */
  held?: string;
  steps: (ApplyStep & { ran: boolean; writeBlockMs?: number; newPrimary?: string; switchover?: SwitchoverTimings })[];
  awaitingDeploy: boolean;
  dryRun: boolean;
  /** With --dry-run: every statement per node, in order. */
  statements?: string[];
}

/** What users see of a switchover's timing: every step, and which of them were the write block. */
export interface SwitchoverTimings {
  writeBlockMs: number;
  /** The steps inside the write block, in order. */
  blockSteps: string[];
  /** Every step of the switchover, ms, in the order they ran. */
  stepsMs: Record<string, number>;
  /** Sessions ended on the old primary (every one but the coordinator's and replication's). */
  endedSessions: number;
}

function writerNode(cluster: ClusterConfig): NodeConfig {
  const role = cluster.topology === 'master-master' ? 'active' : 'primary';
  const n = cluster.nodes.find((x) => x.role === role);
  if (!n) throw configError(`Cluster ${cluster.name} has no node with role "${role}".`, `Mark one node "role": "${role}".`);
  return n;
}

/**
 * The operator's command: pending migrations in order, each in place or replica-first as the
 * gate decided, the hand-off to the code deploy between the expand and contract phases, every
 * step journaled on disk before and after it runs.
 */
export async function apply(o: ApplyOptions): Promise<ApplyReport> {
  const { config, logger } = o;
  const log = (m: string): void => logger.info(m);
  let cluster = o.cluster;
  const planId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;

  const fileRoles = new Map(config.clusters.find((c) => c.name === cluster.name)?.nodes.map((n) => [n.name, n.role] as const) ?? []);
  const topo = await inspectCluster(cluster, { configuredRoles: fileRoles });
  const unreachable = connectionProblem(topo);
  if (unreachable) throw unreachable;
  const mismatch = configMismatch(topo, config.source);
  if (mismatch) throw mismatch;
  if (topo.problems.length) throw unhealthy(topo);
  const version = topo.nodes.find((n) => n.version)?.version ?? '';
  const flavor = flavorFor(flavorNameFromVersion(version));

  const db = createKnex(config.dialect, config.connection);
  let report: ApplyReport;
  try {
    await verifyConnection(db, config.dialect, config.connection);
    const runner = new Runner({ config, db, logger, ...(o.lockSafety ? { lockSafety: o.lockSafety } : {}) });
    const status = await runner.status();
    const blocking = blockingError(status.discovery.issues);
    if (blocking) throw blocking;
    const drift = status.migrations.filter((m) => m.state === 'drift');
    if (drift.length) throw workError(`Migrations changed after they were applied: ${drift.map((d) => d.id).join(', ')}.`, 'Restore the files, or accept the change with `migrate ack-drift <id>`. Nothing was changed.');
    const pendingIds = new Set(status.migrations.filter((m) => m.state === 'pending').map((m) => m.id));
    const all = status.discovery.migrations;
    const pending = all.filter((m) => pendingIds.has(m.id));

    let verdicts: MigrationVerdict[] = [];
    if (pending.length) {
      log(`analysing ${pending.length} pending migration(s) on a shadow database`);
      const found = typeof o.shadow === 'function' ? await o.shadow(o.cluster) : { server: o.shadow, origin: 'named' as const };
      verdicts = await analyse(all, {
        dialect: config.dialect,
        shadow: found.server,
        shadowOrigin: found.origin,
        // The history was written for the target's database: on the shadow that is the shadow database.
        ...(config.dialect === 'mysql' && config.connection.database ? { home: config.connection.database } : {}),
        onWarning: (m) => logger.warn(m),
        cache: new FileCache(join(stateDir(config), 'cache')),
      });
    }
    const { steps, refused } = stepsFromVerdicts(pending, verdicts, o.strategy);
    if (refused.length) {
      throw workError(`The gate refused ${refused.map((r) => `${r.id} (${r.reason})`).join('; ')}.`, 'Run `migrate plan` to read the findings and the safe alternative; split or rewrite the migration. Nothing was changed.');
    }
    const selected = o.phases === 'post-deploy' ? steps.filter((s) => s.phase === 'post-deploy') : steps;
    report = { planId, steps: selected.map((s) => ({ ...s, ran: false })), awaitingDeploy: false, dryRun: o.dryRun };
    if (selected.length === 0) {
      log('nothing to apply: no pending migrations');
      if (o.deployCommand) log('the deploy command was not run: with nothing pending the run never reaches the hand-off; deploy the code by hand if it is new');
      return report;
    }
    if (o.dryRun) {
      report.statements = dryRunLines(selected, cluster, flavor, o);
      return report;
    }

    const held = loadHold(config, cluster.name);
    if (held) throw workError(`Cluster ${cluster.name} holds ${held.heldNode} on the old schema for ${held.migrationId} (a master-master run with --hold).`, 'Run `migrate finalize` once the deploy is confirmed, or `migrate rollback` to switch back, before applying more. Nothing was changed.');
    if (selected.some((s) => s.strategy === 'replica-first')) {
      // Everything a replica-first run needs from the endpoint and the nodes is checked before
      // the first step (an in-place migration earlier in the plan would otherwise already have
      // run when a missing HAProxy socket stops the replica-first one).
      log('preflight: writer endpoint and nodes');
      const nothingChanged = (e: unknown): never => {
        if (isMigrateError(e) && !/Nothing was changed/.test(e.fix)) throw new MigrateError(e.kind, e.problem, `${e.fix} Nothing was changed.`, { cause: e });
        throw e;
      };
      await writerFor(cluster).preflight().catch(nothingChanged);
      await preflightNodes(cluster, flavor, [config.connection.user], (m) => logger.warn(`preflight: ${m}`)).catch(nothingChanged);
    }
    // The lock before the journal: a coordinator that loses the race leaves no run behind.
    const lock = await lockCluster(cluster, () => localRunHint(config));
    // Only with the lock held is an unfinished run in the journal really interrupted, not running.
    const interrupted = interruptedRun(config, cluster.name);
    if (interrupted) {
      await lock.release();
      throw interrupted;
    }
    const journal = openJournal(config, planId, lock);
    try {
      journal.write('plan', 'end', { cluster: cluster.name, steps: selected.map((s) => ({ id: s.id, phase: s.phase, strategy: s.strategy })) });
      const mirror = async (): Promise<void> => {
        await syncJournalTable(db, journal.path, planId).catch((e: unknown) => logger.warn(`journal table not updated yet: ${e instanceof Error ? e.message : String(e)}`));
      };
      await mirror();
      const byId = new Map(all.map((m) => [m.id, m]));
      const pre = selected.filter((s) => s.phase === 'pre-deploy');
      const post = selected.filter((s) => s.phase === 'post-deploy');
      const runPhase = async (phaseSteps: typeof report.steps): Promise<void> => {
        for (const step of phaseSteps) {
          const m = byId.get(step.id) as MigrationSource;
          if (step.strategy === 'in-place') {
            await journal.step(`in-place:${step.id}`, async () => {
              await runner.up({ to: step.id });
            });
          } else {
            log(`${step.id}: replica-first on cluster ${cluster.name}`);
            const res: ReplicaFirstResult = await runReplicaFirst({
              cluster,
              flavor,
              statements: step.statements,
              database: config.connection.database,
              ...(step.typeConversions ? { typeConversions: step.typeConversions } : {}),
              writer: writerFor(cluster),
              maxWriteBlockMs: o.maxWriteBlockMs,
              catchUpTimeoutMs: o.catchUpTimeoutMs,
              journal,
              log,
              holdOldActive: o.hold && cluster.topology === 'master-master',
              migrationId: m.id,
              appUsers: [config.connection.user],
              ...(o.alreadyAltered?.has(m.id) ? { alreadyAltered: o.alreadyAltered.get(m.id) } : {}),
            }).catch((e: unknown) => {
              // The candidate is the primary (writable, the endpoint on it) and the old one fenced: the roles say so.
              if (e instanceof ForkError) saveRoles(config, cluster, swappedRoles(cluster, writerNode(cluster).name, e.evidence.newPrimary));
              throw e;
            });
            const oldWriter = writerNode(cluster).name;
            const roles = swappedRoles(cluster, oldWriter, res.newPrimary);
            saveRoles(config, cluster, roles);
            cluster = { ...cluster, nodes: cluster.nodes.map((n) => ({ ...n, role: roles[n.name] ?? n.role })) };
            if (res.oldPrimaryLost) {
              const role = cluster.topology === 'master-master' ? 'active' : 'primary';
              throw workError(
                `The old ${role} ${oldWriter} stopped answering after ${res.newPrimary} was promoted (${res.oldPrimaryLost}). ${res.newPrimary} is the ${role} now: it takes writes, the endpoint points at it and the other replicas follow it. ${oldWriter} is out of the cluster and does not have ${m.id} yet.`,
                `Start ${oldWriter} again (it must come back read-only), then run \`migrate resume\`: it re-points ${oldWriter} to ${res.newPrimary} and runs ${m.id} there. To retire ${oldWriter} instead, remove it from the config.`,
              );
            }
            await journal.step(`ledger:${step.id}`, () =>
              withLedgerWriter(config, async (w) => {
                await w.ensureLedgerTable();
                await w.record({ id: m.id, checksum: m.checksum, phase: step.phase, appliedAt: new Date(), appliedBy: `${await whoAmI(w.session.db)} (replica-first)`, host: thisHost(), executionMs: Object.values(res.alterMs).reduce((a, b) => Math.max(a, b), 0) });
              }),
            );
            step.writeBlockMs = res.switchover.writeBlockMs;
            step.newPrimary = res.newPrimary;
            step.switchover = { writeBlockMs: res.switchover.writeBlockMs, blockSteps: res.switchover.blockSteps, stepsMs: res.switchover.stepsMs, endedSessions: res.switchover.killedSessions };
            logger.event?.('switchover', { migration: step.id, oldPrimary: oldWriter, newPrimary: res.newPrimary, ...step.switchover });
            if (res.pending.length) {
              saveHold(config, { cluster: cluster.name, migrationId: m.id, heldNode: oldWriter, alteredNode: res.newPrimary, database: config.connection.database, statements: step.statements, downStatements: step.downStatements, restore: res.restore, at: new Date().toISOString() });
              step.ran = true;
              // The held node must not fall further behind the schema: nothing else runs until
              // finalize or rollback resolves the hold.
              throw new HoldStop(step.id);
            }
            step.newPrimary = res.newPrimary;
            log(`${step.id}: switchover steps (ms): ${Object.entries(res.switchover.stepsMs).map(([k, v]) => `${k} ${v}`).join(', ')}; ALTER ${Object.entries(res.alterMs).map(([k, v]) => `${k} ${v}`).join(', ')}`);
            log(`${step.id}: done; ${res.newPrimary} is the new ${cluster.topology === 'master-master' ? 'active' : 'primary'}; write block ${res.switchover.writeBlockMs} ms${res.pending.length ? `; ${res.pending.join(', ')} kept on the old schema until \`migrate finalize\`` : ''}`);
          }
          step.ran = true;
          await mirror();
        }
      };
      try {
        if (o.phases === 'all') await runPhase(report.steps.filter((s) => s.phase === 'pre-deploy'));
      } catch (e) {
        if (!(e instanceof HoldStop)) throw e;
        report.held = e.id;
        log(`held: ${e.id} is live on the new active; the old active keeps the old schema as a rollback target. Deploy and check the new code, then run \`migrate finalize\` (or \`migrate rollback\`); ${report.steps.filter((s) => !s.ran).length} migration(s) wait until then.`);
        journal.write('held', 'end', { migration: e.id });
        return report;
      }
      // The hand-off is reached whenever the expand phase ran: a --deploy-command runs then even
      // when no post-deploy migration waits (the new code still needs deploying), and says so.
      if (o.phases === 'all' && (post.length || (o.deployCommand && pre.length))) {
        const last = pre.at(-1)?.id ?? status.migrations.filter((m) => m.state === 'applied').at(-1)?.id ?? '';
        const writer = writerNode(cluster);
        if (!post.length) log(`hand-off: the pre-deploy migrations are in place and no post-deploy migration is pending; running the deploy command`);
        if (!o.deployCommand) {
          journal.write('awaiting-deploy', 'begin', { schemaVersion: last });
          report.awaitingDeploy = true;
          log(`hand-off: the pre-deploy migrations are in place. Deploy the new code, then run \`migrate continue\` to run ${post.length} post-deploy migration(s).`);
          return report;
        }
        await journal.step('deploy', () => runDeployCommand(o.deployCommand!, { planId, cluster: cluster.name, newPrimary: writer.name, newPrimaryHost: writer.host, newPrimaryPort: writer.port, schemaVersion: last }, log));
      }
      await runPhase(report.steps.filter((s) => s.phase === 'post-deploy'));
      journal.write('done', 'end');
    } finally {
      await syncJournalTable(db, journal.path, planId).catch(() => undefined);
      await lock.release();
      journal.close();
    }
    return report;
  } finally {
    await db.destroy();
  }
}

function openJournal(config: ProjectConfig, planId: string, lock: { release(): Promise<void> }): Journal {
  try {
    return Journal.open(join(stateDir(config), 'runs'), planId);
  } catch (e) {
    void lock.release();
    throw e;
  }
}

/**
 * A replica-first run that stopped after it changed servers (altered replicas, began a
 * switchover) must be finished or undone first: a new run would ALTER those replicas again
 * (an ADD COLUMN fails there, and its journal would no longer say what the first one did).
 */
function interruptedRun(config: ProjectConfig, clusterName: string): MigrateError | undefined {
  const run = unfinishedRun(config, clusterName);
  if (!run) return undefined;
  if (!run.entries.some((e) => /^(alter|type-conversions|switchover|undo):?/.test(e.step))) return undefined;
  const altered = [...alteredNodes(run.entries).done];
  const where = run.summary.openStep ? `was interrupted in step ${run.summary.openStep}` : run.summary.lastPhase === 'fail' ? `failed in step ${run.summary.lastStep ?? '?'}` : `stopped after step ${run.summary.lastStep ?? '?'}`;
  return workError(
    `Run ${run.summary.run} on cluster ${clusterName} ${where}${altered.length ? ` with ${altered.join(', ')} already altered` : ''}; a new run would repeat what it did.`,
    'Finish it with `migrate resume`, or undo it with `migrate abort` (`migrate runs` lists it). Nothing was changed.',
  );
}

/** What this project's journal knows of a run that may hold the lock: named in the lock error. */
function localRunHint(config: ProjectConfig): string | undefined {
  const open = summarizeRuns(config).filter((r) => !r.finished && !r.awaitingDeploy).at(-1);
  return open ? `this project's journal shows run ${open.run} (started ${open.startedAt ?? '?'}, last step ${open.openStep ?? open.lastStep ?? '?'})` : undefined;
}

/** Replication problems named with what to do on each node. */
function unhealthy(topo: TopologyReport): MigrateError {
  const fixes: string[] = [];
  for (const n of topo.nodes) {
    const r = n.replication;
    if (!r || (r.ioRunning && r.sqlRunning)) continue;
    if (/Duplicate entry/i.test(r.lastError)) fixes.push(`on ${n.name} the row the primary wrote was already there (written on the replica directly, outside replication): delete the replica's copy (with sql_log_bin=0) or re-clone ${n.name}, then START SLAVE`);
    else if (r.lastError) fixes.push(`on ${n.name} repair what the error names (SHOW SLAVE STATUS there shows it in full), then START SLAVE`);
    else fixes.push(`on ${n.name} run START SLAVE`);
  }
  const first = fixes.length ? `${fixes.join('; ')}; then run` : 'Run `migrate topology`, repair what it names, then run';
  return workError(`Cluster ${topo.cluster} is not healthy: ${topo.problems.join('; ')}.`, `${first.charAt(0).toUpperCase()}${first.slice(1)} again once \`migrate topology\` reports the cluster healthy. Nothing was changed.`);
}

/** Every statement of the plan, per node, in order: what `--dry-run` shows. */
function dryRunLines(steps: ApplyStep[], cluster: ClusterConfig, flavor: ReturnType<typeof flavorFor>, o: ApplyOptions): string[] {
  const out = [`dry run on cluster ${cluster.name}: nothing will be changed`];
  for (const s of steps) {
    out.push('', `# ${s.id} [${s.phase}] ${s.strategy}: ${s.why}`);
    if (s.strategy === 'in-place') {
      const w = writerNode(cluster);
      for (const sql of s.statements) out.push(`${w.name}: ${sql}`);
    } else {
      out.push(...describeReplicaFirst(cluster, flavor, s, o));
    }
  }
  return out;
}
