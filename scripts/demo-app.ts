// Demo helper: the application tier of the demo. `start DIR` runs the blue release (the old
// code, live) and the green release (the new code, idle) of examples/app/server.mjs as real HTTP
// servers (writes through the sandbox's writer endpoint, reads through its read pool) behind their own HAProxy (HTTP mode, backend `app`, servers `blue` and `green`,
// switched only through the runtime API by examples/deploy/haproxy-swap.sh). `put DIR SLOT
// RELEASE` replaces the process in a slot (blue/green) with another release, as a blue/green
// deploy puts the next release on the idle slot. `env DIR` prints the variables the deploy
// scripts need; `stop DIR` ends the servers and the proxy. State: DIR/app/app.json.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SandboxState } from '../src/sandbox/contract.ts';
import { freePorts } from '../src/sandbox/ports.ts';
import { isAlive, run, sleep } from '../src/sandbox/process.ts';

type Slot = 'blue' | 'green';
type Release = 'blue' | 'green' | 'broken';
interface AppState {
  port: number;
  socket: string;
  haproxyPidFile: string;
  slots: Record<Slot, { port: number; pid: number; release: Release }>;
}

const USAGE = 'usage: demo-app start|env|stop <sandbox dir> | demo-app put <sandbox dir> blue|green blue|green|broken';
const [cmd, dir, slotArg, releaseArg] = process.argv.slice(2);
if (!dir || !['start', 'put', 'env', 'stop'].includes(cmd ?? '')) throw new Error(USAGE);
const appDir = join(dir, 'app');
const stateFile = join(appDir, 'app.json');
const server = resolve('examples/app/server.mjs');

function appEnv(port: number, release: Release): NodeJS.ProcessEnv {
  const db = JSON.parse(readFileSync(join(dir!, 'state.json'), 'utf8')) as SandboxState;
  // Reads go to the replicas when the sandbox's HAProxy has a read pool: the ones `migrate apply`
  // drains before their ALTER, so the app never reads from a replica whose replication is stalled.
  const readers = db.writer.type === 'haproxy' ? db.writer.readers : undefined;
  return {
    ...(readers ? { MYSQL_READ_HOST: readers.host, MYSQL_READ_PORT: String(readers.port) } : {}),
    ...process.env,
    APP_RELEASE: release,
    PORT: String(port),
    MYSQL_HOST: db.writer.host,
    MYSQL_PORT: String(db.writer.port),
    MYSQL_USER: db.app.user,
    MYSQL_PASSWORD_FILE: db.app.passwordFile,
    MYSQL_DATABASE: db.app.database,
  };
}

async function waitReady(url: string, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${what} did not answer ${url} within 10 s; see ${appDir}/*.log`);
}

async function startRelease(slot: Slot, port: number, release: Release): Promise<number> {
  const log = openSync(join(appDir, `${slot}.log`), 'a');
  const child = spawn(process.execPath, [server], { env: appEnv(port, release), stdio: ['ignore', log, log], detached: true });
  child.unref();
  await waitReady(`http://127.0.0.1:${port}/ready`, `the ${release} release on the ${slot} slot`);
  return child.pid!;
}

async function stopPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

function haproxyConfig(s: AppState): string {
  return [
    '# Written by scripts/demo-app.ts: the demo application behind its own balancer.',
    'global',
    `  pidfile ${s.haproxyPidFile}`,
    `  stats socket ${s.socket} mode 600 level admin`,
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    // One server connection per request: a drained server has no idle connection left for
    // HAProxy to reuse, and a replaced process leaves none behind that would fail a request.
    '  option http-server-close',
    '  retries 3',
    '  option redispatch',
    'frontend app_front',
    `  bind 127.0.0.1:${s.port}`,
    '  default_backend app',
    'backend app',
    `  server blue 127.0.0.1:${s.slots.blue.port}`,
    `  server green 127.0.0.1:${s.slots.green.port} disabled`,
    '',
  ].join('\n');
}

const read = (): AppState => JSON.parse(readFileSync(stateFile, 'utf8')) as AppState;
const save = (s: AppState): void => writeFileSync(stateFile, JSON.stringify(s, null, 2));

if (cmd === 'start') {
  mkdirSync(appDir, { recursive: true });
  const [port, bluePort, greenPort] = (await freePorts(3)) as [number, number, number];
  const s: AppState = {
    port,
    socket: join(appDir, 'admin.sock'),
    haproxyPidFile: join(appDir, 'haproxy.pid'),
    slots: { blue: { port: bluePort, pid: 0, release: 'blue' }, green: { port: greenPort, pid: 0, release: 'green' } },
  };
  s.slots.blue.pid = await startRelease('blue', bluePort, 'blue');
  s.slots.green.pid = await startRelease('green', greenPort, 'green');
  save(s);
  writeFileSync(join(appDir, 'haproxy.cfg'), haproxyConfig(s));
  await run('haproxy', ['-D', '-f', join(appDir, 'haproxy.cfg')], { what: 'starting the app balancer', timeoutMs: 15_000 });
  await waitReady(`http://127.0.0.1:${port}/health`, 'the app balancer');
  console.log(`app: http://127.0.0.1:${port} -> blue release (live, port ${bluePort}); green release idle on port ${greenPort}`);
} else if (cmd === 'put') {
  if ((slotArg !== 'blue' && slotArg !== 'green') || !['blue', 'green', 'broken'].includes(releaseArg ?? '')) throw new Error(USAGE);
  const s = read();
  const slot = s.slots[slotArg];
  await stopPid(slot.pid);
  slot.release = releaseArg as Release;
  slot.pid = await startRelease(slotArg, slot.port, slot.release);
  save(s);
  console.log(`the ${slotArg} slot (port ${slot.port}, not serving) now runs the ${slot.release} release`);
} else if (cmd === 'env') {
  const s = read();
  console.log(`export HAPROXY_SOCKET=${s.socket} HAPROXY_BACKEND=app APP_PORT=${s.port} BLUE_PORT=${s.slots.blue.port} GREEN_PORT=${s.slots.green.port}`);
} else if (existsSync(stateFile)) {
  const s = read();
  for (const slot of Object.values(s.slots)) await stopPid(slot.pid);
  const pid = existsSync(s.haproxyPidFile) ? Number(readFileSync(s.haproxyPidFile, 'utf8').trim()) : 0;
  if (pid) await stopPid(pid);
}
