import { describe, expect, it } from 'vitest';
import { ForkError } from '../../src/execution/fork.ts';

describe('the fork report', () => {
  const evidence = {
    node: 'db1',
    newPrimary: 'db2',
    gtids: ['0-1-101', '0-1-102'],
    tables: ['app.items'],
    statements: [],
    from: { file: 'mysql-bin.000003', pos: 4711 },
    resumeFrom: '0-1-100',
  };

  it('says FORK, names the errant GTIDs and tables, and never calls it a replication problem', () => {
    const e = new ForkError(evidence);
    expect(e.kind).toBe('work');
    expect(e.exitCode).toBe(1);
    expect(e.problem).toMatch(
      /^FORK: the old primary db1 committed 2 transactions after the switchover that the new primary db2 does not have \(errant GTIDs 0-1-101, 0-1-102; tables app\.items\)/,
    );
    expect(e.problem).not.toMatch(/replication not running/);
  });

  it('gives the recovery steps in order, with where to read the transactions and where to resume from', () => {
    const fix = new ForkError(evidence).fix;
    expect(fix).toMatch(/^db1 is fenced: read-only, out of the endpoint, its replication stopped; db2 is the primary/);
    expect(fix).toContain("SHOW BINLOG EVENTS IN 'mysql-bin.000003' FROM 4711");
    expect(fix).toContain("RESET MASTER; SET GLOBAL gtid_slave_pos = '0-1-100'");
    const order = ['1)', '2)', '3)', '4)'].map((n) => fix.indexOf(n));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(fix).toMatch(/4\) Run `migrate resume`/);
  });
});
