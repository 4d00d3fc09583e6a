/**
 * Where the shadow server of `migrate shadow up` lives. Kept free of database drivers: the
 * shadow lookup of `check` (src/analysis/locate.ts) reads it on every run.
 *
 *   <base>/migrate-shadow-<uid>-<mysql|postgres>
 *
 * <base> is --dir, else $MIGRATE_SHADOW_DIR, else /dev/shm (tmpfs: fsync costs nothing there)
 * when it exists, we may write to it and it has 1 GiB free, else the system temp dir. --dir and MIGRATE_SHADOW_DIR
 * mean the same thing, so `migrate shadow up --dir X` is found by `MIGRATE_SHADOW_DIR=X migrate
 * check`. One server per user and dialect on the machine, shared by every project: the shadow
 * databases on it have random names and are dropped after each run.
 */
import { accessSync, constants, existsSync, lstatSync, statfsSync, statSync, type Stats } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import { usageError } from '../errors.ts';
import type { TopologyName } from './contract.ts';

export const SHADOW_DIR_ENV = 'MIGRATE_SHADOW_DIR';
export const SHM_DIR = '/dev/shm';
/** The single node of a shadow topology (src/sandbox/topologies.ts). */
export const SHADOW_NODE = 'shadow';

export const shadowTopology = (dialect: Dialect): TopologyName => engineFor(dialect).shadowProduct.topology;

/**
 * Free space /dev/shm must have to be chosen. A MariaDB shadow server takes ~40 MB when it starts
 * and ~100 MB after analysing 200 migrations (undo and system tablespace growth); a container's
 * /dev/shm is often 64 MB (Docker's default), where the server would fail half-way through a run.
 */
export const MIN_SHM_FREE_BYTES = 1024 ** 3;

/** /dev/shm when it is a directory we may create entries in and it has room, else the system temp dir. */
export function defaultShadowBase(opts: { shm?: string; tmp?: string; minFree?: number } = {}): string {
  const shm = opts.shm ?? SHM_DIR;
  try {
    if (statSync(shm).isDirectory()) {
      accessSync(shm, constants.W_OK | constants.X_OK);
      const fs = statfsSync(shm);
      if (fs.bavail * fs.bsize >= (opts.minFree ?? MIN_SHM_FREE_BYTES)) return shm;
    }
  } catch {
    /* missing or read-only: fall back */
  }
  return opts.tmp ?? tmpdir();
}

/** --dir, else a non-empty MIGRATE_SHADOW_DIR (relative to cwd), else the default base; absolute. */
export function shadowBase(dir: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (dir !== undefined) {
    if (!dir.trim()) throw usageError('--dir is empty.', `Pass --dir PATH, or leave it out to use ${defaultShadowBase()}.`);
    return resolve(cwd, dir);
  }
  const fromEnv = env[SHADOW_DIR_ENV];
  if (fromEnv?.trim()) return resolve(cwd, fromEnv);
  return defaultShadowBase();
}

function userTag(): string {
  if (typeof process.getuid === 'function') return String(process.getuid());
  return userInfo().username.replace(/[^\w.-]/g, '_');
}

export const shadowDirName = (dialect: Dialect): string => `migrate-shadow-${userTag()}-${dialect}`;

/**
 * The directory of the shadow server of `dialect`. Without --dir / MIGRATE_SHADOW_DIR, a server
 * already in /dev/shm or in the temp dir is found wherever it is: /dev/shm's free space decides
 * where `up` puts one, and that space shrinks while the server runs.
 */
export function shadowServerDir(dialect: Dialect, opts: { dir?: string; env?: NodeJS.ProcessEnv; cwd?: string; searched?: string[] } = {}): string {
  const env = opts.env ?? process.env;
  if (opts.dir !== undefined || env[SHADOW_DIR_ENV]?.trim()) return join(shadowBase(opts.dir, env, opts.cwd ?? process.cwd()), shadowDirName(dialect));
  for (const base of opts.searched ?? [SHM_DIR, tmpdir()]) {
    const dir = join(base, shadowDirName(dialect));
    if (existsSync(dir)) return dir;
  }
  return join(defaultShadowBase(), shadowDirName(dialect));
}

/**
 * Why `dir` must not be used as our shadow directory, or undefined when it may (absent, or a real
 * directory of ours). /dev/shm is shared by every user of the machine: a directory another user
 * created under our name, or a symlink, could point the shadow lookup at their server.
 */
export function foreignDirProblem(dir: string): string | undefined {
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return `${dir} is a symbolic link, not a directory created by \`migrate shadow up\``;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid) return `${dir} belongs to another user (uid ${st.uid})`;
  return undefined;
}
