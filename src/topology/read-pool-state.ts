import { connect } from 'node:net';
import type { ClusterConfig } from '../config/index.ts';
import { messageOf, workError } from '../errors.ts';

/** A read-pool server as HAProxy reports it: taking new sessions (ready), draining, or out (maint). */
export type ReadPoolServerState = 'ready' | 'drain' | 'maint' | 'other';

export interface ReadPoolMember {
  name: string;
  state: ReadPoolServerState;
  /** Sessions open on the server now (`show stat` scur). */
  sessions: number;
}

/** Sends one command to HAProxy's runtime API (the stats socket) and returns its answer. */
export function haproxyRuntime(socket: string, command: string, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ path: socket });
    let out = '';
    const fail = (why: string): void =>
      reject(
        workError(
          `HAProxy's runtime API at ${socket} ${why} ("${command}").`,
          'Check that HAProxy runs with "stats socket <path> level admin" and that readPool.socket names that path.',
        ),
      );
    const timer = setTimeout(() => {
      c.destroy();
      fail(`did not answer within ${timeoutMs} ms`);
    }, timeoutMs);
    c.on('connect', () => c.write(`${command}\n`));
    c.on('data', (d) => (out += d.toString('utf8')));
    c.on('error', (e) => {
      clearTimeout(timer);
      fail(`cannot be reached: ${messageOf(e)}`);
    });
    c.on('close', () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
  });
}

/**
 * srv_admin_state bits (HAProxy's SRV_ADMF_*): forced, inherited, config (`disabled`), resolver
 * and hostname maintenance; forced and inherited drain. Whether a server takes traffic is
 * srv_op_state (2 = running): a server declared `disabled` and enabled at run time keeps the
 * config-maintenance bit while it runs.
 */
const MAINT_BITS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const DRAIN_BITS = 0x08 | 0x10;

function rows(text: string, sep: RegExp): { cols: string[]; data: string[][] } {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const header = lines.find((l) => l.startsWith('#'));
  const cols = header ? header.replace(/^#\s*/, '').split(sep) : [];
  return { cols, data: lines.filter((l) => !l.startsWith('#')).map((l) => l.split(sep)) };
}

/** `show servers state <backend>`: per server name, its state. */
export function parseServerStates(text: string): Map<string, ReadPoolServerState> {
  const { cols, data } = rows(text, /\s+/);
  const at = (name: string, fallback: number): number => (cols.indexOf(name) >= 0 ? cols.indexOf(name) : fallback);
  const [iName, iOp, iAdmin] = [at('srv_name', 3), at('srv_op_state', 5), at('srv_admin_state', 6)];
  const out = new Map<string, ReadPoolServerState>();
  for (const f of data) {
    // The first line is the format version: a lone number.
    if (!/^\d+$/.test(f[0] ?? '') || f.length <= Math.max(iName, iOp, iAdmin)) continue;
    const admin = Number(f[iAdmin] ?? 0);
    const running = Number(f[iOp] ?? 0) === 2;
    out.set(f[iName] ?? '?', running ? (admin & DRAIN_BITS ? 'drain' : 'ready') : admin & MAINT_BITS ? 'maint' : 'other');
  }
  return out;
}

/** `show stat` (CSV): the current sessions of each server of the backend. */
export function parseSessions(text: string, backend: string): Map<string, number> {
  const { cols, data } = rows(text, /,/);
  const [iPx, iSv, iCur] = [cols.indexOf('pxname'), cols.indexOf('svname'), cols.indexOf('scur')];
  const out = new Map<string, number>();
  for (const f of data) if (f[iPx] === backend && f[iSv] !== 'BACKEND' && f[iSv] !== 'FRONTEND') out.set(f[iSv] ?? '?', Number(f[iCur] ?? 0));
  return out;
}

/** The servers of an HAProxy read-pool backend, read through its runtime API. */
export async function haproxyPoolMembers(socket: string, backend: string): Promise<ReadPoolMember[]> {
  const states = await haproxyRuntime(socket, `show servers state ${backend}`);
  if (/Can't find backend|Unknown/i.test(states) || !/^\d/m.test(states))
    throw workError(`HAProxy has no backend named ${backend}.`, 'Set readPool.backend in the config to the backend that routes the reads to the replicas.');
  const sessions = parseSessions(await haproxyRuntime(socket, 'show stat'), backend);
  return [...parseServerStates(states)].map(([name, state]) => ({ name, state, sessions: sessions.get(name) ?? 0 }));
}

/**
 * Each node's read-pool state for `migrate topology`: HAProxy's word for it, "not in the pool"
 * for a node the backend does not list, or "command hook" (a hook cannot be asked).
 */
export async function readPoolStates(cluster: ClusterConfig): Promise<{ states: Record<string, string>; error?: string } | undefined> {
  const rp = cluster.readPool;
  if (!rp) return undefined;
  if (rp.type === 'command') return { states: Object.fromEntries(cluster.nodes.map((n) => [n.name, 'command hook (state unknown)'])) };
  try {
    const members = await haproxyPoolMembers(rp.socket ?? '', rp.backend ?? '');
    const by = new Map(members.map((m) => [m.name, m]));
    return {
      states: Object.fromEntries(
        cluster.nodes.map((n) => {
          const m = by.get(n.name);
          return [n.name, m ? `${m.state}${m.sessions ? ` (${m.sessions} sessions)` : ''}` : 'not in the pool'];
        }),
      ),
    };
  } catch (e) {
    return { states: {}, error: messageOf(e) };
  }
}

/**
 * What `migrate plan` says of the read pool before a replica-first migration: when a single
 * replica serves reads, `apply` keeps it in the pool for its ALTER (stale reads) unless
 * --drain-last-reader. Empty when the cluster names no pool or several replicas serve reads.
 */
export async function readPoolPlanNotes(cluster: ClusterConfig): Promise<string[]> {
  const pool = await readPoolStates(cluster);
  if (!pool) return [];
  if (pool.error) return [`read pool of cluster ${cluster.name} not readable: ${pool.error}`];
  const writerRoles = new Set(['primary', 'active']);
  const serving =
    cluster.readPool?.type === 'command'
      ? cluster.nodes.filter((n) => !writerRoles.has(n.role)).map((n) => n.name)
      : Object.entries(pool.states)
          .filter(([, s]) => s.startsWith('ready'))
          .map(([n]) => n);
  if (serving.length !== 1) return [];
  return [
    `read pool: ${serving[0]} is the only replica serving reads: a replica-first \`apply\` keeps it in the pool while its ALTER runs (it serves reads that grow stale) unless \`apply --drain-last-reader\` drains it (reads then have no server until it returns); docs/read-pool.md.`,
  ];
}
