import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ackCovers, CATALOG, type Finding, type MigrationVerdict, type RuleDoc, type Severity } from '../analysis/index.ts';
import { locate, outcomeOf, recipeSteps, summaryLine, type Location, type Report } from './model.ts';
import { fmtSeconds } from './plan.ts';
import { TOOL, type ToolInfo } from './tool.ts';

/**
 * SARIF 2.1.0 for code-scanning services (GitHub's upload-sarif and others): one run whose driver
 * lists every rule of the catalog with its explanation and safe alternative, and one result per
 * finding on the migration file and the line of its statement (the same locate() as the github
 * format). Acknowledged findings stay in the log as `note`s with a suppression carrying the
 * reason, so viewers show them as dismissed rather than losing them. Informational findings are
 * `note`s too.
 */

/** The slice of the SARIF object model this writer produces. */
export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: SarifRun[];
}

export interface SarifRun {
  tool: { driver: SarifDriver };
  originalUriBaseIds: Record<string, { uri: string }>;
  invocations: SarifInvocation[];
  results: SarifResult[];
}

export interface SarifDriver {
  name: string;
  version: string;
  semanticVersion: string;
  informationUri: string;
  rules: SarifRule[];
}

export type SarifLevel = 'error' | 'warning' | 'note';

export interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  help: { text: string; markdown: string };
  defaultConfiguration: { level: SarifLevel };
  properties: { tags: string[] };
}

export interface SarifInvocation {
  executionSuccessful: boolean;
  exitCode: number;
  exitCodeDescription: string;
  toolExecutionNotifications?: { level: SarifLevel; message: { text: string } }[];
}

export interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string };
  locations: { physicalLocation: { artifactLocation: { uri: string; uriBaseId?: string }; region?: { startLine: number } } }[];
  partialFingerprints: Record<string, string>;
  suppressions?: { kind: 'inSource' | 'external'; status: 'accepted'; justification: string }[];
  properties: Record<string, string>;
}

export const SARIF_SCHEMA_URI = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
/** The symbol result paths are relative to: the repository root (GITHUB_WORKSPACE, else the cwd). */
export const SRCROOT = 'SRCROOT';
/** Versioned so a change of what identifies a finding can never collide with old alerts. */
export const FINGERPRINT_KEY = 'migrateFinding/v1';

/** Gate reasons that no catalog rule carries get a rule of their own, so every result names one. */
const REFUSED: RuleDoc = {
  code: 'refused',
  family: 'blocking-mysql',
  title: 'Migration refused: it blocks writes and has no safe strategy',
  severity: 'error',
  explanation:
    'The migration blocks writes for as long as it runs and neither an in-place online ALTER nor replica-first can run it safely, so `migrate apply` refuses it and the gate fails.',
  recipe: 'Split the change into steps that are non-blocking or replica-first safe (see the findings of the migration for which statement blocks and why).',
};

export function sarifLevel(s: Severity): SarifLevel {
  return s === 'info' ? 'note' : s;
}

/** "Column dropped" -> "ColumnDropped": SARIF wants a readable identifier besides the code. */
function ruleName(title: string): string {
  return title
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

function numbered(recipe: string): string[] {
  const steps = recipeSteps(recipe);
  return steps.length > 1 ? steps.map((s, i) => `${i + 1}. ${s}`) : steps;
}

function ruleOf(d: RuleDoc): SarifRule {
  const ack =
    d.code === REFUSED.code
      ? []
      : [
          '',
          `Acknowledge it when it is deliberate: in the migration (SQL \`-- migrate:ack ${d.code} reason\`, TypeScript \`export const acknowledge = [{ rule: '${d.code}', reason }]\`) or with \`--ack ${d.code}:MIGRATION_ID:reason\`.`,
        ];
  return {
    id: d.code,
    name: ruleName(d.title),
    shortDescription: { text: d.title },
    fullDescription: { text: d.explanation },
    help: {
      text: [d.explanation, '', 'Safe alternative:', ...numbered(d.recipe), ...ack].join('\n'),
      markdown: [d.explanation, '', '**Safe alternative:**', '', ...numbered(d.recipe), ...ack].join('\n'),
    },
    defaultConfiguration: { level: sarifLevel(d.severity) },
    properties: { tags: ['migrations', d.family] },
  };
}

/** Relative paths become percent-encoded URI references under SRCROOT; paths outside it, file: URIs. */
function artifactLocation(loc: Location): { uri: string; uriBaseId?: string } {
  if (isAbsolute(loc.file)) return { uri: pathToFileURL(loc.file).href };
  return { uri: loc.file.split('/').map(encodeURIComponent).join('/'), uriBaseId: SRCROOT };
}

function srcRoot(baseDir: string): string {
  const href = pathToFileURL(baseDir).href;
  return href.endsWith('/') ? href : `${href}/`;
}

/** Same migration, rule and object -> same fingerprint, wherever the statement moves in the file. */
export function fingerprint(migration: string, rule: string, f: Pick<Finding, 'table' | 'column' | 'query' | 'statement'>): string {
  const object = [f.table, f.column, f.query?.text].filter(Boolean).join('|') || (f.statement ?? '').replace(/\s+/g, ' ').trim().toLowerCase();
  return createHash('sha256').update(`${migration}\0${rule}\0${object}`).digest('hex');
}

/** In the migration file when the migration itself declares a matching acknowledgement. */
function suppressionKind(report: Report, v: MigrationVerdict, f: Finding): 'inSource' | 'external' {
  const declared = report.files.get(v.id)?.acknowledgements ?? [];
  const matches = declared.some((a) => ackCovers(a.rule, f.rule));
  return matches ? 'inSource' : 'external';
}

function findingText(v: MigrationVerdict, f: Finding): string {
  const lines = [`${v.id}: ${f.message}`];
  if (f.acknowledged) lines.push(`Acknowledged (${f.severity}): ${f.acknowledged.reason}`);
  else if (f.safeAlternative && f.severity !== 'info') lines.push('Safe alternative:', ...numbered(f.safeAlternative));
  if (f.statement) lines.push(`Statement: ${f.statement}`);
  if (f.query?.error) lines.push(`Server said: ${f.query.error}`);
  return lines.join('\n');
}

/** A rule entry for a code the catalog does not know yet (a newer engine than this writer): still a valid log. */
function unknownRule(ruleId: string, level: SarifLevel): SarifRule {
  return {
    id: ruleId,
    name: ruleId,
    shortDescription: { text: ruleId },
    fullDescription: { text: `${ruleId}: see docs/rules.md of the migrate version that reported it.` },
    help: { text: 'See docs/rules.md.', markdown: 'See docs/rules.md.' },
    defaultConfiguration: { level },
    properties: { tags: ['migrations'] },
  };
}

/** What the run noticed beside the results: statements not prepared, the plan's warnings and estimates. */
function notificationsOf(report: Report): NonNullable<SarifInvocation['toolExecutionNotifications']> {
  const notifications: NonNullable<SarifInvocation['toolExecutionNotifications']> = [];
  for (const v of report.verdicts)
    if (outcomeOf(v) === 'not-analysed')
      notifications.push({ level: 'warning', message: { text: `${v.id}: not analysed: ${v.notAnalysedAfter ?? 'an earlier migration'} failed before it` } });
  for (const s of report.skipped ?? []) notifications.push({ level: 'note', message: { text: `Workload statement not prepared (${s.source}): ${s.reason}` } });
  for (const w of report.plan?.warnings ?? []) notifications.push({ level: 'warning', message: { text: w } });
  for (const s of report.plan?.steps ?? []) {
    if (s.estimate && s.migration)
      notifications.push({
        level: 'note',
        message: { text: `plan ${s.migration}: ${s.description}; estimate ${fmtSeconds(s.estimate.seconds)} (${s.estimate.basis})` },
      });
  }
  return notifications;
}

export function renderSarif(report: Report, tool: ToolInfo = TOOL): string {
  const docs: RuleDoc[] = [...CATALOG.values(), REFUSED];
  const index = new Map(docs.map((d, i) => [d.code, i]));
  const rules = docs.map(ruleOf);
  const results: SarifResult[] = [];

  const push = (
    v: MigrationVerdict,
    ruleId: string,
    level: SarifLevel,
    text: string,
    loc: Location | undefined,
    fp: string,
    extra: Partial<SarifResult> = {},
    props: Record<string, string> = {},
  ): void => {
    let i = index.get(ruleId);
    if (i === undefined) {
      // A code the catalog does not know yet (a newer engine than this writer): still a valid log.
      i = rules.length;
      index.set(ruleId, i);
      rules.push(unknownRule(ruleId, level));
    }
    const r: SarifResult = {
      ruleId,
      ruleIndex: i,
      level,
      message: { text },
      locations: loc
        ? [{ physicalLocation: { artifactLocation: artifactLocation(loc), ...(loc.line !== undefined ? { region: { startLine: loc.line } } : {}) } }]
        : [],
      partialFingerprints: { [FINGERPRINT_KEY]: fp },
      ...extra,
      properties: { migration: v.id, phase: v.phase, ...props },
    };
    results.push(r);
  };

  for (const v of report.verdicts) {
    for (const f of v.findings) {
      const extra: Partial<SarifResult> = {};
      const props: Record<string, string> = { severity: f.severity };
      if (f.table) props['table'] = f.table;
      if (f.column) props['column'] = f.column;
      if (f.acknowledged) {
        extra.suppressions = [{ kind: suppressionKind(report, v, f), status: 'accepted', justification: f.acknowledged.reason }];
        props['acknowledged'] = f.acknowledged.reason;
      }
      // GitHub code scanning ignores `suppressions` and would raise an acknowledged error as an
      // error alert; a note (as the github format's ::notice) keeps it visible without blocking.
      const level = f.acknowledged ? 'note' : sarifLevel(f.severity);
      push(v, f.rule, level, findingText(v, f), locate(report, v, f), fingerprint(v.id, f.rule, f), extra, props);
    }
    // A failed migration's error is its SH301 result; a not analysed one has no finding and is
    // said among the run's notifications (notificationsOf): neither is a refusal of a strategy.
    if (v.strategy === 'refused' && outcomeOf(v) === 'analysed') {
      const loc = locate(report, v, { rule: REFUSED.code, severity: 'error', message: '' });
      push(v, REFUSED.code, 'error', `${v.id}: ${v.refusedReason ?? 'refused'}`, loc, fingerprint(v.id, REFUSED.code, {}));
    }
  }

  const notifications = notificationsOf(report);
  const invocation: SarifInvocation = { executionSuccessful: true, exitCode: report.gate.pass ? 0 : 1, exitCodeDescription: summaryLine(report) };
  if (notifications.length) invocation.toolExecutionNotifications = notifications;

  const log: SarifLog = {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: tool.name, version: tool.version, semanticVersion: tool.version, informationUri: tool.informationUri, rules } },
        originalUriBaseIds: { [SRCROOT]: { uri: srcRoot(report.baseDir) } },
        invocations: [invocation],
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2);
}
