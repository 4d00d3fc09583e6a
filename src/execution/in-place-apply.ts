import type { ProjectConfig } from '../config/index.ts';
import { engineFor, type InPlaceCluster, type ReplayWatch } from '../engines/index.ts';
import { usageError, workError } from '../errors.ts';
import type { ApplyRun } from './apply-run.ts';
import { writerNode } from './apply-run.ts';
import { blockingRefusal } from './blocking-refusal.ts';
import { readPoolFor, replayWatch } from './read-pool/index.ts';
import { summarizeRuns } from './recover.ts';
import { ReplayingRunner } from './replay-runner.ts';
import type { MachineStep } from './step-machine.ts';

// `migrate apply` on a cluster whose engine runs migrations in place on the primary (PostgreSQL:
// streaming replicas cannot be altered first, so there is no replica-first and no switchover).
// The run is apply's own (gate, lock, journal, the hand-off and phase stages of apply.ts); only
// the stages that talk to the cluster are this engine's.

/** The in-place cluster operations of the run's engine, when its clusters are driven that way. */
export function inPlaceClusterOf(config: Pick<ProjectConfig, 'dialect'>): InPlaceCluster | undefined {
  return engineFor(config.dialect).inPlaceCluster;
}

type Stage<N extends string> = MachineStep<N, ApplyRun>;

/** apply's gate and lock stages with the cluster-facing ones replaced; the rest run unchanged. */
export function inPlaceStages<N extends string>(ops: InPlaceCluster, stages: Stage<N>[]): Stage<N>[] {
  return stages.map((s): Stage<N> => {
    if (s.name === 'inspect') return { ...s, do: (r) => inspect(ops, r) };
    if (s.name === 'connect') return { ...s, do: (r) => connect(ops, r, s) };
    if (s.name === 'gate') return { ...s, do: (r) => gate(r, s) };
    if (s.name === 'lock') return { ...s, do: (r) => lock(ops, r) };
    return s;
  });
}

async function inspect(ops: InPlaceCluster, r: ApplyRun): Promise<void> {
  if (r.o.strategy === 'replica-first')
    throw usageError(
      `--strategy replica-first cannot run on cluster ${r.cluster.name}: its replicas are physical (streaming) copies of the primary, which cannot be altered first.`,
      'Leave --strategy out (every migration runs in place on the primary, with lock_timeout and retries).',
    );
  const { problems } = await ops.inspect(r.cluster);
  if (problems.length)
    throw workError(
      `Cluster ${r.cluster.name} is not healthy: ${problems.join('; ')}.`,
      'Repair what is named (or correct the roles in the config), then run the command again. Nothing was changed.',
    );
  // The gate's refusal says how to rewrite a blocking migration: nothing here can run it without its lock.
  r.refusal = blockingRefusal;
  // A read pool that cannot be driven fails here, before a migration leaves a replica to drain.
  await readPoolFor(r.cluster)?.preflight();
}

/** apply's connection, with a runner that waits for the replicas to replay each migration. */
async function connect<N extends string>(ops: InPlaceCluster, r: ApplyRun, s: Stage<N>): Promise<void> {
  await s.do(r);
  const { o } = r;
  r.runner = new ReplayingRunner({ config: o.config, db: r.db, logger: o.logger, ...(o.lockSafety ? { lockSafety: o.lockSafety } : {}) }).waitForReplicas(
    ops,
    r.cluster,
    o.catchUpTimeoutMs,
    o.logger,
    staleReaders(ops, r),
  );
}

/** With a read pool: a replica that falls behind in replay leaves it until it has replayed (read-pool/replay-watch.ts). */
function staleReaders(ops: InPlaceCluster, r: ApplyRun): (() => ReplayWatch) | undefined {
  const pool = readPoolFor(r.cluster);
  if (!pool) return undefined;
  const { o } = r;
  return () =>
    replayWatch({
      pool,
      cluster: r.cluster,
      writer: writerNode(r.cluster).name,
      drainLastReader: o.drainLastReader ?? false,
      catchUpTimeoutMs: o.catchUpTimeoutMs,
      caughtUp: (node) => ops.waitCaughtUp(node, pool.maxLagSeconds, o.catchUpTimeoutMs),
      // The runner waits inside the run's own stages: its journal is open by then.
      journal: r.journal,
      log: (m) => o.logger.info(m),
    });
}

/** The gate as for any cluster; --dry-run also says how the plan runs here. */
async function gate<N extends string>(r: ApplyRun, s: Stage<N>): Promise<void | 'stop'> {
  const res = await s.do(r);
  const replicas = r.cluster.nodes.filter((n) => n.role === 'replica').map((n) => n.name);
  const pool = readPoolFor(r.cluster);
  const stale = pool && replicas.length ? `; a replica not replayed within ${pool.maxLagSeconds} s leaves the read pool (${pool.kind}) until it has` : '';
  const how = `strategy in-place for every migration: no replica-first and no switchover on this cluster (its replicas stream the primary's WAL); each runs on the primary ${writerNode(r.cluster).name} under lock_timeout with retries${replicas.length ? `, then waits until ${replicas.join(', ')} replayed it` : ''}${stale}`;
  if (r.report?.statements) r.report.statements.splice(1, 0, how);
  else if (r.report?.steps.length) r.log(how);
  return res;
}

async function lock(ops: InPlaceCluster, r: ApplyRun): Promise<void> {
  const open = summarizeRuns(r.o.config)
    .filter((x) => !x.finished && !x.awaitingDeploy)
    .at(-1);
  r.lock = await ops.lock(r.cluster, () =>
    open ? `this project's journal shows run ${open.run} (started ${open.startedAt ?? '?'}, last step ${open.openStep ?? open.lastStep ?? '?'})` : undefined,
  );
}
