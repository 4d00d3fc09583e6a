import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readTimingMargins, timingMarginsOf, timingMarginsSection } from '../../scripts/reliability-margins.ts';
import { SWITCHOVER_MARGIN_MS } from '../helpers/switchover-margins.ts';

/** docs/reliability.md's "Timing margins" figures come from the committed bench/results/timing-margins.json, not typed into the doc (issue 18). */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const margins = readTimingMargins();

describe('timing margins', () => {
  it("docs/reliability.md's Timing margins section is rendered from bench/results/timing-margins.json", () => {
    const doc = readFileSync(join(root, 'docs', 'reliability.md'), 'utf8');
    expect(timingMarginsOf(doc), 'regenerate: node --import tsx scripts/reliability-margins.ts --write').toBe(timingMarginsSection(margins).join('\n'));
  });

  it('the margin the tests assert is above every excess measured beyond the baselines', () => {
    const worst = Math.max(margins.completedSwitchovers.maxExcessMs, margins.undoneBlock.maxExcessMs, margins.noBlock.maxExcessMs);
    expect(SWITCHOVER_MARGIN_MS).toBeGreaterThan(worst);
    const l = margins.lostStatements;
    expect(l.exactlyOne + l.alsoOptionPrevents + l.onlyOptionPrevents).toBe(l.readings);
  });

  it("the README's undo overrun is the committed one", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    const low = Math.min(...margins.undoneOverrun.map((o) => o.overrunMs[0]));
    const high = Math.max(...margins.undoneOverrun.map((o) => o.overrunMs[1]));
    const said = /the undo runs after the bound: (\d+)-(\d+) ms over it in the tests' runs, which allow the machine's baseline gap \+ (\d+) ms/.exec(readme);
    expect(said, "the README's replica-first steps no longer state the undo's overrun").not.toBeNull();
    expect(said!.slice(1).map(Number)).toEqual([low, high, SWITCHOVER_MARGIN_MS]);
  });
});
