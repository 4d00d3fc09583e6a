import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type CaseForCheck, type CheckedField, checkCorpusFindings, checkFindings, fieldOfRule } from '../corpus/findings-check.ts';
import { loadCorpus } from '../corpus/load.ts';

const corpus = join(dirname(fileURLToPath(import.meta.url)), '..', 'corpus');

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
  it('maps rules to fields by the table in rule-fields.ts', () => {
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
    expect(['MY202', 'RV201', 'DL107', 'PG202', 'SH301'].map(fieldOfRule)).toEqual([null, null, null, null, null]);
    // The new release before a post-deploy rename: no measurement runs the new release, so no field is about it.
    expect(['BC203', 'BC204', 'WL203'].map(fieldOfRule)).toEqual([null, null, null]);
    expect(fieldOfRule('RF299')).toBeUndefined();
  });

  it('a finding whose code the table lacks fails the case clearly, instead of dropping out of the check', () => {
    expect(checkFindings(kase(['RF299:error', 'MY202:info']), fine()).problems).toEqual([
      'x: RF299 is not in RULE_FIELDS (test/corpus/rule-fields.ts): add it with the verdict field it is about (null: none), or the check cannot read it',
    ]);
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

  it('no demotion explains a bad field where the servers contradict the phase or blocking the policy read', () => {
    const bc = { ...fine(), backwardCompatible: { value: false } };
    expect(checkFindings(kase(['BC102:info'], { enginePhase: 'post-deploy', disagreeOn: new Set(['phase']) }), bc).problems).toEqual([
      'x: backwardCompatible measured false, and no finding about backwardCompatible explains it (BC102:info; warning, error, acknowledged or demoted by the phase/strategy policy needed)',
    ]);
    const rf = { ...fine(), replicaFirstSafe: { value: false } };
    expect(checkFindings(kase(['RF105:info'], { disagreeOn: new Set(['blocking']) }), rf).problems).toHaveLength(1);
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

  it("the README's totals are what the check counts over the corpus", () => {
    const cases = [...loadCorpus(join(corpus, 'mysql'), 'mysql'), ...loadCorpus(join(corpus, 'postgres'), 'postgres')];
    const measured = JSON.parse(readFileSync(join(corpus, 'measured.json'), 'utf8')) as { cases: Parameters<typeof checkCorpusFindings>[1] };
    const r = checkCorpusFindings(cases, measured.cases);
    expect(r.problems).toEqual([]);
    const readme = readFileSync(join(corpus, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const said =
      /it checks (\d+) cases: (\d+) measured bad fields \((\d+) explained by a warning, error or acknowledged finding, (\d+) by a finding the phase\/strategy policy made info, (\d+) by a known disagreement\) and (\d+) error findings about a measured field \((\d+) measured bad; (\d+) excused: ([^)]*)\)/.exec(
        readme,
      );
    expect(said, 'test/corpus/README.md no longer states the totals in the form this test reads').not.toBeNull();
    const [, n, bad, explained, byPolicy, byDisagreement, errors, matched, excused, list = ''] = said!;
    const c = r.counts;
    expect([n, bad, explained, byPolicy, byDisagreement, errors, matched, excused].map(Number)).toEqual([
      cases.length,
      c.badFields,
      c.explained,
      c.explainedByPolicy,
      c.byDisagreement,
      c.errorFindings,
      c.matched,
      c.excused,
    ]);
    // The README names each excused error finding by case number and rule.
    const named = [...list.matchAll(/\b([mp]\d\d) ([A-Z]{2}\d{3})\b/g)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(named).toEqual(r.excused.map((e) => `${e.slice(0, 3)} ${e.split(' ')[1]}`).sort());
  });
});
