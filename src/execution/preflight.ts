import type { NodeConfig } from '../config/index.ts';
import { workError } from '../errors.ts';
import { flavorFor, flavorNameFromVersion, type Flavor } from '../engines/index.ts';
import { openNode, queryOne, queryRows } from '../topology/index.ts';
import { CLIENTS } from './sessions.ts';

/** A user that writes through MariaDB's read_only (READ_ONLY ADMIN; SUPER before 10.11). */
export interface ReadOnlyBypass {
  user: string;
  privileges: string[];
  /** Its client sessions on the primary now. */
  sessions: number;
  /** One of the application users of the config. */
  appUser: boolean;
}

/**
 * Who on the primary can write through read_only, and how many of their sessions are connected:
 * those sessions are ended at the switchover whatever their user, and a client of theirs that
 * reconnects to the old primary directly could still write there (a fork the run then reports).
 * Root and admin tools usually have these privileges; the operator should know before the block.
 */
export async function readOnlyBypassers(flavor: Flavor, primary: NodeConfig, appUsers: string[]): Promise<ReadOnlyBypass[]> {
  // MySQL's super_read_only (what the MySQL flavors set) stops SUPER holders too.
  if (!flavor.readOnlyHasBypass) return [];
  const c = await openNode(primary);
  try {
    const grants = await queryRows(
      c,
      `SELECT GRANTEE AS g, PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES
        WHERE PRIVILEGE_TYPE IN ('SUPER', 'READ_ONLY ADMIN', 'READ ONLY ADMIN')`,
    );
    const sessions = await queryRows(
      c,
      `SELECT USER AS u, COUNT(*) AS n FROM information_schema.PROCESSLIST
        WHERE ${CLIENTS} AND ID <> CONNECTION_ID()
        GROUP BY USER`,
    );
    const byUser = new Map<string, Set<string>>();
    for (const r of grants) {
      const user = /^'((?:[^']|'')*)'@/.exec(String(r['g']))?.[1]?.replace(/''/g, "'");
      if (user === undefined) continue;
      byUser.set(user, (byUser.get(user) ?? new Set()).add(String(r['p'])));
    }
    const count = new Map(sessions.map((r) => [String(r['u']), Number(r['n'])]));
    return [...byUser]
      .map(([user, privileges]) => ({ user, privileges: [...privileges].sort(), sessions: count.get(user) ?? 0, appUser: appUsers.includes(user) }))
      .filter((b) => b.sessions > 0 || b.appUser)
      .sort((a, b) => b.sessions - a.sessions || a.user.localeCompare(b.user));
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** What the operator reads before the block about the users that bypass read_only. */
export function describeBypassers(primary: string, list: ReadOnlyBypass[]): string | undefined {
  if (list.length === 0) return undefined;
  const who = list
    .map(
      (b) =>
        `${b.user}${b.appUser ? ' (an application user of the config)' : ''}: ${b.sessions} session${b.sessions === 1 ? '' : 's'}, ${b.privileges.join(', ')}`,
    )
    .join('; ');
  return (
    `users that write through read_only on ${primary}: ${who}. ` +
    `At the switchover every session on ${primary} but the coordinator's and replication's is ended, theirs too, after read_only is set and the endpoint moved; their clients must reconnect through the endpoint. ` +
    `A client that reconnects to ${primary} itself and writes there in the instant before UNLOCK forks the data: the run then stops with a FORK error naming the transactions.`
  );
}

/** The candidate must not hold transactions the primary does not have. */
export async function checkNoErrantGtids(flavor: Flavor, primary: NodeConfig, candidate: NodeConfig): Promise<void> {
  const p = await openNode(primary);
  const c = await openNode(candidate);
  try {
    // Candidate first: read the other way round, a busy primary's position could be older than
    // what the candidate has replicated by the time it is read, and look like errant GTIDs.
    const cp = String((await queryOne(c, flavor.gtidPositionQuery()))?.['pos'] ?? '');
    const pp = String((await queryOne(p, flavor.gtidPositionQuery()))?.['pos'] ?? '');
    const q = flavor.errantGtidQuery(cp, pp);
    const errant = q ? String((await queryOne(p, q))?.['errant'] ?? '').trim() : flavor.errantGtids(cp, pp).join(',');
    if (errant) {
      throw workError(
        `The candidate ${candidate.name} has transactions the primary ${primary.name} does not (errant GTIDs ${errant}); promoting it would make them the truth and break replication for the others.`,
        `Find what wrote on ${candidate.name} (its binary log at ${errant}), reconcile by hand, then run again. Nothing was changed.`,
      );
    }
  } finally {
    await Promise.all([p.end(), c.end()].map((x) => x.catch(() => undefined)));
  }
}

/** The candidate must write a binary log of what it applies, or the others cannot follow it. */
export async function checkCandidateLogs(candidate: NodeConfig): Promise<void> {
  const c = await openNode(candidate);
  try {
    // The variable's name is the candidate's flavor's.
    const lsu = flavorFor(flavorNameFromVersion(String((await queryOne(c, 'SELECT VERSION() AS v'))?.['v'] ?? ''))).logReplicaUpdatesVariable();
    const r = await queryOne(c, `SELECT @@log_bin AS lb, @@${lsu} AS lsu, @@binlog_format AS bf`);
    const problems: string[] = [];
    if (Number(r?.['lb']) !== 1) problems.push('log_bin is OFF');
    if (Number(r?.['lsu']) !== 1) problems.push(`${lsu} is OFF`);
    if (String(r?.['bf']).toUpperCase() !== 'ROW') problems.push(`binlog_format is ${r?.['bf']}, not ROW`);
    if (problems.length) {
      throw workError(
        `The candidate ${candidate.name} cannot become the primary: ${problems.join(', ')}.`,
        `Set log_bin, ${lsu}=ON and binlog_format=ROW on ${candidate.name} (restart needed for log_bin), then run again. Nothing was changed.`,
      );
    }
  } finally {
    await c.end().catch(() => undefined);
  }
}
