import { maskSecretLiterals } from '../migrations/index.ts';
import { readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { factsOf, type Finding, type GateResult, type MigrationVerdict, type VerdictOutcome } from '../analysis/index.ts';
import type { Dialect } from '../config/index.ts';
import { usageError } from '../errors.ts';
import type { Acknowledgement, MigrationSource, SqlStatement } from '../migrations/index.ts';
import type { PlanModel } from './plan.ts';

/**
 * What every output format renders: the verdicts, the gate, where each migration lives on disk
 * (so findings can point at a file and line), and for `migrate plan` the ordered steps.
 * Formats are pure functions of this; none of them talks to a database.
 */
export const FORMATS = ['text', 'json', 'markdown', 'github', 'sarif', 'junit'] as const;
export type Format = (typeof FORMATS)[number];

export function parseFormat(v: string | undefined): Format {
  if (v === undefined) return 'text';
  if ((FORMATS as readonly string[]).includes(v)) return v as Format;
  throw usageError(`--format ${JSON.stringify(v)} is not a known format.`, `Use one of: ${FORMATS.join(', ')}.`);
}

/**
 * The parts of a migration source a report needs (no functions, so tests can build them by hand).
 * `acknowledgements` are the ones declared in the migration itself: SARIF tells an in-source
 * suppression from one given on the command line by them.
 */
export type MigrationFiles = Pick<MigrationSource, 'id' | 'format' | 'upPath' | 'downPath' | 'upStatements' | 'downStatements'> & {
  acknowledgements?: Acknowledgement[];
};

export interface SkippedStatement {
  text: string;
  source: string;
  reason: string;
}

export interface Report {
  command: 'check' | 'plan';
  dialect: Dialect;
  verdicts: MigrationVerdict[];
  gate: GateResult;
  files: Map<string, MigrationFiles>;
  /** Paths are shown relative to this directory (GITHUB_WORKSPACE for annotations, else the cwd). */
  baseDir: string;
  /** Shadow server used, redacted ("root@127.0.0.1:3306"). */
  shadow?: string;
  /** Workload statements that were not prepared, and why. */
  skipped?: SkippedStatement[];
  /** Short facts about the run (cache hits, timings). */
  notes?: string[];
  plan?: PlanModel;
}

/** The finding a failed migration carries (the catalog's "Migration fails on the shadow database"). */
export const FAILED_RULE = 'SH301';

export interface Location {
  /** Path relative to the report's baseDir, with forward slashes. */
  file: string;
  line?: number;
}

export function relPath(baseDir: string, abs: string): string {
  const r = relative(baseDir, abs);
  return (r.startsWith('..') ? abs : r).split(sep).join('/');
}

function normalise(sql: string): string {
  return maskSecretLiterals(sql).replace(/\s+/g, ' ').trim().toLowerCase();
}

function lineOf(statements: SqlStatement[] | undefined, statement: string | undefined): number | undefined {
  if (!statements?.length || !statement) return undefined;
  const exact = statements.find((s) => s.sql === statement);
  if (exact) return exact.line;
  const n = normalise(statement.replace(/\s*\/\* bindings: .*\*\/\s*$/, ''));
  return statements.find((s) => normalise(s.sql) === n)?.line ?? statements.find((s) => n.startsWith(normalise(s.sql)) || normalise(s.sql).startsWith(n))?.line;
}

const fileCache = new Map<string, string[]>();

/** TS migrations: the first line quoting the column (or else the table) name, e.g. t.dropColumn('age'). */
function lineInScript(path: string, names: (string | undefined)[]): number | undefined {
  let lines = fileCache.get(path);
  if (!lines) {
    try {
      lines = readFileSync(path, 'utf8').split('\n');
    } catch {
      lines = [];
    }
    fileCache.set(path, lines);
  }
  for (const name of names) {
    if (!name) continue;
    const re = new RegExp(`['"\`]${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"\`]`);
    const i = lines.findIndex((l) => re.test(l) && !/^\s*(\/\/|\*)/.test(l));
    if (i >= 0) return i + 1;
  }
  return undefined;
}

/** Findings about the down (reversibility, rollback against the new code) point at the down file. */
function aboutDown(f: Finding): boolean {
  return factsOf(f.rule)?.aboutDown === true;
}

/** The migration's up file, relative to the report's base directory. */
export function upFile(report: Report, v: MigrationVerdict): string | undefined {
  const m = report.files.get(v.id);
  return m ? relPath(report.baseDir, m.upPath) : undefined;
}

/** What happened to a migration: analysed, failed on the shadow, or not analysed after one that failed. */
export function outcomeOf(v: MigrationVerdict): VerdictOutcome {
  return v.outcome ?? 'analysed';
}

/** Where the statement that failed on the shadow is (the server reported it, so no search). */
export function failureLocation(report: Report, v: MigrationVerdict): Location | undefined {
  const file = v.failure?.file;
  if (!file) return undefined;
  const loc: Location = { file: relPath(report.baseDir, file) };
  if (v.failure?.line !== undefined) loc.line = v.failure.line;
  return loc;
}

/** "0004_x, 0005_y" of the migrations not analysed, and the one that failed before them. */
export function notAnalysed(report: Report): { ids: string[]; after: string | undefined } {
  const skipped = report.verdicts.filter((v) => outcomeOf(v) === 'not-analysed');
  return { ids: skipped.map((v) => v.id), after: skipped[0]?.notAnalysedAfter };
}

export function locate(report: Report, v: MigrationVerdict, f: Finding): Location | undefined {
  // The failure of a failed migration: where the server said, up or down file alike.
  if (outcomeOf(v) === 'failed' && f.rule === FAILED_RULE && v.failure?.file) return failureLocation(report, v);
  const m = report.files.get(v.id);
  if (!m) return undefined;
  const down = aboutDown(f) && m.downPath !== undefined;
  const path = down ? m.downPath! : m.upPath;
  const loc: Location = { file: relPath(report.baseDir, path) };
  let line: number | undefined;
  if (m.format === 'sql') {
    line = lineOf(down ? m.downStatements : m.upStatements, f.statement);
    // No statement (e.g. a missing down): the first statement of the file.
    line ??= (down ? m.downStatements : m.upStatements)?.[0]?.line;
  } else {
    line = lineInScript(path, [f.column, f.table]);
  }
  if (line !== undefined) loc.line = line;
  return loc;
}

/** "1. Do this. 2. Then that." -> ["Do this.", "Then that."]; a recipe without numbers stays whole. */
export function recipeSteps(recipe: string): string[] {
  const parts = recipe
    .split(/\s*(?:^|\s)(?=\d+\.\s)/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length < 2) return [recipe.trim()];
  return parts.map((p) => p.replace(/^\d+\.\s+/, ''));
}

export const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
export const nullable = (b: boolean | null): string => (b === null ? 'n/a' : yesNo(b));

/** Findings a reviewer must read (errors, warnings, acknowledged ones) vs. the informational rest. */
export function splitFindings(fs: Finding[]): { main: Finding[]; info: Finding[] } {
  return { main: fs.filter((f) => f.severity !== 'info' || f.acknowledged), info: fs.filter((f) => f.severity === 'info' && !f.acknowledged) };
}

export function summaryLine(report: Report): string {
  const n = report.verdicts.length;
  const what = report.command === 'plan' ? 'migrate plan' : 'migrate check';
  if (n === 0) return `${what}: passed (no ${report.command === 'plan' ? 'pending ' : ''}migrations)`;
  const skipped = notAnalysed(report);
  const attention = new Set(report.gate.reasons.filter((r) => !skipped.ids.includes(r.migration)).map((r) => r.migration)).size;
  const failed = report.verdicts.find((v) => outcomeOf(v) === 'failed');
  const why = [
    failed ? `${failed.id} fails on the shadow database` : '',
    skipped.ids.length ? `${skipped.ids.length} not analysed after ${failed && failed.id === skipped.after ? 'it' : (skipped.after ?? 'a failure')}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  if (report.gate.pass) return `${what}: passed (${n} migration${n === 1 ? '' : 's'})`;
  return `${what}: FAILED (${attention} of ${n} migration${n === 1 ? '' : 's'} ${attention === 1 ? 'fails' : 'fail'} the gate${why ? `; ${why}` : ''})`;
}
