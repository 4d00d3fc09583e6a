/** Output formats for `migrate check` and `migrate plan`: one module per format, all pure. */
import { renderGithub } from './github.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { renderMarkdown } from './markdown.ts';
import type { Format, Report } from './model.ts';
import { renderSarif } from './sarif.ts';
import { renderText } from './text.ts';

export { escapeData, escapeProperty, renderGithub } from './github.ts';
export { renderJson, migrationJson } from './json.ts';
export { renderJunit, xmlAttr, xmlText } from './junit.ts';
export { REPORT_MARKER, renderMarkdown } from './markdown.ts';
export {
  FORMATS,
  locate,
  parseFormat,
  recipeSteps,
  relPath,
  type Format,
  type Location,
  type MigrationFiles,
  type Report,
  type SkippedStatement,
} from './model.ts';
export { buildPlan, estimateMigration, fmtSeconds, RATES, touchedTables, type Estimate, type PlanModel, type PlanStep, type TableSize } from './plan.ts';
export { FINGERPRINT_KEY, fingerprint, renderSarif, SARIF_SCHEMA_URI, sarifLevel, SRCROOT, type SarifLog, type SarifResult, type SarifRule } from './sarif.ts';
export { renderText, useColour, type TextOptions } from './text.ts';
export { TOOL, type ToolInfo } from './tool.ts';

export function render(report: Report, format: Format, opts: { colour?: boolean } = {}): string {
  switch (format) {
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'github':
      return renderGithub(report);
    case 'sarif':
      return renderSarif(report);
    case 'junit':
      return renderJunit(report);
    default:
      return renderText(report, {
        colour: opts.colour ?? false,
        width: process.stdout.columns && process.stdout.columns > 60 ? Math.min(process.stdout.columns, 120) : 100,
      });
  }
}
