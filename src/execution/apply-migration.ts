import type { MigrationSource } from '../migrations/index.ts';
import { thisHost, whoAmI } from '../migrations/index.ts';
import { withLedgerWriter } from '../migrations/index.ts';
import { saveRoles, swappedRoles } from '../topology/index.ts';
import { workError } from '../errors.ts';
import { mirrorJournal, writerNode, type ApplyReport, type ApplyRun } from './apply-run.ts';
import { ForkError } from './fork.ts';
import { saveHold } from './hold.ts';
import { runReplicaFirst, type ReplicaFirstResult } from './replica-first.ts';
import { StepMachine, type MachineStep } from './step-machine.ts';
import { readPoolFor } from './read-pool/index.ts';
import { writerFor } from './writer/index.ts';

/** The steps of one pending migration; those journaled are named `<step>:<migration id>`. */
export type MigrationStep = 'in-place' | 'replica-first' | 'roles' | 'ledger' | 'hold' | 'ran';

interface MigrationRun {
  r: ApplyRun;
  step: ApplyReport['steps'][number];
  m: MigrationSource;
  res: ReplicaFirstResult;
  /** The writer before the switchover. */
  oldWriter: string;
  held: boolean;
}

type Step = MachineStep<MigrationStep, MigrationRun>;

const replicaFirst = (x: MigrationRun): boolean => x.step.strategy === 'replica-first';

/**
 * One migration, in place (through the runner: `migrate up --to`) or replica-first (the ALTER on
 * the replicas, the switchover, the ALTER on the old writer; replica-first.ts journals its own
 * steps), then its ledger row. True when a master-master --hold run holds after it.
 */
export async function applyMigration(r: ApplyRun, step: MigrationRun['step']): Promise<boolean> {
  const m = r.all.find((x) => x.id === step.id) as MigrationSource;
  const x = { r, step, m, held: false } as MigrationRun;
  const steps: Step[] = [
    { name: 'in-place', journal: () => `in-place:${step.id}`, when: (y) => !replicaFirst(y), do: async (y) => void (await y.r.runner.up({ only: y.step.id })) },
    { name: 'replica-first', journal: false, when: replicaFirst, do: runReplicaFirstStep },
    { name: 'roles', journal: false, when: replicaFirst, do: swapRoles },
    { name: 'ledger', journal: () => `ledger:${step.id}`, when: replicaFirst, do: recordReplicaFirst, after: reportSwitchover },
    { name: 'hold', journal: false, when: (y) => replicaFirst(y) && y.res.pending.length > 0, do: hold },
    { name: 'ran', journal: false, do: ran },
  ];
  await new StepMachine(steps, { journaler: () => (name, fn, data) => r.journal.step(name, fn, data) }).run(x);
  return x.held;
}

async function runReplicaFirstStep(x: MigrationRun): Promise<void> {
  const { r, step, m } = x;
  const { o, cluster } = r;
  r.log(`${step.id}: replica-first on cluster ${cluster.name}`);
  x.oldWriter = writerNode(cluster).name;
  x.res = await runReplicaFirst({
    cluster,
    flavor: r.flavor,
    statements: step.statements,
    database: o.config.connection.database,
    ...(step.typeConversions ? { typeConversions: step.typeConversions } : {}),
    writer: writerFor(cluster),
    maxWriteBlockMs: o.maxWriteBlockMs,
    catchUpTimeoutMs: o.catchUpTimeoutMs,
    journal: r.journal,
    log: r.log,
    holdOldActive: o.hold && cluster.topology === 'master-master',
    migrationId: m.id,
    appUsers: [o.config.connection.user],
    ...readPoolOptions(r),
    ...(o.alreadyAltered?.has(m.id) ? { alreadyAltered: o.alreadyAltered.get(m.id) } : {}),
  }).catch((e: unknown) => {
    // The candidate is the primary (writable, the endpoint on it) and the old one fenced: the roles say so.
    if (e instanceof ForkError) saveRoles(o.config, cluster, swappedRoles(cluster, x.oldWriter, e.evidence.newPrimary));
    throw e;
  });
}

function readPoolOptions(r: MigrationRun['r']): { readPool?: NonNullable<ReturnType<typeof readPoolFor>>; drainLastReader: boolean } {
  const pool = readPoolFor(r.cluster);
  return { ...(pool ? { readPool: pool } : {}), drainLastReader: r.o.drainLastReader ?? false };
}

/** The new writer is recorded as such; an old writer lost during the switchover stops the run here, its ledger row unwritten. */
async function swapRoles(x: MigrationRun): Promise<void> {
  const { r, res, m, oldWriter } = x;
  const roles = swappedRoles(r.cluster, oldWriter, res.newPrimary);
  saveRoles(r.o.config, r.cluster, roles);
  r.cluster = { ...r.cluster, nodes: r.cluster.nodes.map((n) => ({ ...n, role: roles[n.name] ?? n.role })) };
  if (!res.oldPrimaryLost) return;
  const role = r.cluster.topology === 'master-master' ? 'active' : 'primary';
  throw workError(
    `The old ${role} ${oldWriter} stopped answering after ${res.newPrimary} was promoted (${res.oldPrimaryLost}). ${res.newPrimary} is the ${role} now: it takes writes, the endpoint points at it and the other replicas follow it. ${oldWriter} is out of the cluster and does not have ${m.id} yet.`,
    `Start ${oldWriter} again (it must come back read-only), then run \`migrate resume\`: it re-points ${oldWriter} to ${res.newPrimary} and runs ${m.id} there. To retire ${oldWriter} instead, remove it from the config.`,
  );
}

/** Through the ledger's one writer, under the run lock taken inside the cluster lock this run holds. */
async function recordReplicaFirst(x: MigrationRun): Promise<void> {
  const { r, m, step, res } = x;
  await withLedgerWriter(r.o.config, async (w) => {
    await r.runner.prepareLedgerOn(w.session, r.status.discovery);
    await w.record({
      id: m.id,
      checksum: m.checksum,
      phase: step.phase,
      appliedAt: new Date(),
      appliedBy: `${await whoAmI(w.session.db)} (replica-first)`,
      host: thisHost(),
      executionMs: Object.values(res.alterMs).reduce((a, b) => Math.max(a, b), 0),
    });
  });
}

function reportSwitchover(x: MigrationRun): void {
  const { r, step, res, oldWriter } = x;
  step.writeBlockMs = res.switchover.writeBlockMs;
  step.newPrimary = res.newPrimary;
  step.switchover = {
    writeBlockMs: res.switchover.writeBlockMs,
    blockSteps: res.switchover.blockSteps,
    stepsMs: res.switchover.stepsMs,
    endedSessions: res.switchover.killedSessions,
  };
  r.o.logger.event?.('switchover', { migration: step.id, oldPrimary: oldWriter, newPrimary: res.newPrimary, ...step.switchover });
}

/** Master-master --hold: the old active keeps the old schema until finalize or rollback. */
async function hold(x: MigrationRun): Promise<'stop'> {
  const { r, m, step, res, oldWriter } = x;
  const { config } = r.o;
  saveHold(config, {
    cluster: r.cluster.name,
    migrationId: m.id,
    heldNode: oldWriter,
    alteredNode: res.newPrimary,
    database: config.connection.database,
    statements: step.statements,
    downStatements: step.downStatements,
    restore: res.restore,
    at: new Date().toISOString(),
  });
  step.ran = true;
  x.held = true;
  return 'stop';
}

async function ran(x: MigrationRun): Promise<void> {
  const { r, step, res } = x;
  if (replicaFirst(x)) {
    r.log(
      `${step.id}: switchover steps (ms): ${Object.entries(res.switchover.stepsMs)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; ALTER ${Object.entries(res.alterMs)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    r.log(
      `${step.id}: done; ${res.newPrimary} is the new ${r.cluster.topology === 'master-master' ? 'active' : 'primary'}; write block ${res.switchover.writeBlockMs} ms${res.pending.length ? `; ${res.pending.join(', ')} kept on the old schema until \`migrate finalize\`` : ''}`,
    );
  }
  step.ran = true;
  await mirrorJournal(r);
}
