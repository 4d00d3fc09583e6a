/**
 * The hand-off (deploy / verify / rollback) on a primary-replica sandbox behind HAProxy, through
 * bin/migrate: the cases of test/helpers/handoff-cases.ts, the first with a replica-first expand
 * (so the deploy gets the new primary), every schema check on every node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { cli, show } from '../faults/harness.ts';
import { handoffCases } from '../helpers/handoff-cases.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

describe('hand-off on a primary-replica cluster with HAProxy', () => {
  let sb: RunningSandbox;
  const migDir = mkdtempSync(join(tmpdir(), 'mig-handoff-'));
  beforeAll(async () => {
    writeFileSync(join(migDir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, old INT NULL);\nCREATE TABLE legacy (id INT PRIMARY KEY);\n');
    sb = await startSandbox({ topology: 'primary-replica', replicas: 1, proxy: true, migrationsDir: migDir });
    const up = await cli(['--config', sb.configPath, 'up']);
    expect(up.code, show(up)).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await sb?.stop();
    rmSync(migDir, { recursive: true, force: true });
  });
  handoffCases(() => ({ sb, migDir, applyArgs: ['--strategy', 'replica-first'], expandWriter: 'replica1' }));
});
