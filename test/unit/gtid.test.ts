import { describe, expect, it } from 'vitest';
import { mariadbErrantGtids, parseMariadbGtidList } from '../../src/topology/gtid.ts';

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
