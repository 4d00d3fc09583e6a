import type { Flavor, FlavorName, GtidStart, ReplicationSource, ReplicationStatus } from './flavor.ts';
import { mysqlOwnBeyond } from './gtid.ts';
import { mysqlString } from './quote.ts';

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

/**
 * MySQL 8.0.23+ and 8.4: REPLICA/SOURCE syntax (8.4 removed the SLAVE/MASTER words),
 * super_read_only, WAIT_FOR_EXECUTED_GTID_SET, GTID_SUBTRACT for errant transactions.
 */
function mysqlFlavor(name: FlavorName): Flavor {
  return {
    name,
    showReplicaStatus: () => 'SHOW REPLICA STATUS',
    parseReplicaStatus(row): ReplicationStatus {
      return {
        ioRunning: row['Replica_IO_Running'] === 'Yes',
        sqlRunning: row['Replica_SQL_Running'] === 'Yes',
        lastIoError: String(row['Last_IO_Error'] ?? ''),
        lastSqlError: String(row['Last_SQL_Error'] ?? ''),
        lastSqlErrno: num(row['Last_SQL_Errno']),
        secondsBehind: row['Seconds_Behind_Source'] === null || row['Seconds_Behind_Source'] === undefined ? null : num(row['Seconds_Behind_Source']),
        sourceHost: String(row['Source_Host'] ?? ''),
        sourcePort: num(row['Source_Port']),
      };
    },
    stopReplica: () => 'STOP REPLICA',
    startReplica: () => 'START REPLICA',
    resetReplicaAll: () => 'RESET REPLICA ALL',
    // MySQL auto-positioning ignores the MariaDB start mode: the executed set decides.
    changeSource(src: ReplicationSource, _start: GtidStart): string[] {
      return [
        `CHANGE REPLICATION SOURCE TO SOURCE_HOST=${mysqlString(src.host)}, SOURCE_PORT=${Math.trunc(src.port)}, ` +
          `SOURCE_USER=${mysqlString(src.user)}, SOURCE_PASSWORD=${mysqlString(src.password)}, ` +
          `SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, GET_SOURCE_PUBLIC_KEY=1`,
      ];
    },
    // super_read_only=ON also sets read_only and stops SUPER holders; switching off clears
    // super_read_only first because read_only=OFF alone is refused while it is set in some 8.0s.
    setReadOnly: (on) => (on ? ['SET GLOBAL super_read_only=ON'] : ['SET GLOBAL super_read_only=OFF', 'SET GLOBAL read_only=OFF']),
    readOnlyQuery: () => 'SELECT @@GLOBAL.read_only AS ro',
    gtidPositionQuery: () => 'SELECT @@GLOBAL.gtid_executed AS pos',
    gtidStateQuery: () => 'SELECT @@GLOBAL.gtid_executed AS state, @@GLOBAL.server_uuid AS sid',
    ownTransactionsBeyond: (reference, state, sid) => mysqlOwnBeyond(reference, state, sid),
    // 8.4 removed SHOW MASTER STATUS.
    binlogStatusQuery: () => (name === 'mysql84' ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS'),
    waitForGtid: (pos, timeoutSec) => `SELECT WAIT_FOR_EXECUTED_GTID_SET(${mysqlString(pos)}, ${Number(timeoutSec)}) AS res`,
    isWaitOk: (res) => Number(res) === 0,
    errantGtidQuery: (candidatePos, primaryPos) => `SELECT GTID_SUBTRACT(${mysqlString(candidatePos)}, ${mysqlString(primaryPos)}) AS errant`,
    showReplicasQuery: () => 'SHOW REPLICAS',
    joinReplicationHint: () => 'CHANGE REPLICATION SOURCE TO ... SOURCE_AUTO_POSITION=1; START REPLICA',
    readOnlyHasBypass: false,
    errantGtids: () => [],
    // The name the coordinator has always read (log_replica_updates is its name since 8.0.26).
    logReplicaUpdatesVariable: () => 'log_slave_updates',
    disableBinlogForSession: () => 'SET SESSION sql_log_bin=0',
    typeConversionVariable: () => 'replica_type_conversions',
    replicatedBeforeQuery: () => null,
    resumeAfterFork: () => undefined,
  };
}

export const mysql80 = mysqlFlavor('mysql80');
export const mysql84 = mysqlFlavor('mysql84');

/** Picks the flavor from SELECT VERSION(). */
export function flavorNameFromVersion(version: string): FlavorName {
  if (/mariadb/i.test(version)) return 'mariadb';
  const m = /^(\d+)\.(\d+)/.exec(version);
  const major = m ? Number(m[1]) : 0;
  const minor = m ? Number(m[2]) : 0;
  return major > 8 || (major === 8 && minor >= 4) ? 'mysql84' : 'mysql80';
}
