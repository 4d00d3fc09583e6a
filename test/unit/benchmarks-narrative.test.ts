import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readHistoryResults } from '../../bench/doc-tables.ts';

/**
 * The figures docs/benchmarks.md's narrative quotes from committed results (issue 18 point 7):
 * the generated tables are checked by report-docs.test.ts, these are the ones in the prose.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(root, 'docs', 'benchmarks.md'), 'utf8').replace(/\s+/g, ' ');
const s = (ms: number): string => (ms / 1000).toFixed(2);

describe("docs/benchmarks.md's narrative", () => {
  it('History: the replays it quotes are the committed ones of bench/results/history.json', () => {
    const byName = new Map(readHistoryResults().map((r) => [r.name, r]));
    const flipt = byName.get('flipt-mysql');
    const gophish = byName.get('gophish-mysql');
    expect(flipt && gophish, 'history.json lost flipt-mysql or gophish-mysql').toBeTruthy();
    expect(doc).toContain(`the same replays took ${s(flipt!.replayMs)} and ${s(gophish!.replayMs)} s on flipt and gophish`);
    const times = [flipt!, gophish!, byName.get('permify-postgres')!].map((r) => r.date.slice(11, 16)).sort();
    expect(doc).toContain(`the rows dated ${times[0]}-${times.at(-1)} in the table`);
  });

  it("Switchover: the whole-run gaps it quotes are the generated report's", () => {
    const report = readFileSync(join(root, 'docs', 'benchmarks-switchover.md'), 'utf8');
    const m = /longest write gap of the whole run \(probe\) at most half of MHA's: \(c\) ([\d.]+) ms against \(d\) ([\d.]+) ms/.exec(report);
    expect(m, 'docs/benchmarks-switchover.md no longer states the whole-run gaps').not.toBeNull();
    expect(doc).toContain(`(${Math.round(Number(m![1]))} ms against MHA's ${Math.round(Number(m![2]))}, medians)`);
  });
});
