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
    expect(phasePolicy(refused('1054'), [], { readBack: 0, unobserved: [] }, 10, '').value).toBe('post-deploy');
    expect(phasePolicy(refused('22001', 'postgres'), [], { readBack: 0, unobserved: [] }, 10, '').value).toBe('post-deploy');
    // A new UNIQUE refusing the old code's duplicate: a data reason, the migration is still an expand step.
    expect(phasePolicy(refused('1062'), [], { readBack: 0, unobserved: [] }, 10, '').value).toBe('pre-deploy');
    expect(phasePolicy([...refused('1062'), ...refused('1406')], [], { readBack: 0, unobserved: [] }, 10, '').value).toBe('post-deploy');
    expect(phasePolicy([], [], { readBack: 0, unobserved: [] }, 10, '').value).toBe('pre-deploy');
  });

  it('post-deploy when an old write runs but stores another value (a rounded decimal)', () => {
    const m = phasePolicy(
      [],
      [{ statement: 'INSERT INTO t (p) VALUES (1.55)', before: '["1.55"]', after: '["1.6"]' }],
      { readBack: 0, unobserved: [] },
      10,
      '',
    );
    expect(m.value).toBe('post-deploy');
    expect(m.altered).toHaveLength(1);
  });

  it('a refusal it cannot class leaves the phase unmeasured', () => {
    expect(phasePolicy(refused('1205'), [], { readBack: 0, unobserved: [] }, 10, '').value).toBe('unmeasured');
  });

  it('counts the old writes whose stored values it could not read back, in the evidence and by statement', () => {
    const insert = 'INSERT INTO t VALUES (1, 2)';
    const m = phasePolicy([], [], { readBack: 3, unobserved: [insert] }, 10, '');
    // Pre-deploy would claim no old write changes meaning: with one unseen, that is not measured.
    expect(m.value).toBe('unmeasured');
    // A name refused already decides post-deploy, whatever the unseen writes store.
    expect(phasePolicy(refused('1054'), [], { readBack: 3, unobserved: [insert] }, 10, '').value).toBe('post-deploy');
    expect(m.evidence).toMatch(/; 1 of 4 old INSERT\/UPDATE statements that run after up could not be read back .* e\.g\. INSERT INTO t VALUES \(1, 2\)$/);
    expect(m.unobserved).toEqual([insert]);
    const all = phasePolicy([], [], { readBack: 3, unobserved: [] }, 10, '');
    expect(all.unobserved).toBeUndefined();
    expect(all.evidence).toMatch(/; all 3 old INSERT\/UPDATE statements that run after up were read back and compared/);
  });
});
