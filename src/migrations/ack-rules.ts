/**
 * The rule codes a migration may acknowledge, and how an acknowledgement matches them. Loading a
 * migration refuses an unknown code (`-- migrate:ack`, TypeScript `acknowledge`), and `migrate up`
 * loads migrations without the analysis stage, so the list lives here, under it. The rules catalog
 * (src/analysis/rules/catalog.ts) documents each code and refuses to load when the two lists differ.
 */
// biome-ignore format: one rule family a line
export const RULE_CODES: readonly string[] = [
  'BC101', 'BC102', 'BC103', 'BC104', 'BC105', 'BC106', 'BC107', 'BC108', 'BC109', 'BC110', 'BC111', 'BC112', 'BC113', 'BC114', 'BC115', 'BC116', 'BC117', 'BC118',
  'DL101', 'DL102', 'DL103', 'DL104', 'DL105', 'DL106',
  'RV101', 'RV102', 'RV103', 'RV201', 'RV202',
  'MY101', 'MY102', 'MY201', 'MY202', 'MY301',
  'PG101', 'PG102', 'PG103', 'PG104', 'PG105', 'PG106', 'PG107', 'PG108', 'PG201', 'PG202', 'PG301',
  'RF101', 'RF102', 'RF103', 'RF104', 'RF105', 'RF106', 'RF107', 'RF108', 'RF109', 'RF110', 'RF111', 'RF112', 'RF113', 'RF114', 'RF201', 'RF202', 'RF203', 'RF204', 'RF205', 'RF206', 'RF207', 'RF208', 'RF209', 'RF210', 'RF211', 'RF212', 'RF214',
  // issue 16 (constraints helper)
  'RF115', 'RF215',
  'WL100', 'WL101', 'WL102', 'WL201', 'WL202', 'WL200',
  'SH101', 'SH201', 'SH301',
  // issue 16, data-aware verdicts
  'DL107', 'DL108', 'DL109',
  // issue 16: a data change cannot run replica-first (whole-table backfills are blocking, MY301)
  'RF116',
  // a rename after the deploy: the new release runs against the old name until the contract
  'BC203', 'BC204', 'WL203',
];

const KNOWN = new Set(RULE_CODES);

/**
 * Whether an acknowledgement's rule names a rule of the catalog: a code, or a prefix ending in `*`
 * that covers at least one. The command line, SQL `-- migrate:ack` and TypeScript `acknowledge`
 * all refuse what this refuses, so a typo never silently acknowledges nothing.
 */
export function isKnownAckRule(rule: string): boolean {
  return isWildcardAck(rule) ? RULE_CODES.some((c) => ackCovers(rule, c)) : KNOWN.has(rule.trim().toUpperCase());
}

/** `DL*`, `*`: an acknowledgement that names a family or every rule instead of one code. */
export function isWildcardAck(rule: string): boolean {
  return rule.trim().endsWith('*');
}

/** Whether an acknowledgement's rule (a code, or a prefix ending in `*`) covers the rule `code`. */
export function ackCovers(rule: string, code: string): boolean {
  const r = rule.trim().toUpperCase();
  return r.endsWith('*') ? code.startsWith(r.slice(0, -1)) : code === r;
}
