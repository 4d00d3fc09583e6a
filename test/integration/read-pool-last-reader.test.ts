/**
 * --drain-last-reader on `migrate continue` and `migrate resume`, run through bin/migrate on a
 * primary + 1 replica sandbox behind HAProxy (its readers backend named as readPool): the one
 * replica is the last reader, so only the flag drains it. The test reads the readers backend's
 * states through HAProxy's runtime API while the run is held at the replica's ALTER.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJournal } from '../faults/harness.ts';
import { heldAt, readers, runMigrate, startReadPoolSandbox } from '../helpers/haproxy-readers.ts';
import type { RunningSandbox } from '../helpers/sandbox.ts';

describe('--drain-last-reader on continue and resume (one replica: the last reader)', () => {
  let sb: RunningSandbox;
  let migDir: string;
  let socket: string;
  const replicaFirst = ['--strategy', 'replica-first', '--max-write-block', '3000'];
  const migrate = (args: string[], env: Record<string, string> = {}) => runMigrate(['--config', sb.configPath, ...args], env);

  function migration(id: string, up: string, down: string): void {
    writeFileSync(join(migDir, `${id}.up.sql`), `${up}\n`);
    writeFileSync(join(migDir, `${id}.down.sql`), `${down}\n`);
  }

  beforeAll(async () => {
    ({ sb, migDir, socket } = await startReadPoolSandbox(
      'mig-lastreader-',
      { topology: 'primary-replica', replicas: 1 },
      {
        id: '0001_create_items',
        up: "CREATE TABLE items (id INT PRIMARY KEY, c CHAR(100) NOT NULL DEFAULT '');",
        down: 'DROP TABLE items;',
      },
    ));
  }, 180_000);

  afterAll(async () => {
    await sb?.stop();
    if (migDir) rmSync(migDir, { recursive: true, force: true });
  });

  it('continue --drain-last-reader drains the only replica for the contract migration ALTER, then it joins back', async () => {
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready' });
    migration(
      '0002_widen_c',
      "-- migrate:phase post-deploy\nALTER TABLE items MODIFY c CHAR(101) NOT NULL DEFAULT '';",
      "ALTER TABLE items MODIFY c CHAR(100) NOT NULL DEFAULT '';",
    );
    const stopped = await migrate(['apply']);
    expect(stopped.code, stopped.out).toBe(0);
    expect(stopped.out).toMatch(/waiting for the code deploy; run `migrate continue`/);
    const { seen, ran } = await heldAt(['--config', sb.configPath, 'continue', ...replicaFirst, '--drain-last-reader'], 'alter:replica1:begin', () =>
      readers(socket),
    );
    expect(ran.code, ran.out).toBe(0);
    expect(ran.out).toMatch(/draining replica1, the last replica serving reads \(--drain-last-reader\)/);
    expect(seen).toEqual({ primary: 'maint', replica1: 'maint' });
    // After the switchover replica1 writes (out of the pool); the old primary, re-pointed, joined.
    expect(await readers(socket)).toEqual({ primary: 'ready', replica1: 'maint' });
    expect(lastJournal(sb).map((e) => `${e.step}:${e.phase}`)).toContain('read-pool-drain:replica1:end');
  }, 240_000);

  it('resume --drain-last-reader drains the only replica when the resumed run reaches its ALTER', async () => {
    // Writer replica1; primary is the only reader. The run dies before anything touched the pool.
    migration('0003_widen_c', "ALTER TABLE items MODIFY c CHAR(102) NOT NULL DEFAULT '';", "ALTER TABLE items MODIFY c CHAR(101) NOT NULL DEFAULT '';");
    const killed = await migrate(['apply', ...replicaFirst], { MIGRATE_FAULT_KILL_AFTER: 'read-pool:end' });
    expect(killed.signal, killed.out).toBe('SIGKILL');
    expect(await readers(socket)).toEqual({ primary: 'ready', replica1: 'maint' });
    const { seen, ran } = await heldAt(['--config', sb.configPath, 'resume', ...replicaFirst, '--drain-last-reader'], 'alter:primary:begin', () =>
      readers(socket),
    );
    expect(ran.code, ran.out).toBe(0);
    expect(ran.out).toMatch(/draining primary, the last replica serving reads \(--drain-last-reader\)/);
    expect(seen).toEqual({ primary: 'maint', replica1: 'maint' });
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready' });
  }, 240_000);
});
