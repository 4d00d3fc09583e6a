import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClusterConfig, NodeConfig, ProjectConfig } from '../config/index.ts';
import { MigrateError, usageError, workError } from '../errors.ts';
import { discoverMigrations, type MigrationSource, withLedgerWriter } from '../migrations/index.ts';
import { detectFlavor } from '../topology/index.ts';
import { mysqlString } from '../engines/index.ts';
import { openNode } from '../topology/index.ts';
import { saveRoles, stateDir, swappedRoles } from '../topology/index.ts';
import { lockCluster } from './cluster-lock.ts';
import { Journal } from './journal.ts';
import { readPoolRunFor } from './read-pool/index.ts';
import { alterNodeLocally } from './replica-first.ts';
import { RESUME_OR_ABORT, switchover, type SwitchoverOptions, type SwitchoverResult } from './switchover.ts';
import { writerFor } from './writer/index.ts';

/** A master-master run that kept the old active on the old schema as a hot rollback target. */
export interface HoldState {
  cluster: string;
  migrationId: string;
  /** The node still on the old schema (now passive). */
  heldNode: string;
  /** The node that has the new schema (now active). */
  alteredNode: string;
  database: string;
  statements: string[];
  downStatements: string[];
  restore: { node: string; value: string }[];
  at: string;
}

function holdPath(config: ProjectConfig, cluster: string): string {
  return join(stateDir(config), `hold-${cluster.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

export function saveHold(config: ProjectConfig, h: HoldState): void {
  const p = holdPath(config, h.cluster);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(`${p}.tmp`, `${JSON.stringify(h, null, 2)}\n`);
  renameSync(`${p}.tmp`, p);
}

export function loadHold(config: ProjectConfig, cluster: string): HoldState | undefined {
  const p = holdPath(config, cluster);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as HoldState) : undefined;
}

function requireHold(config: ProjectConfig, cluster: ClusterConfig, verb: string): HoldState {
  const h = loadHold(config, cluster.name);
  if (!h)
    throw usageError(
      `Cluster ${cluster.name} has no held master-master change to ${verb}.`,
      'Run `migrate apply --hold` on a master-master cluster first; `migrate runs` lists past runs.',
    );
  return h;
}

function node(cluster: ClusterConfig, name: string): NodeConfig {
  const n = cluster.nodes.find((x) => x.name === name);
  if (!n)
    throw workError(`Node ${name} recorded by the held run is not in the config any more.`, 'Restore the node in the config, or resolve the hold by hand.');
  return n;
}

async function restoreSettings(cluster: ClusterConfig, h: HoldState, variable: string): Promise<void> {
  for (const r of h.restore) {
    const c = await openNode(node(cluster, r.node));
    try {
      await c.query(`SET GLOBAL ${variable}=${mysqlString(r.value)}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}

/** The deploy is confirmed: bring the held node to the new schema too. */
export async function finalize(config: ProjectConfig, cluster: ClusterConfig, log: (m: string) => void): Promise<void> {
  const h = requireHold(config, cluster, 'finalize');
  const held = node(cluster, h.heldNode);
  const flavor = await detectFlavor(held);
  const lock = await lockCluster(cluster);
  const journal = Journal.open(join(stateDir(config), 'runs'), `finalize-${Date.now()}`);
  try {
    // The held node is the passive one, maybe serving reads: out of the pool for its ALTER (read-pool/).
    const rp = await readPoolRunFor({ cluster, writer: h.alteredNode, flavor, drainLastReader: false, catchUpTimeoutMs: 600_000, journal, log });
    await rp?.beforeAlter(held);
    await journal.step(`alter:${held.name}`, () => alterNodeLocally(held, flavor, h.database, h.statements, log));
    await rp?.afterAlter(held);
    await journal.step('restore-type-conversions', () => restoreSettings(cluster, h, flavor.typeConversionVariable()));
    rmSync(holdPath(config, cluster.name));
    log(`finalized ${h.migrationId}: ${held.name} has the new schema; both sides agree`);
  } finally {
    journal.close();
    await lock.release();
  }
}

/** The deploy failed: switch back to the node that still has the old schema, then undo the change on the other. */
export async function rollback(config: ProjectConfig, cluster: ClusterConfig, opts: { maxWriteBlockMs: number }, log: (m: string) => void): Promise<number> {
  const h = requireHold(config, cluster, 'roll back');
  const held = node(cluster, h.heldNode);
  const altered = node(cluster, h.alteredNode);
  const down = await downStatementsOf(config, cluster, h, log);
  const flavor = await detectFlavor(held);
  const lock = await lockCluster(cluster);
  const journal = Journal.open(join(stateDir(config), 'runs'), `rollback-${Date.now()}`);
  try {
    const rp = await readPoolRunFor({ cluster, writer: altered.name, flavor, drainLastReader: false, catchUpTimeoutMs: 120_000, journal, log });
    const res = await switchBack({
      flavor,
      primary: altered,
      candidate: held,
      replicas: [],
      writer: writerFor(cluster),
      cluster,
      replicationUser: { user: held.user, password: held.password ?? '' },
      maxWriteBlockMs: opts.maxWriteBlockMs,
      maxLagBeforeBlockMs: 1000,
      catchUpTimeoutMs: 120_000,
      masterMaster: true,
      journal,
      log,
    });
    saveRoles(config, cluster, swappedRoles(cluster, altered.name, held.name));
    // The read pool follows the switch back: the held node leaves it, the altered one joins once undone and caught up.
    await rp?.promoted(held);
    await journal.step(`undo:${altered.name}`, () => alterNodeLocally(altered, flavor, h.database, down, log));
    await rp?.demoted(altered);
    await journal.step('restore-type-conversions', () => restoreSettings(cluster, h, flavor.typeConversionVariable()));
    await journal.step(`ledger:${h.migrationId}`, () => withLedgerWriter(config, (w) => w.forget(h.migrationId)));
    rmSync(holdPath(config, cluster.name));
    log(`rolled back ${h.migrationId}: ${held.name} is active again on the old schema; write block ${res.writeBlockMs} ms`);
    return res.writeBlockMs;
  } finally {
    journal.close();
    await lock.release();
  }
}

/**
 * The hold's down statements, or, when it recorded none, the migration's down as it is now: the
 * refusal for a missing down tells the operator to add it and roll back again, so that must work.
 * Read before anything on the servers is touched, so its refusals change nothing.
 */
async function downStatementsOf(config: ProjectConfig, cluster: ClusterConfig, h: HoldState, log: (m: string) => void): Promise<string[]> {
  if (h.downStatements.length > 0) return h.downStatements;
  const discovery = await discoverMigrations(config.migrationsDir, config.dialect, config.migrationsLayout);
  const m = discovery.migrations.find((x) => x.id === h.migrationId);
  const down = rollbackDownFromDisk(h, m, holdPath(config, cluster.name));
  log(
    `${h.migrationId}: the hold recorded no down statements; undoing with ${down.from} as it is now (${down.statements.length} statement${down.statements.length === 1 ? '' : 's'})`,
  );
  return down.statements;
}

/**
 * The down on disk for a hold that recorded none, or why it cannot be used. It is only paired with
 * the held change when the up on disk is still what the hold applied: a down written for an edited
 * up undoes a different change. A TypeScript migration's down() is code, known only by running it
 * (the hold keeps the SQL the analysis captured, none here), so adding a down file cannot help it.
 */
export function rollbackDownFromDisk(h: HoldState, m: MigrationSource | undefined, holdFile: string): { statements: string[]; from: string } {
  const undo = `to undo the change on ${h.alteredNode}`;
  if (!m)
    throw workError(
      `${h.migrationId} has no down statements ${undo}, and the migration is no longer among the migrations.`,
      `Restore ${h.migrationId} with a down migration that undoes it, then run \`migrate rollback\` again. Nothing was changed.`,
    );
  if (m.format !== 'sql')
    throw workError(
      `${h.migrationId} is a TypeScript migration and the hold recorded no SQL for its down ${undo}: rollback replays the down's statements on ${h.alteredNode} alone, and a down() function is only known by running it.`,
      `Run \`migrate finalize\` to bring ${h.heldNode} to the new schema too, then undo the change on the cluster with \`migrate down\` or a new migration. Nothing was changed.`,
    );
  const up = (m.upStatements ?? []).map((s) => s.sql);
  const differs =
    up.length !== h.statements.length
      ? `it has ${up.length} statements, the hold applied ${h.statements.length}`
      : up.findIndex((sql, i) => sql !== h.statements[i]);
  if (typeof differs === 'string' || differs >= 0)
    throw workError(
      `${m.upPath} is not what the hold applied on ${h.alteredNode}: ${typeof differs === 'string' ? differs : `statement ${differs + 1} differs`}, so its down file may undo a different change.`,
      `Restore ${m.upPath} to the statements the hold applied ("statements" in ${holdFile}), with a down file that undoes them, then run \`migrate rollback\` again. Nothing was changed.`,
    );
  if (!m.downStatements?.length || !m.downPath)
    throw workError(`${h.migrationId} has no down statements ${undo}.`, 'Add the down migration, then run `migrate rollback` again. Nothing was changed.');
  return { statements: m.downStatements.map((s) => s.sql), from: m.downPath };
}

/**
 * The switchover of a rollback. Its refusals name resume and abort, which take up replica-first
 * runs only (a rollback's journal is not one): here the next step is the rollback again.
 */
async function switchBack(o: SwitchoverOptions): Promise<SwitchoverResult> {
  try {
    return await switchover(o);
  } catch (e) {
    if (!(e instanceof MigrateError) || !e.fix.includes(RESUME_OR_ABORT)) throw e;
    throw new MigrateError(e.kind, e.problem, e.fix.replace(RESUME_OR_ABORT, 'run `migrate rollback` again'), { cause: e, exitCode: e.exitCode });
  }
}
