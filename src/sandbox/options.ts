import { isAbsolute, resolve } from 'node:path';
import { usageError } from '../errors.ts';
import { SHADOW_TOPOLOGIES, TOPOLOGY_NAMES, type TopologyName, type UpRequest } from './contract.ts';

export const DEFAULT_DIR_NAME = '.sandbox';
export const DEFAULT_REPLICAS = 2;
/** Each node is a full server; beyond this a 2-core machine mostly measures its own swapping. */
export const MAX_REPLICAS = 8;

export type OutputFormat = 'text' | 'json';
export type ProviderChoice = 'auto' | 'local' | 'docker';

/** --dir, else MIGRATE_SANDBOX_DIR, else <cwd>/.sandbox; always absolute. */
export function resolveSandboxDir(dir: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const chosen = dir ?? env['MIGRATE_SANDBOX_DIR'] ?? DEFAULT_DIR_NAME;
  if (!chosen.trim()) throw usageError('The sandbox directory is empty.', 'Pass --dir PATH or unset MIGRATE_SANDBOX_DIR to use ./.sandbox.');
  return isAbsolute(chosen) ? resolve(chosen) : resolve(cwd, chosen);
}

export function parseFormat(v: string | undefined): OutputFormat {
  if (v === undefined || v === 'text' || v === 'json') return v ?? 'text';
  throw usageError(`--format ${JSON.stringify(v)} is not a known output format.`, 'Use --format text (default) or --format json.');
}

export function parseProvider(v: string | undefined): ProviderChoice {
  if (v === undefined || v === 'auto' || v === 'local' || v === 'docker') return v ?? 'auto';
  throw usageError(`--provider ${JSON.stringify(v)} is not a known provider.`, 'Use --provider auto (default: local binaries, else Docker), local or docker.');
}

export function parseTopology(v: string): TopologyName {
  if ((TOPOLOGY_NAMES as readonly string[]).includes(v)) return v as TopologyName;
  throw usageError(`--topology ${JSON.stringify(v)} is not a known topology.`, `Use one of: ${TOPOLOGY_NAMES.join(', ')}.`);
}

/** Replica count: digits only ("2", not "2x" or "1e1"), 1..MAX_REPLICAS. */
export function parseReplicas(v: string): number {
  if (!/^\d+$/.test(v.trim())) {
    throw usageError(`--replicas ${JSON.stringify(v)} is not a whole number.`, `Give the number of replicas, from 1 to ${MAX_REPLICAS}, e.g. --replicas 2.`);
  }
  const n = Number(v.trim());
  if (n < 1 || n > MAX_REPLICAS) {
    throw usageError(
      `--replicas ${n} is out of range.`,
      `Use 1 to ${MAX_REPLICAS} replicas${n < 1 ? '; for a single server use --topology single (or --topology postgres without --replicas)' : ''}.`,
    );
  }
  return n;
}

export interface RawUpFlags {
  topology?: string;
  replicas?: string;
  proxy?: boolean;
  dir?: string;
}

/** Validated flags; what was not given stays undefined so `up` can match a running sandbox. */
export interface UpFlags {
  topology?: TopologyName;
  replicas?: number;
  proxy?: boolean;
  dir: string;
  migrationsDir: string;
}

export function parseUpFlags(flags: RawUpFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): UpFlags {
  const topology = flags.topology === undefined ? undefined : parseTopology(flags.topology);
  const replicas = flags.replicas === undefined ? undefined : parseReplicas(flags.replicas);
  if (topology) checkReplicasApply(topology, replicas);
  return { topology, replicas, proxy: flags.proxy, dir: resolveSandboxDir(flags.dir, env, cwd), migrationsDir: resolve(cwd, 'migrations') };
}

function checkReplicasApply(topology: TopologyName, replicas: number | undefined): void {
  if (replicas === undefined || (topology !== 'master-master' && topology !== 'single' && !SHADOW_TOPOLOGIES.includes(topology))) return;
  throw usageError(
    `--replicas does not apply to --topology ${topology}.`,
    topology === 'master-master'
      ? 'A master-master sandbox is always one active and one passive node; drop --replicas.'
      : topology === 'single'
        ? 'Use --topology primary-replica --replicas N for replicas.'
        : 'A shadow server is one throwaway node without replicas; drop --replicas.',
  );
}

export function defaultReplicas(topology: TopologyName): number {
  return topology === 'primary-replica' ? DEFAULT_REPLICAS : 0;
}

/**
 * The full request. What the flags leave open is taken from the sandbox already running in the
 * directory (so a bare `up` reports it), else from the defaults: primary-replica, 2 replicas.
 */
export function resolveRequest(flags: UpFlags, running?: { topology: TopologyName; replicas: number; proxy: boolean }): UpRequest {
  const topology = flags.topology ?? running?.topology ?? 'primary-replica';
  const same = running?.topology === topology;
  checkReplicasApply(topology, flags.replicas);
  return {
    topology,
    replicas: flags.replicas ?? (same ? running!.replicas : defaultReplicas(topology)),
    proxy: flags.proxy ?? (same ? running!.proxy : false),
    dir: flags.dir,
    migrationsDir: flags.migrationsDir,
  };
}
