import type { NodeConfig } from '../config/types.ts';
import { workError } from '../errors.ts';
import type { Flavor } from '../topology/flavors/contract.ts';
import { mariadbErrantGtids } from '../topology/gtid.ts';
import { openNode, queryOne, queryRows } from '../topology/node-connection.ts';

/**
 * Users that write through read_only (SUPER / READ_ONLY ADMIN, or ALL PRIVILEGES on *.*) would
 * keep writing on the old primary during the block: measured here, root-like application users
 * fork the data. Checked on the primary for every application user before anything changes.
 */
export async function checkAppUsersRespectReadOnly(primary: NodeConfig, appUsers: string[]): Promise<void> {
  if (appUsers.length === 0) return;
  const c = await openNode(primary);
  try {
    const rows = await queryRows(
      c,
      `SELECT GRANTEE AS g, PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES
        WHERE PRIVILEGE_TYPE IN ('SUPER', 'READ_ONLY ADMIN', 'READ ONLY ADMIN')`,
    );
    const bad = rows.filter((r) => appUsers.some((u) => String(r['g']).startsWith(`'${u.replace(/'/g, "''")}'@`)));
    if (bad.length) {
      const list = [...new Set(bad.map((r) => `${r['g']} has ${r['p']}`))].join(', ');
      throw workError(
        `Application users can write through read_only on ${primary.name}: ${list}. During the switchover their writes would land on the old primary and fork the data.`,
        `Revoke it (e.g. REVOKE SUPER, READ_ONLY ADMIN ON *.* FROM ${bad[0]?.['g']}), or run the application with a user without it. Nothing was changed.`,
      );
    }
  } finally {
    await c.end().catch(() => undefined);
  }
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
    const errant = q ? String((await queryOne(p, q))?.['errant'] ?? '').trim() : mariadbErrantGtids(cp, pp).join(',');
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
    const r = await queryOne(c, 'SELECT @@log_bin AS lb, @@log_slave_updates AS lsu, @@binlog_format AS bf');
    const problems: string[] = [];
    if (Number(r?.['lb']) !== 1) problems.push('log_bin is OFF');
    if (Number(r?.['lsu']) !== 1) problems.push('log_slave_updates is OFF');
    if (String(r?.['bf']).toUpperCase() !== 'ROW') problems.push(`binlog_format is ${r?.['bf']}, not ROW`);
    if (problems.length) {
      throw workError(`The candidate ${candidate.name} cannot become the primary: ${problems.join(', ')}.`, `Set log_bin, log_slave_updates=ON and binlog_format=ROW on ${candidate.name} (restart needed for log_bin), then run again. Nothing was changed.`);
    }
  } finally {
    await c.end().catch(() => undefined);
  }
}

