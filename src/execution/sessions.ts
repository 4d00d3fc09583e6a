import { messageOf } from '../errors.ts';
import { isConnectionLoss, NODE_ANSWER_MS, NodeSilentError, queryRowsWithin, type NodeConnection } from '../topology/index.ts';

/** Replication and server threads: never ended. Everything else on a node is a client (a PROCESSLIST condition). */
export const CLIENTS = `COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker', 'Killed')
        AND USER NOT IN ('system user', 'event_scheduler')`;

export interface Sweep {
  killed: number;
  rounds: number;
  /** Sessions still there when the sweep gave up (e.g. KILL refused), described for a message. */
  left: string[];
}

/**
 * Ends every session on a node but `ours` and the server's replication threads, whatever its
 * user: root and other users with SUPER / READ ONLY ADMIN write through read_only, so a user name
 * proves nothing. Looks again after each round of kills until a look finds none, or `untilMs`
 * (performance.now() time) passes; 0: one round of kills only.
 */
export async function endSessions(conn: NodeConnection, ours: Set<number>, node: string, untilMs: number): Promise<Sweep> {
  let killed = 0;
  const refused = new Map<number, string>();
  for (let round = 1; ; round++) {
    const rows = await queryRowsWithin(
      conn,
      `SELECT ID AS id, USER AS user, HOST AS host FROM information_schema.PROCESSLIST WHERE ${CLIENTS} AND ID <> CONNECTION_ID()`,
      NODE_ANSWER_MS,
      node,
      'the process list',
    );
    const foreign = rows.filter((r) => !ours.has(Number(r['id'])));
    if (foreign.length === 0) return { killed, rounds: round, left: [] };
    const pending = foreign.filter((r) => !refused.has(Number(r['id'])));
    if (pending.length === 0 || (round > 1 && performance.now() >= untilMs)) {
      return {
        killed,
        rounds: round,
        left: foreign.map(
          (r) => `connection ${r['id']} of ${r['user']}@${r['host']}${refused.has(Number(r['id'])) ? ` (KILL refused: ${refused.get(Number(r['id']))})` : ''}`,
        ),
      };
    }
    // Sent back to back on one connection; one answer each.
    await Promise.all(
      pending.map((r) =>
        queryRowsWithin(conn, `KILL CONNECTION ${Number(r['id'])}`, NODE_ANSWER_MS, node).then(
          () => void killed++,
          (e: unknown) => {
            // A session that ended meanwhile is fine; a server that stopped answering is not.
            if (e instanceof NodeSilentError || isConnectionLoss(e)) throw e;
            if ((e as { errno?: number }).errno !== 1094) refused.set(Number(r['id']), messageOf(e));
          },
        ),
      ),
    );
  }
}
