import type { Finding, MigrationVerdict } from '../analysis/index.ts';
import { maskSecretLiterals } from '../migrations/index.ts';
import { locate, upFile, type Report } from './model.ts';

/**
 * JSON for machines. The names the issue fixes come first and never change:
 *   { "migrations": [ { "id", "phase", "backwardCompatible", "reversible", "dataLoss", "blocking",
 *     "replicaFirstSafe", "strategy", "findings": [ { "rule", "severity", "message", "table"?,
 *     "statement"? } ] } ] }
 * Extras follow them (the acknowledgement, the safe alternative, file and line, the gate, the plan).
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

export function migrationJson(report: Report, v: MigrationVerdict): Record<string, unknown> {
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
  // Where the analysis ran and what it could touch there (throwaway, or shared through its own account).
  if (report.shadow) out['shadow'] = report.shadow;
  return JSON.stringify(out, null, 2);
}
