import { dirname } from 'node:path';
import type { Finding, MigrationVerdict } from '../analysis/index.ts';
import { failureLocation, locate, outcomeOf, recipeSteps, relPath, splitFindings, summaryLine, type Report } from './model.ts';
import { fmtSeconds } from './plan.ts';

/**
 * JUnit XML for CI test reports (GitLab `artifacts:reports:junit`, Jenkins, ...): one <testsuite>
 * with one <testcase> per migration (classname "dialect/dir", name = migration id). A migration
 * the gate fails on gets one <failure> whose type is the rule and whose body holds the findings
 * that fail it with their safe alternatives; warnings and acknowledged findings go to
 * <system-out>, so a passing migration still shows what a reviewer should read. Validated against
 * the Jenkins JUnit XSD (junit-4.xsd of dtkit) in the tests.
 */

// XML 1.0 cannot carry most control characters even escaped; a server message could hold one.
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlText(s: string): string {
  return s.replace(NOT_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values: also quotes, and whitespace as character references so parsers keep newlines. */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function where(report: Report, v: MigrationVerdict, f: Finding): string {
  const loc = locate(report, v, f);
  return loc ? ` at ${loc.file}${loc.line !== undefined ? `:${loc.line}` : ''}` : '';
}

function findingLines(report: Report, v: MigrationVerdict, f: Finding): string[] {
  const out = [`${f.rule} (${f.severity}${f.acknowledged ? ', acknowledged' : ''})${where(report, v, f)}`, `  ${f.message}`];
  if (f.acknowledged) out.push(`  Acknowledged: ${f.acknowledged.reason}`);
  if (f.statement) out.push(`  Statement: ${f.statement}`);
  if (f.query?.error) out.push(`  Server said: ${f.query.error}`);
  if (f.safeAlternative && !f.acknowledged && f.severity !== 'info') {
    const steps = recipeSteps(f.safeAlternative);
    out.push('  Safe alternative:', ...(steps.length > 1 ? steps.map((s, i) => `    ${i + 1}. ${s}`) : [`    ${steps[0]}`]));
  }
  return out;
}

function verdictLine(v: MigrationVerdict): string {
  return `${v.id}: ${v.phase}${v.phaseSource === 'inferred' ? ' (inferred)' : ''}, strategy ${v.strategy}, backward compatible ${v.backwardCompatible ? 'yes' : 'no'}, reversible ${v.reversible ? 'yes' : 'no'}, data loss ${v.dataLoss ? 'yes' : 'no'}, blocking ${v.blocking ? 'yes' : 'no'}`;
}

function classname(report: Report, v: MigrationVerdict): string {
  const m = report.files.get(v.id);
  return m ? `${report.dialect}/${relPath(report.baseDir, dirname(m.upPath))}` : report.dialect;
}

/** Not analysed: skipped, since nothing about it was checked (a failure is the migration before it). */
function skippedCase(report: Report, v: MigrationVerdict): string {
  const why = `not analysed: ${v.notAnalysedAfter ?? 'an earlier migration'} failed before it`;
  return [
    `    <testcase classname="${xmlAttr(classname(report, v))}" name="${xmlAttr(v.id)}">`,
    // The Jenkins XSD allows no attribute on <skipped>: the reason is its text.
    `      <skipped>${xmlText(why)}</skipped>`,
    `      <system-out>${xmlText(`${v.id}: ${why}`)}</system-out>`,
    '    </testcase>',
  ].join('\n');
}

/** Failed on the shadow: the failure names the server's error and where the statement is. */
function failedBody(report: Report, v: MigrationVerdict): string[] {
  const at = failureLocation(report, v);
  const where = at ? ` at ${at.file}${at.line !== undefined ? `:${at.line}` : ''}` : '';
  const out = [`${v.id} failed on the shadow database (${v.failure?.direction ?? 'up'})${where}: ${v.failure?.error ?? ''}`];
  if (v.failure?.statement) out.push(`Statement: ${v.failure.statement}`);
  return out;
}

function testcase(report: Report, v: MigrationVerdict): string {
  if (outcomeOf(v) === 'not-analysed') return skippedCase(report, v);
  // Reasons naming a rule first: they are what a reader of the one-line failure message needs.
  const reasons = report.gate.reasons.filter((r) => r.migration === v.id).sort((a, b) => Number(!a.rule) - Number(!b.rule));
  const failing = v.findings.filter((f) => f.severity === 'error' && !f.acknowledged);
  const { main, info } = splitFindings(v.findings);
  const out: string[] = [`    <testcase classname="${xmlAttr(classname(report, v))}" name="${xmlAttr(v.id)}">`];
  if (reasons.length) {
    // The rule that names the failure: the first reason's, else the first failing finding's.
    const type = reasons[0]?.rule ?? failing[0]?.rule ?? (v.strategy === 'refused' ? 'refused' : 'gate');
    const message = reasons.map((r) => `${r.rule ? `${r.rule}: ` : ''}${r.reason}`).join('; ');
    const body = [`${v.id} fails the gate:`, ...reasons.map((r) => `- ${r.rule ? `${r.rule}: ` : ''}${r.reason}`)];
    if (outcomeOf(v) === 'failed') body.push('', ...failedBody(report, v));
    if (failing.length) body.push('', ...failing.flatMap((f) => [...findingLines(report, v, f), '']));
    if (v.refusedReason && outcomeOf(v) === 'analysed') body.push(`Refused: ${v.refusedReason}`);
    out.push(`      <failure message="${xmlAttr(message)}" type="${xmlAttr(type)}">${xmlText(body.join('\n').trimEnd())}</failure>`);
  }
  const read = main.filter((f) => !failing.includes(f));
  const sysout = [outcomeOf(v) === 'failed' ? `${v.id}: failed on the shadow database` : verdictLine(v), ...read.flatMap((f) => findingLines(report, v, f))];
  if (info.length) sysout.push(`${info.length} informational finding${info.length === 1 ? '' : 's'}: ${info.map((f) => f.rule).join(', ')}`);
  out.push(`      <system-out>${xmlText(sysout.join('\n'))}</system-out>`, '    </testcase>');
  return out.join('\n');
}

function suiteOut(report: Report): string[] {
  const lines = [summaryLine(report)];
  const plan = report.plan;
  if (plan) {
    lines.push(`Target ${plan.target}: ${plan.applied} applied, ${plan.pending} pending.`);
    plan.steps.forEach((s, k) => {
      const est = s.estimate ? ` (estimate ${fmtSeconds(s.estimate.seconds)}: ${s.estimate.basis})` : '';
      lines.push(`${k + 1}. ${s.kind === 'deploy' ? s.description : `${s.kind} ${s.migration ?? ''}: ${s.description}${est}`}`);
    });
    for (const w of plan.warnings) lines.push(`warning: ${w}`);
  }
  for (const s of report.skipped ?? []) lines.push(`workload statement not prepared (${s.source}): ${s.reason}`);
  if (report.shadow) lines.push(`shadow: ${report.shadow}`);
  lines.push(...(report.notes ?? []));
  return lines;
}

export function renderJunit(report: Report): string {
  const tests = report.verdicts.length;
  const skipped = new Set(report.verdicts.filter((v) => outcomeOf(v) === 'not-analysed').map((v) => v.id));
  const failures = new Set(report.gate.reasons.map((r) => r.migration).filter((id) => !skipped.has(id))).size;
  const name = `migrate ${report.command} (${report.dialect})`;
  const counts = `tests="${tests}" failures="${failures}" errors="0"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlAttr(name)}" ${counts}>`,
    `  <testsuite name="${xmlAttr(name)}" ${counts} skipped="${skipped.size}">`,
    ...report.verdicts.map((v) => testcase(report, v)),
    `    <system-out>${xmlText(suiteOut(report).join('\n'))}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
