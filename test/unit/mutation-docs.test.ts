import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * docs/mutation.md states only scores whose output is committed (issue 18 point 7): each
 * bench/results/mutation-*.json written by scripts/mutation-check.ts --json. A rerun of some of a
 * sample (--only, after a test was added for them) counts towards its sample's score "now".
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsDir = join(root, 'bench', 'results');
const doc = readFileSync(join(root, 'docs', 'mutation.md'), 'utf8');

interface Run {
  name: string;
  command: string;
  results: { file: string; line: number; start: number; to: string; killed: boolean }[];
}

const runs: Run[] = readdirSync(resultsDir)
  .filter((f) => /^mutation-.*\.json$/.test(f))
  .map((f) => ({ name: `bench/results/${f}`, ...JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) }));
const filesOf = (r: Run): string | undefined => /--files (\S+)/.exec(r.command)?.[1];
const key = (m: Run['results'][number]): string => `${m.file}@${m.start} ${m.to}`;

/** The mutants of a whole sample that some committed run killed. */
function killedNow(sampleRun: Run): Set<string> {
  const reruns = runs.filter((r) => r !== sampleRun && r.command.includes('--only') && filesOf(r) === filesOf(sampleRun));
  return new Set([sampleRun, ...reruns].flatMap((r) => r.results.filter((m) => m.killed).map(key)));
}

describe('docs/mutation.md', () => {
  it('there are committed mutation results to state', () => {
    expect(runs.length).toBeGreaterThan(0);
  });

  it.each(runs.map((r) => [r.name, r] as const))('states the score of %s on its row', (name, run) => {
    const row = doc.split('\n').find((l) => l.startsWith('|') && l.includes(name));
    expect(row, `docs/mutation.md has no table row for ${name}`).toBeDefined();
    expect(row).toContain(`${run.results.filter((m) => m.killed).length} of ${run.results.length}`);
  });

  it.each(runs.filter((r) => !r.command.includes('--only')).map((r) => [r.name, r] as const))(
    'states the score now of the sample in %s, and names every mutant still surviving',
    (_name, run) => {
      const killed = killedNow(run);
      expect(doc).toContain(`**${killed.size} of ${run.results.length}**`);
      for (const m of run.results.filter((x) => !killed.has(key(x))))
        expect(doc, `survivor ${m.file}:${m.line} not explained`).toContain(`${m.file}:${m.line}`);
    },
  );
});
