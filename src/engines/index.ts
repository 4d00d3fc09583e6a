/**
 * The engines' public API: engineFor() and the types every database shares. Code outside
 * src/engines imports from here, never from an engine's folder.
 */
import type { ClusterFlavor, Dialect, Engine } from './contract.ts';
import { mysqlEngine } from './mysql/index.ts';
import { postgresEngine } from './postgres/index.ts';

export type {
  ClusterFlavor,
  ConnectionConfig,
  Dialect,
  DumpTarget,
  Engine,
  InPlaceCluster,
  ReplayReport,
  ReplayWatch,
  ServerKind,
  ServerObjects,
  ShadowServerAdmin,
  Snapshotter,
  SnapshotScope,
  SqlSyntax,
  StatementDigests,
} from './contract.ts';
export { FULL_SCOPE } from './contract.ts';
export { type AlterAction, blankStatement, type StatementInfo, type StatementKind, type StatementParser } from './statement-info.ts';
export type { SqlGrammar, TransactionControl } from './sql-grammar.ts';
export type { Algorithm, CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexSnapshot, SchemaSnapshot, TableSnapshot, ViewSnapshot } from './schema.ts';
export { CLUSTER_FLAVORS, DIALECTS, dialectNamed } from '../config/index.ts';
export type { Effect, Ident, MigrationsEngine, RunSession } from './migrations-contract.ts';
export type { FitEngine, Misfit } from './fit-contract.ts';
export type { RuleWording, RulesEngine, VerdictWording } from './rules-contract.ts';
export { mysqlLockName } from './mysql/migrations.ts';
export { PG_APPLICATION_NAME, pgLockKeys } from './postgres/migrations.ts';
export {
  backoffMs,
  dropLeftoverIndexes,
  isLockWaitExhausted,
  LockWatch,
  LockWaitExhausted,
  PgLockSafety,
  runConcurrentStatement,
  withLockRetry,
  type RetryOptions,
} from './postgres/lock-safe/index.ts';
export { num, rawRows, str, type Row } from './rows.ts';
export { ID, QID, splitTopLevel, unqualify, unquote } from './sql-names.ts';
export type { Flavor, FlavorName, GtidStart, ReplicationSource, ReplicationStatus } from './mysql/flavor.ts';
export { flavorFor, flavorNameFromVersion } from './mysql/flavors.ts';
export { mysqlIdent, mysqlString } from './mysql/quote.ts';
export { mariadbErrantGtids, mariadbLaterOf } from './mysql/gtid.ts';
export type { ProbeResult } from './mysql/probe.ts';

const ENGINES: Record<Dialect, Engine> = { mysql: mysqlEngine, postgres: postgresEngine };

/** The engine of a dialect (the config's "dialect"). */
export function engineFor(dialect: Dialect): Engine {
  const e = ENGINES[dialect];
  if (!e) throw new Error(`no engine for dialect "${String(dialect)}"`);
  return e;
}

/** The engine of a cluster or sandbox flavor (MariaDB and MySQL are both the mysql engine). */
export function engineOfFlavor(flavor: ClusterFlavor): Engine {
  return Object.values(ENGINES).find((e) => e.flavors.includes(flavor)) ?? mysqlEngine;
}

/** Whether the local `migrate shadow` server (MariaDB, PostgreSQL) is a server of this flavor. */
export function ownShadowServes(flavor: ClusterFlavor): boolean {
  return engineOfFlavor(flavor).shadowProduct.flavor === flavor;
}

/** Whether the dialect names an engine (user input: --dialect, URL schemes). */
export function isDialect(v: string): v is Dialect {
  return Object.hasOwn(ENGINES, v);
}
