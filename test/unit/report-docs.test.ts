import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATALOG, catalogMarkdown } from '../../src/analysis/rules/catalog.ts';
import { FORMATS } from '../../src/report/index.ts';
import {
  readHistoryResults,
  readPlanResults,
  readProfileResults,
  renderHistoryTable,
  renderPlanTable,
  renderProfileTable,
  tableOf,
} from '../../bench/doc-tables.ts';

/** docs/rules.md is generated from the catalog (npm run docs:rules): it must not drift from it. */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('docs', () => {
  it('docs/rules.md is the catalog as generated', () => {
    expect(readFileSync(join(root, 'docs', 'rules.md'), 'utf8')).toBe(catalogMarkdown());
  });

  it('docs/check.md documents every command flag and format', () => {
    const doc = readFileSync(join(root, 'docs', 'check.md'), 'utf8');
    for (const flag of [
      '--dialect',
      '--shadow',
      '--queries',
      '--queries-from',
      '--min-count',
      '--new-queries',
      '--format',
      '--ack',
      '--no-cache',
      '--cache-dir',
      '--config',
    ])
      expect(doc).toContain(flag);
    for (const format of FORMATS) expect(doc).toContain(`--format ${format}`);
    expect(doc).toMatch(/Exit codes/);
    for (const code of CATALOG.keys()) if (code.startsWith('WL')) expect(doc).toContain(code);
  });

  it('docs/benchmarks.md carries the switchover summary of the generated docs/benchmarks-switchover.md', () => {
    const full = readFileSync(join(root, 'docs', 'benchmarks-switchover.md'), 'utf8');
    const copy = /<!-- switchover-summary:begin -->\n([\s\S]*?)\n<!-- switchover-summary:end -->/.exec(
      readFileSync(join(root, 'docs', 'benchmarks.md'), 'utf8'),
    )?.[1];
    expect(copy, 'the summary block is missing from docs/benchmarks.md').toBeDefined();
    const results = full.slice(full.indexOf('## Results'), full.indexOf('Columns:')).trim().replace('## Results', '### Results');
    const machine = full.slice(full.indexOf('## Machine')).split('\n## ')[0]!.trim().replace('## Machine', '### Machine');
    expect(copy).toBe(`${results}\n\n${machine}`);
  });

  it("docs/benchmarks.md's plan table is rendered from the committed bench:plan results, no figure typed by hand", () => {
    const doc = readFileSync(join(root, 'docs', 'benchmarks.md'), 'utf8');
    const results = readPlanResults();
    expect(results.map((r) => r.dialect)).toEqual(['mysql', 'postgres']);
    for (const r of results) expect(r.sections.map((x) => x.server)).toEqual(['durable', 'throwaway']);
    expect(tableOf(doc, 'plan-table'), 'regenerate: node --import tsx bench/doc-tables.ts --write').toBe(renderPlanTable(results));
  });

  it("docs/benchmarks.md's history table is rendered from the committed bench:history results", () => {
    const doc = readFileSync(join(root, 'docs', 'benchmarks.md'), 'utf8');
    const results = readHistoryResults();
    expect(results.length).toBeGreaterThan(0);
    expect(tableOf(doc, 'history-table'), 'regenerate: node --import tsx bench/doc-tables.ts --write').toBe(renderHistoryTable(results));
  });

  it("docs/benchmarks.md's switchover-profile table is rendered from the committed profile.ts results, and the targets it states hold in them", () => {
    const doc = readFileSync(join(root, 'docs', 'benchmarks.md'), 'utf8');
    const results = readProfileResults();
    expect(tableOf(doc, 'profile-table'), 'regenerate: node --import tsx bench/doc-tables.ts --write').toBe(renderProfileTable(results));
    const median = (xs: number[]): number => {
      const v = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(v.length / 2);
      return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
    };
    for (const p of results) {
      const ok = p.rows.filter((r) => !r.error);
      expect(ok.length, `${p.topology} as ${p.user}: 5 switchovers`).toBe(5);
      expect(p.consistency, `${p.topology} as ${p.user}`).toEqual([]);
      // Issue 12's targets, as the paragraph under the table states them.
      expect(median(ok.map((r) => r.writeBlockMs!)), `${p.topology} as ${p.user}: write block`).toBeLessThanOrEqual(50);
      expect(median(ok.map((r) => Math.max(r.blockGapMs!, r.afterGapMs!))), `${p.topology} as ${p.user}: longest probe gap`).toBeLessThanOrEqual(60);
    }
    expect(doc).toContain('On both topologies the issue-12 targets hold here without an ALTER');
  });

  it("the README's switchover figures are the generated docs/benchmarks-switchover.md's", () => {
    const doc = readFileSync(join(root, 'docs', 'benchmarks-switchover.md'), 'utf8');
    const readme = readFileSync(join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const m = (re: RegExp): RegExpExecArray => {
      const x = re.exec(doc);
      expect(x, `docs/benchmarks-switchover.md lacks ${re}`).not.toBeNull();
      return x!;
    };
    const ours = m(
      /\(c\) write block as `migrate` measures it[^:]*: (\d+) \((\d+-\d+)\) ms; the probe's longest gap overlapping that block: (\d+) \((\d+-\d+)\) ms/,
    );
    const mha = m(/\(d\) MHA's write block[^\n]*the probe's longest gap overlapping it: (\d+) \(/);
    const failed = m(/failed writes \(probe \+ load\) at most half of MHA's: \(c\) (\d+) against \(d\) (\d+)/);
    const runs = m(/0 acknowledged writes missing for every way and client user: 0 in all (\d+) measured runs/);
    const whole = m(/longest write gap of the whole run \(probe\) at most half of MHA's: \(c\) ([\d.]+) ms against \(d\) ([\d.]+) ms/);
    const reps = m(/## Results \((\d+) repetitions/);
    expect(readme).toContain(`medians of ${reps[1]} runs`);
    expect(readme).toContain(`write block ${ours[1]} ms (${ours[2]})`);
    expect(readme).toContain(`at the switchover ${ours[3]} ms (${ours[4]}) against ${mha[1]} ms for MHA`);
    expect(readme).toContain(`${failed[1]} failed writes against MHA's ${failed[2]}`);
    expect(readme).toContain(`in any of the ${runs[1]} runs`);
    expect(readme).toContain(`our longest gap is ${Math.round(Number(whole[1]))} ms against MHA's ${Math.round(Number(whole[2]))} ms`);
  });
});
