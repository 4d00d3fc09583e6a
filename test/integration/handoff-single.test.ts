/**
 * The hand-off on a single MariaDB server (topology single), through bin/migrate: the cases of
 * test/helpers/handoff-cases.ts, then the coordinator SIGKILLed at each boundary of the hand-off's
 * steps (deploy, verify, rollback, verify-rollback: MIGRATE_FAULT_KILL_AFTER, as in
 * kill-resume.test.ts) and `migrate resume` going on at the step the journal names: a step cut
 * off runs again, one that ended does not, and the contract runs only after a verify that passed.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, show, type CliResult } from '../faults/harness.ts';
import { columns, handoffCases, ledger, StepScript } from '../helpers/handoff-cases.ts';
import { healthServer } from '../helpers/health-server.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

describe('hand-off on a single MariaDB server', () => {
  let sb: RunningSandbox;
  const migDir = mkdtempSync(join(tmpdir(), 'mig-handoff-single-'));
  beforeAll(async () => {
    writeFileSync(join(migDir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, old INT NULL);\nCREATE TABLE legacy (id INT PRIMARY KEY);\n');
    sb = await startSandbox({ topology: 'single', migrationsDir: migDir });
    const up = await cli(['--config', sb.configPath, 'up']);
    expect(up.code, show(up)).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await sb?.stop();
    rmSync(migDir, { recursive: true, force: true });
  });
  handoffCases(() => ({ sb, migDir, applyArgs: [], expandWriter: 'primary' }));

  describe('killed at each hand-off boundary, then resume', () => {
    const step = new StepScript();
    const cmd = `sh ${step.path}`;
    const flags = ['--deploy-command', cmd, '--verify-command', cmd, '--rollback-command', cmd];
    const migrate = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => cli(['--config', sb.configPath, ...args], env);
    let seq = 7;
    /** A new expand (add column c) and its contract (drop it). */
    const pair = (c: string): string => {
      const drop = `${String(seq + 2).padStart(4, '0')}_drop_${c}`;
      writeFileSync(join(migDir, `${String(seq + 1).padStart(4, '0')}_add_${c}.up.sql`), `ALTER TABLE t ADD COLUMN ${c} INT NULL;\n`);
      writeFileSync(join(migDir, `${drop}.up.sql`), `-- migrate:phase post-deploy\nALTER TABLE t DROP COLUMN ${c};\n`);
      seq += 2;
      return drop;
    };
    const killAt = async (boundary: string): Promise<void> => {
      const killed = await migrate(['apply', ...flags], { MIGRATE_FAULT_KILL_AFTER: boundary });
      expect(killed.signal, `killed at ${boundary}: ${show(killed)}`).toBe('SIGKILL');
      step.take();
    };
    const phases = (): string[] => step.phases().map((l) => l.split(' ')[0]!);
    afterAll(() => step.cleanup());

    // [boundary, the steps resume runs]: a step that ended is not run again; one cut off is.
    const passing: [string, string[]][] = [
      ['deploy:begin', ['deploy', 'verify']],
      ['deploy:end', ['verify']],
      ['verify:begin', ['verify']],
      ['verify:end', []],
    ];
    it.each(passing)('verify passes, killed after %s: resume runs %j, then the contract', async (boundary, expected) => {
      const c = `k_${boundary.replace(/\W/g, '_')}`;
      const drop = pair(c);
      await killAt(boundary);
      expect(await columns(sb, 'primary'), 'the contract waits for the hand-off').toContain(c);
      expect(await ledger(sb)).not.toContain(drop);
      const r = await migrate(['resume', ...flags]);
      expect(r.code, show(r)).toBe(0);
      expect(phases()).toEqual(expected);
      expect(await columns(sb, 'primary')).not.toContain(c);
      expect(await ledger(sb)).toContain(drop);
    });

    // The release fails verify: whatever was cut off, resume finishes the rollback and never contracts.
    const failing: [string, string[]][] = [
      ['verify:fail', ['rollback', 'verify-rollback']],
      ['rollback:begin', ['rollback', 'verify-rollback']],
      ['rollback:end', ['verify-rollback']],
      ['verify-rollback:begin', ['verify-rollback']],
      ['verify-rollback:end', []],
    ];
    let failingDrop = '';
    it.each(failing)('verify fails, killed after %s: resume runs %j, exits 1, names `migrate continue`, contracts nothing', async (boundary, expected) => {
      // One expand for all of them: after the first, only its contract is pending and apply hands off at once.
      if (!failingDrop) failingDrop = pair('k_failing');
      step.fail('verify');
      await killAt(boundary);
      const r = await migrate(['resume', ...flags]);
      expect(r.code, show(r)).toBe(1);
      expect(phases()).toEqual(expected);
      expect(r.error).toMatch(/^The hand-off failed: .*verify command failed/);
      expect(r.fix).toContain(`continue --cluster`);
      expect(await columns(sb, 'primary')).toContain('k_failing');
      expect(await ledger(sb)).not.toContain(failingDrop);
    });

    it('after those, the release fixed: `migrate continue` deploys, verifies, contracts', async () => {
      step.fail('verify', false);
      const r = await migrate(['continue', ...flags]);
      expect(r.code, show(r)).toBe(0);
      expect(phases()).toEqual(['deploy', 'verify']);
      expect(await columns(sb, 'primary')).not.toContain('k_failing');
      expect(await ledger(sb)).toContain(failingDrop);
    });

    it('the deploy fails: taken as a failed release (it may have half-switched): rollback, the old release verified, exit 1, nothing contracted', async () => {
      const drop = pair('k_deployfail');
      step.fail('deploy');
      try {
        const r = await migrate(['apply', ...flags]);
        expect(r.code, show(r)).toBe(1);
        expect(phases()).toEqual(['deploy', 'rollback', 'verify-rollback']);
        expect(r.error).toMatch(
          /^The hand-off failed: the deploy command failed \(exit 1\): sh .*\. The code was rolled back and the old release passed verify\./,
        );
        expect(await columns(sb, 'primary')).toContain('k_deployfail');
        expect(await ledger(sb)).not.toContain(drop);
      } finally {
        step.fail('deploy', false);
      }
      const again = await migrate(['continue', ...flags]);
      expect(again.code, show(again)).toBe(0);
      expect(phases()).toEqual(['deploy', 'verify']);
      expect(await ledger(sb)).toContain(drop);
    });

    it('an HTTP verify: killed after deploy:end, resume checks the URL (not deploying again), then contracts', async () => {
      const app = await healthServer(() => 200);
      try {
        // With a password in the URL: sent as basic auth, never printed nor journaled.
        const password = 'hand-off-pw-77';
        const url = app.url.replace('http://', `http://ops:${password}@`);
        const shown = app.url.replace('http://', 'http://ops:***@');
        const http = ['--deploy-command', cmd, '--verify-url', url, '--verify-status', '204', '--verify-retries', '2', '--verify-window', '200ms'];
        const drop = pair('k_http');
        app.answer = () => 204;
        const killed = await migrate(['apply', ...http], { MIGRATE_FAULT_KILL_AFTER: 'deploy:end' });
        expect(killed.signal, show(killed)).toBe('SIGKILL');
        expect(phases()).toEqual(['deploy']);
        expect(app.requests, 'killed before the verify').toBe(0);
        const r = await migrate(['resume', ...http]);
        expect(r.code, show(r)).toBe(0);
        expect(phases()).toEqual([]);
        expect(app.requests).toBeGreaterThanOrEqual(2);
        expect(r.stderr).toContain(`hand-off: verify: passed: ${shown} answered 204 after 1 try and stayed healthy for 200 ms`);
        expect(app.lastAuth).toBe(`Basic ${Buffer.from(`ops:${password}`).toString('base64')}`);
        expect(`${killed.stdout}${killed.stderr}${r.stdout}${r.stderr}`).not.toContain(password);
        const journals = join(sb.dir, '.migrate', 'runs');
        for (const f of readdirSync(journals)) expect(readFileSync(join(journals, f), 'utf8'), f).not.toContain(password);
        expect(await ledger(sb)).toContain(drop);
      } finally {
        await app.close();
      }
    });

    it('hand-off flags that contradict each other or lack their URL are refused before anything runs', async () => {
      const both = await migrate(['apply', '--verify-command', 'true', '--verify-url', 'http://127.0.0.1:1/health']);
      expect(both.code, show(both)).toBe(2);
      expect(both.error).toBe('--verify-command and --verify-url both given.');
      const noUrl = await migrate(['continue', '--verify-status', '200']);
      expect(noUrl.code, show(noUrl)).toBe(2);
      expect(noUrl.error).toBe('--verify-status, --verify-retries and --verify-window need a URL to check.');
      const ftp = await migrate(['resume', '--verify-url', 'ftp://ops:pw-flag-1@127.0.0.1/x']);
      expect(ftp.code, show(ftp)).toBe(2);
      expect(ftp.error).toBe('--verify-url is not an http:// or https:// URL.');
      expect(ftp.stderr).not.toContain('pw-flag-1');
    });

    it('a new expand numbered after a contract a failed hand-off left pending is refused (applying it in place would run that contract before the deploy)', async () => {
      const drop = pair('k_left');
      step.fail('verify');
      const failed = await migrate(['apply', ...flags]);
      expect(failed.code, show(failed)).toBe(1);
      step.fail('verify', false);
      step.take();
      const expand = `${String(seq + 1).padStart(4, '0')}_add_k_new`;
      writeFileSync(join(migDir, `${expand}.up.sql`), 'ALTER TABLE t ADD COLUMN k_new INT NULL;\n');
      seq++;
      const r = await migrate(['apply', ...flags]);
      expect(r.code, show(r)).toBe(1);
      expect(r.error).toBe(
        `${drop} (post-deploy) is pending before ${expand} (pre-deploy, in place): applying ${expand} would apply ${drop} with it, before the code deploy and its verify.`,
      );
      expect(r.fix).toContain('Run `migrate continue` first');
      expect(phases()).toEqual([]);
      expect(await columns(sb, 'primary')).toContain('k_left');
      expect(await columns(sb, 'primary')).not.toContain('k_new');
      const cont = await migrate(['continue', ...flags]);
      expect(cont.code, show(cont)).toBe(0);
      const again = await migrate(['apply', ...flags]);
      expect(again.code, show(again)).toBe(0);
      expect(await columns(sb, 'primary')).toContain('k_new');
      expect(await columns(sb, 'primary')).not.toContain('k_left');
    });

    it('resume without the hand-off flags the interrupted run had is refused, changing nothing', async () => {
      const c = 'k_noflags';
      const drop = pair(c);
      await killAt('deploy:end');
      const r = await migrate(['resume']);
      expect(r.code, show(r)).toBe(1);
      expect(r.error).toMatch(/was interrupted in its hand-off \(verify was next\), and this resume has none \(a verify step, a rollback command\)\.$/);
      expect(r.fix).toContain('Run `migrate resume` again with the same hand-off flags');
      expect(phases()).toEqual([]);
      expect(await columns(sb, 'primary')).toContain(c);
      const again = await migrate(['resume', ...flags]);
      expect(again.code, show(again)).toBe(0);
      expect(phases()).toEqual(['verify']);
      expect(await ledger(sb)).toContain(drop);
    });
  });
});
