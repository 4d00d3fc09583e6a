import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { MigrateError, messageOf } from '../errors.ts';
import type { SandboxNode, SandboxWriter, WriterStatus } from './contract.ts';
import { isOurProcess, liveServerPid, readPidFile, run, sleep, stopServer, type StopOutcome } from './process.ts';

export const BACKEND = 'writer';
/** The read pool: the replicas, on a port of their own (docs/read-pool.md). */
export const READERS_BACKEND = 'readers';

export interface HaproxySpec {
  dir: string;
  configFile: string;
  pidFile: string;
  socket: string;
  port: number;
  /** The readers frontend's port. */
  readersPort: number;
}

export function haproxySpec(dir: string, socketDir: string, port: number, readersPort: number): HaproxySpec {
  return {
    dir,
    configFile: join(dir, 'haproxy.cfg'),
    pidFile: join(dir, 'haproxy.pid'),
    socket: join(socketDir, 'haproxy.sock'),
    port,
    readersPort,
  };
}

/**
 * One TCP frontend, one backend holding every node: the writer enabled, the others in
 * maintenance (`disabled`). A switchover then is `set server writer/<new> state ready` +
 * `set server writer/<old> state maint` + `shutdown sessions server writer/<old>` on the runtime
 * socket. Not `backup` servers: HAProxy would fail over to a read-only replica on its own.
 * No health checks: a bare TCP check counts as an aborted connection on MariaDB (max_connect_errors)
 * and only the coordinator decides where writes go.
 * A second frontend serves reads from the "readers" backend: every node again, the replicas
 * enabled and the writer in maintenance, so a switchover can move both in and out.
 */
export function haproxyConfig(s: HaproxySpec, nodes: SandboxNode[], writer: string): string {
  return [
    '# Written by `migrate sandbox up`.',
    'global',
    `  pidfile ${s.pidFile}`,
    `  stats socket ${s.socket} mode 600 level admin`,
    '  stats timeout 30s',
    '  maxconn 1024',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 1h',
    '  timeout server 1h',
    `frontend ${BACKEND}_front`,
    `  bind 127.0.0.1:${s.port}`,
    `  default_backend ${BACKEND}`,
    `backend ${BACKEND}`,
    ...nodes.map((n) => `  server ${n.name} ${n.host}:${n.port}${n.name === writer ? '' : ' disabled'}`),
    `frontend ${READERS_BACKEND}_front`,
    `  bind 127.0.0.1:${s.readersPort}`,
    `  default_backend ${READERS_BACKEND}`,
    `backend ${READERS_BACKEND}`,
    '  balance roundrobin',
    ...nodes.map((n) => `  server ${n.name} ${n.host}:${n.port}${n.name === writer ? ' disabled' : ''}`),
    '',
  ].join('\n');
}

export async function startHaproxy(bin: string, s: HaproxySpec, nodes: SandboxNode[], writer: string): Promise<number> {
  mkdirSync(s.dir, { recursive: true });
  writeFileSync(s.configFile, haproxyConfig(s, nodes, writer));
  // -D daemonises after the config is parsed and the port bound, so a zero exit means it listens.
  await run(bin, ['-D', '-f', s.configFile], { what: 'starting HAProxy', timeoutMs: 15_000 });
  const until = Date.now() + 5_000;
  for (;;) {
    const pid = readPidFile(s.pidFile);
    if (pid && isOurProcess(pid, s.configFile)) return pid;
    if (Date.now() > until)
      throw new MigrateError(
        'sandbox',
        `HAProxy started but no live process wrote ${s.pidFile}.`,
        `Run \`${bin} -c -f ${s.configFile}\` to check the configuration.`,
      );
    await sleep(20);
  }
}

/** Sends one command to the runtime API and returns its answer. */
export function runtimeCommand(socket: string, command: string, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ path: socket });
    let out = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no answer from ${socket} within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on('connect', () => c.write(`${command.trim()}\n`));
    c.on('data', (d) => (out += d.toString()));
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/**
 * `show servers state <backend>` answers a version line, a header starting with `#`, then one
 * row per server: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ... srv_port.
 * srv_admin_state is a bit field (HAProxy's SRV_ADMF_*): forced, inherited, config (`disabled`),
 * resolver and hostname maintenance; forced and inherited drain. Whether a server takes traffic
 * is srv_op_state (2 = running): a server declared `disabled` and enabled at run time by
 * `set server ... state ready` (a switchover) keeps the config-maintenance bit in its admin state
 * while it runs, so the admin state alone would show the new writer as in maintenance.
 */
const MAINT_BITS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const DRAIN_BITS = 0x08 | 0x10;

export function parseServersState(text: string): NonNullable<WriterStatus['servers']> {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const header = lines.find((l) => l.startsWith('#'));
  const cols = header ? header.replace(/^#\s*/, '').split(/\s+/) : [];
  const idx = (name: string, fallback: number): number => {
    const i = cols.indexOf(name);
    return i >= 0 ? i : fallback;
  };
  const iName = idx('srv_name', 3);
  const iAddr = idx('srv_addr', 4);
  const iOp = idx('srv_op_state', 5);
  const iAdmin = idx('srv_admin_state', 6);
  const iPort = idx('srv_port', 18);
  return lines
    .filter((l) => !l.startsWith('#') && /^\d+\s/.test(l))
    .map((l) => {
      const f = l.split(/\s+/);
      const admin = Number(f[iAdmin] ?? 0);
      const running = Number(f[iOp] ?? 0) === 2;
      const state = running ? (admin & DRAIN_BITS ? 'drain' : 'ready') : admin & MAINT_BITS ? 'maint' : 'other';
      return { name: f[iName] ?? '?', address: `${f[iAddr] ?? '?'}:${f[iPort] ?? '?'}`, state };
    });
}

export async function haproxyStatus(w: Extract<SandboxWriter, { type: 'haproxy' }>): Promise<WriterStatus> {
  const base: WriterStatus = { type: 'haproxy', host: w.host, port: w.port, up: false };
  if (!liveServerPid(w.pidFile, w.pid, w.configFile)) return { ...base, error: 'HAProxy is not running' };
  try {
    const text = await runtimeCommand(w.socket, `show servers state ${w.backend}`);
    return { ...base, up: true, servers: parseServersState(text) };
  } catch (e) {
    return { ...base, error: `runtime API ${w.socket}: ${messageOf(e)}` };
  }
}

export async function stopHaproxy(w: Extract<SandboxWriter, { type: 'haproxy' }>): Promise<{ pid?: number; how: StopOutcome }> {
  return stopServer(w.pidFile, w.pid, w.configFile, 'SIGTERM', 5_000);
}
