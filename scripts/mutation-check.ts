/**
 * A small mutation check (issue 18): does the suite notice when the verdict or switchover code is
 * wrong? Each mutant flips one operator or literal the TypeScript compiler finds in the given
 * files (=== / !==, && / ||, < / <=, > / >=, true / false, a dropped `!`), the named tests run
 * against it, and the mutant is killed when they fail. The file is restored after every mutant,
 * also on Ctrl-C. StrykerJS does the same at scale; on this 2-core machine a run over the real-server
 * tests would take hours, so the mutants are sampled (deterministically, --seed) instead.
 *
 *   node --import tsx scripts/mutation-check.ts --files src/analysis/rules/bc-columns.ts,src/analysis/verdict.ts \
 *        --tests test/unit/analysis-rules.test.ts,test/integration/analysis-corpus.test.ts [--sample 40] [--seed 1]
 *        [--timeout 600] [--json out.json] [--list] [--only 3,7]
 *
 * --list prints the sampled mutants, numbered, and runs nothing; --only runs just those numbers of
 * the same sample (a slow suite, such as test/faults, one mutant at a time).
 * Prints every mutant (file:line, the change, killed or survived) and the score.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import ts from 'typescript';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

interface Mutant {
  file: string;
  line: number;
  start: number;
  end: number;
  from: string;
  to: string;
}

const SWAPS: Partial<Record<ts.SyntaxKind, string>> = {
  [ts.SyntaxKind.EqualsEqualsEqualsToken]: '!==',
  [ts.SyntaxKind.ExclamationEqualsEqualsToken]: '===',
  [ts.SyntaxKind.AmpersandAmpersandToken]: '||',
  [ts.SyntaxKind.BarBarToken]: '&&',
  [ts.SyntaxKind.LessThanToken]: '<=',
  [ts.SyntaxKind.LessThanEqualsToken]: '<',
  [ts.SyntaxKind.GreaterThanToken]: '>=',
  [ts.SyntaxKind.GreaterThanEqualsToken]: '>',
};

/** Every mutant the compiler finds in `file`, in source order. */
export function mutantsOf(file: string): Mutant[] {
  const text = readFileSync(file, 'utf8');
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Mutant[] = [];
  const add = (start: number, end: number, to: string): void => {
    out.push({ file, line: src.getLineAndCharacterOfPosition(start).line + 1, start, end, from: text.slice(start, end), to });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isBinaryExpression(n)) {
      const swap = SWAPS[n.operatorToken.kind];
      if (swap) add(n.operatorToken.getStart(src), n.operatorToken.getEnd(), swap);
    } else if (n.kind === ts.SyntaxKind.TrueKeyword) add(n.getStart(src), n.getEnd(), 'false');
    else if (n.kind === ts.SyntaxKind.FalseKeyword) add(n.getStart(src), n.getEnd(), 'true');
    else if (ts.isPrefixUnaryExpression(n) && n.operator === ts.SyntaxKind.ExclamationToken) add(n.getStart(src), n.getStart(src) + 1, '');
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

/** A deterministic sample of n (a small LCG, so the same seed picks the same mutants). */
function sample<T>(xs: T[], n: number, seed: number): T[] {
  if (xs.length <= n) return xs;
  let s = seed >>> 0;
  const idx = xs.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const j = s % (i + 1);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => xs[i]!);
}

const files = (arg('files') ?? '').split(',').filter(Boolean);
const tests = (arg('tests') ?? '').split(',').filter(Boolean);
if (!files.length || !tests.length) {
  console.error('mutation-check: --files a.ts,b.ts and --tests x.test.ts,y.test.ts are required.');
  process.exit(2);
}
const all = files.flatMap(mutantsOf);
const sampled = sample(all, Number(arg('sample', '40')), Number(arg('seed', '1')));
if (process.argv.includes('--list')) {
  for (const [i, m] of sampled.entries()) console.log(`${i + 1}. ${m.file}:${m.line}  ${m.from} -> ${m.to || '(removed)'}`);
  process.exit(0);
}
const only = (arg('only') ?? '').split(',').filter(Boolean).map(Number);
const picked = only.length ? sampled.filter((_, i) => only.includes(i + 1)) : sampled;
const timeoutMs = Number(arg('timeout', '600')) * 1000;
console.log(`mutation-check: ${all.length} mutants in ${files.length} file(s), running ${picked.length}; tests: ${tests.join(' ')}`);

// The suite must pass unmutated, or every mutant would count as killed.
const base = spawnSync('npx', ['vitest', 'run', ...tests, '--reporter', 'dot'], { encoding: 'utf8', timeout: timeoutMs });
if (base.status !== 0) {
  console.error(`mutation-check: the tests fail without any mutant (exit ${base.status}); fix them first.\n${(base.stdout + base.stderr).slice(-2000)}`);
  process.exit(2);
}

const originals = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const restore = (): void => {
  for (const [f, t] of originals) writeFileSync(f, t);
};
process.on('SIGINT', () => {
  restore();
  process.exit(130);
});
/** What killed a mutant, so a reader can tell a real kill from a timeout or a flaky timing test. */
function killedBy(r: ReturnType<typeof spawnSync>): string {
  if (r.error) return `no answer: ${r.error.message}`;
  const plain = stripVTControlCharacters(`${r.stdout}\n${r.stderr}`);
  const fail = plain.split('\n').find((l) => /^\s*FAIL\s/.test(l));
  return fail?.trim() ?? `exit ${r.status}`;
}

const results: (Mutant & { killed: boolean; ms: number; by?: string })[] = [];
try {
  for (const m of picked) {
    const text = originals.get(m.file)!;
    writeFileSync(m.file, text.slice(0, m.start) + m.to + text.slice(m.end));
    const t = performance.now();
    const r = spawnSync('npx', ['vitest', 'run', ...tests, '--reporter', 'dot', '--bail', '1'], { encoding: 'utf8', timeout: timeoutMs });
    writeFileSync(m.file, text);
    const killed = r.status !== 0;
    const by = killed ? killedBy(r) : undefined;
    results.push({ ...m, killed, ms: performance.now() - t, ...(by ? { by } : {}) });
    console.log(
      `${killed ? 'killed  ' : 'SURVIVED'} ${m.file}:${m.line}  ${m.from} -> ${m.to || '(removed)'}  (${((performance.now() - t) / 1000).toFixed(1)} s)${by ? `  ${by}` : ''}`,
    );
  }
} finally {
  restore();
}
const killed = results.filter((r) => r.killed).length;
console.log(`mutation-check: ${killed} of ${results.length} mutants killed (${((100 * killed) / Math.max(1, results.length)).toFixed(0)}%)`);
const out = arg('json');
if (out) writeFileSync(out, `${JSON.stringify({ command: process.argv.slice(2).join(' '), date: new Date().toISOString(), results }, null, 2)}\n`);
