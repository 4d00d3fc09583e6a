import { describe, expect, it } from 'vitest';
import { type PhaseMeasurement, phasePolicy, refusalClass } from '../corpus/phase-policy.ts';

type Refused = NonNullable<PhaseMeasurement['refused']>;
const refused = (code: string, d: 'mysql' | 'postgres' = 'mysql'): Refused => [
  { statement: 'INSERT INTO t (a) VALUES (1)', code, class: refusalClass(d, code), message: 'refused' },
];

describe('the corpus phase policy (test/corpus/phase-policy.ts)', () => {
  it("classes the servers' codes: a name gone, a value outside the type, a constraint", () => {
    expect(['1054', '1146', '1406', '1265', '1366', '1062', '1452', '4025', '1048', '1364', '1205'].map((c) => refusalClass('mysql', c))).toEqual([
      'name',
      'name',
      'type',
      'type',
      'type',
      'constraint',
      'constraint',
      'constraint',
      'constraint',
      'constraint',
      'other',
    ]);
    expect(['42703', '42P01', '22001', '22003', '22P02', '23505', '23503', '23502', '23514', '55P03'].map((c) => refusalClass('postgres', c))).toEqual([
      'name',
      'name',
      'type',
      'type',
      'type',
      'constraint',
      'constraint',
      'constraint',
      'constraint',
      'other',
    ]);
  });

  it('post-deploy when an old statement loses a name or a type; pre-deploy when only a constraint refuses it', () => {
    expect(phasePolicy(undefined, refused('1054'), [], 10, '').value).toBe('post-deploy');
    expect(phasePolicy(undefined, refused('22001', 'postgres'), [], 10, '').value).toBe('post-deploy');
    // A new UNIQUE refusing the old code's duplicate: a data reason, the migration is still an expand step.
    expect(phasePolicy(undefined, refused('1062'), [], 10, '').value).toBe('pre-deploy');
    expect(phasePolicy(undefined, [...refused('1062'), ...refused('1406')], [], 10, '').value).toBe('post-deploy');
    expect(phasePolicy(undefined, [], [], 10, '').value).toBe('pre-deploy');
  });

  it('post-deploy when an old write runs but stores another value (a rounded decimal)', () => {
    const m = phasePolicy(undefined, [], [{ statement: 'INSERT INTO t (p) VALUES (1.55)', before: '["1.55"]', after: '["1.6"]' }], 10, '');
    expect(m.value).toBe('post-deploy');
    expect(m.altered).toHaveLength(1);
  });

  it('a refusal it cannot class leaves the phase unmeasured; a declared phase is the phase, with the policy in the evidence', () => {
    expect(phasePolicy(undefined, refused('1205'), [], 10, '').value).toBe('unmeasured');
    const declared = phasePolicy('pre-deploy', refused('1054'), [], 10, '');
    expect(declared.value).toBe('pre-deploy');
    expect(declared.evidence).toMatch(/declared .*the policy on the measurements alone: post-deploy/);
    expect(declared.refused?.[0]?.code).toBe('1054');
  });
});
