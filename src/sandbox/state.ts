import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrateError } from '../errors.ts';
import type { SandboxState } from './contract.ts';
import { isAlive } from './process.ts';

/** Present in every directory the sandbox created; nothing else is ever deleted by `down`. */
export const MARKER_FILE = '.migrate-sandbox';
export const STATE_FILE = 'state.json';
const LOCK_FILE = '.lock';

export const statePath = (dir: string): string => join(dir, STATE_FILE);
export const isSandboxDir = (dir: string): boolean => existsSync(join(dir, MARKER_FILE));

export function readState(dir: string): SandboxState | undefined {
  const file = statePath(dir);
  if (!existsSync(file)) return undefined;
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as SandboxState;
    if (s.version !== 1 || !Array.isArray(s.nodes)) throw new Error('unknown layout');
    return s;
  } catch (e) {
    throw new MigrateError(
      'sandbox',
      `${file} is unreadable (${(e as Error).message}).`,
      `Stop whatever runs there by hand and remove ${dir}, or run \`migrate sandbox down --dir ${dir}\`.`,
    );
  }
}

/** Write-then-rename, so a reader never sees half a file and a crash leaves the old one. */
export function writeState(state: SandboxState): void {
  const file = statePath(state.dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Creates the directory (or adopts an empty one) and marks it as ours. */
export function claimDir(dir: string): void {
  if (existsSync(dir) && !isSandboxDir(dir) && readdirSync(dir).length > 0) {
    throw new MigrateError(
      'sandbox',
      `${dir} already exists, is not empty and was not created by \`migrate sandbox\`.`,
      'Pass --dir with a new or empty directory; the sandbox deletes its directory on `down`, so it never takes over one that holds other files.',
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // An adopted empty directory may be 0700 (mkdtemp): PostgreSQL runs as its own account and
  // must traverse it. Nothing secret sits at this level; secrets/ is 0700 itself.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, MARKER_FILE), 'Created by `migrate sandbox up`; removed with this directory by `migrate sandbox down`.\n');
}

/** Deletes a sandbox directory; refuses any directory without our marker. */
export function removeDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!isSandboxDir(dir)) {
    throw new MigrateError(
      'sandbox',
      `${dir} was not created by \`migrate sandbox\` (no ${MARKER_FILE} in it); not deleting it.`,
      'Check the --dir / MIGRATE_SANDBOX_DIR value.',
    );
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * One sandbox command at a time per directory: two concurrent `up`s would pick the same node
 * names, datadirs and state file. A lock left by a dead process is taken over.
 */
export function acquireLock(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
        } catch {
          /* the directory is gone (down) */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (holder && holder !== process.pid && isAlive(holder)) {
        throw new MigrateError('sandbox', `Another sandbox command (pid ${holder}) is working on ${dir}.`, 'Wait for it to finish, or use a different --dir.');
      }
      unlinkSync(file);
    }
  }
  throw new MigrateError('sandbox', `Could not lock ${dir}.`, 'Run the command again.');
}
