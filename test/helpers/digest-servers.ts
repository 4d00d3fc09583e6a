import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * Throwaway servers that record statement digests, for --queries-from tests: the machine's
 * MariaDB runs with performance_schema OFF and its PostgreSQL without pg_stat_statements
 * preloaded, and neither may be restarted. Each is started here from the installed binaries in
 * its own temp directory, on a free port, and stopped (by its own pid) at the end.
 */
export interface DigestServer {
  host: string;
  port: number;
  user: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? ok(a.port) : fail(new Error('no port'))));
    });
  });
}

async function waitFor(what: string, child: ChildProcess, ready: () => Promise<void>, log: () => string): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${log()}`);
    try {
      await ready();
      return;
    } catch (e) {
      if (Date.now() > until) throw new Error(`${what} did not accept connections in 60 s: ${e instanceof Error ? e.message : String(e)} ${log()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function stopper(child: ChildProcess, signal: NodeJS.Signals, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

/** MariaDB with performance_schema ON (root, no password, TCP on 127.0.0.1). */
export async function startMariaDbWithDigests(): Promise<DigestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'i16-digests-mariadb-'));
  const data = join(dir, 'data');
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], {
    stdio: 'pipe',
  });
  const port = await freePort();
  let out = '';
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'm.sock')}`,
      `--pid-file=${join(dir, 'm.pid')}`,
      '--user=root',
      '--performance-schema=ON',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=8M',
      '--skip-log-bin',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr?.on('data', (b: Buffer) => {
    out = (out + b.toString()).slice(-2000);
  });
  const server: DigestServer = { host: '127.0.0.1', port, user: 'root', stop: stopper(child, 'SIGTERM', dir) };
  try {
    await waitFor(
      'mariadbd',
      child,
      async () => (await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' })).end(),
      () => out,
    );
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** PostgreSQL with pg_stat_statements preloaded (user postgres, trust, TCP on 127.0.0.1). */
export async function startPostgresWithDigests(): Promise<DigestServer> {
  const bin = (n: string) => join(execFileSync('pg_config', ['--bindir']).toString().trim(), n);
  const dir = mkdtempSync(join(tmpdir(), 'i16-digests-pg-'));
  const data = join(dir, 'data');
  // PostgreSQL refuses to run as root: the postgres account owns its directory then.
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : {};
  if (asRoot) chownSync(dir, ids.uid!, ids.gid!);
  execFileSync(bin('initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { stdio: 'pipe', ...ids });
  const port = await freePort();
  let out = '';
  const child = spawn(
    bin('postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'fsync=off',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...ids },
  );
  child.stderr?.on('data', (b: Buffer) => {
    out = (out + b.toString()).slice(-2000);
  });
  const server: DigestServer = { host: '127.0.0.1', port, user: 'postgres', stop: stopper(child, 'SIGINT', dir) };
  try {
    await waitFor(
      'postgres',
      child,
      async () => {
        const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
        await c.connect();
        await c.end();
      },
      () => out,
    );
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}
