import { join } from 'node:path';
import type { ClusterConfig, NodeConfig, ProjectConfig } from '../config/index.ts';
import { usageError } from '../errors.ts';
import { discoverMigrations } from '../migrations/index.ts';
import { thisHost, whoAmI } from '../migrations/index.ts';
import { Runner, withLedgerWriter } from '../migrations/index.ts';
import type { MigrationSource } from '../migrations/index.ts';
import { detectFlavor } from '../topology/index.ts';
import { mysqlString } from '../engines/index.ts';
import { openNode } from '../topology/index.ts';
import { withRecordedRoles } from '../topology/index.ts';
import { apply, type ApplyOptions, type ApplyReport } from './apply.ts';
import { writerNode } from './apply-run.ts';
import { inPlaceClusterOf } from './in-place-apply.ts';
import { handoffProgress, handoffSteps, refuseMissingSteps, type HandoffProgress } from './handoff/index.ts';
import { Journal, type JournalEntry } from './journal.ts';
import { alteredNodes, converge, runsDir, unfinishedRun } from './recover.ts';
import { restoreReadPool } from './read-pool/index.ts';
import { alterNodeLocally } from './replica-first.ts';
import { awaitWatchdog } from './watchdog.ts';

interface InFlight {
  migrationId: string;
  statements: string[];
  done: Set<string>;
  open?: string;
  /** slave_type_conversions values before the run, per node. */
  before: Map<string, string>;
}

function inFlight(entries: JournalEntry[]): InFlight | undefined {
  const alters = entries.filter((e) => e.step.startsWith('alter:') && e.phase === 'begin' && typeof e.data?.['migration'] === 'string');
  const last = alters.at(-1);
  if (!last) return undefined;
  const migrationId = last.data?.['migration'] as string;
  const ofIt = entries.filter((e) => !e.step.startsWith('alter:') || alters.some((a) => a.step === e.step && a.data?.['migration'] === migrationId));
  const { done, open } = alteredNodes(ofIt);
  if (entries.some((e) => e.step === `ledger:${migrationId}` && e.phase === 'end')) return undefined;
  const before = new Map<string, string>();
  for (const e of entries)
    if (e.step.startsWith('type-conversions:') && e.phase === 'end' && typeof e.data?.['before'] === 'string')
      before.set(e.step.slice('type-conversions:'.length), e.data['before']);
  return { migrationId, statements: (last.data?.['statements'] as string[]) ?? [], done, ...(open ? { open } : {}), before };
}

async function restoreConversions(cluster: ClusterConfig, f: InFlight): Promise<void> {
  for (const [name, value] of f.before) {
    const n = cluster.nodes.find((x) => x.name === name);
    if (!n) continue;
    const c = await openNode(n);
    try {
      const flavor = await detectFlavor(n);
      await c.query(`SET GLOBAL ${flavor.typeConversionVariable()}=${mysqlString(value)}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

function requireRun(config: ProjectConfig, cluster: string) {
  const run = unfinishedRun(config, cluster);
  if (!run)
    throw usageError(
      `There is no interrupted run on cluster ${cluster} to resume or abort.`,
      'See `migrate runs` for past runs; `migrate topology` shows the live state.',
    );
  return run;
}

/**
 * Continues a run that died: first the topology is made consistent (one writer, everyone
 * replicating from it); then the migration that was in flight is finished from where its
 * journal says it stopped; then the rest of the plan runs as a fresh `apply`.
 */
export async function resume(o: Omit<ApplyOptions, 'alreadyAltered'>): Promise<ApplyReport> {
  const { config, logger } = o;
  const log = (m: string): void => logger.info(m);
  const run = requireRun(config, o.cluster.name);
  // A run that died in its hand-off goes on at the step its journal names (handoff/progress.ts).
  const handoff = handoffProgress(run.summary.run, run.entries);
  if (handoff) refuseMissingSteps(handoff, handoffSteps(o));
  log(`resuming run ${run.summary.run} (stopped in step ${run.summary.openStep ?? run.summary.lastStep ?? '?'})`);
  await awaitWatchdog(join(runsDir(config), `${run.summary.run}.jsonl`), log);
  if (inPlaceClusterOf(config)) return resumeInPlace(o, run.summary.run, run.entries, handoff);
  const writer = await converge(config, o.cluster, run.entries, log);
  const cluster = withRecordedRoles(config).find((c) => c.name === o.cluster.name) ?? o.cluster;
  const f = inFlight(run.entries);
  const journal = Journal.open(runsDir(config), run.summary.run);
  const alreadyAltered = new Map<string, Set<string>>();
  if (handoff) log(`the run was in its code hand-off: going on with ${handoff.next === 'stop' ? 'nothing (it had rolled back)' : handoff.next}`);
  const handsOver = (f !== undefined && !f.done.has(writer)) || handoff !== undefined;
  try {
    if (f?.done.has(writer)) {
      // The switchover already happened: the rest are replicas of an altered writer.
      const flavor = await detectFlavor(cluster.nodes.find((n) => n.name === writer) as NodeConfig);
      for (const n of cluster.nodes) {
        if (n.name === writer || f.done.has(n.name)) continue;
        await journal.step(`alter:${n.name}`, () => alterNodeLocally(n, flavor, config.connection.database, f.statements, log, { redo: true }), {
          node: n.name,
          migration: f.migrationId,
          statements: f.statements,
        });
      }
      await restoreConversions(cluster, f);
      const discovery = await discoverMigrations(config.migrationsDir, config.dialect, config.migrationsLayout);
      const m = discovery.migrations.find((x) => x.id === f.migrationId) as MigrationSource | undefined;
      await withLedgerWriter(config, async (w) => {
        const db = w.session.db;
        await new Runner({ config, db, logger }).prepareLedgerOn(w.session, discovery);
        if (m && !(await w.ledger.has(db, m.id))) {
          await journal.step(`ledger:${m.id}`, async () =>
            w.record({
              id: m.id,
              checksum: m.checksum,
              phase: m.phase ?? 'pre-deploy',
              appliedAt: new Date(),
              appliedBy: `${await whoAmI(db)} (replica-first, resumed)`,
              host: thisHost(),
              executionMs: null,
            }),
          );
        }
      });
    } else if (f) {
      alreadyAltered.set(f.migrationId, new Set(f.done));
    }
    // After the ALTERs above: a replica altered there rejoins the readers only once caught up.
    await restoreReadPool(cluster, run.entries, writer, journal, log, o.catchUpTimeoutMs);
    // With the migration still in flight, the new run must take it over before this run is
    // marked resumed: a new run that stops in its gate (an unreachable shadow, a refusal) would
    // otherwise leave altered nodes that no journal calls interrupted.
    if (!handsOver) journal.write('resumed', 'end');
  } catch (e) {
    journal.close();
    throw e;
  }
  if (!handsOver) {
    journal.close();
    return apply({ ...o, cluster, alreadyAltered });
  }
  try {
    return await apply({
      ...o,
      cluster,
      alreadyAltered,
      ...(handoff ? { resumedHandoff: handoff } : {}),
      resuming: { run: run.summary.run, takeOver: () => journal.write('resumed', 'end') },
    });
  } finally {
    journal.close();
  }
}

/**
 * In place (PostgreSQL) each migration committed or rolled back whole with its ledger row, and no
 * node was altered apart from the primary: the rest of the plan runs as a fresh apply, which
 * takes the interrupted run over once its own journal exists (a hand-off that died runs again).
 */
async function resumeInPlace(
  o: Omit<ApplyOptions, 'alreadyAltered'>,
  run: string,
  entries: JournalEntry[],
  handoff: HandoffProgress | undefined,
): Promise<ApplyReport> {
  if (handoff) o.logger.info(`the run was in its code hand-off: going on with ${handoff.next === 'stop' ? 'nothing (it had rolled back)' : handoff.next}`);
  const journal = Journal.open(runsDir(o.config), run);
  try {
    // A replica the died run drained for its stale replay returns once it has caught up.
    await restoreInPlacePool(o.config, o.cluster, entries, journal, (m) => o.logger.info(m), o.catchUpTimeoutMs);
    return await apply({ ...o, ...(handoff ? { resumedHandoff: handoff } : {}), resuming: { run, takeOver: () => journal.write('resumed', 'end') } });
  } finally {
    journal.close();
  }
}

/** How long abort waits for a drained replica to catch up before it puts it back in the read pool. */
const ABORT_CATCH_UP_MS = 120_000;

/**
 * Abandons a run that died: the topology is made consistent, and where the writer still has
 * the old schema, the replicas that were altered get the down statements (binlog off), so every
 * node has the schema of the writer again.
 */
export async function abort(config: ProjectConfig, clusterIn: ClusterConfig, log: (m: string) => void): Promise<string> {
  const run = requireRun(config, clusterIn.name);
  log(`aborting run ${run.summary.run} (stopped in step ${run.summary.openStep ?? run.summary.lastStep ?? '?'})`);
  await awaitWatchdog(join(runsDir(config), `${run.summary.run}.jsonl`), log);
  if (inPlaceClusterOf(config)) return abortInPlace(config, clusterIn, run.summary.run, run.entries, run.summary.openStep, log);
  const writer = await converge(config, clusterIn, run.entries, log);
  const cluster = withRecordedRoles(config).find((c) => c.name === clusterIn.name) ?? clusterIn;
  const f = inFlight(run.entries);
  const journal = Journal.open(join(runsDir(config)), run.summary.run);
  try {
    if (f && !f.done.has(writer)) {
      const discovery = await discoverMigrations(config.migrationsDir, config.dialect, config.migrationsLayout);
      const m = discovery.migrations.find((x) => x.id === f.migrationId);
      const down = m?.downStatements?.map((s) => s.sql) ?? [];
      const touched = [...f.done, ...(f.open ? [f.open] : [])];
      if (touched.length && down.length === 0) {
        log(
          `warning: ${touched.join(', ')} keep the new schema of ${f.migrationId}: it has no SQL down to undo it with; run \`migrate resume\` to finish instead`,
        );
      }
      for (const name of touched) {
        const n = cluster.nodes.find((x) => x.name === name);
        if (!n || down.length === 0) continue;
        const flavor = await detectFlavor(n);
        await journal.step(`undo:${n.name}`, () => alterNodeLocally(n, flavor, config.connection.database, down, log, { redo: true }));
      }
      await restoreConversions(cluster, f);
    } else if (f) {
      // Undoing now would need a second switchover; the topology is consistent, the run stays open.
      log(
        `the switchover to ${writer} had completed, so ${f.migrationId} cannot be undone by abort; the topology is consistent. Run \`migrate resume\` to finish it on the other nodes.`,
      );
      await restoreReadPool(cluster, run.entries, writer, journal, log, ABORT_CATCH_UP_MS);
      return writer;
    }
    await restoreReadPool(cluster, run.entries, writer, journal, log, ABORT_CATCH_UP_MS);
    journal.write('aborted', 'end', { writer });
  } finally {
    journal.close();
  }
  return writer;
}

/**
 * In place there is nothing half-done to undo: a migration is in the ledger (committed) or not
 * (rolled back with its transaction). The run is closed; what it applied stays, as it would after
 * a finished expand phase, and `migrate down` takes it back if wanted.
 */
async function abortInPlace(
  config: ProjectConfig,
  cluster: ClusterConfig,
  run: string,
  entries: JournalEntry[],
  openStep: string | undefined,
  log: (m: string) => void,
): Promise<string> {
  const writer = writerNode(cluster).name;
  const journal = Journal.open(runsDir(config), run);
  try {
    await restoreInPlacePool(config, cluster, entries, journal, log, ABORT_CATCH_UP_MS);
    journal.write('aborted', 'end', { writer });
  } finally {
    journal.close();
  }
  log(
    `run ${run} closed${openStep ? ` (it died in ${openStep})` : ''}: the migrations it applied stay (\`migrate status\` lists them; \`migrate down\` reverts them); nothing else to undo on ${writer}`,
  );
  return writer;
}

/** The read pool as an in-place run found it: its drained replicas back once their replay lag is under the bound. */
async function restoreInPlacePool(
  config: ProjectConfig,
  cluster: ClusterConfig,
  entries: JournalEntry[],
  journal: Journal,
  log: (m: string) => void,
  timeoutMs: number,
): Promise<void> {
  const ops = inPlaceClusterOf(config);
  if (!ops) return;
  await restoreReadPool(cluster, entries, writerNode(cluster).name, journal, log, timeoutMs, (n, lag, ms) => ops.waitCaughtUp(n, lag, ms));
}
