/**
 * A replica-first expand journals the switchover's check of the new primary and, after the deploy,
 * the hand-off's verify in one run. Killed right after the hand-off's `verify:begin`
 * (MIGRATE_FAULT_KILL_AFTER), the run must have deployed and be cut off in the hand-off's verify,
 * `migrate runs` must say so, and `migrate resume` must verify again (no second deploy), then contract.
 * While the switchover's step was also called `verify`, the same kill landed in the switchover,
 * before any deploy: `migrate runs` read "INTERRUPTED in verify" for a run that had not deployed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lastJournal, show } from '../faults/harness.ts';
import { columns, handoffKillSetup, ledger } from '../helpers/handoff-cases.ts';

describe('hand-off after a replica-first expand, killed in its verify', () => {
  const { migDir, step, cmd, migrate, sb } = handoffKillSetup('mig-handoff-kill-rf-', { topology: 'primary-replica', replicas: 1, proxy: true });
  const flags = ['--strategy', 'replica-first', '--deploy-command', cmd, '--verify-command', cmd];

  it('verify:begin is the hand-off verify: the deploy ran, runs says so, resume verifies again and contracts', async () => {
    writeFileSync(join(migDir, '0002_add_k.up.sql'), 'ALTER TABLE t ADD COLUMN k INT NULL;\n');
    writeFileSync(join(migDir, '0003_drop_k.up.sql'), '-- migrate:phase post-deploy\nALTER TABLE t DROP COLUMN k;\n');
    const killed = await migrate(['apply', ...flags], { MIGRATE_FAULT_KILL_AFTER: 'verify:begin' });
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    expect(
      step.phases().map((l) => l.split(' ')[0]),
      'killed after the deploy, in the hand-off verify',
    ).toEqual(['deploy']);
    const entries = lastJournal(sb());
    expect(
      entries.some((e) => e.step === 'switchover-verify' && e.phase === 'end'),
      'the switchover checked the new primary',
    ).toBe(true);
    expect(entries.at(-1)).toMatchObject({ step: 'verify', phase: 'begin', data: { check: `the command ${cmd}` } });
    const runs = await migrate(['runs']);
    expect(runs.stdout).toMatch(/INTERRUPTED in verify \(/);

    const r = await migrate(['resume', ...flags]);
    expect(r.code, show(r)).toBe(0);
    expect(step.phases().map((l) => l.split(' ')[0])).toEqual(['verify']);
    for (const n of ['primary', 'replica1']) expect(await columns(sb(), n), n).not.toContain('k');
    expect(await ledger(sb())).toContain('0003_drop_k');
  });
});
