import type { RuleDoc } from '../../src/analysis/rules/catalog.ts';

/** The verdict fields the servers measure that a finding can be about (README.md, "The findings against the measurements"). */
export const CHECKED_FIELDS = ['backwardCompatible', 'dataLoss', 'reversible', 'blocking', 'replicaFirstSafe', 'replicaFirstReverseSafe'] as const;
export type CheckedField = (typeof CHECKED_FIELDS)[number];

/**
 * Which measured field each rule of the catalog is about, or null for a rule no measured field covers.
 * Written here from the README's prefixes, not read from the catalog's facts: the check must not lose a
 * rule silently when the catalog drops the fact buildVerdict derives the field from. A unit test
 * (test/unit/corpus-rule-fields.test.ts) fails when the catalog's facts disagree with this table or a
 * catalog code is missing here, and the findings check fails on a finding whose code is not here.
 */
export const RULE_FIELDS: Readonly<Record<string, CheckedField | null>> = {
  // BC1xx, WL1xx: about the running release's statements (the catalog's oldCode).
  BC101: 'backwardCompatible',
  BC102: 'backwardCompatible',
  BC103: 'backwardCompatible',
  BC104: 'backwardCompatible',
  BC105: 'backwardCompatible',
  BC106: 'backwardCompatible',
  BC107: 'backwardCompatible',
  BC108: 'backwardCompatible',
  BC109: 'backwardCompatible',
  BC110: 'backwardCompatible',
  BC111: 'backwardCompatible',
  BC112: 'backwardCompatible',
  BC113: 'backwardCompatible',
  BC114: 'backwardCompatible',
  BC115: 'backwardCompatible',
  BC116: 'backwardCompatible',
  BC117: 'backwardCompatible',
  BC118: 'backwardCompatible',
  // The new release before a post-deploy rename: no measurement runs the new release.
  BC203: null,
  BC204: null,
  WL100: 'backwardCompatible',
  WL101: 'backwardCompatible',
  WL102: 'backwardCompatible',
  // DL101-DL106, DL109: data lost (family data-loss without notLoss); DL107, DL108 report a check.
  DL101: 'dataLoss',
  DL102: 'dataLoss',
  DL103: 'dataLoss',
  DL104: 'dataLoss',
  DL105: 'dataLoss',
  DL106: 'dataLoss',
  DL109: 'dataLoss',
  DL107: null,
  DL108: null,
  // RV101-RV103: the migration cannot be rolled back (irreversible); RV2xx are about what the down does to data.
  RV101: 'reversible',
  RV102: 'reversible',
  RV103: 'reversible',
  RV201: null,
  RV202: null,
  // MY101, MY102, MY301, PG1xx, PG301: writes wait for work that grows with the table (blocking).
  MY101: 'blocking',
  MY102: 'blocking',
  MY301: 'blocking',
  PG101: 'blocking',
  PG102: 'blocking',
  PG103: 'blocking',
  PG104: 'blocking',
  PG105: 'blocking',
  PG106: 'blocking',
  PG107: 'blocking',
  PG108: 'blocking',
  PG301: 'blocking',
  // MY2xx, PG2xx: online, or a short lock; no measured field.
  MY201: null,
  MY202: null,
  PG201: null,
  PG202: null,
  // RF1xx: old -> new replication (replicaFirstSafe); RF2xx: new -> old (replicaFirstReverseSafe).
  RF101: 'replicaFirstSafe',
  RF102: 'replicaFirstSafe',
  RF103: 'replicaFirstSafe',
  RF104: 'replicaFirstSafe',
  RF105: 'replicaFirstSafe',
  RF106: 'replicaFirstSafe',
  RF107: 'replicaFirstSafe',
  RF108: 'replicaFirstSafe',
  RF109: 'replicaFirstSafe',
  RF110: 'replicaFirstSafe',
  RF111: 'replicaFirstSafe',
  RF112: 'replicaFirstSafe',
  RF113: 'replicaFirstSafe',
  RF114: 'replicaFirstSafe',
  RF115: 'replicaFirstSafe',
  RF116: 'replicaFirstSafe',
  RF201: 'replicaFirstReverseSafe',
  RF202: 'replicaFirstReverseSafe',
  RF203: 'replicaFirstReverseSafe',
  RF204: 'replicaFirstReverseSafe',
  RF205: 'replicaFirstReverseSafe',
  RF206: 'replicaFirstReverseSafe',
  RF207: 'replicaFirstReverseSafe',
  RF208: 'replicaFirstReverseSafe',
  RF209: 'replicaFirstReverseSafe',
  RF210: 'replicaFirstReverseSafe',
  RF211: 'replicaFirstReverseSafe',
  RF212: 'replicaFirstReverseSafe',
  RF214: 'replicaFirstReverseSafe',
  RF215: 'replicaFirstReverseSafe',
  // WL2xx (the new release's statements), SH (the shadow run itself): no measured field.
  WL200: null,
  WL201: null,
  WL202: null,
  WL203: null,
  SH101: null,
  SH201: null,
  SH301: null,
};

/** The field buildVerdict (src/analysis/verdict.ts) derives from a rule's catalog facts: what the table must agree with. */
export function fieldOfFacts(f: Readonly<RuleDoc>): CheckedField | null {
  if (f.oldCode) return 'backwardCompatible';
  if (f.family === 'data-loss' && !f.notLoss) return 'dataLoss';
  if (f.irreversible) return 'reversible';
  if (f.blocking) return 'blocking';
  if (f.replicaFirst?.direction === 'old-to-new') return 'replicaFirstSafe';
  if (f.replicaFirst?.direction === 'new-to-old') return 'replicaFirstReverseSafe';
  return null;
}

/** Where a catalog and the table part: a code only one of them has, or another field. Empty when they agree. */
export function tableDisagreements(catalog: Iterable<Readonly<RuleDoc>>, table: Readonly<Record<string, CheckedField | null>> = RULE_FIELDS): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const doc of catalog) {
    seen.add(doc.code);
    const facts = fieldOfFacts(doc);
    if (!(doc.code in table))
      out.push(`${doc.code} is in the catalog but not in RULE_FIELDS (test/corpus/rule-fields.ts): add it with the field its facts give (${String(facts)})`);
    else if (table[doc.code] !== facts)
      out.push(`${doc.code}: RULE_FIELDS says ${String(table[doc.code])}, the catalog's facts give ${String(facts)}: correct whichever is wrong`);
  }
  for (const code of Object.keys(table)) if (!seen.has(code)) out.push(`${code} is in RULE_FIELDS but not in the catalog: remove it`);
  return out;
}
