/**
 * An expand-only release (no post-deploy migration waits) with a deploy command: the run applies
 * the expand, then deploys. Killed in the deploy (MIGRATE_FAULT_KILL_AFTER=deploy:begin), the code
 * state is unknown, so `migrate resume` must deploy again, verify, and close the run, although
 * nothing is left to migrate. It used to find "nothing to apply" and stop there: no deploy, and
 * the run stayed interrupted for every later resume.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, show } from '../faults/harness.ts';
import { columns, ledger, StepScript } from '../helpers/handoff-cases.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

describe('expand-only release, killed in its deploy', () => {
  let sb: RunningSandbox;
  const migDir = mkdtempSync(join(tmpdir(), 'mig-handoff-expand-only-'));
  const step = new StepScript();
  const cmd = `sh ${step.path}`;
  const flags = ['--deploy-command', cmd, '--verify-command', cmd];
  const migrate = (args: string[], env: Record<string, string> = {}) => cli(['--config', sb.configPath, ...args], env);
  const phases = (): string[] => step.phases();
  beforeAll(async () => {
    writeFileSync(join(migDir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, old INT NULL);\n');
    sb = await startSandbox({ topology: 'single', migrationsDir: migDir });
    const up = await migrate(['up']);
    expect(up.code, show(up)).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await sb?.stop();
    step.cleanup();
    rmSync(migDir, { recursive: true, force: true });
  });

  it.each([
    ['deploy:begin', ['deploy 0002_add_k', 'verify 0002_add_k']],
    ['deploy:end', ['verify 0002_add_k']],
  ])('killed after %s: resume runs %j and closes the run', async (boundary, expected) => {
    const id = boundary === 'deploy:begin' ? '0002_add_k' : '0003_add_m';
    writeFileSync(join(migDir, `${id}.up.sql`), `ALTER TABLE t ADD COLUMN ${id.slice(-1)} INT NULL;\n`);
    const killed = await migrate(['apply', ...flags], { MIGRATE_FAULT_KILL_AFTER: boundary });
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    expect(await ledger(sb), 'the expand was applied before the deploy').toContain(id);
    phases();

    const r = await migrate(['resume', ...flags]);
    expect(r.code, show(r)).toBe(0);
    expect(phases()).toEqual(expected.map((p) => p.replace('0002_add_k', id)));
    expect(await columns(sb, 'primary')).toContain(id.slice(-1));
    // The run is finished: nothing is left for another resume.
    const again = await migrate(['resume', ...flags]);
    expect(again.code, show(again)).toBe(2);
    expect(again.error).toMatch(/no interrupted run/);
  });
});
