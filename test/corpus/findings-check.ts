import { CATALOG } from '../../src/analysis/rules/catalog.ts';
import type { CorpusCase } from './load.ts';
import { CHECKED_FIELDS, type CheckedField, RULE_FIELDS } from './rule-fields.ts';

/**
 * The independent check of a case's findings (README.md, "The findings against the measurements"): the
 * findings stay the engine's list, but each measured bad field must be explained by a finding about that
 * field, and each error finding about a field must have that field measured bad.
 *
 * Which field a rule is about is the table in rule-fields.ts, pinned against the catalog's facts by a unit
 * test, so a rule that loses its fact in the catalog fails that test instead of dropping out of this check.
 */
export { CHECKED_FIELDS, type CheckedField };

/** The measured value that is bad: the one a finding has to explain. */
export const BAD: Record<CheckedField, boolean> = {
  backwardCompatible: false,
  dataLoss: true,
  reversible: false,
  blocking: true,
  replicaFirstSafe: false,
  replicaFirstReverseSafe: false,
};

/** The verdict field a rule is about; null for rules no measured field covers (BC2xx, MY2xx, PG2xx, RV2xx, WL2xx, SH, DL107/DL108); undefined for a code the table lacks. */
export function fieldOfRule(code: string): CheckedField | null | undefined {
  return Object.hasOwn(RULE_FIELDS, code) ? RULE_FIELDS[code] : undefined;
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

export interface Counts {
  badFields: number;
  explained: number;
  explainedByPolicy: number;
  /** Bad fields a known-disagreement line excuses (no finding explains them). */
  byDisagreement: number;
  errorFindings: number;
  matched: number;
  excused: number;
}

export interface CheckResult {
  problems: string[];
  counts: Counts;
  /** Each excused error finding: `case rule field (why)`. */
  excused: string[];
}

const severityRank = { info: 0, warning: 1, error: 2 } as const;

/**
 * A finding explains its field when it is a warning or an error, or acknowledged, or the verdict's
 * documented severity policy (docs/rules.md, generated from the catalog) made an error/warning rule info:
 * BC and WL1 findings in a post-deploy migration (no old code runs then), RF findings of a migration that
 * runs in place (replica-first is not used). The policy read the engine's phase and blocking: where the
 * servers contradict the one it used (a known-disagreement on phase, or on blocking), the demotion rests
 * on an answer the measurement says is wrong, so it explains nothing. A rule that is info by default
 * (RF113 "replica-first safe") explains nothing either.
 */
function explains(finding: string, c: CaseForCheck): 'as reported' | 'by policy' | false {
  const [rule = '', severity = '', ack] = finding.split(':');
  if (ack === 'ack' || severity === 'error' || severity === 'warning') return 'as reported';
  const doc = CATALOG.get(rule);
  if (!doc || severityRank[doc.severity] === 0) return false;
  const field = fieldOfRule(rule);
  if (field === 'backwardCompatible') return c.enginePhase === 'post-deploy' && !c.disagreeOn.has('phase') ? 'by policy' : false;
  if (field === 'replicaFirstSafe' || field === 'replicaFirstReverseSafe') return !c.engineBlocking && !c.disagreeOn.has('blocking') ? 'by policy' : false;
  return false;
}

export function checkFindings(c: CaseForCheck, measured: Record<CheckedField, { value: unknown }>): CheckResult {
  const problems: string[] = [];
  const excused: string[] = [];
  const counts: Counts = { badFields: 0, explained: 0, explainedByPolicy: 0, byDisagreement: 0, errorFindings: 0, matched: 0, excused: 0 };
  for (const f of c.findings) {
    const rule = f.split(':')[0]!;
    if (fieldOfRule(rule) === undefined)
      problems.push(
        `${c.name}: ${rule} is not in RULE_FIELDS (test/corpus/rule-fields.ts): add it with the verdict field it is about (null: none), or the check cannot read it`,
      );
  }
  for (const field of CHECKED_FIELDS) {
    if (measured[field].value !== BAD[field]) continue;
    counts.badFields++;
    const about = c.findings.filter((f) => fieldOfRule(f.split(':')[0]!) === field);
    const how = about.map((f) => explains(f, c));
    if (how.includes('as reported')) counts.explained++;
    else if (how.includes('by policy')) counts.explainedByPolicy++;
    else if (c.disagreeOn.has(field)) counts.byDisagreement++;
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
    const why =
      value === BAD[field]
        ? undefined
        : value === 'unmeasured'
          ? `${field} unmeasured`
          : c.disagreeOn.has(field)
            ? `known-disagreement on ${field}`
            : ERROR_FINDING_REASONS[c.name]?.[rule];
    if (value === BAD[field]) counts.matched++;
    else if (why) {
      counts.excused++;
      excused.push(`${c.name} ${rule} (${why})`);
    } else
      problems.push(
        `${c.name}: ${f} says ${field} is ${String(BAD[field])}, the servers measured ${String(value)}: add a known-disagreement line or a reason in ERROR_FINDING_REASONS`,
      );
  }
  return { problems, counts, excused };
}

/** The check over a corpus: each case's engine phase and blocking are its expect with its known disagreements applied. */
export function checkCorpusFindings(cases: CorpusCase[], measured: Record<string, Record<CheckedField, { value: unknown }>>): CheckResult {
  const total: CheckResult = {
    problems: [],
    excused: [],
    counts: { badFields: 0, explained: 0, explainedByPolicy: 0, byDisagreement: 0, errorFindings: 0, matched: 0, excused: 0 },
  };
  for (const c of cases) {
    const engine: Record<string, unknown> = { ...c.expect };
    for (const d of c.disagreements) engine[d.field] = d.engine;
    const m = measured[c.name];
    if (!m) {
      total.problems.push(`${c.name}: not in measured.json`);
      continue;
    }
    const r = checkFindings(
      {
        name: c.name,
        findings: c.findings,
        disagreeOn: new Set(c.disagreements.map((d) => d.field)),
        enginePhase: String(engine['phase']),
        engineBlocking: engine['blocking'] === true,
      },
      m,
    );
    total.problems.push(...r.problems);
    total.excused.push(...r.excused);
    for (const k of Object.keys(total.counts) as (keyof Counts)[]) total.counts[k] += r.counts[k];
  }
  return total;
}
