/**
 * The sandbox's typed errors under real conditions (issue 18): a corrupt state file, a directory
 * locked by a live process, server programs that are missing or fail (MIGRATE_SANDBOX_BIN_DIR
 * pointing at a directory of real programs, one of them wrapped), a port already taken, a
 * PostgreSQL account that cannot reach the directory. Each failure: exit 1, the problem and fix
 * lines, no stack trace, and no server left running. Most fail before or right after the first
 * server starts (about a second each); the four that wait for a timeout run concurrently.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import { BIN_DIR_ENV, findHaproxy, findMariaDb, findPostgres } from '../../src/sandbox/binaries.ts';
import type { SandboxState } from '../../src/sandbox/contract.ts';
import { isDockerReachable } from '../../src/sandbox/docker.ts';
import { isAlive, isRoot } from '../../src/sandbox/process.ts';
import { readSecret } from '../../src/sandbox/secrets.ts';
import { providerFor, sandboxDown, sandboxRestartNode } from '../../src/sandbox/service.ts';
import { shadowDirName } from '../../src/sandbox/shadow-dir.ts';
import { readState } from '../../src/sandbox/state.ts';
import { runCli, type CliRun } from '../helpers/cli.ts';
import { processesReferencing } from '../helpers/processes.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const root = resolve('.');
const BIN = join(root, 'bin', 'migrate');
/** Every directory this file creates, removed (servers first) at the end. */
const made: string[] = [];

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `msbx-err-${prefix}-`));
  // PostgreSQL runs as its own account when the tests run as root: it must traverse it.
  chmodSync(d, 0o755);
  made.push(d);
  return d;
}

function migrate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, { cwd: root, env: { ...process.env, NO_COLOR: '1', ...env }, timeoutMs: 90_000 });
}

/** What a user checks: exit 1, the problem and the fix, no stack trace, no "unexpected failure". */
function expectTypedError(r: CliRun, problem: RegExp, fix: RegExp): void {
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.code, out).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^error: ${problem.source}`, 'm'));
  expect(r.stderr).toMatch(new RegExp(`^fix: ${fix.source}`, 'm'));
  expect(out).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  expect(out).not.toMatch(/unexpected failure/);
}

/** No process of any kind whose command line names `dir` (servers, wrappers, HAProxy). */
function expectNothingRunning(dir: string): void {
  expect(processesReferencing(dir)).toEqual([]);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A directory of the real server programs for MIGRATE_SANDBOX_BIN_DIR, some replaced: a string is
 * a shell script's body, null a file that is not executable.
 */
function binDir(replace: Record<string, string | null> = {}): string {
  const d = tempDir('bin');
  const mariadb = findMariaDb()!;
  const pgBins = findPostgres()!;
  const real: Record<string, string> = {
    mariadbd: mariadb.server,
    'mariadb-install-db': mariadb.installDb,
    initdb: pgBins.initdb,
    pg_ctl: pgBins.pgCtl,
    pg_basebackup: pgBins.basebackup,
    haproxy: findHaproxy()!,
  };
  for (const [name, target] of Object.entries(real)) {
    const p = join(d, name);
    const body = replace[name];
    if (body === undefined) symlinkSync(target, p);
    else if (body === null) writeFileSync(p, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    else writeFileSync(p, `#!/bin/sh\n${body.replaceAll('$REAL', target)}\n`, { mode: 0o755 });
  }
  return d;
}

/** `sandbox up` in a fresh directory with the given programs; the directory is returned for the checks. */
async function upWith(bins: string, args: string[]): Promise<{ r: CliRun; dir: string }> {
  const dir = tempDir('sb');
  const r = await migrate(['sandbox', 'up', '--dir', dir, ...args], { [BIN_DIR_ENV]: bins });
  return { r, dir };
}

/** Runs `fn` with MIGRATE_SANDBOX_BIN_DIR set in this process, restoring it after. */
async function withBinDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env[BIN_DIR_ENV];
  process.env[BIN_DIR_ENV] = dir;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[BIN_DIR_ENV];
    else process.env[BIN_DIR_ENV] = before;
  }
}

async function rejection(p: Promise<unknown>): Promise<MigrateError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(MigrateError);
  return e as MigrateError;
}

afterAll(async () => {
  for (const d of made.reverse()) {
    if (existsSync(join(d, '.migrate-sandbox'))) await sandboxDown(d).catch(() => undefined);
    rmSync(d, { recursive: true, force: true });
  }
});

describe('sandbox errors: the state file', () => {
  it('an unreadable state.json is named with its parse error; `sandbox down`, as the fix says, still cleans up', async () => {
    const sb = await startSandbox({ topology: 'single', dir: tempDir('corrupt') });
    const pid = sb.node('primary').pid!;
    writeFileSync(join(sb.dir, 'state.json'), '{"version": 1, "nodes": [');
    const st = await migrate(['sandbox', 'status', '--dir', sb.dir]);
    expectTypedError(st, new RegExp(`${escape(join(sb.dir, 'state.json'))} is unreadable \\(.*JSON.*\\)\\.`), /.*`migrate sandbox down --dir /);
    expect(isAlive(pid)).toBe(true);
    const down = await migrate(['sandbox', 'down', '--dir', sb.dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expectNothingRunning(sb.dir);
    expect(existsSync(sb.dir)).toBe(false);
  });

  it('a directory locked by a live command is refused, and nothing is started in it', async () => {
    const dir = tempDir('locked');
    const holder: ChildProcess = spawn('sleep', ['120'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, '.migrate-sandbox'), 'test\n');
      writeFileSync(join(dir, '.lock'), String(holder.pid));
      const r = await migrate(['sandbox', 'up', '--topology', 'single', '--dir', dir]);
      expectTypedError(r, new RegExp(`Another sandbox command \\(pid ${holder.pid}\\) is working on ${escape(dir)}\\.`), /Wait for it to finish/);
      expect(readFileSync(join(dir, '.lock'), 'utf8')).toBe(String(holder.pid));
      expect(existsSync(join(dir, 'nodes'))).toBe(false);
      expect(existsSync(join(dir, 'state.json'))).toBe(false);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
