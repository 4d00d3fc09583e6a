/**
 * A fork: the old primary committed transactions after the switchover that the new primary never
 * got. Only a client that bypasses read_only (SUPER / READ ONLY ADMIN: root, admin tools, cron
 * jobs) can do that, by writing on the old primary after its sessions were ended (a direct
 * reconnect in the instant before UNLOCK). Those writes were acknowledged to their client and exist
 * only on a node that is no longer the primary, so this is reported as what it is, with the
 * evidence read from the old primary's binary log and the way back, never as a replication error.
 */
import { MigrateError } from '../errors.ts';
import type { Flavor } from '../engines/index.ts';
import { mysqlString } from '../engines/index.ts';
import { NODE_ANSWER_MS, queryOneWithin, queryRowsWithin, type NodeConnection } from '../topology/index.ts';

export interface BinlogCoordinates {
  file: string;
  pos: number;
}

/** What the old primary's binary log says the errant transactions were. */
export interface ForkEvidence {
  /** The old primary, fenced. */
  node: string;
  /** The new primary, which never got them. */
  newPrimary: string;
  /** Every errant GTID, in binary-log order (the per-domain summary when the log could not be read). */
  gtids: string[];
  /** Tables they wrote (db.table), and any statement they ran (DDL). */
  tables: string[];
  statements: string[];
  /** Where in the old primary's binary log they begin. */
  from?: BinlogCoordinates;
  /**
   * MariaDB: the GTID position the old primary really has without them (what it had before the
   * fork, or what it applied from the new primary since): where it resumes replicating from.
   */
  resumeFrom?: string;
}

export class ForkError extends MigrateError {
  constructor(readonly evidence: ForkEvidence) {
    const e = evidence;
    const n = e.gtids.length;
    super(
      'work',
      `FORK: the old primary ${e.node} committed ${n} transaction${n === 1 ? '' : 's'} after the switchover that the new primary ${e.newPrimary} does not have ` +
        `(errant GTID${n === 1 ? '' : 's'} ${e.gtids.join(', ')}${e.tables.length ? `; tables ${e.tables.join(', ')}` : ''}${e.statements.length ? `; statements: ${e.statements.join(' | ')}` : ''}). ` +
        `A client that bypasses read_only (SUPER / READ ONLY ADMIN, e.g. root) wrote on ${e.node} directly after its sessions were ended; its client was told these writes committed, but they exist only on ${e.node}.`,
      recoverySteps(e),
    );
    this.name = 'ForkError';
  }
}

/** The way back, in the order an operator takes it. */
export function recoverySteps(e: ForkEvidence): string {
  const where = e.from
    ? `SHOW BINLOG EVENTS IN ${mysqlString(e.from.file)} FROM ${e.from.pos} (or mysqlbinlog --start-position=${e.from.pos} ${e.from.file} in its datadir)`
    : 'its binary log (SHOW BINARY LOGS, then SHOW BINLOG EVENTS)';
  return (
    `${e.node} is fenced: read-only, out of the endpoint, its replication stopped; ${e.newPrimary} is the primary and takes writes, the other replicas follow it. ` +
    `1) Read the errant transactions on ${e.node}: ${where}. ` +
    `2) Re-apply on ${e.newPrimary}, through the endpoint, whatever of them must be kept. ` +
    `3) Rebuild ${e.node} from a copy of ${e.newPrimary} (e.g. mariabackup); or undo their changes on ${e.node} by hand with sql_log_bin=0 and drop them from its history: ${
      e.resumeFrom !== undefined
        ? `on ${e.node}: SET SESSION sql_log_bin=0; <undo>; RESET MASTER; SET GLOBAL gtid_slave_pos = ${mysqlString(e.resumeFrom)} (what it had before the fork and from ${e.newPrimary} since, without them)`
        : `on ${e.node}: RESET MASTER, then SET GLOBAL gtid_purged to its former gtid_executed without them`
    }. ` +
    `4) Run \`migrate resume\`: it checks ${e.node} holds nothing ${e.newPrimary} lacks, re-points it and finishes the migration. Do not START SLAVE on ${e.node} before that: its replication would stop at the first conflicting GTID (error 1950 or 1236).`
  );
}

/** The node's transaction state and its own writer identity (flavor.gtidStateQuery()). */
export async function readGtidState(c: NodeConnection, flavor: Flavor, node: string, ms = NODE_ANSWER_MS): Promise<{ state: string; sid: string }> {
  const r = await queryOneWithin(c, flavor.gtidStateQuery(), ms, node, 'the GTID state');
  return { state: String(r?.['state'] ?? ''), sid: String(r?.['sid'] ?? '') };
}

export async function readBinlogCoordinates(c: NodeConnection, flavor: Flavor, node: string): Promise<BinlogCoordinates | undefined> {
  const r = await queryOneWithin(c, flavor.binlogStatusQuery(), NODE_ANSWER_MS, node, 'the binary log position');
  return r?.['File'] ? { file: String(r['File']), pos: Number(r['Position']) } : undefined;
}

/** A GTID in a Gtid event's Info: MariaDB "BEGIN GTID 0-1-5" / "GTID 0-1-5", MySQL "SET @@SESSION.GTID_NEXT= 'uuid:5'". */
const GTID_IN_INFO = /GTID(?:_NEXT=\s*')?\s*((?:[0-9a-f]{8}-[0-9a-f-]{27}:\d+)|(?:\d+-\d+-\d+))/i;
const TABLE_IN_INFO = /\(([^)]+)\)\s*$/;
/** A statement that sets a password shows '***' in place of every string literal. */
function maskCredentials(sql: string): string {
  return /IDENTIFIED|PASSWORD/i.test(sql) ? sql.replace(/'(?:[^'\\]|\\.|'')*'/g, "'***'") : sql;
}

/** Events read at most: enough for any fork a switchover can produce, bounded for a busy binary log. */
const MAX_EVENTS = 20_000;

/**
 * The transactions server `sid` wrote into the node's binary log from `from` on (every later log
 * file too): their GTIDs, the tables their row events touched, and any statement they ran.
 */
export async function readOwnTransactions(
  c: NodeConnection,
  node: string,
  from: BinlogCoordinates,
  sid: string,
): Promise<Pick<ForkEvidence, 'gtids' | 'tables' | 'statements'>> {
  const files = (await queryRowsWithin(c, 'SHOW BINARY LOGS', NODE_ANSWER_MS, node, 'the binary log list')).map((r) => String(r['Log_name']));
  const start = files.indexOf(from.file);
  const gtids: string[] = [];
  const tables = new Set<string>();
  const statements: string[] = [];
  let read = 0;
  for (const file of start >= 0 ? files.slice(start) : [from.file]) {
    const events = await queryRowsWithin(
      c,
      `SHOW BINLOG EVENTS IN ${mysqlString(file)}${file === from.file ? ` FROM ${Math.trunc(from.pos)}` : ''} LIMIT ${MAX_EVENTS - read}`,
      NODE_ANSWER_MS,
      node,
      'its binary log',
    );
    read += events.length;
    let ours = false;
    for (const ev of events) {
      const type = String(ev['Event_type'] ?? '');
      const info = String(ev['Info'] ?? '');
      if (type === 'Gtid') {
        ours = String(ev['Server_id']) === sid;
        const g = GTID_IN_INFO.exec(info)?.[1];
        if (ours && g) gtids.push(g);
        continue;
      }
      if (!ours) continue;
      if (type === 'Table_map') {
        const t = TABLE_IN_INFO.exec(info)?.[1];
        if (t) tables.add(t);
      } else if (type === 'Query' && !/^(BEGIN|COMMIT|XA )/i.test(info.trim())) {
        statements.push(maskCredentials(info.trim().replace(/\s+/g, ' ')).slice(0, 200));
      }
    }
    if (read >= MAX_EVENTS) break;
  }
  return { gtids, tables: [...tables].sort(), statements: statements.slice(0, 10) };
}
