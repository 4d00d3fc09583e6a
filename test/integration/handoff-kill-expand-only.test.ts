/**
 * An expand-only release (no post-deploy migration waits) with a deploy command: the run applies
 * the expand, then deploys. Killed in the deploy (MIGRATE_FAULT_KILL_AFTER=deploy:begin), the code
 * state is unknown, so `migrate resume` must deploy again, verify, and close the run, although
 * nothing is left to migrate. It used to find "nothing to apply" and stop there: no deploy, and
 * the run stayed interrupted for every later resume.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { show } from '../faults/harness.ts';
import { columns, handoffKillSetup, ledger } from '../helpers/handoff-cases.ts';

describe('expand-only release, killed in its deploy', () => {
  const { migDir, step, cmd, migrate, sb } = handoffKillSetup('mig-handoff-expand-only-', { topology: 'single' });
  const flags = ['--deploy-command', cmd, '--verify-command', cmd];
  const phases = (): string[] => step.phases();

  it.each([
    ['deploy:begin', ['deploy 0002_add_k', 'verify 0002_add_k']],
    ['deploy:end', ['verify 0002_add_k']],
  ])('killed after %s: resume runs %j and closes the run', async (boundary, expected) => {
    const id = boundary === 'deploy:begin' ? '0002_add_k' : '0003_add_m';
    writeFileSync(join(migDir, `${id}.up.sql`), `ALTER TABLE t ADD COLUMN ${id.slice(-1)} INT NULL;\n`);
    const killed = await migrate(['apply', ...flags], { MIGRATE_FAULT_KILL_AFTER: boundary });
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    expect(await ledger(sb()), 'the expand was applied before the deploy').toContain(id);
    phases();

    const r = await migrate(['resume', ...flags]);
    expect(r.code, show(r)).toBe(0);
    expect(phases()).toEqual(expected.map((p) => p.replace('0002_add_k', id)));
    expect(await columns(sb(), 'primary')).toContain(id.slice(-1));
    // The run is finished: nothing is left for another resume.
    const again = await migrate(['resume', ...flags]);
    expect(again.code, show(again)).toBe(2);
    expect(again.error).toMatch(/no interrupted run/);
  });
});
