import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { FaultRecord, RunnerRecord } from '../faults/record.ts';

/**
 * docs/reliability.md is rendered from the fault suite's results; scripts/reliability-doc.ts keeps
 * a copy of the ones it used in bench/results/faults/ (committed), so the doc can be checked
 * against them like the benchmark tables (issue 18 point 7).
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const committed = join(root, 'bench', 'results', 'faults');
const work = mkdtempSync(join(tmpdir(), 'reliability-doc-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function render(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'reliability-doc.ts'), ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const outcome = { command: 'migrate apply', exitCode: 1, signal: null, error: 'stopped', fix: 'resume', ms: 1234 };
const after = { checks: [{ name: 'one writable node', held: true, detail: 'primary' }], skipped: [], writer: 'primary', acknowledgedWrites: 10, lostWrites: 0 };
const fault: FaultRecord = {
  id: 'g-second-coordinator',
  fault: 'a second coordinator',
  expected: 'refuse it',
  coordinator: outcome,
  after,
  timings: { refusedAfterMs: 50 },
  held: true,
  at: '2026-12-01T10:00:00.000Z',
};
const runner = (at: string): RunnerRecord =>
  ({
    id: 'r5-ledger-dropped-mysql',
    dialect: 'mysql',
    fault: 'ledger dropped',
    expected: 'refuse',
    runs: [outcome],
    after: 'ledger',
    held: true,
    at,
  }) as unknown as RunnerRecord;

describe('docs/reliability.md from kept results', () => {
  it('a render keeps the results it used, with the machine, and rendering from the copy gives the same doc', () => {
    const results = join(work, 'results');
    mkdirSync(results);
    writeFileSync(join(results, 'g.json'), JSON.stringify(fault));
    writeFileSync(join(results, 'r5.json'), JSON.stringify(runner('2026-12-01T11:00:00.000Z')));
    writeFileSync(join(results, 'machine.json'), JSON.stringify({ cores: 64 }));
    const kept = join(work, 'kept');
    const first = render('--results', results, '--out', join(work, 'first.md'), '--keep', kept);
    expect(first.code, first.out).toBe(0);
    expect(JSON.parse(readFileSync(join(kept, 'machine.json'), 'utf8'))).toEqual({ cores: 64 });
    const again = render('--results', kept, '--out', join(work, 'again.md'));
    expect(again.code, again.out).toBe(0);
    const doc = readFileSync(join(work, 'first.md'), 'utf8');
    expect(doc).toContain('on a 64-core machine');
    expect(doc).toContain('a second coordinator');
    expect(readFileSync(join(work, 'again.md'), 'utf8')).toBe(doc);

    // --only runner replaces the runner results of the copy and nothing else.
    const newer = join(work, 'newer');
    mkdirSync(newer);
    writeFileSync(join(newer, 'r5-new.json'), JSON.stringify(runner('2026-12-02T11:00:00.000Z')));
    const only = render('--results', newer, '--out', join(work, 'first.md'), '--only', 'runner', '--keep', kept);
    expect(only.code, only.out).toBe(0);
    expect(existsSync(join(kept, 'r5.json'))).toBe(false);
    expect(existsSync(join(kept, 'r5-new.json'))).toBe(true);
    expect(existsSync(join(kept, 'g.json'))).toBe(true);
    const third = render('--results', kept, '--out', join(work, 'third.md'));
    expect(third.code, third.out).toBe(0);
    expect(readFileSync(join(work, 'third.md'), 'utf8')).toBe(readFileSync(join(work, 'first.md'), 'utf8'));
  });

  // The committed doc predates the kept copy: until the fault suite's next run is rendered (which
  // writes bench/results/faults/), there is nothing committed to check it against.
  it.skipIf(!existsSync(join(committed, 'machine.json')))('docs/reliability.md is what bench/results/faults/ renders', () => {
    const r = render('--results', committed, '--out', join(work, 'committed.md'));
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(join(work, 'committed.md'), 'utf8'), 'regenerate: npm run docs:reliability (after the fault suite)').toBe(
      readFileSync(join(root, 'docs', 'reliability.md'), 'utf8'),
    );
  });
});
