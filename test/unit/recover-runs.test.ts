import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProjectConfig } from '../../src/config/types.ts';
import { unfinishedRun } from '../../src/execution/recover.ts';

/** One config driving two clusters: resume/abort of one must find that cluster's run, not the newest. */
const dir = mkdtempSync(join(tmpdir(), 'migrate-runs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function journal(run: string, lines: { step: string; phase: string; data?: Record<string, unknown> }[]): void {
  mkdirSync(join(dir, '.migrate', 'runs'), { recursive: true });
  writeFileSync(join(dir, '.migrate', 'runs', `${run}.jsonl`), `${lines.map((l, i) => JSON.stringify({ ts: `2026-11-22T10:00:0${i}Z`, ...l })).join('\n')}\n`);
}

describe('unfinishedRun', () => {
  it('picks the newest unfinished run of the cluster asked for, and skips finished ones and other clusters', () => {
    const config = { source: join(dir, 'migrate.config.json') } as ProjectConfig;
    journal('20261122T100000-000001', [
      { step: 'plan', phase: 'end', data: { cluster: 'east' } },
      { step: 'alter:db2', phase: 'begin' },
    ]);
    journal('20261122T100100-000002', [
      { step: 'plan', phase: 'end', data: { cluster: 'west' } },
      { step: 'switchover', phase: 'begin' },
    ]);
    journal('20261122T100200-000003', [
      { step: 'plan', phase: 'end', data: { cluster: 'east' } },
      { step: 'done', phase: 'end' },
    ]);
    // Died before its plan: it changed nothing and belongs to no cluster.
    journal('20261122T100300-000004', [{ step: 'preflight', phase: 'begin' }]);

    expect(unfinishedRun(config, 'east')?.summary.run).toBe('20261122T100000-000001');
    expect(unfinishedRun(config, 'west')?.summary.run).toBe('20261122T100100-000002');
    expect(unfinishedRun(config, 'north')).toBeUndefined();
    // Without a cluster: the newest unfinished run, whatever it is (what `migrate runs` lists first).
    expect(unfinishedRun(config)?.summary.run).toBe('20261122T100300-000004');
  });
});
