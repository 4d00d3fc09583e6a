import type { Flavor, GtidStart, ReplicationSource, ReplicationStatus } from './flavor.ts';
import { mariadbErrantGtids, mariadbLaterOf, mariadbOwnBeyond } from './gtid.ts';
import { mysqlString } from './quote.ts';

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/** MariaDB 10.x: SLAVE / MASTER words, domain-based GTIDs, MASTER_GTID_WAIT. */
export const mariadb: Flavor = {
  name: 'mariadb',
  showReplicaStatus: () => 'SHOW SLAVE STATUS',
  parseReplicaStatus(row): ReplicationStatus {
    return {
      ioRunning: row['Slave_IO_Running'] === 'Yes',
      sqlRunning: row['Slave_SQL_Running'] === 'Yes',
      lastIoError: String(row['Last_IO_Error'] ?? ''),
      lastSqlError: String(row['Last_SQL_Error'] ?? ''),
      lastSqlErrno: num(row['Last_SQL_Errno']),
      secondsBehind: row['Seconds_Behind_Master'] === null || row['Seconds_Behind_Master'] === undefined ? null : num(row['Seconds_Behind_Master']),
      sourceHost: String(row['Master_Host'] ?? ''),
      sourcePort: num(row['Master_Port']),
    };
  },
  stopReplica: () => 'STOP SLAVE',
  startReplica: () => 'START SLAVE',
  resetReplicaAll: () => 'RESET SLAVE ALL',
  changeSource(src: ReplicationSource, start: GtidStart): string[] {
    return [
      `CHANGE MASTER TO MASTER_HOST=${mysqlString(src.host)}, MASTER_PORT=${Math.trunc(src.port)}, ` +
        `MASTER_USER=${mysqlString(src.user)}, MASTER_PASSWORD=${mysqlString(src.password)}, ` +
        `MASTER_USE_GTID=${start}, MASTER_CONNECT_RETRY=1`,
    ];
  },
  // MariaDB has no super_read_only; READ ONLY ADMIN holders bypass read_only (checked in preflight).
  setReadOnly: (on) => [`SET GLOBAL read_only=${on ? 'ON' : 'OFF'}`],
  readOnlyQuery: () => 'SELECT @@GLOBAL.read_only AS ro',
  gtidPositionQuery: () => 'SELECT @@GLOBAL.gtid_binlog_pos AS pos',
  gtidStateQuery: () => 'SELECT @@GLOBAL.gtid_binlog_state AS state, @@GLOBAL.server_id AS sid',
  ownTransactionsBeyond: (reference, state, sid) => mariadbOwnBeyond(reference, state, sid),
  binlogStatusQuery: () => 'SHOW MASTER STATUS',
  waitForGtid: (pos, timeoutSec) => `SELECT MASTER_GTID_WAIT(${mysqlString(pos)}, ${Number(timeoutSec)}) AS res`,
  isWaitOk: (res) => Number(res) === 0,
  // MariaDB GTIDs are per-domain sequence numbers; errant-transaction detection compares
  // per-domain positions in the coordinator instead of a server function.
  errantGtidQuery: () => null,
  showReplicasQuery: () => 'SHOW SLAVE HOSTS',
  joinReplicationHint: () => 'CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos; START SLAVE',
  readOnlyHasBypass: true,
  errantGtids: (candidatePos, primaryPos) => mariadbErrantGtids(candidatePos, primaryPos),
  logReplicaUpdatesVariable: () => 'log_slave_updates',
  disableBinlogForSession: () => 'SET SESSION sql_log_bin=0',
  typeConversionVariable: () => 'slave_type_conversions',
  // gtid_slave_pos survives RESET SLAVE ALL: a promoted replica still shows it once replicated.
  replicatedBeforeQuery: () => 'SELECT @@GLOBAL.gtid_slave_pos AS p',
  resumeAfterFork: (own, replicatedBefore) => mariadbLaterOf(own, replicatedBefore),
};
