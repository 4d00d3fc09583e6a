/**
 * The sandbox's typed errors under real conditions (issue 18): a corrupt state file, a directory
 * locked by a live process, server programs that are missing or fail (MIGRATE_SANDBOX_BIN_DIR
 * pointing at a directory of real programs, one of them wrapped), a port already taken, a
 * PostgreSQL account that cannot reach the directory. Each failure: exit 1, the problem and fix
 * lines, no stack trace, and no server left running. Most fail before or right after the first
 * server starts (about a second each); the four that wait for a timeout run concurrently.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

/** `sh -c script $0 $1…` in new Linux namespaces (`unshare` flags): a condition this machine cannot have for everyone. */
function inNamespace(flags: string[], script: string, args: string[]): Promise<CliRun> {
  const t0 = performance.now();
  return new Promise((ok) => {
    execFile(
      'unshare',
      [...flags, 'sh', '-c', script, ...args],
      { cwd: root, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
      (err, stdout, stderr) => ok({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr, ms: performance.now() - t0 }),
    );
  });
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

describe('sandbox errors: which programs to run', () => {
  const dockerUp = isDockerReachable();

  it('--provider local without the MariaDB programs names them and how to get them; the new directory is not left behind', async () => {
    const dir = join(tempDir('nobins'), 'sb');
    const r = await migrate(['sandbox', 'up', '--topology', 'single', '--provider', 'local', '--dir', dir], { [BIN_DIR_ENV]: tempDir('empty') });
    expectTypedError(r, /MariaDB server binaries \(mariadbd, mariadb-install-db\) were not found\./, /Install the server binaries .*MIGRATE_SANDBOX_BIN_DIR/);
    expect(existsSync(dir)).toBe(false);
  });

  it('without local programs and without a Docker engine, both reasons are given', async (ctx) => {
    if (await dockerUp) ctx.skip('a Docker engine is reachable here: the sandbox would use it');
    const dir = join(tempDir('nobins'), 'sb');
    const r = await migrate(['sandbox', 'up', '--topology', 'postgres', '--dir', dir], { [BIN_DIR_ENV]: tempDir('empty') });
    expectTypedError(
      r,
      /Cannot start a postgres sandbox: PostgreSQL server binaries \(initdb, pg_ctl\) were not found\. No Docker engine is reachable/,
      /Install the server binaries/,
    );
    expect(existsSync(dir)).toBe(false);
  });

  it('the local provider called without its programs refuses before writing anything', async () => {
    const dir = tempDir('provider');
    const req = { topology: 'single' as const, replicas: 0, proxy: true, dir, migrationsDir: resolve('migrations') };
    const bins = binDir();
    rmSync(join(bins, 'haproxy'));
    const e = await withBinDir(bins, () =>
      rejection(
        providerFor('local').up(
          req,
          () => undefined,
          () => undefined,
        ),
      ),
    );
    expect(e.problem).toBe('--proxy needs HAProxy, which was not found.');
    expect(e.fix).toMatch(/MIGRATE_SANDBOX_BIN_DIR/);
    expect(existsSync(join(dir, 'secrets'))).toBe(false);
  });

  it('the Docker provider refuses a replicated topology as a usage error', async () => {
    const dir = tempDir('docker');
    const req = { topology: 'primary-replica' as const, replicas: 1, proxy: false, dir, migrationsDir: resolve('migrations') };
    const e = await rejection(
      providerFor('docker').up(
        req,
        () => undefined,
        () => undefined,
      ),
    );
    expect(e.kind).toBe('usage');
    expect(e.problem).toMatch(/The Docker provider starts a single MySQL 8 server \(--topology single\); "primary-replica" needs the local server binaries\./);
    expect(e.fix).toMatch(/--topology single/);
    expect(existsSync(join(dir, 'secrets'))).toBe(false);
  });

  it('the Docker provider without an engine says the container did not start and how to check', async (ctx) => {
    if (await dockerUp) ctx.skip('a Docker engine is reachable here');
    const dir = tempDir('docker');
    const req = { topology: 'single' as const, replicas: 0, proxy: false, dir, migrationsDir: resolve('migrations') };
    const e = await rejection(
      providerFor('docker').up(
        req,
        () => undefined,
        () => undefined,
      ),
    );
    expect(e.problem).toMatch(/^The MySQL container did not start: .+/);
    expect(e.fix).toMatch(/docker info/);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
  });

  it('a Docker sandbox cannot restart one node; its state is left as it was', async () => {
    const dir = tempDir('dockerstate');
    writeFileSync(join(dir, '.migrate-sandbox'), 'test\n');
    const state: SandboxState = {
      version: 1,
      provider: 'docker',
      status: 'ready',
      topology: 'single',
      flavor: 'mysql',
      replicas: 0,
      proxy: false,
      dir,
      runDir: dir,
      createdAt: new Date().toISOString(),
      nodes: [{ name: 'primary', role: 'primary', flavor: 'mysql', host: '127.0.0.1', port: 1, user: 'root', passwordFile: join(dir, 'x'), serverId: 1 }],
      writer: { type: 'direct', node: 'primary', host: '127.0.0.1', port: 1 },
      app: { user: 'app', database: 'app', passwordFile: join(dir, 'y') },
      configPath: join(dir, 'migrate.config.json'),
    };
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
    const e = await rejection(sandboxRestartNode(dir, 'primary'));
    expect(e.problem).toBe('The docker provider cannot restart a single node.');
    expect(e.fix).toMatch(/migrate sandbox down.*up/);
    expect(readState(dir)).toEqual(state);
    expect(existsSync(join(dir, '.lock'))).toBe(false);
  });
});

describe('sandbox errors: server programs that fail', () => {
  it('a mariadb-install-db that cannot be executed is named with the step it was for', async () => {
    const { r, dir } = await upWith(binDir({ 'mariadb-install-db': null }), ['--topology', 'single']);
    expectTypedError(
      r,
      /Could not run .*mariadb-install-db while initialising the MariaDB data directory: spawn .* EACCES\./,
      /Check that the server binaries are installed/,
    );
    expect(readState(dir)?.status).toBe('failed');
    expectNothingRunning(dir);
  });

  it('a data directory that cannot be created: mariadb-install-db exits non-zero, its output tail in the problem', async () => {
    const { r, dir } = await upWith(binDir({ 'mariadb-install-db': 'exec "$REAL" "$@" --datadir=/proc/no-such/data' }), ['--topology', 'single']);
    expectTypedError(r, /mariadb-install-db exited with code \d+ while initialising the MariaDB data directory:\n/, /Fix the cause shown above/);
    expect(r.stderr).toMatch(/proc\/no-such/);
    expectNothingRunning(dir);
  });

  it('mariadbd that exits during startup: its error log tail is shown', async () => {
    const { r, dir } = await upWith(binDir({ mariadbd: 'exec "$REAL" "$@" --no-such-option-here' }), ['--topology', 'single']);
    expectTypedError(r, /mariadbd for node primary exited during startup \(code \d+\):\n[\s\S]*no-such-option-here/, /See .*error\.log for the full log\./);
    expectNothingRunning(dir);
  });

  it('a port held by another process on every try: mariadbd is moved three times, then the error says so', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((ok) => blocker.listen({ port: 0, host: '127.0.0.1' }, ok));
    const port = (blocker.address() as { port: number }).port;
    try {
      // Whatever port the sandbox picks, this mariadbd binds the one held above.
      const { r, dir } = await upWith(binDir({ mariadbd: `exec "$REAL" "$@" --port=${port}` }), ['--topology', 'single']);
      expectTypedError(r, /Every port tried for a sandbox node was taken by another process \(port \d+ in use\)\./, /Run the command again/);
      expect(readFileSync(join(dir, 'nodes', 'primary', 'error.log'), 'utf8').match(/Address already in use/g)?.length).toBe(4);
      expectNothingRunning(dir);
    } finally {
      await new Promise<void>((ok) => blocker.close(() => ok()));
    }
  });

  it('a datadir whose root account is not the expected one: the account set-up statement that failed is named', async () => {
    const { r, dir } = await upWith(binDir({ 'mariadb-install-db': 'exec "$REAL" "$@" --auth-root-authentication-method=socket' }), ['--topology', 'single']);
    expectTypedError(
      r,
      /Setting up accounts on node primary failed at "ALTER USER 'root'@'127\.0\.0\.1' IDENTIFIED BY \?": .*ALTER USER failed/,
      /See .*error\.log\./,
    );
    expectNothingRunning(dir);
  });

  it('a PostgreSQL that refuses its settings: the FATAL line of its log is shown', async () => {
    const { r, dir } = await upWith(binDir({ pg_ctl: 'exec "$REAL" "$@" -o "-c shared_buffers=1"' }), ['--topology', 'postgres']);
    expectTypedError(r, /PostgreSQL node primary did not start:\n.*FATAL: .*shared_buffers/, /See .*postgres\.log for the full log\./);
    expectNothingRunning(dir);
  });

  it('a pg_ctl that reports success without starting a server', async () => {
    const { r, dir } = await upWith(binDir({ pg_ctl: 'exit 0' }), ['--topology', 'postgres']);
    expectTypedError(r, /PostgreSQL node primary started but wrote no postmaster\.pid\./, /See .*postgres\.log\./);
    expectNothingRunning(dir);
  });

  it('a PostgreSQL that starts read-only: the account set-up fails and the server is stopped', async () => {
    const { r, dir } = await upWith(binDir({ pg_ctl: 'exec "$REAL" "$@" -o "-c default_transaction_read_only=on"' }), ['--topology', 'postgres']);
    expectTypedError(r, /Setting up accounts on PostgreSQL node primary failed: cannot execute ALTER ROLE in a read-only transaction/, /See .*postgres\.log\./);
    expect(readState(dir)?.nodes.map((n) => n.name)).toEqual(['primary']);
    expectNothingRunning(dir);
  });

  it.runIf(isRoot())('as root, a directory below one closed to other users: the postgres account cannot reach it', async () => {
    const closed = mkdtempSync(join(tmpdir(), 'msbx-err-closed-'));
    made.push(closed);
    chmodSync(closed, 0o700);
    const dir = join(closed, 'sb');
    const r = await migrate(['sandbox', 'up', '--topology', 'postgres', '--dir', dir]);
    expectTypedError(
      r,
      new RegExp(`The postgres account cannot reach ${escape(dir)}/nodes/primary: a parent directory is closed to other users\\.`),
      /Pass --dir .* under \/tmp\./,
    );
    expect(existsSync(join(dir, 'nodes', 'primary', 'data'))).toBe(false);
    expectNothingRunning(dir);
  });

  const canUnshare = isRoot() && spawnSync('unshare', ['-m', 'true']).status === 0;
  it.runIf(canUnshare)('as root on a machine without a postgres account (a mount namespace hides it): PostgreSQL is not started as root', async () => {
    const passwd = join(tempDir('passwd'), 'passwd');
    writeFileSync(passwd, readFileSync('/etc/passwd', 'utf8').replace(/^postgres:.*\n/m, ''));
    const dir = tempDir('sb');
    const r = await inNamespace(['-m'], 'mount --bind "$0" /etc/passwd && exec "$@"', [
      passwd,
      process.execPath,
      BIN,
      'sandbox',
      'up',
      '--topology',
      'postgres',
      '--dir',
      dir,
    ]);
    expectTypedError(r, /PostgreSQL cannot run as root and there is no `postgres` account to run it as\./, /Install the postgresql package/);
    expect(existsSync(join(dir, 'nodes'))).toBe(false);
    expectNothingRunning(dir);
  });
});

describe('sandbox errors: no free port', () => {
  // A network namespace of its own whose two ephemeral ports are both held: the kernel has no port
  // left to hand out, which is what the sandbox asks it for.
  const HOLD_PORTS_THEN_RUN = `const net = require('net');
const servers = [40000, 40001].map((p) => net.createServer().listen(p, '127.0.0.1'));
Promise.all(servers.map((s) => new Promise((r) => s.on('listening', r)))).then(() => {
  const r = require('child_process').spawnSync(process.argv[1], process.argv.slice(2), { stdio: 'inherit' });
  process.exit(r.status ?? 99);
});`;
  const canUnshareNet = isRoot() && spawnSync('unshare', ['-n', 'true']).status === 0;

  it.runIf(canUnshareNet)('with every ephemeral port taken, the sandbox says it found no free port, before starting anything', async () => {
    const dir = tempDir('noport');
    const script = 'ip link set lo up && echo "40000 40001" > /proc/sys/net/ipv4/ip_local_port_range && exec "$@"';
    const r = await inNamespace(['-n'], script, [
      'sh',
      process.execPath,
      '-e',
      HOLD_PORTS_THEN_RUN,
      process.execPath,
      BIN,
      'sandbox',
      'up',
      '--topology',
      'single',
      '--dir',
      dir,
    ]);
    expectTypedError(r, /Could not find free TCP ports on 127\.0\.0\.1: listen EADDRINUSE.*\./, /Check that the loopback interface is up.*ip_local_port_range/);
    expect(readState(dir)?.status).toBe('failed');
    expect(existsSync(join(dir, 'nodes'))).toBe(false);
    expectNothingRunning(dir);
  });
});

// Each waits out a timeout of the sandbox (30 s, 20 s, 20 s, 5 s) with nothing to do, so they run
// at once in one test (vitest's concurrent tests would share the file's assertion count).
describe('sandbox errors: servers that start but never get ready', () => {
  const mariadbNoSocket = async (): Promise<void> => {
    const elsewhere = join(tempDir('sock'), 'elsewhere.sock');
    const { r, dir } = await upWith(binDir({ mariadbd: `exec "$REAL" "$@" --socket=${elsewhere}` }), ['--topology', 'single']);
    expectTypedError(r, /mariadbd for node primary did not accept connections within 30 s:/, /See .*error\.log; a slow disk may need a second try\./);
    expectNothingRunning(dir);
  };
  // Every node with the same server id: the replica's IO thread refuses its source.
  const mariadbNoReplication = async (): Promise<void> => {
    const { r, dir } = await upWith(binDir({ mariadbd: 'exec "$REAL" "$@" --server-id=7' }), ['--topology', 'primary-replica', '--replicas', '1']);
    expectTypedError(r, /Replication on node replica1 did not start within 20 s \(IO No, SQL Yes; IO error: .*server ids/, /See .*error\.log\./);
    expectNothingRunning(dir);
  };
  const pgNotStreaming = async (): Promise<void> => {
    const { r, dir } = await upWith(binDir({ pg_ctl: 'exec "$REAL" "$@" -o "-c primary_conninfo=host=/nonexistent"' }), [
      '--topology',
      'postgres',
      '--replicas',
      '1',
    ]);
    expectTypedError(r, /PostgreSQL replica replica1 is not streaming after 20 s\./, /See .*postgres\.log\./);
    expectNothingRunning(dir);
  };
  // Its pid file written elsewhere: the sandbox cannot tell HAProxy runs, and must still stop it.
  const haproxyNoPidFile = async (): Promise<void> => {
    const pidFile = join(tempDir('pid'), 'haproxy.pid');
    const { r, dir } = await upWith(binDir({ haproxy: `exec "$REAL" "$@" -p ${pidFile}` }), ['--topology', 'single', '--proxy']);
    expectTypedError(r, /HAProxy started but no live process wrote .*haproxy\.pid\./, /Run `.*haproxy -c -f .*haproxy\.cfg` to check the configuration\./);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(pid).toBeGreaterThan(1);
    expect(isAlive(pid)).toBe(false);
    expectNothingRunning(dir);
  };

  it('mariadbd on another socket, replicas with equal server ids, a replica with no primary, HAProxy without its pid file', async () => {
    const t0 = performance.now();
    const results = await Promise.allSettled([mariadbNoSocket(), mariadbNoReplication(), pgNotStreaming(), haproxyNoPidFile()]);
    console.info(`four timeouts waited out together in ${Math.round(performance.now() - t0)} ms`);
    const failed = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed.length) throw failed[0]!.reason;
    expect(results.length).toBe(4);
  });
});

describe('sandbox errors: on a running sandbox, which is left as it was', () => {
  // The MariaDB sandbox sits where `migrate shadow up --dir base` looks for its server.
  const base = tempDir('base');
  let maria: RunningSandbox;
  let pgsb: RunningSandbox;
  beforeAll(async () => {
    [maria, pgsb] = await Promise.all([
      startSandbox({ topology: 'single', dir: join(base, shadowDirName('mysql')) }),
      startSandbox({ topology: 'postgres', dir: tempDir('pg') }),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled([maria?.stop(), pgsb?.stop()]);
  });

  /** The nodes still run with the pids they started with, and `status` calls them healthy. */
  async function expectUnchanged(sb: RunningSandbox): Promise<void> {
    expect(readState(sb.dir)?.nodes.map((n) => n.pid)).toEqual(sb.nodes.map((n) => n.pid));
    for (const n of sb.nodes) expect(isAlive(n.pid!)).toBe(true);
    const st = await migrate(['sandbox', 'status', '--dir', sb.dir]);
    expect(st.code, st.stdout + st.stderr).toBe(0);
  }

  it('`shadow up` refuses a directory that holds a sandbox of another topology', async () => {
    const r = await migrate(['shadow', 'up', '--dialect', 'mysql', '--dir', base]);
    expectTypedError(
      r,
      new RegExp(`${escape(maria.dir)} holds a \`migrate sandbox\` single topology, not a mysql shadow server\\.`),
      /Take it down with `migrate sandbox down --dir /,
    );
    await expectUnchanged(maria);
  });

  it('`shadow up` refuses a symbolic link at its directory', async () => {
    const other = tempDir('base');
    const target = tempDir('target');
    symlinkSync(target, join(other, shadowDirName('mysql')));
    const r = await migrate(['shadow', 'up', '--dialect', 'mysql', '--dir', other]);
    expectTypedError(
      r,
      /.* is a symbolic link, not a directory created by `migrate shadow up`; not using it for the shadow server\./,
      /Remove it, or pass --dir/,
    );
    expect(existsSync(join(target, 'state.json'))).toBe(false);
  });

  it('restarting a node that does not exist names the nodes there are', async () => {
    const e = await rejection(sandboxRestartNode(maria.dir, 'replica9'));
    expect(e.problem).toBe(`There is no node "replica9" in the sandbox in ${maria.dir}.`);
    expect(e.fix).toBe('Use one of: primary.');
    await expectUnchanged(maria);
  });

  it('restarting a node when its server programs are gone stops nothing', async () => {
    const empty = tempDir('empty');
    const m = await withBinDir(empty, () => rejection(sandboxRestartNode(maria.dir, 'primary')));
    expect(m.problem).toBe('MariaDB server binaries were not found.');
    expect(m.fix).toMatch(/Install the server binaries/);
    const p = await withBinDir(empty, () => rejection(sandboxRestartNode(pgsb.dir, 'primary')));
    expect(p.problem).toBe('PostgreSQL server binaries were not found.');
    await expectUnchanged(maria);
    await expectUnchanged(pgsb);
  });

  it('`up` over a running sandbox that is not healthy (no writable node) says so and starts nothing', async () => {
    const c = await maria.mysql('primary');
    try {
      await c.query('SET GLOBAL read_only = ON');
      const r = await migrate(['sandbox', 'up', '--topology', 'single', '--dir', maria.dir]);
      expectTypedError(
        r,
        new RegExp(`The sandbox \\(single\\) in ${escape(maria.dir)} is running but not healthy\\.`),
        /Inspect it with `migrate sandbox status --dir .*`, or start over/,
      );
    } finally {
      await c.query('SET GLOBAL read_only = OFF');
      await c.end();
    }
    await expectUnchanged(maria);
  });

  it('a password file removed by hand is named, with how to recover', async () => {
    const file = maria.state.app.passwordFile;
    renameSync(file, `${file}.away`);
    try {
      const r = await migrate(['sandbox', 'up', '--topology', 'single', '--dir', maria.dir, '--format', 'json']);
      expectTypedError(
        r,
        new RegExp(`The password file ${escape(file)} is missing\\.`),
        /The sandbox directory was changed by hand; run `migrate sandbox down` and `migrate sandbox up` again\./,
      );
      expect(`${r.stdout}${r.stderr}`).not.toContain(maria.node('primary').password);
    } finally {
      renameSync(`${file}.away`, file);
    }
    expect(readSecret(file)).toBe(maria.app.password);
    await expectUnchanged(maria);
  });
});
