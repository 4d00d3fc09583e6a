import { describe, expect, it } from 'vitest';
import { CATALOG, type RuleDoc } from '../../src/analysis/rules/catalog.ts';
import { RULE_FIELDS, tableDisagreements } from '../corpus/rule-fields.ts';

describe('the corpus rule -> field table (test/corpus/rule-fields.ts)', () => {
  it("names every catalog code, with the field the catalog's facts give it", () => {
    expect(tableDisagreements(CATALOG.values())).toEqual([]);
    expect(Object.keys(RULE_FIELDS).sort()).toEqual([...CATALOG.keys()].sort());
  });

  it('fails clearly on a code only the catalog has, a fact the catalog lost, and a code only the table has', () => {
    const bc102 = CATALOG.get('BC102')!;
    const { oldCode: _lost, ...withoutFact } = bc102;
    const catalog: RuleDoc[] = [
      ...[...CATALOG.values()].filter((d) => d.code !== 'BC102' && d.code !== 'SH301'),
      withoutFact,
      { ...CATALOG.get('RF101')!, code: 'RF299' },
    ];
    expect(tableDisagreements(catalog)).toEqual([
      "BC102: RULE_FIELDS says backwardCompatible, the catalog's facts give null: correct whichever is wrong",
      'RF299 is in the catalog but not in RULE_FIELDS (test/corpus/rule-fields.ts): add it with the field its facts give (replicaFirstSafe)',
      'SH301 is in RULE_FIELDS but not in the catalog: remove it',
    ]);
  });
});
