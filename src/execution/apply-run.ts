import type { Knex } from 'knex';
import type { MigrationVerdict, ShadowOrigin } from '../analysis/index.ts';
import type { ClusterConfig, ConnectionConfig, NodeConfig, ProjectConfig, VerifyConfig } from '../config/index.ts';
import { configError, type MigrateError } from '../errors.ts';
import type { Runner, StatusReport } from '../migrations/index.ts';
import type { LockSafety } from '../config/index.ts';
import type { MigrationSource } from '../migrations/index.ts';
import type { Logger } from '../log/index.ts';
import type { Flavor } from '../engines/index.ts';
import type { ClusterLock } from './cluster-lock.ts';
import type { Journal } from './journal.ts';
import { syncJournalTable } from './journal-table.ts';
import type { ApplyStep, StepStrategy } from './plan-steps.ts';
import type { HandoffProgress } from './handoff/types.ts';

// What apply (apply.ts) and each of its migrations (apply-migration.ts) share.

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
  /**
   * Run after the pre-deploy migrations; without it (nor the config's handoff.deploy) the run stops
   * for `migrate continue`. The hand-off (docs/handoff.md): each of these overrides the config's.
   */
  deployCommand?: string;
  verify?: VerifyConfig;
  rollbackCommand?: string;
  /** The hand-off flags as given, repeated in the next command a failed hand-off prints. */
  handoffArgs?: string[];
  /** Resuming a run that died in its hand-off: where it stood (handoff/progress.ts). */
  resumedHandoff?: HandoffProgress;
  /** Which phases to run now: both (with the hand-off between), or only the contract phase. */
  phases: 'all' | 'post-deploy';
  strategy?: StepStrategy;
  /** Master-master: keep the old active on the old schema until `migrate finalize`. */
  hold: boolean;
  /** Drain the last replica serving reads for its ALTER too (--drain-last-reader; docs/read-pool.md). */
  drainLastReader?: boolean;
  /** Resuming: nodes an interrupted run already altered, per migration id. */
  alreadyAltered?: Map<string, Set<string>>;
  /**
   * Resuming: the interrupted run this one takes over. Its lock stage does not count that run as
   * in the way, and `takeOver` marks it resumed once this run's own journal exists, so a failure
   * before then (the gate, a busy lock) leaves the interrupted run for the next `migrate resume`.
   */
  resuming?: { run: string; takeOver(): void };
  /** --lock-timeout / --lock-retries / --statement-timeout for the in-place steps (runner). */
  lockSafety?: Partial<LockSafety>;
  logger: Logger;
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

export function writerNode(cluster: ClusterConfig): NodeConfig {
  const role = cluster.topology === 'master-master' ? 'active' : 'primary';
  const n = cluster.nodes.find((x) => x.role === role);
  if (!n) throw configError(`Cluster ${cluster.name} has no node with role "${role}".`, `Mark one node "role": "${role}".`);
  return n;
}

/** What apply's steps share. */
export interface ApplyRun {
  o: ApplyOptions;
  log: (m: string) => void;
  planId: string;
  /** The cluster as the roles now are: a replica-first step swaps them. */
  cluster: ClusterConfig;
  flavor: Flavor;
  db: Knex;
  runner: Runner;
  status: StatusReport;
  /** Every migration of the directory, and the pending ones selected for this run. */
  all: MigrationSource[];
  report: ApplyReport;
  lock: ClusterLock;
  journal: Journal;
  /** The gate's refusal where the cluster has its own (in-place clusters: with the recipes). */
  refusal?: (refused: { id: string; reason: string }[], verdicts: MigrationVerdict[]) => MigrateError;
}

/** The journal's copy in the database, for dashboards: best effort, the file is the record. */
export async function mirrorJournal(r: ApplyRun): Promise<void> {
  await syncJournalTable(r.db, r.journal.path, r.planId).catch((e: unknown) =>
    r.o.logger.warn(`journal table not updated yet: ${e instanceof Error ? e.message : String(e)}`),
  );
}
