import type { Finding, MigrationVerdict } from '../analysis/index.ts';
import { failureLocation, locate, notAnalysed, nullable, outcomeOf, recipeSteps, splitFindings, summaryLine, yesNo, type Report } from './model.ts';
import { fmtSeconds } from './plan.ts';

/**
 * Text for people at a terminal: one table row per migration, then the findings that need
 * reading, each with its file:line, statement and the safe alternative as numbered steps.
 * Colour only when writing to a terminal and NO_COLOR is not set (https://no-color.org).
 */
export interface TextOptions {
  colour: boolean;
  /** Terminal width for wrapping; default 100. */
  width?: number;
}

export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  return Boolean(stream.isTTY);
}

type Paint = (s: string) => string;
interface Palette {
  red: Paint;
  yellow: Paint;
  green: Paint;
  dim: Paint;
  bold: Paint;
}

function palette(on: boolean): Palette {
  const wrap =
    (open: number, close: number): Paint =>
    (s) =>
      on ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/** Pads by visible length (escape codes do not count). */
function pad(s: string, w: number): string {
  const visible = s.replace(/\u001b\[\d+m/g, '').length;
  return s + ' '.repeat(Math.max(0, w - visible));
}

/** Word-wraps to `width`; continuation lines get `hang` extra spaces (for numbered steps). */
function wrap(text: string, width: number, indent: string, hang = 0): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  const lead = (): string => (lines.length ? indent + ' '.repeat(hang) : indent);
  for (const w of words) {
    if (cur && lead().length + cur.length + 1 + w.length > width) {
      lines.push(lead() + cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(lead() + cur);
  return lines;
}

function flag(p: Palette, bad: boolean, text: string): string {
  return bad ? p.red(text) : text;
}

export function renderText(report: Report, opts: TextOptions): string {
  const p = palette(opts.colour);
  const width = opts.width ?? 100;
  const out: string[] = [];
  const head = summaryLine(report);
  out.push(report.gate.pass ? p.green(p.bold(head)) : p.red(p.bold(head)));
  if (report.shadow) out.push(p.dim(`shadow: ${report.shadow}`));
  for (const n of report.notes ?? []) out.push(p.dim(n));
  if (report.plan) out.push(p.dim(`target: ${report.plan.target} (${report.plan.applied} applied, ${report.plan.pending} pending)`));
  out.push('');
  if (!report.verdicts.length) return out.join('\n');

  out.push(...tableLines(report, p));

  for (const v of report.verdicts) {
    const { main, info } = splitFindings(v.findings);
    const outcome = outcomeOf(v);
    // Listed once below, together: each says only which migration failed before it.
    if (outcome === 'not-analysed') continue;
    if (!main.length && v.strategy !== 'refused') continue;
    out.push('');
    const file = locate(report, v, { rule: 'X', severity: 'info', message: '' })?.file;
    out.push(p.bold(`${v.id}${file ? `  (${file})` : ''}`));
    if (outcome === 'failed') {
      const at = failureLocation(report, v);
      const where = at ? ` at ${at.file}${at.line !== undefined ? `:${at.line}` : ''}` : '';
      out.push(...wrap(`FAILED on the shadow database (${v.failure?.direction ?? 'up'})${where}: ${v.failure?.error ?? ''}`, width, '  ').map(p.red));
    } else if (v.refusedReason) out.push(...wrap(`refused: ${v.refusedReason}`, width, '  ').map(p.red));
    for (const f of main) out.push(...findingLines(report, v, f, p, width));
    if (info.length)
      out.push(
        p.dim(
          `  + ${info.length} informational finding${info.length === 1 ? '' : 's'} (${[...new Set(info.map((f) => f.rule))].join(', ')}); --format markdown or json lists them`,
        ),
      );
  }

  const skipped = notAnalysed(report);
  if (skipped.ids.length) {
    out.push('', p.yellow(p.bold('Not analysed')));
    const why = `${skipped.after ?? 'an earlier migration'} failed before ${skipped.ids.length === 1 ? 'it' : 'them'}, so the schema ${skipped.ids.length === 1 ? 'it expects' : 'they expect'} never existed on the shadow`;
    out.push(...wrap(`${skipped.ids.join(', ')}: ${why}.`, width, '  ').map(p.yellow));
  }

  if (report.plan) out.push(...planLines(report.plan, p, width));

  if (report.skipped?.length) {
    out.push('', p.dim(`${report.skipped.length} workload statement${report.skipped.length === 1 ? '' : 's'} not prepared:`));
    for (const s of report.skipped.slice(0, 10)) out.push(p.dim(`  ${s.source}: ${s.reason}`));
  }

  if (!report.gate.pass) {
    out.push('', p.red(p.bold('Gate failed:')));
    for (const r of report.gate.reasons) out.push(...wrap(`- ${r.migration}${r.rule ? ` ${r.rule}` : ''}: ${r.reason}`, width, '  ', 2).map(p.red));
  }
  return out.join('\n');
}

/** One row per migration: the verdict's yes/no columns, or what happened when nothing was established. */
function tableLines(report: Report, p: Palette): string[] {
  const out: string[] = [];
  const header = ['ID', 'PHASE', 'COMPATIBLE', 'REVERSIBLE', 'DATA LOSS', 'BLOCKING', 'REPLICA-FIRST', 'STRATEGY'];
  if (report.plan) header.push('ESTIMATE');
  const rows = report.verdicts.map((v) => {
    const outcome = outcomeOf(v);
    if (outcome !== 'analysed') {
      // Nothing was established about it: no yes/no to show, only what happened.
      const r = [v.id, v.phase, '-', '-', '-', '-', '-', outcome === 'failed' ? p.red('FAILED') : p.yellow('not analysed')];
      if (report.plan) r.push('-');
      return r;
    }
    const r = [
      v.id,
      v.phase,
      flag(p, !v.backwardCompatible && v.phase === 'pre-deploy', yesNo(v.backwardCompatible)),
      flag(p, !v.reversible, yesNo(v.reversible)),
      v.dataLoss ? p.yellow('yes') : 'no',
      v.blocking ? p.yellow('yes') : 'no',
      nullable(v.replicaFirstSafe),
      v.strategy === 'refused' ? p.red(v.strategy) : v.strategy,
    ];
    if (report.plan) {
      const e = report.plan.estimates[v.id];
      r.push(e ? fmtSeconds(e.seconds) : '-');
    }
    return r;
  });
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').replace(/\u001b\[\d+m/g, '').length)));
  out.push(
    p.bold(
      header
        .map((h, k) => pad(h, widths[k]!))
        .join('  ')
        .trimEnd(),
    ),
  );
  for (const r of rows)
    out.push(
      r
        .map((c, k) => pad(c, widths[k]!))
        .join('  ')
        .trimEnd(),
    );
  return out;
}

/** The plan's steps in order, each with its tables' sizes and its estimate, then the plan's warnings. */
function planLines(plan: NonNullable<Report['plan']>, p: Palette, width: number): string[] {
  const out: string[] = [];
  out.push('', p.bold('Steps'));
  let k = 0;
  for (const s of plan.steps) {
    k++;
    if (s.kind === 'deploy') {
      out.push(...wrap(`${k}. ${s.description}`, width, '  ', 3).map(p.bold));
      continue;
    }
    out.push(`  ${k}. [${s.kind}] ${s.migration}: ${s.description}`);
    const sized = (s.tables ?? []).filter((t) => t.rows !== null);
    if (sized.length) out.push(p.dim(`       rows: ${sized.map((t) => `${t.table} ~${t.rows}`).join(', ')}`));
    if (s.estimate)
      out.push(
        ...wrap(
          `estimate: ${fmtSeconds(s.estimate.seconds)}${s.estimate.blockedSeconds ? `, writes blocked ~${fmtSeconds(s.estimate.blockedSeconds)}` : ''} (${s.estimate.basis})`,
          width,
          '       ',
        ).map(p.dim),
      );
  }
  for (const w of plan.warnings) out.push(...wrap(`warning: ${w}`, width, '  ').map(p.yellow));
  return out;
}

function findingLines(report: Report, v: MigrationVerdict, f: Finding, p: Palette, width: number): string[] {
  const out: string[] = [];
  const sev = f.acknowledged
    ? p.green('acknowledged')
    : f.severity === 'error'
      ? p.red('error')
      : f.severity === 'warning'
        ? p.yellow('warning')
        : p.dim('info');
  const loc = locate(report, v, f);
  const where = loc ? ` ${p.dim(`${loc.file}${loc.line ? `:${loc.line}` : ''}`)}` : '';
  out.push(`  ${sev} ${p.bold(f.rule)}${f.acknowledged ? ` (was ${f.severity})` : ''}${where}`);
  out.push(...wrap(f.message, width, '      '));
  if (f.acknowledged) out.push(...wrap(`acknowledged: ${f.acknowledged.reason}`, width, '      ').map(p.green));
  if (f.statement) out.push(p.dim(`      statement: ${f.statement.replace(/\s+/g, ' ').slice(0, width * 2)}`));
  if (f.safeAlternative && f.severity !== 'info' && !f.acknowledged) {
    out.push('      safe alternative:');
    recipeSteps(f.safeAlternative).forEach((s, i, all) => {
      out.push(...wrap(all.length > 1 ? `${i + 1}. ${s}` : s, width, '        ', all.length > 1 ? `${i + 1}. `.length : 0));
    });
  }
  return out;
}
