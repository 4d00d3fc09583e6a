import { describe, expect, it } from 'vitest';
import { flavorFor, flavorNameFromVersion } from '../../src/engines/index.ts';

const src = { host: '10.0.0.5', port: 3307, user: 'repl', password: "p'w\\x" };

describe('flavor SQL', () => {
  it('MariaDB uses SLAVE/MASTER words, MASTER_USE_GTID and MASTER_GTID_WAIT', () => {
    const f = flavorFor('mariadb');
    expect(f.stopReplica()).toBe('STOP SLAVE');
    expect(f.resetReplicaAll()).toBe('RESET SLAVE ALL');
    expect(f.changeSource(src, 'current_pos')[0]).toBe(
      "CHANGE MASTER TO MASTER_HOST='10.0.0.5', MASTER_PORT=3307, MASTER_USER='repl', MASTER_PASSWORD='p''w\\\\x', MASTER_USE_GTID=current_pos, MASTER_CONNECT_RETRY=1",
    );
    expect(f.waitForGtid('0-1-42', 2.5)).toBe("SELECT MASTER_GTID_WAIT('0-1-42', 2.5) AS res");
    expect(f.setReadOnly(true)).toEqual(['SET GLOBAL read_only=ON']);
    expect(f.typeConversionVariable()).toBe('slave_type_conversions');
  });

  it('MySQL 8.4 uses REPLICA/SOURCE syntax, super_read_only and WAIT_FOR_EXECUTED_GTID_SET', () => {
    const f = flavorFor('mysql84');
    expect(f.stopReplica()).toBe('STOP REPLICA');
    expect(f.resetReplicaAll()).toBe('RESET REPLICA ALL');
    expect(f.showReplicaStatus()).toBe('SHOW REPLICA STATUS');
    const change = f.changeSource(src, 'slave_pos')[0] ?? '';
    expect(change).toMatch(/^CHANGE REPLICATION SOURCE TO SOURCE_HOST='10\.0\.0\.5', SOURCE_PORT=3307/);
    expect(change).toContain('SOURCE_AUTO_POSITION=1');
    expect(change).not.toMatch(/MASTER|SLAVE/);
    expect(f.setReadOnly(true)).toEqual(['SET GLOBAL super_read_only=ON']);
    expect(f.setReadOnly(false)).toEqual(['SET GLOBAL super_read_only=OFF', 'SET GLOBAL read_only=OFF']);
    expect(f.waitForGtid('uuid:1-10', 3)).toBe("SELECT WAIT_FOR_EXECUTED_GTID_SET('uuid:1-10', 3) AS res");
    expect(f.errantGtidQuery('a:1-5', 'a:1-4')).toBe("SELECT GTID_SUBTRACT('a:1-5', 'a:1-4') AS errant");
    expect(f.typeConversionVariable()).toBe('replica_type_conversions');
  });

  it('parses replica status rows of each flavor into one shape', () => {
    const m = flavorFor('mariadb').parseReplicaStatus({
      Slave_IO_Running: 'Yes',
      Slave_SQL_Running: 'No',
      Last_SQL_Errno: 1677,
      Last_SQL_Error: 'conv',
      Seconds_Behind_Master: null,
      Master_Host: 'h',
      Master_Port: 1,
    });
    expect(m).toMatchObject({ ioRunning: true, sqlRunning: false, lastSqlErrno: 1677, secondsBehind: null });
    const y = flavorFor('mysql80').parseReplicaStatus({
      Replica_IO_Running: 'Yes',
      Replica_SQL_Running: 'Yes',
      Seconds_Behind_Source: '3',
      Source_Host: 'h',
      Source_Port: 3306,
    });
    expect(y).toMatchObject({ ioRunning: true, sqlRunning: true, secondsBehind: 3, sourcePort: 3306 });
  });

  it('picks the flavor from the server version string', () => {
    expect(flavorNameFromVersion('10.11.19-MariaDB-0+deb12u1')).toBe('mariadb');
    expect(flavorNameFromVersion('8.0.36')).toBe('mysql80');
    expect(flavorNameFromVersion('8.4.2')).toBe('mysql84');
    expect(flavorNameFromVersion('9.1.0')).toBe('mysql84');
  });
});
