import { describe, expect, it } from 'vitest';
import { violations, type Invariants } from '../faults/invariants.ts';

const healthy: Invariants = {
  writable: ['replica1'],
  endpoint: 'replica1',
  haproxyReady: ['replica1'],
  writeThroughEndpoint: true,
  replicationProblems: [],
  acknowledged: 120,
  silentProbes: [],
  lost: {},
  schemaChecked: false,
  schemaProblems: [],
};

describe("the fault suites' invariants", () => {
  it('hold on a healthy cluster whose probes acknowledged writes', () => {
    expect(violations(healthy)).toEqual([]);
  });

  it('fail when a probe acknowledged nothing: "no acknowledged write lost" would hold vacuously', () => {
    expect(violations({ ...healthy, acknowledged: 0, silentProbes: ['probe_root'] })).toEqual([
      'the probe on probe_root acknowledged no write, so no loss could be seen',
    ]);
  });
});
