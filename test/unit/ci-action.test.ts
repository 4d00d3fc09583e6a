import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The GitHub Action's wiring, checked as text (no YAML parser among the dependencies): every input
 * it reads is declared, every variable its run script reads is passed, every output it declares is
 * written, and the example workflow only uses inputs and outputs that exist. These are the mistakes
 * GitHub reports only when a workflow runs. The run script itself runs in
 * test/integration/ci-sample-pr.test.ts.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (p: string): string => readFileSync(join(root, p), 'utf8');
const action = read('action.yml');
const runScript = read('scripts/ci/action-run.sh');
const indent = (l: string): number => l.length - l.trimStart().length;

/** Keys one level under a top-level `section:` of a YAML file. */
function sectionKeys(yaml: string, section: string): string[] {
  const lines = yaml.split('\n');
  const start = lines.indexOf(`${section}:`);
  expect(start, `${section}: in the YAML`).toBeGreaterThanOrEqual(0);
  const keys: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() && indent(l) === 0) break;
    const m = /^ {2}([A-Za-z][\w-]*):/.exec(l);
    if (m) keys.push(m[1]!);
  }
  return keys;
}

/** The `with:` keys of every step of a workflow that uses `uses`. */
function withKeys(yaml: string, uses: RegExp): string[][] {
  const lines = yaml.split('\n');
  const out: string[][] = [];
  lines.forEach((l, i) => {
    const m = /^(\s*(?:- )?)uses:\s*(\S+)/.exec(l);
    if (!m || !uses.test(m[2]!)) return;
    const stepIndent = m[1]!.length;
    const keys: string[] = [];
    let inWith = false;
    for (const next of lines.slice(i + 1)) {
      if (!next.trim() || next.trim().startsWith('#')) continue;
      if (indent(next) < stepIndent || (indent(next) === stepIndent - 2 && next.trimStart().startsWith('- '))) break;
      if (indent(next) === stepIndent) inWith = next.trim() === 'with:';
      else if (inWith && indent(next) === stepIndent + 2) keys.push(next.trim().split(':')[0]!);
    }
    out.push(keys);
  });
  return out;
}

describe('the GitHub Action', () => {
  const inputs = sectionKeys(action, 'inputs');
  const outputs = sectionKeys(action, 'outputs');

  it('declares every input it reads', () => {
    const used = [...new Set([...action.matchAll(/inputs\.([\w-]+)/g)].map((m) => m[1]!))];
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((u) => !inputs.includes(u))).toEqual([]);
  });

  it('passes the run script every INPUT_ variable it reads, as environment rather than spliced into the script', () => {
    const read = [...new Set([...runScript.matchAll(/\bINPUT_([A-Z_]+)/g)].map((m) => m[1]!))].sort();
    const passed = [...action.matchAll(/^\s+INPUT_([A-Z_]+): \$\{\{ inputs\.([\w-]+) \}\}$/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(passed.map(([v]) => v).sort()).toEqual(read);
    for (const [v, input] of passed) expect(input.toUpperCase().replace(/-/g, '_'), v).toBe(v);
    // No step's `run:` interpolates an input into shell text.
    for (const run of action.matchAll(/run: (.*(?:\n {8}.*)*)/g)) expect(run[1]).not.toMatch(/\$\{\{\s*inputs\./);
  });

  it('writes every output it declares', () => {
    const declared = [...action.matchAll(/value: \$\{\{ steps\.(\w+)\.outputs\.([\w-]+) \}\}/g)].map((m) => `${m[1]}.${m[2]}`);
    expect(declared).toHaveLength(outputs.length);
    const written = new Set([...runScript.matchAll(/echo "([\w-]+)=/g)].map((m) => `run.${m[1]}`));
    if (read('scripts/ci/pr-comment.mjs').includes('`comment-url=${')) written.add('comment.comment-url');
    expect(declared.filter((d) => !written.has(d))).toEqual([]);
  });

  it('runs scripts that exist, and its run script is valid bash', () => {
    for (const m of action.matchAll(/\$GITHUB_ACTION_PATH\/([\w./-]+)/g)) expect(existsSync(join(root, m[1]!)), m[1]).toBe(true);
    const r = spawnSync('bash', ['-n', join(root, 'scripts/ci/action-run.sh')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('the example workflow uses only inputs and outputs the action has', () => {
    const workflow = read('examples/ci/github-workflow.yml');
    const steps = withKeys(workflow, /migrate-coordinator@/);
    expect(steps.length).toBe(2);
    for (const keys of steps) {
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.filter((k) => !inputs.includes(k))).toEqual([]);
    }
    const used = [...workflow.matchAll(/steps\.migrate\.outputs\.([\w-]+)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((u) => !outputs.includes(u))).toEqual([]);
  });

  it('docs/ci.md documents every input and output, and the CI formats', () => {
    const doc = read('docs/ci.md');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    for (const k of [...inputs, ...outputs])
      expect(
        rows.some((r) => r.split('|')[1]!.includes(`\`${k}\``)),
        `a table row for ${k}`,
      ).toBe(true);
    expect(doc).toMatch(/--format text\|json\|markdown\|github\|sarif\|junit/);
    expect(doc).toContain('(rules.md)');
  });

  it('the GitLab example calls the comment script where the package ships it', () => {
    const gitlab = read('examples/ci/gitlab-ci.yml');
    expect(gitlab).toMatch(/node "\$MIGRATE_HOME\/scripts\/ci\/pr-comment\.mjs" gitlab --body-file migrate-report\.md/);
    expect(existsSync(join(root, 'scripts/ci/pr-comment.mjs'))).toBe(true);
    expect(gitlab).toMatch(/reports:\n\s+junit: migrate-junit\.xml/);
  });
});
