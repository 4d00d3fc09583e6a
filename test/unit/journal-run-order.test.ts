import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/execution/journal.ts';

describe('the runs of a project, in the order they started', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mig-runorder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (id: string, ts: string) => writeFileSync(join(dir, `${id}.jsonl`), `${JSON.stringify({ ts, run: id, step: 'plan', phase: 'end' })}\n`);

  it('two runs of one second (an apply, then at once its continue) by their first entry, not their random suffix', () => {
    run('20261207T092108-ff0000', '2026-12-07T09:21:08.120Z');
    run('20261207T092108-000000', '2026-12-07T09:21:08.870Z');
    run('20261207T092107-aaaaaa', '2026-12-07T09:21:07.990Z');
    run('20261207T092109-111111', '2026-12-07T09:21:09.001Z');
    expect(listRuns(dir)).toEqual(['20261207T092107-aaaaaa', '20261207T092108-ff0000', '20261207T092108-000000', '20261207T092109-111111']);
  });
});
