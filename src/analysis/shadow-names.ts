/**
 * Names of what the analysis creates on a shadow server: its databases and (on a shared server)
 * its account. A name says who made it and when, so a later run can tell a leftover of a killed
 * run from the work of a run still going, without any state outside the server:
 *
 *   migrate_shadow_<pid base36>_<unix seconds base36>_<4 hex>          the run (and its account)
 *   migrate_shadow_<pid base36>_<unix seconds base36>_<4 hex>_<n>      its n-th database
 *
 * MySQL 8 allows 32 characters in a user name: 15 + 5 (pid up to 2^22) + 1 + 6 + 1 + 4 = 32.
 * Earlier releases named databases migrate_shadow_<pid base36>_<10 hex> (no time); those are
 * still recognised, by their pid only.
 */
export const SHADOW_PREFIX = 'migrate_shadow_';

/** Leftovers older than this are removed even when their owner cannot be checked (another host). */
export const DEFAULT_LEFTOVER_AGE_S = 3600;
export const LEFTOVER_AGE_ENV = 'MIGRATE_SHADOW_LEFTOVER_AGE';

export interface ShadowNameInfo {
  pid: number;
  /** Unix seconds the run started; absent in names from earlier releases. */
  startedAt?: number;
  /** The run's name (migrate_shadow_<pid>_<time>_<rand>): shared by its databases and account. */
  run: string;
}

export function newRunName(pid: number, nowMs: number, random: string): string {
  return `${SHADOW_PREFIX}${pid.toString(36)}_${Math.floor(nowMs / 1000).toString(36)}_${random}`;
}

/**
 * Shadow names carry the creating process id (migrate_shadow_<pid base 36>_...), so a leftover can
 * be traced to its process, and tests running side by side can each check that they left nothing
 * behind without seeing the others' shadows in progress.
 */
export function shadowPrefixOf(pid: number): string {
  return `${SHADOW_PREFIX}${pid.toString(36)}_`;
}

const CURRENT = /^migrate_shadow_([0-9a-z]{1,7})_([0-9a-z]{5,7})_([0-9a-f]{4})(?:_\d+)?$/;
const EARLIER = /^migrate_shadow_([0-9a-z]{1,7})_[0-9a-f]{10}$/;

export function parseShadowName(name: string): ShadowNameInfo | undefined {
  let m = CURRENT.exec(name);
  if (m) return { pid: parseInt(m[1]!, 36), startedAt: parseInt(m[2]!, 36), run: `${SHADOW_PREFIX}${m[1]}_${m[2]}_${m[3]}` };
  m = EARLIER.exec(name);
  if (m) return { pid: parseInt(m[1]!, 36), run: name };
  return undefined;
}

export interface LeftoverPolicy {
  nowMs: number;
  maxAgeS: number;
  /** Whether pids on the server mean processes of this host (a server on 127.0.0.1, ::1, localhost or a socket). */
  localServer: boolean;
  isAlive: (pid: number) => boolean;
  /** Runs of this process that are still going (never leftovers, whatever their age). */
  ownRuns: ReadonlySet<string>;
}

/** Why `name` is a leftover of a run that is gone, or undefined when it may still be in use (or is not ours). */
export function leftoverReason(name: string, p: LeftoverPolicy): string | undefined {
  const info = parseShadowName(name);
  if (!info || p.ownRuns.has(info.run)) return undefined;
  if (p.localServer && !p.isAlive(info.pid)) return `its process ${info.pid} is gone`;
  if (info.startedAt !== undefined && p.nowMs / 1000 - info.startedAt > p.maxAgeS) return `older than ${p.maxAgeS} s`;
  return undefined;
}

/** The bound from MIGRATE_SHADOW_LEFTOVER_AGE (seconds), else one hour. */
export function leftoverAgeS(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env[LEFTOVER_AGE_ENV]);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_LEFTOVER_AGE_S;
}

/** A GRANT pattern matching exactly the databases of `run` (LIKE wildcards escaped). */
export function grantPattern(run: string): string {
  return `${run.replace(/_/g, '\\_')}\\_%`;
}

/** 127.0.0.1, ::1, localhost, or a unix socket path: pids in shadow names are this host's. */
export function isLocalHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || h === '' || h.startsWith('/') || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}
