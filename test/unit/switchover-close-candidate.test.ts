/**
 * The promotion taken back when the endpoint did not move (switchover.ts closeUnwrittenCandidate):
 * the switchover's connection to the candidate dies right after read_only=ON. Before, the re-open
 * went over the same dead connection, its error was swallowed and the promotion "stood" with both
 * nodes read-only. Now the second look (read_only=ON again, then the GTIDs) is made over a fresh
 * connection: nothing beyond the position -> undone; a write in between -> kept and opened again;
 * no fresh connection -> kept (not knowing is no ground to undo), and the caller reads each node.
 */
import { describe, expect, it } from 'vitest';
import { flavorFor } from '../../src/engines/index.ts';
import { closeUnwrittenCandidate, readOnlyState } from '../../src/execution/switchover.ts';
import type { NodeConnection } from '../../src/topology/index.ts';

const POSITION = '0-1-100';
const lost = () => Object.assign(new Error("Can't add new command when connection is in closed state"), { code: 'PROTOCOL_CONNECTION_LOST' });

/** A candidate connection: answers @@gtid_binlog_pos with `pos()`, records statements, dies when `dieAfter` matches. */
function fake(pos: () => string, dieAfter?: RegExp): { conn: NodeConnection; sql: string[] } {
  const sql: string[] = [];
  let dead = false;
  const conn = {
    end: async () => undefined,
    query: async (q: string) => {
      if (dead) throw lost();
      sql.push(q);
      if (dieAfter?.test(q)) dead = true;
      return [/gtid/i.test(q) ? [{ pos: pos() }] : [], []];
    },
  } as unknown as NodeConnection;
  return { conn, sql };
}

const flavor = flavorFor('mariadb');

describe('closing the promoted candidate again when its connection dies after read_only=ON', () => {
  it('a fresh connection shows no write of its own: the promotion is taken back (undefined)', async () => {
    const old = fake(() => POSITION, /read_only=ON/);
    const fresh = fake(() => POSITION);
    const kept = await closeUnwrittenCandidate({ flavor, C: 'b', position: POSITION, candConn: old.conn, reopen: async () => fresh.conn });
    expect(kept).toBeUndefined();
    // read_only=ON set again where the GTIDs are read: the second look holds only once it holds.
    expect(fresh.sql).toEqual(['SET GLOBAL read_only=ON', flavor.gtidPositionQuery()]);
  });

  it('a write committed before read_only=ON: kept, and opened again over the fresh connection', async () => {
    let pos = POSITION;
    const old = fake(() => pos, /read_only=ON/);
    const fresh = fake(() => pos);
    const close = closeUnwrittenCandidate({
      flavor,
      C: 'b',
      position: POSITION,
      candConn: old.conn,
      reopen: async () => {
        pos = '0-2-101';
        return fresh.conn;
      },
    });
    expect(await close).toMatch(/^b took writes of its own after its promotion \(GTIDs 0-2-101 beyond 0-1-100\)/);
    expect(fresh.sql.at(-1)).toBe('SET GLOBAL read_only=OFF');
  });

  it('no fresh connection: not undone, and the reason is the lost connection (not a re-open said to have worked)', async () => {
    const old = fake(() => POSITION, /read_only=ON/);
    const kept = await closeUnwrittenCandidate({ flavor, C: 'b', position: POSITION, candConn: old.conn, reopen: async () => undefined });
    expect(kept).toMatch(/^whether b took writes of its own could not be read \(.*closed state\), so the promotion was not undone:$/);
  });
});

describe("each node's read_only as the kept promotion's error names it", () => {
  const node = { name: 'b', role: 'replica' as const, host: '127.0.0.1', port: 1, user: 'root', password: '' };
  const answering = (ro: number) => ({ query: async () => [[{ ro }], []], end: async () => undefined }) as unknown as NodeConnection;
  it('read from the server: read-only, writable, or unknown when neither the connection nor a fresh one answers', async () => {
    expect(await readOnlyState(answering(1), node, flavor)).toBe('read-only');
    expect(await readOnlyState(answering(0), node, flavor)).toBe('writable');
    const dead = { query: async () => Promise.reject(lost()), end: async () => undefined } as unknown as NodeConnection;
    expect(await readOnlyState(dead, node, flavor)).toBe('unknown');
  });
});
