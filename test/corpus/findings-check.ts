import { CATALOG, factsOf } from '../../src/analysis/rules/catalog.ts';

/**
 * The independent check of a case's findings (README.md, "The findings against the measurements"): the
 * findings stay the engine's list, but each measured bad field must be explained by a finding about that
 * field, and each error finding about a field must have that field measured bad.
 *
 * Which field a rule is about comes from the rule catalog's facts, the ones buildVerdict derives the
 * verdict's fields from (src/analysis/verdict.ts), so the mapping is the catalog's, written nowhere else.
 */
export const CHECKED_FIELDS = ['backwardCompatible', 'dataLoss', 'reversible', 'blocking', 'replicaFirstSafe', 'replicaFirstReverseSafe'] as const;
export type CheckedField = (typeof CHECKED_FIELDS)[number];

/** The measured value that is bad: the one a finding has to explain. */
export const BAD: Record<CheckedField, boolean> = {
  backwardCompatible: false,
  dataLoss: true,
  reversible: false,
  blocking: true,
  replicaFirstSafe: false,
  replicaFirstReverseSafe: false,
};

/** The verdict field a rule is about, or undefined for rules no measured field covers (BC2xx, MY2xx, PG2xx, RV2xx, WL2xx, SH, DL107/DL108). */
export function fieldOfRule(code: string): CheckedField | undefined {
  const f = factsOf(code);
  if (!f) return undefined;
  if (f.oldCode) return 'backwardCompatible';
  if (f.family === 'data-loss' && !f.notLoss) return 'dataLoss';
  if (f.irreversible) return 'reversible';
  if (f.blocking) return 'blocking';
  if (f.replicaFirst?.direction === 'old-to-new') return 'replicaFirstSafe';
  if (f.replicaFirst?.direction === 'new-to-old') return 'replicaFirstReverseSafe';
  return undefined;
}

/**
 * Error findings whose field is measured fine and that no known-disagreement line covers, with why the
 * finding still stands. One place, so every exception to the check is read in one file.
 */
export const ERROR_FINDING_REASONS: Record<string, Record<string, string>> = {};

export interface CaseForCheck {
  name: string;
  /** rule:severity[:ack], the case's findings line. */
  findings: string[];
  /** The fields known-disagreement lines cover: the engine answers them otherwise, so its findings follow its answer. */
  disagreeOn: Set<string>;
  /** The engine's phase and blocking (the case's expect with its known disagreements applied): the severity policy used them. */
  enginePhase: string;
  engineBlocking: boolean;
}

export interface CheckResult {
  problems: string[];
  /** Bad fields explained by a finding, error findings matched by a bad field, and those excused (known disagreement, reason, unmeasured). */
  counts: { badFields: number; explained: number; explainedByPolicy: number; errorFindings: number; matched: number; excused: number };
}

const severityRank = { info: 0, warning: 1, error: 2 } as const;

/**
 * A finding explains its field when it is a warning or an error, or acknowledged, or the verdict's
 * documented severity policy (docs/rules.md, generated from the catalog) made an error/warning rule info:
 * BC and WL1 findings in a post-deploy migration (no old code runs then), RF findings of a migration that
 * runs in place (replica-first is not used). A rule that is info by default (RF113 "replica-first safe")
 * explains nothing.
 */
function explains(finding: string, c: CaseForCheck): 'as reported' | 'by policy' | false {
  const [rule = '', severity = '', ack] = finding.split(':');
  if (ack === 'ack' || severity === 'error' || severity === 'warning') return 'as reported';
  const doc = CATALOG.get(rule);
  if (!doc || severityRank[doc.severity] === 0) return false;
  if (doc.oldCode && c.enginePhase === 'post-deploy') return 'by policy';
  return doc.replicaFirst !== undefined && !c.engineBlocking ? 'by policy' : false;
}

export function checkFindings(c: CaseForCheck, measured: Record<CheckedField, { value: unknown }>): CheckResult {
  const problems: string[] = [];
  const counts = { badFields: 0, explained: 0, explainedByPolicy: 0, errorFindings: 0, matched: 0, excused: 0 };
  for (const field of CHECKED_FIELDS) {
    if (measured[field].value !== BAD[field]) continue;
    counts.badFields++;
    const about = c.findings.filter((f) => fieldOfRule(f.split(':')[0]!) === field);
    const how = about.map((f) => explains(f, c));
    if (how.includes('as reported')) counts.explained++;
    else if (how.includes('by policy')) counts.explainedByPolicy++;
    else if (c.disagreeOn.has(field)) counts.excused++;
    else
      problems.push(
        `${c.name}: ${field} measured ${String(BAD[field])}, and no finding about ${field} explains it (${about.join(' ') || 'none of its rules'}; warning, error, acknowledged or demoted by the phase/strategy policy needed)`,
      );
  }
  for (const f of c.findings) {
    const [rule = '', severity] = f.split(':');
    const field = fieldOfRule(rule);
    if (severity !== 'error' || !field) continue;
    counts.errorFindings++;
    const value = measured[field].value;
    if (value === BAD[field]) counts.matched++;
    else if (value === 'unmeasured' || c.disagreeOn.has(field) || ERROR_FINDING_REASONS[c.name]?.[rule]) counts.excused++;
    else
      problems.push(
        `${c.name}: ${f} says ${field} is ${String(BAD[field])}, the servers measured ${String(value)}: add a known-disagreement line or a reason in ERROR_FINDING_REASONS`,
      );
  }
  return { problems, counts };
}
