import { describe, expect, it } from 'vitest';
import {
  mariadbErrantGtids,
  mariadbLaterOf,
  mariadbOwnBeyond,
  mysqlOwnBeyond,
  parseMariadbGtidList,
  parseMariadbGtidState,
  parseMysqlGtidSet,
} from '../../src/engines/mysql/gtid.ts';

describe('MariaDB GTID positions', () => {
  it('parses one entry per domain', () => {
    const m = parseMariadbGtidList('0-1-100, 2-5-7');
    expect(m.get(0)).toEqual({ domain: 0, server: 1, seq: 100 });
    expect(m.get(2)).toEqual({ domain: 2, server: 5, seq: 7 });
    expect(parseMariadbGtidList('').size).toBe(0);
  });

  it('finds no errant transactions on a replica that is behind or equal', () => {
    expect(mariadbErrantGtids('0-1-90', '0-1-100')).toEqual([]);
    expect(mariadbErrantGtids('0-1-100', '0-1-100')).toEqual([]);
    expect(mariadbErrantGtids('', '0-1-100')).toEqual([]);
  });

  it('flags a local write on the candidate (higher sequence) and a domain the primary never had', () => {
    expect(mariadbErrantGtids('0-2-101', '0-1-100')).toEqual(['0-2-101']);
    expect(mariadbErrantGtids('0-1-100,9-2-3', '0-1-100')).toEqual(['9-2-3']);
  });

  it('rejects text that is not a GTID list', () => {
    expect(() => parseMariadbGtidList('abc')).toThrow(/not a MariaDB GTID/);
  });
});

describe("a node's own transactions beyond a reference (fork detection)", () => {
  it('MariaDB: reads gtid_binlog_state as one entry per (domain, server)', () => {
    expect(parseMariadbGtidState('0-1-100,0-2-57, 1-1-3')).toEqual([
      { domain: 0, server: 1, seq: 100 },
      { domain: 0, server: 2, seq: 57 },
      { domain: 1, server: 1, seq: 3 },
    ]);
    expect(() => parseMariadbGtidState('0-1')).toThrow(/not a MariaDB GTID/);
  });

  it('MariaDB: what the old primary wrote after the lock, not what it replicated from the new primary', () => {
    const locked = '0-1-100';
    // It applied the new primary's 0-2-101..105: replicated, not its own.
    expect(mariadbOwnBeyond(locked, '0-1-100,0-2-105', '1')).toEqual([]);
    // It wrote 0-1-106 itself after UNLOCK: a fork.
    expect(mariadbOwnBeyond(locked, '0-1-106,0-2-105', '1')).toEqual(['0-1-106']);
    // A domain it never wrote in before.
    expect(mariadbOwnBeyond(locked, '0-1-100,3-1-1', '1')).toEqual(['3-1-1']);
    // Compared with the new primary's state: everything it has from server 1 is there.
    expect(mariadbOwnBeyond('0-1-100,0-2-300', '0-1-100,0-2-120', '1')).toEqual([]);
    expect(mariadbOwnBeyond('0-1-100,0-2-300', '0-1-101,0-2-100', '1')).toEqual(['0-1-101']);
    // Reconciled (RESET MASTER on the old primary): nothing of its own left.
    expect(mariadbOwnBeyond('0-1-100,0-2-300', '', '1')).toEqual([]);
  });

  it("MySQL: subtracts GTID sets of the node's own UUID", () => {
    const a = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
    const b = '4f22ab58-82db-22f2-af44-d91bba53a673';
    expect([...parseMysqlGtidSet(`${a}:1-5:7, ${b}:1-3`)]).toEqual([
      [
        a,
        [
          [1, 5],
          [7, 7],
        ],
      ],
      [b, [[1, 3]]],
    ]);
    expect(mysqlOwnBeyond(`${a}:1-100`, `${a}:1-100,${b}:1-50`, a)).toEqual([]);
    expect(mysqlOwnBeyond(`${a}:1-100`, `${a}:1-102,${b}:1-50`, a)).toEqual([`${a}:101-102`]);
    expect(mysqlOwnBeyond(`${a}:1-10:20-30`, `${a}:1-30`, a.toUpperCase())).toEqual([`${a}:11-19`]);
    expect(() => parseMysqlGtidSet('nope:1')).toThrow(/not a MySQL GTID set/);
  });

  it('MariaDB: the later of two positions per domain (where a forked node resumes from)', () => {
    expect(mariadbLaterOf('0-1-100', '')).toBe('0-1-100');
    expect(mariadbLaterOf('0-1-100', '0-2-105')).toBe('0-2-105');
    expect(mariadbLaterOf('0-1-100,1-1-9', '0-2-40,2-3-1')).toBe('0-1-100,1-1-9,2-3-1');
  });
});
