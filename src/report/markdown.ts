import type { Finding, MigrationVerdict } from '../analysis/index.ts';
import { failureLocation, locate, notAnalysed, nullable, outcomeOf, recipeSteps, splitFindings, summaryLine, yesNo, type Report } from './model.ts';
import { fmtSeconds } from './plan.ts';

/**
 * Markdown for a pull-request comment: a pass/fail summary line, a table per migration, each
 * finding with its file:line and the safe alternative in a collapsible block, acknowledged
 * findings marked as such with their reason, informational findings folded away.
 */
const ICON: Record<string, string> = { error: '🛑', warning: '⚠️', info: 'ℹ️' };

/**
 * Hidden in the rendered comment; CI finds the comment it posted before by it and edits that one
 * instead of adding a new comment on every push (scripts/ci/pr-comment.mjs uses the same default).
 * Last, so the summary stays the first line of the report.
 */
export const REPORT_MARKER = '<!-- migrate-report -->';

/** Escapes text for a table cell / inline context. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function inline(s: string): string {
  // Backticks are the markdown we rely on for names; angle brackets would open HTML.
  return s.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function code(s: string): string {
  const fence = s.includes('```') ? '~~~' : '```';
  return `${fence}sql\n${s.trim()}\n${fence}`;
}

function mark(b: boolean, goodWhen: boolean): string {
  return b === goodWhen ? `✅ ${yesNo(b)}` : `❌ ${yesNo(b)}`;
}

export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  const head = summaryLine(report);
  out.push(`### ${report.gate.pass ? '✅' : '❌'} ${head}`, '');
  if (!report.gate.pass) {
    out.push('**Why the gate fails:**', '');
    for (const r of report.gate.reasons) out.push(`- \`${r.migration}\`${r.rule ? ` **${r.rule}**` : ''}: ${inline(r.reason)}`);
    out.push('');
  }
  if (report.plan) {
    out.push(`Target \`${report.plan.target}\`: ${report.plan.applied} applied, ${report.plan.pending} pending.`, '');
  }
  if (report.verdicts.length) {
    out.push(
      '| migration | phase | backward compatible | reversible | data loss | blocking | replica-first safe | strategy |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const v of report.verdicts) {
      const outcome = outcomeOf(v);
      if (outcome !== 'analysed') {
        out.push(`| \`${v.id}\` | ${v.phase} | – | – | – | – | – | ${outcome === 'failed' ? '🛑 **failed**' : '⏭️ not analysed'} |`);
        continue;
      }
      out.push(
        `| \`${v.id}\` | ${v.phase} | ${v.phase === 'pre-deploy' ? mark(v.backwardCompatible, true) : yesNo(v.backwardCompatible)} | ${mark(v.reversible, true)} | ${v.dataLoss ? '⚠️ yes' : 'no'} | ${v.blocking ? '⚠️ yes' : 'no'} | ${nullable(v.replicaFirstSafe)} | ${v.strategy === 'refused' ? '🛑 refused' : v.strategy} |`,
      );
    }
    out.push('');
  }
  for (const v of report.verdicts) if (outcomeOf(v) !== 'not-analysed') out.push(...migrationSection(report, v));
  const skipped = notAnalysed(report);
  if (skipped.ids.length) {
    const after = skipped.after ? `\`${skipped.after}\`` : 'an earlier migration';
    out.push(
      '#### ⏭️ Not analysed',
      '',
      `${skipped.ids.map((id) => `\`${id}\``).join(', ')}: ${after} failed before ${skipped.ids.length === 1 ? 'it' : 'them'}, so the schema ${skipped.ids.length === 1 ? 'it expects' : 'they expect'} never existed on the shadow.`,
      '',
    );
  }
  if (report.plan) out.push(...planSection(report));
  if (report.skipped?.length) {
    out.push(`<details><summary>${report.skipped.length} workload statement${report.skipped.length === 1 ? '' : 's'} not prepared</summary>`, '');
    for (const s of report.skipped) out.push(`- ${s.source}: ${inline(s.reason)}`);
    out.push('', '</details>', '');
  }
  if (report.shadow || report.notes?.length)
    out.push(`<sub>${[report.shadow ? `shadow: ${report.shadow}` : '', ...(report.notes ?? [])].filter(Boolean).map(inline).join(' · ')}</sub>`, '');
  out.push(REPORT_MARKER);
  return `${out.join('\n').trimEnd()}\n`;
}

/** A migration that failed on the shadow: the server's error where it happened; the SH301 finding has the statement. */
function failedSection(report: Report, v: MigrationVerdict): string[] {
  const at = failureLocation(report, v);
  const where = at ? ` at \`${at.file}${at.line !== undefined ? `:${at.line}` : ''}\`` : '';
  const out = [
    `#### 🛑 \`${v.id}\` — failed on the shadow database`,
    '',
    `> 🛑 **Failed** (${v.failure?.direction ?? 'up'})${where}: ${inline(cell(v.failure?.error ?? ''))}`,
    '',
  ];
  for (const f of v.findings) out.push(...findingBlock(report, v, f));
  return out;
}

function migrationSection(report: Report, v: MigrationVerdict): string[] {
  if (outcomeOf(v) === 'failed') return failedSection(report, v);
  const out: string[] = [];
  const file = locate(report, v, { rule: 'X', severity: 'info', message: '' })?.file;
  out.push(`#### \`${v.id}\` — ${v.phase}${v.phaseSource === 'inferred' ? ' (inferred)' : ''}, ${v.strategy}${file ? ` · \`${file}\`` : ''}`, '');
  out.push(
    '| backward compatible | reversible | data loss | blocking | replica-first safe | reverse (hold period) | strategy |',
    '|---|---|---|---|---|---|---|',
  );
  out.push(
    `| ${yesNo(v.backwardCompatible)} | ${yesNo(v.reversible)} | ${yesNo(v.dataLoss)} | ${yesNo(v.blocking)}${v.algorithm ? ` (${v.algorithm})` : ''} | ${nullable(v.replicaFirstSafe)} | ${nullable(v.replicaFirstReverseSafe)} | ${v.strategy}${
      v.replicaSettings
        ? ` with ${cell(
            Object.entries(v.replicaSettings)
              .map(([k, x]) => `${k}=${x}`)
              .join(', '),
          )}`
        : ''
    } |`,
    '',
  );
  if (v.refusedReason) out.push(`> 🛑 **Refused:** ${inline(v.refusedReason)}`, '');
  const { main, info } = splitFindings(v.findings);
  for (const f of main) out.push(...findingBlock(report, v, f));
  if (info.length) {
    out.push(`<details><summary>${info.length} informational finding${info.length === 1 ? '' : 's'}</summary>`, '');
    for (const f of info) out.push(`- ℹ️ **${f.rule}** ${inline(f.message)}`);
    out.push('', '</details>', '');
  }
  if (!main.length && !info.length) out.push('No findings.', '');
  return out;
}

function findingBlock(report: Report, v: MigrationVerdict, f: Finding): string[] {
  const out: string[] = [];
  const loc = locate(report, v, f);
  const where = loc ? ` (\`${loc.file}${loc.line ? `:${loc.line}` : ''}\`)` : '';
  if (f.acknowledged) {
    out.push(`- ✔️ **${f.rule}** acknowledged (${f.severity}): _${inline(f.acknowledged.reason)}_${where}`, `  ${inline(f.message)}`);
  } else {
    out.push(`- ${ICON[f.severity] ?? ''} **${f.rule}** (${f.severity})${where}: ${inline(f.message)}`);
  }
  const details: string[] = [];
  if (f.safeAlternative && !f.acknowledged && f.severity !== 'info') {
    const steps = recipeSteps(f.safeAlternative);
    details.push(...(steps.length > 1 ? steps.map((s, i) => `${i + 1}. ${inline(s)}`) : [inline(steps[0]!)]));
  }
  if (f.statement) details.push('', 'Statement:', '', code(f.statement));
  if (f.query?.error) details.push('', `Server said: \`${f.query.error.replace(/`/g, "'")}\``);
  if (details.length) {
    const summary = f.safeAlternative && !f.acknowledged && f.severity !== 'info' ? 'Safe alternative' : 'Details';
    out.push('', `  <details><summary>${summary}</summary>`, '');
    out.push(...details.map((l) => (l ? `  ${l.replace(/\n/g, '\n  ')}` : '')));
    out.push('', '  </details>');
  }
  out.push('');
  return out;
}

function planSection(report: Report): string[] {
  const plan = report.plan!;
  const out: string[] = ['#### Steps', ''];
  let k = 0;
  for (const s of plan.steps) {
    k++;
    if (s.kind === 'deploy') {
      out.push(`${k}. **${inline(s.description)}**`);
      continue;
    }
    const rows = (s.tables ?? []).filter((t) => t.rows !== null).map((t) => `${t.table} ~${t.rows} rows`);
    const est = s.estimate
      ? ` — estimate ${fmtSeconds(s.estimate.seconds)}${s.estimate.blockedSeconds ? `, writes blocked ~${fmtSeconds(s.estimate.blockedSeconds)}` : ''} (${inline(s.estimate.basis)})`
      : '';
    out.push(`${k}. ${s.kind} \`${s.migration}\`: ${inline(s.description)}${rows.length ? ` [${rows.join(', ')}]` : ''}${est}`);
  }
  out.push('');
  for (const w of plan.warnings) out.push(`> ⚠️ ${inline(w)}`, '');
  return out;
}
