import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { analyse, FileCache } from '../analysis/index.ts';
import type { MigrationVerdict } from '../analysis/index.ts';
import type { ClusterConfig, ProjectConfig } from '../config/index.ts';
import { createKnex, verifyConnection } from '../db/index.ts';
import { engineFor } from '../engines/index.ts';
import { isMigrateError, MigrateError, workError } from '../errors.ts';
import { blockingError } from '../migrations/index.ts';
import { Runner } from '../migrations/index.ts';
import type { Flavor } from '../engines/index.ts';
import { flavorFor, flavorNameFromVersion } from '../engines/index.ts';
import { configMismatch, connectionProblem, inspectCluster, type TopologyReport } from '../topology/index.ts';
import { stateDir } from '../topology/index.ts';
import { applyMigration } from './apply-migration.ts';
import { mirrorJournal, writerNode, type ApplyOptions, type ApplyReport, type ApplyRun } from './apply-run.ts';
import { lockCluster } from './cluster-lock.ts';
import { loadHold } from './hold.ts';
import { contractAheadOfExpand, describeHandoff, handoffStages, handoffSteps, type HandoffStage } from './handoff/index.ts';
import { Journal } from './journal.ts';
import { syncJournalTable } from './journal-table.ts';
import { stepsFromVerdicts, type ApplyStep } from './plan-steps.ts';
import { alteredNodes, summarizeRuns, unfinishedRun } from './recover.ts';
import { preflightNodes } from './replica-first.ts';
import { describeReplicaFirst } from './dry-run.ts';
import { inPlaceClusterOf, inPlaceStages } from './in-place-apply.ts';
import { StepMachine, type MachineStep } from './step-machine.ts';
import { planReadPool, readPoolFor } from './read-pool/index.ts';
import { writerFor } from './writer/index.ts';

export type { ApplyOptions, ApplyReport, ApplyRun, SwitchoverTimings } from './apply-run.ts';

/** A hold in the contract phase (not expected: --hold stops the expand phase) ends the run as an error. */
class HoldStop extends Error {
  constructor(readonly id: string) {
    super(`held after ${id}`);
  }
}

/** apply's steps, in the order they run. */
export type ApplyStage =
  | 'inspect'
  | 'connect'
  | 'gate'
  | 'preflight'
  | 'lock'
  | 'journal'
  | 'pre-deploy'
  | 'awaiting-deploy'
  | HandoffStage
  | 'post-deploy'
  | 'done';

type Stage = MachineStep<ApplyStage, ApplyRun>;

/**
 * The operator's command: pending migrations in order, each in place or replica-first as the
 * gate decided, the hand-off to the code deploy between the expand and contract phases, every
 * step journaled on disk before and after it runs.
 */
export async function apply(o: ApplyOptions): Promise<ApplyReport> {
  const planId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomBytes(3).toString('hex')}`;
  // Filled in by the stages that reach them: a stage reads only what an earlier one set.
  const run = { o, log: (m: string): void => o.logger.info(m), planId, cluster: o.cluster } as ApplyRun;
  // A cluster whose engine runs migrations in place (PostgreSQL) swaps only the stages that talk to it.
  const inPlace = inPlaceClusterOf(o.config);
  const stages: Stage[] = [...(inPlace ? inPlaceStages(inPlace, [...gateStages(), ...lockStages()]) : [...gateStages(), ...lockStages()]), ...phaseStages()];
  // Before the journal exists nothing is journaled; the stages after it journal through it.
  await new StepMachine(stages, { journaler: (r) => (r.journal ? (name, fn, data) => r.journal.step(name, fn, data) : undefined) }).run(run);
  return run.report;
}

/** Up to the plan: nothing is changed, nothing is locked, a refusal leaves no trace. */
function gateStages(): Stage[] {
  return [
    { name: 'inspect', journal: false, do: inspect },
    {
      name: 'connect',
      journal: false,
      do: async (r) => {
        r.db = createKnex(r.o.config.dialect, r.o.config.connection);
        await verifyConnection(r.db, r.o.config.dialect, r.o.config.connection);
        r.runner = new Runner({ config: r.o.config, db: r.db, logger: r.o.logger, ...(r.o.lockSafety ? { lockSafety: r.o.lockSafety } : {}) });
      },
      // Guarded: createKnex may have failed before there was a connection to close.
      release: async (r) => void (await (r.db as ApplyRun['db'] | undefined)?.destroy()),
    },
    { name: 'gate', journal: false, do: gate },
    {
      name: 'preflight',
      journal: false,
      do: async (r) => {
        await preflight(r);
        return r.o.dryRun ? 'stop' : undefined;
      },
    },
  ];
}

async function inspect(r: ApplyRun): Promise<void> {
  const { config } = r.o;
  const fileRoles = new Map(config.clusters.find((c) => c.name === r.cluster.name)?.nodes.map((n) => [n.name, n.role] as const) ?? []);
  const topo = await inspectCluster(r.cluster, { configuredRoles: fileRoles });
  const unreachable = connectionProblem(topo);
  if (unreachable) throw unreachable;
  const mismatch = configMismatch(topo, config.source);
  if (mismatch) throw mismatch;
  if (topo.problems.length) throw unhealthy(topo);
  const version = topo.nodes.find((n) => n.version)?.version ?? '';
  r.flavor = flavorFor(flavorNameFromVersion(version));
}

/**
 * A migration that fails on the shadow would fail on the target: the gate refuses the run, whatever
 * --strategy says, naming the migration, where the statement is, the server's error and the ones
 * not analysed after it.
 */
export function failedOnShadow(verdicts: MigrationVerdict[]): MigrateError | undefined {
  const failed = verdicts.find((v) => v.outcome === 'failed');
  if (!failed) return undefined;
  const f = failed.failure;
  const where = f?.file ? ` at ${basename(f.file)}${f.line !== undefined ? ` line ${f.line}` : ''}` : '';
  const after = verdicts.filter((v) => v.outcome === 'not-analysed').map((v) => v.id);
  return workError(
    `The gate refused ${failed.id}: it fails on the shadow database${where}: ${f?.error ?? 'unknown error'}${f?.statement ? `\n  statement: ${f.statement}` : ''}${after.length ? `\nNot analysed after it: ${after.join(', ')}.` : ''}`,
    'Fix the migration so it applies to the schema the migrations before it leave (`migrate check` shows the same verdict). Nothing was changed.',
  );
}

/** Pending migrations through the gate into steps (and, for --dry-run, the statements); stops the run when nothing is to apply. */
async function gate(r: ApplyRun): Promise<void | 'stop'> {
  const { o, log } = r;
  const { config } = o;
  r.status = await r.runner.status();
  const blocking = blockingError(r.status.discovery.issues);
  if (blocking) throw blocking;
  const drift = r.status.migrations.filter((m) => m.state === 'drift');
  if (drift.length)
    throw workError(
      `Migrations changed after they were applied: ${drift.map((d) => d.id).join(', ')}.`,
      'Restore the files, or accept the change with `migrate ack-drift <id>`. Nothing was changed.',
    );
  const pendingIds = new Set(r.status.migrations.filter((m) => m.state === 'pending').map((m) => m.id));
  r.all = r.status.discovery.migrations;
  const pending = r.all.filter((m) => pendingIds.has(m.id));
  let verdicts: MigrationVerdict[] = [];
  if (pending.length) {
    log(`analysing ${pending.length} pending migration(s) on a shadow database`);
    const found = typeof o.shadow === 'function' ? await o.shadow(o.cluster) : { server: o.shadow, origin: 'named' as const };
    verdicts = await analyse(r.all, {
      dialect: config.dialect,
      shadow: found.server,
      shadowOrigin: found.origin,
      // The history was written for the target's database: on the shadow that is the shadow database.
      ...(engineFor(config.dialect).switchesDatabases && config.connection.database ? { home: config.connection.database } : {}),
      onWarning: (m) => o.logger.warn(m),
      cache: new FileCache(join(stateDir(config), 'cache')),
      // Narrowings and new constraints are decided on the target's rows, as `migrate plan` does.
      dataTarget: {
        db: r.db,
        target: `${config.connection.user}@${config.connection.host}:${config.connection.port}/${config.connection.database}`,
        pending: pendingIds,
      },
    });
  }
  const failed = failedOnShadow(verdicts);
  if (failed) throw failed;
  const { steps, refused } = stepsFromVerdicts(pending, verdicts, o.strategy);
  if (refused.length) {
    throw (
      r.refusal?.(refused, verdicts) ??
      workError(
        `The gate refused ${refused.map((x) => `${x.id} (${x.reason})`).join('; ')}.`,
        'Run `migrate plan` to read the findings and the safe alternative; split or rewrite the migration. Nothing was changed.',
      )
    );
  }
  const selected = o.phases === 'post-deploy' ? steps.filter((s) => s.phase === 'post-deploy') : steps;
  const ahead = contractAheadOfExpand(selected);
  if (ahead) throw ahead;
  r.report = { planId: r.planId, steps: selected.map((s) => ({ ...s, ran: false })), awaitingDeploy: false, dryRun: o.dryRun };
  // A resumed run that died in its hand-off still has that hand-off to finish (an expand-only
  // release killed in its deploy must deploy again), with nothing left to migrate.
  if (selected.length === 0 && !o.resumedHandoff) {
    log('nothing to apply: no pending migrations');
    if (handoffSteps(o).deploy)
      log('the deploy command was not run: with nothing pending the run never reaches the hand-off; deploy the code by hand if it is new');
    return 'stop';
  }
  // A dry run stops after the preflight, so it refuses what the run would refuse before changing anything.
  if (o.dryRun) r.report.statements = await dryRunLines(selected, r.cluster, r.flavor, o).catch(nothingChanged);
  return undefined;
}

/** A refusal before anything changed says so, whichever check raised it. */
function nothingChanged(e: unknown): never {
  if (isMigrateError(e) && !/Nothing was changed/.test(e.fix)) throw new MigrateError(e.kind, e.problem, `${e.fix} Nothing was changed.`, { cause: e });
  throw e;
}

async function preflight(r: ApplyRun): Promise<void> {
  const { config, logger } = r.o;
  const { cluster } = r;
  const held = loadHold(config, cluster.name);
  if (held)
    throw workError(
      `Cluster ${cluster.name} holds ${held.heldNode} on the old schema for ${held.migrationId} (a master-master run with --hold).`,
      'Run `migrate finalize` once the deploy is confirmed, or `migrate rollback` to switch back, before applying more. Nothing was changed.',
    );
  if (!r.report.steps.some((s) => s.strategy === 'replica-first')) return;
  // Everything a replica-first run needs from the endpoint and the nodes is checked before
  // the first step (an in-place migration earlier in the plan would otherwise already have
  // run when a missing HAProxy socket stops the replica-first one).
  r.log('preflight: writer endpoint and nodes');
  // writerFor and readPoolFor throw their config errors synchronously: inside the promise, so they say nothing changed too.
  await Promise.resolve()
    .then(() => writerFor(cluster).preflight())
    .catch(nothingChanged);
  await Promise.resolve()
    .then(() => readPoolFor(cluster)?.preflight())
    .catch(nothingChanged);
  await preflightNodes(cluster, r.flavor, [config.connection.user], (m) => logger.warn(`preflight: ${m}`)).catch(nothingChanged);
}

/** The lock before the journal: a coordinator that loses the race leaves no run behind. */
function lockStages(): Stage[] {
  return [
    {
      name: 'lock',
      journal: false,
      do: async (r) => {
        r.lock = await lockCluster(r.cluster, () => localRunHint(r.o.config));
        // Only with the lock held is an unfinished run in the journal really interrupted, not running.
        const interrupted = interruptedRun(r.o.config, r.cluster.name, r.o.resuming?.run);
        if (interrupted) throw interrupted;
      },
      release: async (r) => void (await (r.lock as ApplyRun['lock'] | undefined)?.release()),
    },
    {
      name: 'journal',
      journal: false,
      do: async (r) => {
        r.journal = Journal.open(join(stateDir(r.o.config), 'runs'), r.planId);
        r.journal.write('plan', 'end', {
          cluster: r.cluster.name,
          steps: r.report.steps.map((s) => ({ id: s.id, phase: s.phase, strategy: s.strategy })),
          ...(r.o.resuming ? { resumes: r.o.resuming.run } : {}),
        });
        r.o.resuming?.takeOver();
        await mirrorJournal(r);
      },
      release: async (r) => {
        if (!r.journal) return;
        await syncJournalTable(r.db, r.journal.path, r.planId).catch(() => undefined);
        r.journal.close();
      },
    },
  ];
}

/**
 * The expand phase, the hand-off, the contract phase. The hand-off is reached whenever the
 * expand phase ran: a deploy command runs then even when no post-deploy migration waits (the
 * new code still needs deploying), and says so. `migrate continue` (only the contract phase)
 * hands off first too: it deploys and verifies, when those are configured, before contracting.
 * The hand-off's own stages (deploy, verify, rollback, verify-rollback) are in handoff/stages.ts.
 */
function phaseStages(): Stage[] {
  const all = (r: ApplyRun): boolean => r.o.phases === 'all';
  const ofPhase = (r: ApplyRun, p: ApplyStep['phase']) => r.report.steps.filter((s) => s.phase === p);
  const deploys = (r: ApplyRun): boolean => handoffSteps(r.o).deploy !== undefined;
  const handOff = (r: ApplyRun): boolean =>
    r.o.resumedHandoff !== undefined ||
    (all(r) ? ofPhase(r, 'post-deploy').length > 0 || (deploys(r) && ofPhase(r, 'pre-deploy').length > 0) : ofPhase(r, 'post-deploy').length > 0);
  // The hand-off runs now (rather than stopping for `migrate continue`): continue, a deploy
  // command, or a resumed run that died inside its hand-off.
  const handsOver = (r: ApplyRun): boolean => handOff(r) && (!all(r) || deploys(r) || r.o.resumedHandoff !== undefined);
  const schemaVersion = (r: ApplyRun): string =>
    ofPhase(r, 'pre-deploy').at(-1)?.id ?? r.status.migrations.filter((m) => m.state === 'applied').at(-1)?.id ?? '';
  return [
    { name: 'pre-deploy', journal: false, when: all, do: (r) => runPhase(r, ofPhase(r, 'pre-deploy')) },
    {
      name: 'awaiting-deploy',
      // Begun and never ended on purpose: `migrate continue` takes the run up from here.
      journal: false,
      when: (r) => handOff(r) && !handsOver(r),
      do: async (r) => {
        r.journal.write('awaiting-deploy', 'begin', { schemaVersion: schemaVersion(r) });
        r.report.awaitingDeploy = true;
        r.log(
          `hand-off: the pre-deploy migrations are in place. Deploy the new code, then run \`migrate continue\` to run ${ofPhase(r, 'post-deploy').length} post-deploy migration(s).`,
        );
        return 'stop';
      },
    },
    ...handoffStages(handsOver, schemaVersion, (r) =>
      ofPhase(r, 'post-deploy').length
        ? undefined
        : r.log('hand-off: the pre-deploy migrations are in place and no post-deploy migration is pending; running the deploy command'),
    ),
    { name: 'post-deploy', journal: false, do: (r) => runPhase(r, ofPhase(r, 'post-deploy'), false) },
    { name: 'done', journal: false, do: async (r) => r.journal.write('done', 'end') },
  ];
}

/**
 * Each migration of a phase as its own step machine (apply-migration.ts). A master-master --hold
 * run stops after the held migration: the held node must not fall further behind the schema, so
 * nothing else runs until finalize or rollback resolves the hold.
 */
async function runPhase(r: ApplyRun, steps: ApplyReport['steps'], holdEndsRun = true): Promise<void | 'stop'> {
  for (const step of steps) {
    const held = await applyMigration(r, step);
    if (!held) continue;
    if (!holdEndsRun) throw new HoldStop(step.id);
    r.report.held = step.id;
    r.log(
      `held: ${step.id} is live on the new active; the old active keeps the old schema as a rollback target. Deploy and check the new code, then run \`migrate finalize\` (or \`migrate rollback\`); ${r.report.steps.filter((s) => !s.ran).length} migration(s) wait until then.`,
    );
    r.journal.write('held', 'end', { migration: step.id });
    return 'stop';
  }
  return undefined;
}

/**
 * A replica-first run that stopped after it changed servers (altered replicas, began a
 * switchover) must be finished or undone first: a new run would ALTER those replicas again
 * (an ADD COLUMN fails there, and its journal would no longer say what the first one did).
 */
function interruptedRun(config: ProjectConfig, clusterName: string, resuming?: string): MigrateError | undefined {
  const run = unfinishedRun(config, clusterName);
  if (!run || run.summary.run === resuming) return undefined;
  if (!run.entries.some((e) => /^(alter|type-conversions|switchover|undo|read-pool-drain|read-pool-leave):?/.test(e.step))) return undefined;
  const altered = [...alteredNodes(run.entries).done];
  const where = run.summary.openStep
    ? `was interrupted in step ${run.summary.openStep}`
    : run.summary.lastPhase === 'fail'
      ? `failed in step ${run.summary.lastStep ?? '?'}`
      : `stopped after step ${run.summary.lastStep ?? '?'}`;
  return workError(
    `Run ${run.summary.run} on cluster ${clusterName} ${where}${altered.length ? ` with ${altered.join(', ')} already altered` : ''}; a new run would repeat what it did.`,
    'Finish it with `migrate resume`, or undo it with `migrate abort` (`migrate runs` lists it). Nothing was changed.',
  );
}

/** What this project's journal knows of a run that may hold the lock: named in the lock error. */
function localRunHint(config: ProjectConfig): string | undefined {
  const open = summarizeRuns(config)
    .filter((r) => !r.finished && !r.awaitingDeploy)
    .at(-1);
  return open
    ? `this project's journal shows run ${open.run} (started ${open.startedAt ?? '?'}, last step ${open.openStep ?? open.lastStep ?? '?'})`
    : undefined;
}

/** Replication problems named with what to do on each node. */
function unhealthy(topo: TopologyReport): MigrateError {
  const fixes: string[] = [];
  for (const n of topo.nodes) {
    const r = n.replication;
    if (!r || (r.ioRunning && r.sqlRunning)) continue;
    if (/Duplicate entry/i.test(r.lastError))
      fixes.push(
        `on ${n.name} the row the primary wrote was already there (written on the replica directly, outside replication): delete the replica's copy (with sql_log_bin=0) or re-clone ${n.name}, then START SLAVE`,
      );
    else if (r.lastError) fixes.push(`on ${n.name} repair what the error names (SHOW SLAVE STATUS there shows it in full), then START SLAVE`);
    else fixes.push(`on ${n.name} run START SLAVE`);
  }
  const first = fixes.length ? `${fixes.join('; ')}; then run` : 'Run `migrate topology`, repair what it names, then run';
  return workError(
    `Cluster ${topo.cluster} is not healthy: ${topo.problems.join('; ')}.`,
    `${first.charAt(0).toUpperCase()}${first.slice(1)} again once \`migrate topology\` reports the cluster healthy. Nothing was changed.`,
  );
}

/** Every statement of the plan, per node, in order: what `--dry-run` shows. */
async function dryRunLines(steps: ApplyStep[], cluster: ClusterConfig, flavor: Flavor, o: ApplyOptions): Promise<string[]> {
  const out = [`dry run on cluster ${cluster.name}: nothing will be changed`];
  // The hand-off sits before the first contract migration, or after the expand phase when a deploy command runs anyway.
  const handoff = handoffSteps(o);
  const contractAt = steps.findIndex((s) => s.phase === 'post-deploy');
  for (const [i, s] of steps.entries()) {
    if (i === contractAt) out.push(...describeHandoff(handoff, o.phases));
    out.push('', `# ${s.id} [${s.phase}] ${s.strategy}: ${s.why}`);
    if (s.strategy === 'in-place') {
      const w = writerNode(cluster);
      for (const sql of s.statements) out.push(`${w.name}: ${sql}`);
    } else {
      const pool = readPoolFor(cluster);
      const rp = pool ? await planReadPool(pool, cluster, writerNode(cluster).name, o.drainLastReader ?? false) : undefined;
      out.push(...describeReplicaFirst(cluster, flavor, s, { ...o, readPool: rp }));
    }
  }
  if (contractAt < 0 && handoff.deploy && o.phases === 'all') out.push(...describeHandoff(handoff, o.phases));
  return out;
}
