import { recipeSteps, locate, outcomeOf, summaryLine, type Report } from './model.ts';
import { fmtSeconds } from './plan.ts';

/**
 * GitHub Actions workflow commands: one annotation per finding that needs reading, on the
 * migration file and the line of the statement it is about, so the pull request shows it inline.
 *   ::error file=migrations/0002_x.up.sql,line=3,title=BC102::message%0ASafe alternative: ...
 * Errors -> ::error, warnings -> ::warning, acknowledged findings -> ::notice (with the reason);
 * informational findings are left out. Escaping follows the runner's rules: in the message
 * % \r \n; in properties also : and ,.
 */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function renderGithub(report: Report): string {
  const out: string[] = [];
  for (const v of report.verdicts) {
    for (const f of v.findings) {
      if (f.severity === 'info' && !f.acknowledged) continue;
      const command = f.acknowledged ? 'notice' : f.severity === 'error' ? 'error' : 'warning';
      const loc = locate(report, v, f);
      const props: string[] = [];
      if (loc) {
        props.push(`file=${escapeProperty(loc.file)}`);
        if (loc.line !== undefined) props.push(`line=${loc.line}`);
      }
      props.push(`title=${escapeProperty(f.rule)}`);
      const lines = [`${v.id}: ${f.message}`];
      if (f.acknowledged) lines.push(`Acknowledged (${f.severity}): ${f.acknowledged.reason}`);
      else if (f.safeAlternative && f.severity !== 'info') {
        const steps = recipeSteps(f.safeAlternative);
        lines.push('Safe alternative:', ...(steps.length > 1 ? steps.map((s, i) => `${i + 1}. ${s}`) : steps));
      }
      out.push(`::${command} ${props.join(',')}::${escapeData(lines.join('\n'))}`);
    }
    if (outcomeOf(v) === 'not-analysed') {
      const file = locate(report, v, { rule: 'X', severity: 'info', message: '' });
      out.push(
        `::warning ${file ? `file=${escapeProperty(file.file)},` : ''}title=not analysed::${escapeData(`${v.id}: ${v.refusedReason ?? 'not analysed'}`)}`,
      );
    } else if (v.strategy === 'refused' && v.refusedReason && outcomeOf(v) === 'analysed') {
      const file = locate(report, v, { rule: 'X', severity: 'info', message: '' });
      out.push(`::error ${file ? `file=${escapeProperty(file.file)},` : ''}title=refused::${escapeData(`${v.id}: ${v.refusedReason}`)}`);
    }
  }
  if (report.plan) {
    for (const s of report.plan.steps) {
      if (s.estimate && s.migration)
        out.push(
          `::notice title=${escapeProperty(`plan ${s.migration}`)}::${escapeData(`${s.description}; estimate ${fmtSeconds(s.estimate.seconds)} (${s.estimate.basis})`)}`,
        );
    }
  }
  // A plain summary line (shown in the log, not an annotation), then the gate reasons.
  out.push(summaryLine(report));
  // One line each, so nothing in a message can start a workflow command of its own.
  for (const r of report.gate.reasons) out.push(`- ${r.migration}${r.rule ? ` ${r.rule}` : ''}: ${r.reason.replace(/\s+/g, ' ')}`);
  return out.join('\n');
}
