/**
 * A replica-first expand journals the switchover's check of the new primary and, after the deploy,
 * the hand-off's verify in one run. Killed right after the hand-off's `verify:begin`
 * (MIGRATE_FAULT_KILL_AFTER), the run must have deployed and be cut off in the hand-off's verify,
 * `migrate runs` must say so, and `migrate resume` must verify again (no second deploy), then contract.
 * While the switchover's step was also called `verify`, the same kill landed in the switchover,
 * before any deploy: `migrate runs` read "INTERRUPTED in verify" for a run that had not deployed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, lastJournal, show } from '../faults/harness.ts';
import { columns, ledger, StepScript } from '../helpers/handoff-cases.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

describe('hand-off after a replica-first expand, killed in its verify', () => {
  let sb: RunningSandbox;
  const migDir = mkdtempSync(join(tmpdir(), 'mig-handoff-kill-rf-'));
  const step = new StepScript();
  const cmd = `sh ${step.path}`;
  const flags = ['--strategy', 'replica-first', '--deploy-command', cmd, '--verify-command', cmd];
  beforeAll(async () => {
    writeFileSync(join(migDir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, old INT NULL);\n');
    sb = await startSandbox({ topology: 'primary-replica', replicas: 1, proxy: true, migrationsDir: migDir });
    const up = await cli(['--config', sb.configPath, 'up']);
    expect(up.code, show(up)).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await sb?.stop();
    step.cleanup();
    rmSync(migDir, { recursive: true, force: true });
  });

  it('verify:begin is the hand-off verify: the deploy ran, runs says so, resume verifies again and contracts', async () => {
    writeFileSync(join(migDir, '0002_add_k.up.sql'), 'ALTER TABLE t ADD COLUMN k INT NULL;\n');
    writeFileSync(join(migDir, '0003_drop_k.up.sql'), '-- migrate:phase post-deploy\nALTER TABLE t DROP COLUMN k;\n');
    const migrate = (args: string[], env: Record<string, string> = {}) => cli(['--config', sb.configPath, ...args], env);
    const killed = await migrate(['apply', ...flags], { MIGRATE_FAULT_KILL_AFTER: 'verify:begin' });
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    expect(
      step.phases().map((l) => l.split(' ')[0]),
      'killed after the deploy, in the hand-off verify',
    ).toEqual(['deploy']);
    const entries = lastJournal(sb);
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
    for (const n of ['primary', 'replica1']) expect(await columns(sb, n), n).not.toContain('k');
    expect(await ledger(sb)).toContain('0003_drop_k');
  });
});
