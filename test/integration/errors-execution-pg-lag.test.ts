/**
 * A PostgreSQL replica drained from the read pool that is still behind in replay when a run puts
 * it back (waitCaughtUp's bound): a real replica whose replay is paused (pg_wal_replay_pause()),
 * a real HAProxy readers backend. A run killed with replica1 drained, then `migrate resume
 * --catch-up-timeout 2` while replay is still paused: replica1 stays out of the pool, and the
 * message says how long it waited and why; once replay resumes, the next step it names puts it back.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readers, runMigrate, startReadPoolSandbox } from '../helpers/haproxy-readers.ts';
import type { RunningSandbox } from '../helpers/sandbox.ts';

describe('PostgreSQL: a drained replica still behind in replay stays out of the read pool', () => {
  let sb: RunningSandbox;
  let migDir: string;
  let socket: string;
  const migrate = (args: string[], env: Record<string, string> = {}) => runMigrate(['--config', sb.configPath, ...args], env);

  beforeAll(async () => {
    ({ sb, migDir, socket } = await startReadPoolSandbox(
      'mig-pglag-',
      { topology: 'postgres', replicas: 2 },
      {
        id: '0001_create_items',
        up: 'CREATE TABLE items (id int PRIMARY KEY, name text);',
        down: 'DROP TABLE items;',
      },
    ));
  }, 180_000);

  afterAll(async () => {
    await sb?.stop();
    if (migDir) rmSync(migDir, { recursive: true, force: true });
  });

  it('resume with replay still paused: "… s behind in replay after 2 s of waiting", replica1 stays out; replayed, resume puts it back', async () => {
    writeFileSync(join(migDir, '0002_add_c2.up.sql'), 'ALTER TABLE items ADD COLUMN c2 int;\n');
    writeFileSync(join(migDir, '0002_add_c2.down.sql'), 'ALTER TABLE items DROP COLUMN c2;\n');
    const admin = await sb.pg('replica1', 'admin');
    try {
      await admin.query('SELECT pg_wal_replay_pause()');
      const killed = await migrate(['apply'], { MIGRATE_FAULT_KILL_AFTER: 'read-pool-drain:replica1:end' });
      expect(killed.signal, killed.out).toBe('SIGKILL');
      expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'maint', replica2: 'ready' });

      const resumed = await migrate(['resume', '--catch-up-timeout', '2']);
      expect(resumed.out).toMatch(
        /read pool: replica1 left out of the read pool: replica1 is \d+ s behind in replay after 2 s of waiting to return it to the read pool \(bound: 1 s of lag\); it stays out of the pool\./,
      );
      expect(resumed.out, 'no stack trace').not.toMatch(/\n\s+at /);
      // As it says: out of the pool, replica2 serving, replay still paused (nothing resumed it behind our back).
      expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'maint', replica2: 'ready' });
      expect((await admin.query<{ p: boolean }>('SELECT pg_is_wal_replay_paused() AS p')).rows[0]?.p).toBe(true);
      expect(resumed.code, resumed.out).toBe(0);
    } finally {
      await admin.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await admin.end();
    }
    // The next step the message names, once replica1 has replayed.
    const again = await migrate(['resume']);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/read pool: replica1 put back in the read pool \(lag \d+ s\)/);
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
  }, 180_000);
});
