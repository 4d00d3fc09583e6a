/**
 * Everything that differs between server flavors, in one interface, so the coordinator never
 * branches on the flavor. Builders return SQL text; nothing here talks to a server.
 * Values interpolated into SQL are quoted with the flavor's own quoting (see quote.ts).
 */
export type FlavorName = 'mariadb' | 'mysql80' | 'mysql84';

export interface ReplicationSource {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** How a node that will replicate picks its starting point (MariaDB GTID modes). */
export type GtidStart = 'current_pos' | 'slave_pos';

export interface ReplicationStatus {
  ioRunning: boolean;
  sqlRunning: boolean;
  lastIoError: string;
  lastSqlError: string;
  lastSqlErrno: number;
  secondsBehind: number | null;
  sourceHost: string;
  sourcePort: number;
}

export interface Flavor {
  readonly name: FlavorName;
  /** Statement that reads the replication status (one row, or none when not a replica). */
  showReplicaStatus(): string;
  /** Maps a row of showReplicaStatus() to a flavor-neutral status. */
  parseReplicaStatus(row: Record<string, unknown>): ReplicationStatus;
  stopReplica(): string;
  startReplica(): string;
  /** Forget the replication source entirely (promotion). */
  resetReplicaAll(): string;
  changeSource(src: ReplicationSource, start: GtidStart): string[];
  /** Statements that make the node refuse writes (read_only, plus super_read_only on MySQL). */
  setReadOnly(on: boolean): string[];
  readOnlyQuery(): string;
  /** The query returning the node's executed GTID position as column `pos`. */
  gtidPositionQuery(): string;
  /**
   * The query returning, as column `state`, every transaction the node's binary log holds with
   * who wrote it (MariaDB gtid_binlog_state, MySQL gtid_executed), and as column `sid` the
   * node's own writer identity in those GTIDs (server_id, server_uuid).
   */
  gtidStateQuery(): string;
  /**
   * Transactions written by `sid` that `state` holds and `reference` does not (both read with
   * gtidStateQuery): a node's own writes since a recorded state, or the writes of one node that
   * another never received. Empty when there are none.
   */
  ownTransactionsBeyond(reference: string, state: string, sid: string): string[];
  /** The binary log the node writes now and the position in it, as columns `File` and `Position`. */
  binlogStatusQuery(): string;
  /** Wait until `pos` is executed or `timeoutSec` passes; returns column `res`: 0 ok, else timeout. */
  waitForGtid(pos: string, timeoutSec: number): string;
  isWaitOk(res: unknown): boolean;
  /** GTIDs on the candidate not present on the primary (errant transactions), as column `errant`. */
  errantGtidQuery(candidatePos: string, primaryPos: string): string | null;
  /** The replicas connected to this node (one row each). */
  showReplicasQuery(): string;
  /** For hints: how a server is made to replicate from this flavor's source, in words an operator types. */
  joinReplicationHint(): string;
  /**
   * Whether holders of a privilege (MariaDB: READ ONLY ADMIN, SUPER before 10.11) write through
   * setReadOnly(true); MySQL's super_read_only stops SUPER holders too.
   */
  readonly readOnlyHasBypass: boolean;
  /**
   * Errant transactions worked out in the coordinator when errantGtidQuery() is null (MariaDB:
   * per-domain positions compared); empty otherwise.
   */
  errantGtids(candidatePos: string, primaryPos: string): string[];
  /** The server variable that tells whether a replica writes what it applies to its own binary log. */
  logReplicaUpdatesVariable(): string;
  /** Session statement that keeps an ALTER out of the binary log. */
  disableBinlogForSession(): string;
  /** Server variable for row-based type conversions on a replica. */
  typeConversionVariable(): string;
  /**
   * Query whose column `p` is non-empty once the node has ever applied replicated events, or null
   * when the flavor keeps no such trace (MySQL forgets it with RESET REPLICA ALL).
   */
  replicatedBeforeQuery(): string | null;
  /**
   * Where a fenced old primary resumes replicating after a fork: the later of its own position and
   * what it had applied from the new primary (`replicatedBefore`, read with replicatedBeforeQuery).
   * Undefined when the flavor cannot say (MySQL: the GTID set is the position; nothing to merge).
   */
  resumeAfterFork(ownPosition: string, replicatedBefore: string): string | undefined;
}
