/**
 * examples/deploy/ (issue 17 point 3): each script run for real, as the hand-off would run it,
 * against real processes: HAProxy and HTTP servers, a symlinked release directory served over
 * HTTP, unix sockets, the unicorn stand-in master. Each switch happens under a request loop that
 * must see no failed request, and each script's failure case must leave the old release serving.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServersState, runtimeCommand } from '../../src/sandbox/index.ts';
import { freePorts } from '../../src/sandbox/ports.ts';
import { processesReferencing } from '../helpers/processes.ts';

const EXAMPLES = resolve('examples/deploy');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Whether a process runs: not gone and not a zombie (an exited release nobody has reaped yet). */
function running(pid: number | string): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function script(name: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((res) => {
    execFile(join(EXAMPLES, name), args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** One GET; the body, or the error as a failure. Over TCP (url) or a unix socket (socketPath). */
function get(target: { port: number } | { socketPath: string }, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request({ host: '127.0.0.1', ...target, path, agent: false, timeout: 5_000 }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body: body.trim() }));
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Requests back to back until stopped: what users would see during a switch. */
function requestLoop(target: { port: number } | { socketPath: string }) {
  const seen = new Set<string>();
  const failures: string[] = [];
  let ok = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const r = await get(target);
        if (r.status === 200) {
          ok++;
          seen.add(r.body);
        } else failures.push(`HTTP ${r.status}: ${r.body}`);
      } catch (e) {
        failures.push(String(e));
      }
      await sleep(5);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { ok, failures, seen: [...seen].sort() };
    },
  };
}

const root = mkdtempSync(join(tmpdir(), 'mig-examples-deploy-'));
afterAll(() => {
  // Every process these tests started names the temporary directory on its command line or is
  // an HTTP server of this process; the ones that outlived their test are ended here.
  for (const line of processesReferencing(root)) {
    const pid = Number(line.split(':')[0]);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
  rmSync(root, { recursive: true, force: true });
});

/** An HTTP server in this process answering `name` on / and `ready` on /ready (503 when not ready). */
function nameServer(port: number, name: string, ready = true): Promise<Server> {
  const s = createServer((req, res) => {
    if (req.url === '/ready' && !ready) res.writeHead(503);
    res.end(req.url === '/ready' ? (ready ? 'ready' : 'not ready') : name);
  });
  return new Promise((r) => s.listen(port, '127.0.0.1', () => r(s)));
}

describe('haproxy-swap.sh', () => {
  const dir = join(root, 'haproxy');
  const socket = join(dir, 'admin.sock');
  const env = { HAPROXY_SOCKET: socket, HAPROXY_BACKEND: 'app', READY_TIMEOUT: '2' };
  let front = 0;
  let proxy: ChildProcess;
  const servers: Server[] = [];
  const state = async () => Object.fromEntries(parseServersState(await runtimeCommand(socket, 'show servers state app')).map((s) => [s.name, s.state]));

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const [f, blue, green, unready] = (await freePorts(4)) as [number, number, number, number];
    front = f;
    servers.push(await nameServer(blue, 'blue'), await nameServer(green, 'green'), await nameServer(unready, 'unready', false));
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      [
        'global',
        `  stats socket ${socket} mode 600 level admin`,
        'defaults',
        '  mode http',
        '  timeout connect 2s',
        '  timeout client 30s',
        '  timeout server 30s',
        '  option http-server-close',
        'frontend app_front',
        `  bind 127.0.0.1:${front}`,
        '  default_backend app',
        'backend app',
        `  server blue 127.0.0.1:${blue}`,
        `  server green 127.0.0.1:${green} disabled`,
        `  server unready 127.0.0.1:${unready} disabled`,
        '',
      ].join('\n'),
    );
    // In the foreground (-db): this test owns the process and ends it.
    proxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await sleep(50);
    for (let i = 0; i < 100 && !(await get({ port: front }).catch(() => undefined)); i++) await sleep(50);
  });
  afterAll(() => {
    proxy?.kill('SIGKILL');
    for (const s of servers) s.close();
  });

  it('moves traffic from blue to green with no failed request, and back', async () => {
    expect((await get({ port: front })).body).toBe('blue');
    const load = requestLoop({ port: front });
    await sleep(200);
    const r = await script('haproxy-swap.sh', ['green'], { ...env, MIGRATE_PHASE: 'deploy' });
    await sleep(200);
    const seen = await load.stop();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[haproxy-swap deploy] app now serves from green');
    expect(seen.failures).toEqual([]);
    expect(seen.seen).toEqual(['blue', 'green']);
    expect(await state()).toMatchObject({ blue: 'maint', green: 'ready' });
    expect((await get({ port: front })).body).toBe('green');

    const back = await script('haproxy-swap.sh', ['blue'], { ...env, MIGRATE_PHASE: 'rollback' });
    expect(back.code).toBe(0);
    expect(await state()).toMatchObject({ blue: 'ready', green: 'maint' });
    expect((await get({ port: front })).body).toBe('blue');
  });

  it('a new server that is not ready gets no traffic: the old one keeps serving', async () => {
    const r = await script('haproxy-swap.sh', ['unready'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: unready \(127\.0\.0\.1:\d+\) did not answer 200 on \/ready within 2s; traffic stays on: blue/);
    expect(await state()).toMatchObject({ blue: 'ready', unready: 'maint' });
    expect((await get({ port: front })).body).toBe('blue');
  });

  it('says what is wrong with its arguments', async () => {
    const none = await script('haproxy-swap.sh', ['purple'], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("error: backend 'app' has no server 'purple'; it has: blue green unready");
    const usage = await script('haproxy-swap.sh', [], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^usage: HAPROXY_SOCKET=/);
    const noSocket = await script('haproxy-swap.sh', ['green'], { HAPROXY_SOCKET: join(dir, 'missing.sock') });
    expect(noSocket.code).toBe(1);
    expect(noSocket.stderr).toContain('no HAProxy admin socket at');
  });
});

describe('release-symlink.sh', () => {
  const app = join(root, 'symlink');
  const env = { APP_ROOT: app };
  let port = 0;
  let server: Server;
  const release = (name: string, healthy: boolean) => {
    const d = join(app, 'releases', name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'VERSION'), name);
    writeFileSync(join(d, 'healthcheck'), `#!/bin/sh\n${healthy ? 'exit 0' : 'echo "release self-test failed" >&2; exit 1'}\n`, { mode: 0o755 });
    return d;
  };

  beforeAll(async () => {
    [port] = (await freePorts(1)) as [number];
    // The app server reads through `current` on every request, as a server reloaded onto the link does.
    server = createServer((_req, res) => res.end(readFileSync(join(app, 'current', 'VERSION'))));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  });
  afterAll(() => server?.close());

  it('moves current after the health check, never leaves it missing, refuses a failing release, rolls back', async () => {
    const [v1, v2, v3] = [release('v1', true), release('v2', true), release('v3', false)];
    expect((await script('release-symlink.sh', ['deploy', v1], env)).code).toBe(0);
    expect((await get({ port })).body).toBe('v1');

    const load = requestLoop({ port });
    const r = await script('release-symlink.sh', ['deploy', v2], { ...env, MIGRATE_PHASE: 'deploy', RELOAD_CMD: 'echo "reloaded $RELEASE_DIR"' });
    const seen = await load.stop();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`[release-symlink deploy] current -> ${v2} (previous -> ${v1})`);
    expect(r.stdout).toContain(`reloaded ${v2}`);
    expect(seen.failures).toEqual([]);
    expect((await get({ port })).body).toBe('v2');

    const bad = await script('release-symlink.sh', ['deploy', v3], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('release self-test failed');
    expect(bad.stderr).toContain(`error: the health check of ${v3} failed; current still points to ${v2}`);
    expect((await get({ port })).body).toBe('v2');

    const back = await script('release-symlink.sh', ['rollback'], { ...env, MIGRATE_PHASE: 'rollback' });
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(`rolled back: current -> ${v1} (previous -> ${v2})`);
    expect((await get({ port })).body).toBe('v1');
  });

  it('says what is missing', async () => {
    const nohealth = join(app, 'releases', 'nocheck');
    mkdirSync(nohealth, { recursive: true });
    const r = await script('release-symlink.sh', ['deploy', nohealth], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no health check for');
    expect((await script('release-symlink.sh', ['deploy'], env)).code).toBe(2);
    const noPrev = mkdtempSync(join(root, 'empty-'));
    const rb = await script('release-symlink.sh', ['rollback'], { APP_ROOT: noPrev });
    expect(rb.code).toBe(1);
    expect(rb.stderr).toContain('nothing to roll back to');
  });
});

describe('socket-move.sh', () => {
  const dir = join(root, 'socket');
  const live = join(dir, 'app.sock');
  const appFile = join(dir, 'app.mjs');

  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    // A release: an HTTP server on the unix socket named by $SOCKET answering its version.
    writeFileSync(
      appFile,
      [
        "import { createServer } from 'node:http';",
        'const v = process.argv[2];',
        "const s = createServer((req, res) => { if (req.url === '/health' && v === 'broken') res.writeHead(500); res.end(v); });",
        's.listen(process.env.SOCKET);',
        "process.on('SIGTERM', () => s.close(() => process.exit(0)));",
      ].join('\n'),
    );
  });

  it('moves the live socket to a smoke-tested release with no failed request, and stops the old one', async () => {
    const first = await script('socket-move.sh', [live, 'node', appFile, 'v1'], { GRACE: '0' });
    expect(first.code).toBe(0);
    expect((await get({ socketPath: live })).body).toBe('v1');
    const v1pid = Number(readFileSync(`${live}.pid`, 'utf8'));

    const load = requestLoop({ socketPath: live });
    await sleep(100);
    const r = await script('socket-move.sh', [live, 'node', appFile, 'v2'], { GRACE: '1', MIGRATE_PHASE: 'deploy' });
    await sleep(100);
    const seen = await load.stop();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[socket-move deploy] smoke test passed: /health answered 200');
    expect(seen.failures).toEqual([]);
    expect(seen.seen).toEqual(['v1', 'v2']);
    expect((await get({ socketPath: live })).body).toBe('v2');
    await sleep(300);
    expect(running(v1pid)).toBe(false);
  });

  it('a release failing the smoke test is stopped; the live socket still reaches the old one', async () => {
    const before = readFileSync(`${live}.pid`, 'utf8').trim();
    const r = await script('socket-move.sh', [live, 'node', appFile, 'broken'], { START_TIMEOUT: '2' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`did not answer 200 on /health within 2s; the live socket ${live} still reaches pid ${before}`);
    expect((await get({ socketPath: live })).body).toBe('v2');
    expect(readFileSync(`${live}.pid`, 'utf8').trim()).toBe(before);
    const exited = await script('socket-move.sh', [live, 'node', join(dir, 'no-such-app.mjs')], { START_TIMEOUT: '5' });
    expect(exited.code).toBe(1);
    expect(exited.stderr).toContain('the new release exited');
    expect((await get({ socketPath: live })).body).toBe('v2');
  });
});

describe('unicorn-usr2.sh with the stand-in master', () => {
  const dir = join(root, 'unicorn');
  const pidfile = join(dir, 'unicorn.pid');
  const releaseFile = join(dir, 'RELEASE');
  let port = 0;
  let env: Record<string, string>;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    [port] = (await freePorts(1)) as [number];
    env = { HEALTH_URL: `http://127.0.0.1:${port}/health`, TIMEOUT: '15' };
    writeFileSync(releaseFile, 'v1');
    const master = spawn(process.execPath, [join(EXAMPLES, 'unicorn-standin.mjs'), dir], {
      env: { ...process.env, PIDFILE: pidfile, PORT: String(port), RELEASE_FILE: releaseFile },
      stdio: 'ignore',
      detached: true,
    });
    master.unref();
    for (let i = 0; i < 100 && !existsSync(pidfile); i++) await sleep(50);
  });

  it('USR2: the new master serves the new release, the old one quits, no request fails', async () => {
    expect((await get({ port })).body).toBe('v1');
    const old = readFileSync(pidfile, 'utf8').trim();
    writeFileSync(releaseFile, 'v2');
    const load = requestLoop({ port });
    await sleep(100);
    const r = await script('unicorn-usr2.sh', [pidfile], { ...env, MIGRATE_PHASE: 'deploy' });
    await sleep(100);
    const seen = await load.stop();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const now = readFileSync(pidfile, 'utf8').trim();
    expect(now).not.toBe(old);
    expect(r.stdout).toContain(`[unicorn-usr2 deploy] old master ${old} has quit; master ${now} serves`);
    expect(seen.failures).toEqual([]);
    expect(seen.seen).toContain('v2');
    expect((await get({ port })).body).toBe('v2');
    expect(running(old)).toBe(false);
  });

  it('a new release that does not boot: the old master keeps serving and its pid file', async () => {
    const old = readFileSync(pidfile, 'utf8').trim();
    writeFileSync(releaseFile, 'broken build');
    const r = await script('unicorn-usr2.sh', [pidfile], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: the new master died while booting; master ${old} keeps serving`);
    expect(readFileSync(pidfile, 'utf8').trim()).toBe(old);
    expect(existsSync(`${pidfile}.oldbin`)).toBe(false);
    expect((await get({ port })).body).toBe('v2');
  });
});
