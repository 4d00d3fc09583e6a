import type { Finding, MigrationVerdict } from '../analysis/index.ts';
import { maskSecretLiterals } from '../migrations/index.ts';
import { failureLocation, locate, outcomeOf, upFile, type Report } from './model.ts';

/**
 * JSON for machines. The names the issue fixes come first and never change:
 *   { "migrations": [ { "id", "phase", "backwardCompatible", "reversible", "dataLoss", "blocking",
 *     "replicaFirstSafe", "strategy", "findings": [ { "rule", "severity", "message", "table"?,
 *     "statement"? } ] } ] }
 * Extras follow them (the acknowledgement, the safe alternative, file and line, the gate, the plan).
 * "outcome" is "analysed", "failed" (its up failed on the shadow: "failure" holds the server's
 * error, the statement, file and line) or "not-analysed" (after a failed one: "notAnalysedAfter");
 * for the last two the verdict fields and the strategy are null.
 */
function findingJson(report: Report, v: MigrationVerdict, f: Finding): Record<string, unknown> {
  const o: Record<string, unknown> = { rule: f.rule, severity: f.severity, message: f.message };
  if (f.table !== undefined) o['table'] = f.table;
  if (f.statement !== undefined) o['statement'] = f.statement;
  if (f.column !== undefined) o['column'] = f.column;
  if (f.acknowledged) o['acknowledged'] = f.acknowledged;
  if (f.safeAlternative) o['safeAlternative'] = f.safeAlternative;
  if (f.direction) o['direction'] = f.direction;
  if (f.query) o['query'] = f.query;
  const loc = locate(report, v, f);
  if (loc) {
    o['file'] = loc.file;
    if (loc.line !== undefined) o['line'] = loc.line;
  }
  return o;
}

/**
 * A migration that failed or was not analysed: nothing was established about it, so the verdict
 * fields are null (strategy too), and what happened says why.
 */
function unanalysedJson(report: Report, v: MigrationVerdict): Record<string, unknown> {
  const o: Record<string, unknown> = {
    id: v.id,
    outcome: outcomeOf(v),
    phase: v.phase,
    backwardCompatible: null,
    reversible: null,
    dataLoss: null,
    blocking: null,
    replicaFirstSafe: null,
    strategy: null,
    findings: v.findings.map((f) => findingJson(report, v, f)),
    phaseSource: v.phaseSource,
    replicaFirstReverseSafe: null,
  };
  if (v.failure) {
    const f: Record<string, unknown> = { direction: v.failure.direction, error: v.failure.error };
    if (v.failure.statement !== undefined) f['statement'] = v.failure.statement;
    const at = failureLocation(report, v);
    if (at) {
      f['file'] = at.file;
      if (at.line !== undefined) f['line'] = at.line;
    }
    o['failure'] = f;
  }
  if (v.notAnalysedAfter) o['notAnalysedAfter'] = v.notAnalysedAfter;
  if (v.refusedReason) o['reason'] = v.refusedReason;
  const file = upFile(report, v);
  if (file !== undefined) o['file'] = file;
  return o;
}

export function migrationJson(report: Report, v: MigrationVerdict): Record<string, unknown> {
  if (outcomeOf(v) !== 'analysed') return unanalysedJson(report, v);
  const o: Record<string, unknown> = {
    id: v.id,
    phase: v.phase,
    backwardCompatible: v.backwardCompatible,
    reversible: v.reversible,
    dataLoss: v.dataLoss,
    blocking: v.blocking,
    replicaFirstSafe: v.replicaFirstSafe,
    strategy: v.strategy,
    findings: v.findings.map((f) => findingJson(report, v, f)),
    phaseSource: v.phaseSource,
    replicaFirstReverseSafe: v.replicaFirstReverseSafe,
    outcome: 'analysed',
  };
  if (v.refusedReason) o['refusedReason'] = v.refusedReason;
  if (v.replicaSettings) o['replicaSettings'] = v.replicaSettings;
  if (v.replicaFirstSettings) o['replicaFirstSettings'] = v.replicaFirstSettings;
  if (v.algorithm) o['algorithm'] = v.algorithm;
  const file = upFile(report, v);
  if (file !== undefined) o['file'] = file;
  // Password literals masked as in every other format's statement excerpts: JSON ends up in CI logs.
  o['sql'] = v.sql.map(maskSecretLiterals);
  if (v.downSql) o['downSql'] = v.downSql.map(maskSecretLiterals);
  const plan = report.plan;
  if (plan) {
    o['tables'] = plan.sizes[v.id] ?? [];
    const e = plan.estimates[v.id];
    if (e) o['estimate'] = e;
  }
  return o;
}

export function renderJson(report: Report): string {
  const out: Record<string, unknown> = {
    migrations: report.verdicts.map((v) => migrationJson(report, v)),
    gate: report.gate,
  };
  if (report.plan) {
    const { sizes: _s, estimates: _e, ...plan } = report.plan;
    out['plan'] = plan;
  }
  if (report.skipped?.length) out['skippedQueries'] = report.skipped;
  // How the run went and, with --queries-from, which window of statements decided (as the other formats print them).
  if (report.notes?.length) out['notes'] = report.notes;
  // Where the analysis ran and what it could touch there (throwaway, or shared through its own account).
  if (report.shadow) out['shadow'] = report.shadow;
  return JSON.stringify(out, null, 2);
}
