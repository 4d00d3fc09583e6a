import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATALOG, catalogMarkdown } from '../../src/analysis/rules/catalog.ts';
import { FORMATS } from '../../src/report/index.ts';

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
});
