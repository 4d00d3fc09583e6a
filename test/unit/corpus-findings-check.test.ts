import { describe, expect, it } from 'vitest';
import { type CaseForCheck, type CheckedField, checkFindings, fieldOfRule } from '../corpus/findings-check.ts';

/** What the servers measured for a case where nothing is bad; each test makes one field bad. */
const fine = (): Record<CheckedField, { value: unknown }> => ({
  backwardCompatible: { value: true },
  dataLoss: { value: false },
  reversible: { value: true },
  blocking: { value: false },
  replicaFirstSafe: { value: true },
  replicaFirstReverseSafe: { value: true },
});
const kase = (findings: string[], more: Partial<CaseForCheck> = {}): CaseForCheck => ({
  name: 'x',
  findings,
  disagreeOn: new Set(),
  enginePhase: 'pre-deploy',
  engineBlocking: false,
  ...more,
});

describe('the corpus findings check (test/corpus/findings-check.ts)', () => {
  it("maps rules to fields by the catalog's facts", () => {
    expect(['BC102', 'WL101', 'DL102', 'RV101', 'MY101', 'PG104', 'RF105', 'RF205'].map(fieldOfRule)).toEqual([
      'backwardCompatible',
      'backwardCompatible',
      'dataLoss',
      'reversible',
      'blocking',
      'blocking',
      'replicaFirstSafe',
      'replicaFirstReverseSafe',
    ]);
    // Rules no measured field covers: a metadata-only ALTER, data the down destroys, a check on the data.
    expect(['MY202', 'RV201', 'DL107', 'PG202', 'SH301'].map(fieldOfRule)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    // The new release before a post-deploy rename: no measurement runs the new release, so no field is about it.
    expect(['BC203', 'BC204', 'WL203'].map(fieldOfRule)).toEqual([undefined, undefined, undefined]);
  });

  it('a bad field needs a finding about it at warning, error or acknowledged', () => {
    const m = { ...fine(), dataLoss: { value: true } };
    expect(checkFindings(kase(['DL102:warning']), m).problems).toEqual([]);
    expect(checkFindings(kase(['MY202:info']), m).problems).toEqual([
      'x: dataLoss measured true, and no finding about dataLoss explains it (none of its rules; warning, error, acknowledged or demoted by the phase/strategy policy needed)',
    ]);
    const bc = { ...fine(), backwardCompatible: { value: false } };
    expect(checkFindings(kase(['BC102:error:ack']), bc).problems).toEqual([]);
  });

  it('an info finding explains only where the documented phase/strategy policy made it info', () => {
    const bc = { ...fine(), backwardCompatible: { value: false } };
    expect(checkFindings(kase(['BC102:info'], { enginePhase: 'post-deploy' }), bc).counts.explainedByPolicy).toBe(1);
    expect(checkFindings(kase(['BC102:info']), bc).problems).toHaveLength(1);
    const rf = { ...fine(), replicaFirstSafe: { value: false } };
    expect(checkFindings(kase(['RF105:info']), rf).problems).toEqual([]);
    expect(checkFindings(kase(['RF105:info'], { engineBlocking: true }), rf).problems).toHaveLength(1);
    // RF113 ("replica-first safe") is info by default: it never explains an unsafe measurement.
    expect(checkFindings(kase(['RF113:info']), rf).problems).toHaveLength(1);
    expect(checkFindings(kase(['RF113:info'], { disagreeOn: new Set(['replicaFirstSafe']) }), rf).problems).toEqual([]);
  });

  it('an error finding about a field needs the field measured bad, unmeasured, or a disagreement or reason', () => {
    expect(checkFindings(kase(['MY101:error']), fine()).problems).toEqual([
      'x: MY101:error says blocking is true, the servers measured false: add a known-disagreement line or a reason in ERROR_FINDING_REASONS',
    ]);
    expect(checkFindings(kase(['MY101:error']), { ...fine(), blocking: { value: true } }).counts).toMatchObject({ errorFindings: 1, matched: 1 });
    expect(checkFindings(kase(['MY101:error']), { ...fine(), blocking: { value: 'unmeasured' } }).counts.excused).toBe(1);
    expect(checkFindings(kase(['MY101:error'], { disagreeOn: new Set(['blocking']) }), fine()).problems).toEqual([]);
    // A warning claims less than an error: it is not checked against the measurement.
    expect(checkFindings(kase(['MY102:warning']), fine()).problems).toEqual([]);
  });
});
