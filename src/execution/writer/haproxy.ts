import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { NodeConfig } from '../../config/index.ts';
import { workError } from '../../errors.ts';
import type { WriterEndpoint } from './contract.ts';

/** Sends one command to the HAProxy runtime API (stats socket) and returns its answer. */
export function haproxyCommand(socket: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection(socket);
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        workError(
          `HAProxy's runtime API at ${socket} did not answer "${command}" within ${timeoutMs} ms.`,
          'Check that HAProxy runs and that its stats socket is at that path with "level admin".',
        ),
      );
    }, timeoutMs);
    s.on('connect', () => s.write(`${command}\n`));
    s.on('data', (d) => (out += d.toString('utf8')));
    s.on('end', () => {
      clearTimeout(timer);
      resolve(out.trim());
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(
        workError(
          `Cannot talk to HAProxy's runtime API at ${socket}: ${e.message}.`,
          'Start HAProxy with "stats socket <path> level admin" and set writer.socket to that path.',
        ),
      );
    });
  });
}

/**
 * HAProxy driver: the backend lists every node as a server named after the node; the writer is
 * the only one in state "ready". Switching enables the new server, puts the old one in
 * maintenance and shuts its sessions so clients reconnect through the frontend to the new one.
 */
export class HaproxyWriter implements WriterEndpoint {
  readonly kind = 'haproxy';
  constructor(
    private readonly socket: string,
    private readonly backend: string,
  ) {}

  /**
   * The backend's servers, in maintenance or not, as last read (preflight, writableServers) and
   * kept up to date by our own moves: what a refused move puts back, known without a read inside
   * the write block. Undefined once a move's outcome is unknown (a timeout, a lost socket).
   */
  private known: Map<string, boolean> | undefined;

  async preflight(): Promise<void> {
    if (!existsSync(this.socket)) {
      throw workError(
        `HAProxy's runtime socket ${this.socket} does not exist.`,
        'Start HAProxy with "stats socket <path> level admin" and set writer.socket in the config to that path.',
      );
    }
    const state = await haproxyCommand(this.socket, `show servers state ${this.backend}`);
    if (!state || /Can't find backend|Unknown/i.test(state)) {
      throw workError(`HAProxy has no backend named ${this.backend}.`, "Set writer.backend in the config to the backend that routes the application's writes.");
    }
    this.known = maintState(state);
  }

  async move(from: NodeConfig, to: NodeConfig): Promise<void> {
    // What a refused move puts back: the two servers' maintenance state as it was, read before
    // the write block (preflight) when it can be. The runtime API goes on past a command it
    // refuses: with one server unknown, the other was changed all the same, and the endpoint could
    // send writes to no node (seen with HAProxy 2.6 for the switchover's move; for recovery's
    // moves the writer itself).
    const before = this.known ?? maintState(await haproxyCommand(this.socket, `show servers state ${this.backend}`));
    this.known = undefined;
    // One round trip: the runtime API runs ';'-separated commands in order.
    const cmd = `set server ${this.backend}/${to.name} state ready; set server ${this.backend}/${from.name} state maint; shutdown sessions server ${this.backend}/${from.name}`;
    const answer = await haproxyCommand(this.socket, cmd);
    if (!answer) {
      this.known = new Map([...before, [to.name, false], [from.name, true]]);
      return;
    }
    // Only a refusal is put back: after a timeout or a lost socket what HAProxy did is not known,
    // and the caller reads it back. Sessions the briefly ready server took are ended with it.
    const back = [to, from]
      .filter((n) => before.has(n.name))
      .map((n) =>
        before.get(n.name)
          ? `set server ${this.backend}/${n.name} state maint; shutdown sessions server ${this.backend}/${n.name}`
          : `set server ${this.backend}/${n.name} state ready`,
      );
    if (back.length) await haproxyCommand(this.socket, back.join('; ')).catch(() => undefined);
    throw refusal(cmd, answer);
  }

  /** The backend's servers HAProxy sends traffic to: up and not in maintenance or drain. */
  async writableServers(): Promise<string[]> {
    const state = await haproxyCommand(this.socket, `show servers state ${this.backend}`);
    this.known = maintState(state);
    return readyServers(state);
  }
}

/** The runtime API answers an empty line on success and a sentence on failure. */
function refusal(cmd: string, answer: string): Error {
  // Its sentences end with a full stop already ("No such server."): one, not two.
  const said = answer.replace(/\.$/, '');
  return workError(`HAProxy refused "${cmd}": ${said}.`, 'Check that every node is declared as a server of the writer backend, named as in the config.');
}

/** HAProxy's srv_admin_state bits for maintenance (forced, inherited, resolution...) and drain. */
const NOT_READY_BITS = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40;

/** The columns of a `show servers state` answer's data lines, by name (its # header), with fallbacks for HAProxy 2.x. */
function serverRows(text: string): { name: string; op: number; admin: number }[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const cols = (lines.find((l) => l.startsWith('#')) ?? '').replace(/^#\s*/, '').split(/\s+/);
  const at = (name: string, fallback: number) => (cols.includes(name) ? cols.indexOf(name) : fallback);
  const [iName, iOp, iAdmin] = [at('srv_name', 3), at('srv_op_state', 5), at('srv_admin_state', 6)];
  return lines
    .filter((l) => /^\d+\s/.test(l))
    .map((l) => l.split(/\s+/))
    .map((f) => ({ name: f[iName] ?? '?', op: Number(f[iOp]), admin: Number(f[iAdmin]) }));
}

/** Each server of the answer: whether it is in maintenance or drain. */
function maintState(text: string): Map<string, boolean> {
  return new Map(serverRows(text).map((r) => [r.name, (r.admin & NOT_READY_BITS) !== 0] as const));
}

/** The servers of a `show servers state <backend>` answer that are running and neither in maintenance nor drain. */
export function readyServers(text: string): string[] {
  return serverRows(text)
    .filter((r) => r.op === 2 && (r.admin & NOT_READY_BITS) === 0)
    .map((r) => r.name);
}
