/**
 * The endpoint after a failed move was taken back (writer/restore.ts): read where the driver can
 * (HAProxy's `show servers state`), moved back (candidate -> old primary) unless it sends writes
 * to the old primary only, and said as it is; a command writer is "unknown" unless its move back
 * exits 0. Before, the undone switchover said "the endpoint, which did not move, points at it"
 * without looking: HAProxy runs the rest of a ';'-chained move after one command fails.
 */
import { describe, expect, it } from 'vitest';
import type { NodeConfig } from '../../src/config/index.ts';
import type { WriterEndpoint } from '../../src/execution/writer/contract.ts';
import { readyServers } from '../../src/execution/writer/haproxy.ts';
import { describeEndpointBack, restoreEndpoint } from '../../src/execution/writer/restore.ts';

const node = (name: string): NodeConfig => ({ name, role: 'replica', host: '127.0.0.1', port: 1, user: 'root', password: '' });
const P = node('a');
const C = node('b');

/** A driver whose endpoint sends writes to `ready`; its move does what HAProxy's does, or fails. */
function driver(ready: string[], moveWorks: boolean, readable = true): WriterEndpoint & { moves: string[] } {
  const moves: string[] = [];
  return {
    kind: readable ? 'haproxy' : 'command',
    moves,
    preflight: async () => undefined,
    move: async (from, to) => {
      moves.push(`${from.name}->${to.name}`);
      if (!moveWorks) throw new Error('refused');
      ready.splice(0, ready.length, to.name);
    },
    ...(readable ? { writableServers: async () => [...ready] } : {}),
  };
}

describe('the endpoint after a failed move is taken back', () => {
  it('HAProxy half-moved (both servers ready): moved back to the old primary and read again', async () => {
    const d = driver(['a', 'b'], true);
    const back = await restoreEndpoint(d, P, C);
    expect(back).toEqual({ on: 'primary', moved: true });
    expect(d.moves).toEqual(['b->a']);
    expect(describeEndpointBack(back, 'a')).toEqual({ state: 'the writer endpoint was moved back to a', check: false });
  });

  it('HAProxy untouched: nothing moved, said as read', async () => {
    const d = driver(['a'], true);
    expect(await restoreEndpoint(d, P, C)).toEqual({ on: 'primary', moved: false });
    expect(d.moves).toEqual([]);
  });

  it('HAProxy on the candidate and the move back refused: names where it sends writes, and says to check', async () => {
    const back = await restoreEndpoint(driver(['b'], false), P, C);
    expect(back).toEqual({ on: 'servers', servers: ['b'], why: 'moving it back to a failed: refused' });
    expect(describeEndpointBack(back, 'a')).toEqual({
      state: 'the writer endpoint sends writes to b, not to a only (moving it back to a failed: refused)',
      check: true,
    });
  });

  it('a command writer: moved back (exit 0) is known; a failing one leaves it unknown', async () => {
    expect(await restoreEndpoint(driver([], true, false), P, C)).toEqual({ on: 'primary', moved: true });
    const back = await restoreEndpoint(driver([], false, false), P, C);
    expect(back).toEqual({ on: 'unknown', why: 'moving it back to a failed too: refused' });
    expect(describeEndpointBack(back, 'a').check).toBe(true);
  });

  it("reads HAProxy's show servers state: running and neither maint nor drain", () => {
    const text = [
      '1',
      '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord',
      '3 writer 1 a 127.0.0.1 2 0 1 1 100 6 3 4 6 0 0 0 - 3306 -',
      '3 writer 2 b 127.0.0.1 2 1 1 1 100 6 3 4 6 0 0 0 - 3307 -',
      '3 writer 3 c 127.0.0.1 2 8 1 1 100 6 3 4 6 0 0 0 - 3308 -',
      '3 writer 4 d 127.0.0.1 0 0 1 1 100 6 3 4 6 0 0 0 - 3309 -',
    ].join('\n');
    expect(readyServers(text)).toEqual(['a']);
  });
});
