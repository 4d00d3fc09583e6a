/**
 * Summarises `depcruise --output-type json` (the rules of .dependency-cruiser.cjs) as the work left:
 * counts per rule, then every violation grouped so that a deep import reads as "what the target
 * stage's index.ts must export".
 *
 *   npx depcruise src --output-type json | node --import tsx scripts/deps-violations.ts [--check] [file]
 *
 * --check (npm run lint:deps) exits 1 on any violation. depcruise's own exit code is the number of
 * violations, which the shell reads modulo 256: exactly 256 violations would pass.
 */
import { readFileSync } from 'node:fs';
import type { ICruiseResult, IViolation } from 'dependency-cruiser';

const stageOf = (path: string): string => /^src\/([^/]+)\//.exec(path)?.[1] ?? path;

function kind(v: IViolation): string {
  const types = v.dependencyTypes ?? [];
  if (types.includes('dynamic-import')) return ' (dynamic)';
  if (types.includes('type-only')) return ' (type-only)';
  return '';
}

function countsPerRule(violations: IViolation[]): string[] {
  const counts = new Map<string, number>();
  for (const v of violations) counts.set(v.rule.name, (counts.get(v.rule.name) ?? 0) + 1);
  const lines = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([rule, n]) => `  ${String(n).padStart(4)}  ${rule}`);
  return [`${violations.length} violations`, ...lines];
}

/** Deep imports by target stage, then target file: each target file is something its stage's index.ts should export (or stop being needed). */
function deepImports(violations: IViolation[]): string[] {
  const byStage = new Map<string, Map<string, string[]>>();
  for (const v of violations) {
    const files = byStage.get(stageOf(v.to)) ?? new Map<string, string[]>();
    byStage.set(stageOf(v.to), files);
    const importers = files.get(v.to) ?? [];
    files.set(v.to, importers);
    importers.push(`${v.from}${kind(v)}`);
  }
  const out: string[] = [];
  for (const [stage, files] of [...byStage].sort(([a], [b]) => a.localeCompare(b))) {
    const n = [...files.values()].reduce((sum, f) => sum + f.length, 0);
    out.push(`  into ${stage}: ${n} imports of ${files.size} files`);
    for (const [file, importers] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`    ${file}  <-  ${importers.sort().join(', ')}`);
    }
  }
  return out;
}

function section(rule: string, violations: IViolation[]): string[] {
  if (rule === 'no-deep-import-across-stages') return deepImports(violations);
  if (rule === 'no-circular') {
    return violations.map((v) => `  ${[v.from, ...(v.cycle ?? []).map((c) => c.name)].join(' -> ')}${kind(v)}`);
  }
  return violations.map((v) => `  ${v.from} -> ${v.to}${kind(v)}`);
}

function summarise(result: ICruiseResult): string {
  const violations = result.summary.violations;
  const out = countsPerRule(violations);
  const rules = [...new Set(violations.map((v) => v.rule.name))].sort();
  for (const rule of rules) {
    const mine = violations.filter((v) => v.rule.name === rule);
    out.push('', `== ${rule} (${mine.length})`, ...section(rule, mine));
  }
  return `${out.join('\n')}\n`;
}

const check = process.argv.includes('--check');
const file = process.argv.slice(2).find((a) => a !== '--check');
const input = readFileSync(file ?? 0, 'utf8');
if (!input.trim()) {
  process.stderr.write('deps-violations: no input (did depcruise fail? its message is above)\n');
  process.exit(2);
}
const result = JSON.parse(input) as ICruiseResult;
if (check && result.summary.violations.length === 0) {
  process.stdout.write(`dependency rules: no violations (${result.summary.totalCruised} modules)\n`);
} else {
  process.stdout.write(summarise(result));
  if (check) process.exitCode = 1;
}
