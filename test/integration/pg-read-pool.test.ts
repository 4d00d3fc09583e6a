/**
 * The read pool on PostgreSQL (issue 17, point 5): the sandbox's primary with two streaming
 * replicas behind a real HAProxy (--proxy: a "readers" backend of the replicas, named as readPool).
 * While `migrate apply` waits for the replicas to replay a migration, a replica whose replay is
 * paused (pg_wal_replay_pause()) falls behind the pool's 1 s bound: it is drained, and returns once
 * it has replayed. The test reads the readers backend through HAProxy's runtime API itself while
 * replay is paused and after; then the last-reader rule, and a killed run's drained replica put
 * back by `abort`.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJournal } from '../faults/harness.ts';
import { readers, runMigrate, runtime, startReadPoolSandbox, type Ran } from '../helpers/haproxy-readers.ts';
import type { RunningSandbox } from '../helpers/sandbox.ts';

describe('read pool on PostgreSQL: a replica behind in replay leaves the readers backend until it has replayed', () => {
  let sb: RunningSandbox;
  let migDir: string;
  let socket: string;
  let n = 1;
  const migrate = (args: string[], env: Record<string, string> = {}) => runMigrate(['--config', sb.configPath, ...args], env);

  /** The next migration: one more column on items. */
  function nextMigration(): string {
    n += 1;
    const id = `${String(n).padStart(4, '0')}_add_c${n}`;
    writeFileSync(join(migDir, `${id}.up.sql`), `ALTER TABLE items ADD COLUMN c${n} int;\n`);
    writeFileSync(join(migDir, `${id}.down.sql`), `ALTER TABLE items DROP COLUMN c${n};\n`);
    return id;
  }

  /** Polls the readers backend until `want` holds (bounded); answers the last states read. */
  async function readersUntil(want: (s: Record<string, string>) => boolean, running: Promise<Ran>): Promise<Record<string, string>> {
    let ended: Ran | undefined;
    void running.then((r) => (ended = r));
    const until = Date.now() + 60_000;
    let s = await readers(socket);
    while (!want(s) && !ended && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      s = await readers(socket);
    }
    expect(want(s), `readers never reached the state: ${JSON.stringify(s)} ${ended?.out ?? ''}`).toBe(true);
    return s;
  }

  /** Waits (bounded) until the migration is committed on the primary. */
  async function committed(id: string): Promise<void> {
    const c = await sb.pg('primary', 'app');
    try {
      for (let i = 0; i < 600; i++) {
        const q = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM migrate_ledger WHERE id = $1', [id]);
        if ((q.rows[0]?.n ?? 0) > 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${id} never committed on the primary`);
    } finally {
      await c.end();
    }
  }

  /** Runs fn with replay paused on the replica; resumes it whatever happens. */
  async function replayPaused<T>(node: string, fn: (resume: () => Promise<void>) => Promise<T>): Promise<T> {
    const c = await sb.pg(node, 'admin');
    const resume = async (): Promise<void> => {
      await c.query('SELECT pg_wal_replay_resume()');
    };
    try {
      await c.query('SELECT pg_wal_replay_pause()');
      return await fn(resume);
    } finally {
      await resume().catch(() => undefined);
      await c.end();
    }
  }

  beforeAll(async () => {
    ({ sb, migDir, socket } = await startReadPoolSandbox(
      'mig-pgrp-',
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

  it('`sandbox up --topology postgres --proxy` names its readers backend as readPool; --dry-run says when a replica leaves it', async () => {
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
    const cfg = JSON.parse(readFileSync(sb.configPath, 'utf8')) as { clusters: { readPool?: unknown }[] };
    expect(cfg.clusters[0]!.readPool).toEqual({ type: 'haproxy', socket, backend: 'readers' });
    nextMigration();
    const dry = await migrate(['apply', '--dry-run']);
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toContain('then waits until replica1, replica2 replayed it; a replica not replayed within 1 s leaves the read pool (haproxy) until it has');
  });

  it('replay paused on replica1: drained (HAProxy says maint, replica2 serves), back to ready once it replayed', async () => {
    const id = `${String(n).padStart(4, '0')}_add_c${n}`;
    await replayPaused('replica1', async (resume) => {
      const running = migrate(['apply']);
      const during = await readersUntil((s) => s['replica1'] === 'maint', running);
      expect(during).toEqual({ primary: 'maint', replica1: 'maint', replica2: 'ready' });
      await resume();
      const ran = await running;
      expect(ran.code, ran.out).toBe(0);
      expect(ran.out).toMatch(/read pool: draining replica1: its replay is more than 1 s behind \(\d+ bytes of WAL to replay\)/);
      expect(ran.out).toMatch(/read pool: replica1 is back in the read pool \(lag \d+ s\)/);
      expect(ran.out).toMatch(new RegExp(`${id}: replicas replayed it .*replica1 after \\d+ ms`));
    });
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
    const steps = lastJournal(sb).map((e) => `${e.step}:${e.phase}`);
    const i = (s: string): number => steps.indexOf(s);
    expect(i('read-pool:end')).toBeGreaterThan(i(`in-place:${id}:begin`));
    expect(i('read-pool-drain:replica1:end')).toBeGreaterThan(i('read-pool:end'));
    expect(i('read-pool-ready:replica1:end')).toBeGreaterThan(i('read-pool-drain:replica1:end'));
    expect(i(`in-place:${id}:end`)).toBeGreaterThan(i('read-pool-ready:replica1:end'));
    expect(steps.some((s) => s.startsWith('read-pool-drain:replica2'))).toBe(false);
  }, 180_000);

  it('the last replica serving reads is kept (and said so) unless --drain-last-reader', async () => {
    // The operator takes replica2 out by hand: replica1 is the only reader.
    expect(await runtime(socket, 'set server readers/replica2 state maint')).toMatch(/^\s*$/);
    try {
      const id = nextMigration();
      await replayPaused('replica1', async (resume) => {
        const running = migrate(['apply']);
        // Twice the bound after the commit: replica1 is stale by then, and kept.
        await committed(id);
        await new Promise((r) => setTimeout(r, 2000));
        expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'maint' });
        await resume();
        const ran = await running;
        expect(ran.code, ran.out).toBe(0);
        expect(ran.out).toMatch(
          /replica1 is the last replica serving reads: it is not drained \(--drain-last-reader allows it\), so until it has replayed the migration it keeps serving reads that grow stale/,
        );
      });
      expect(lastJournal(sb).some((e) => e.step.startsWith('read-pool-drain:'))).toBe(false);

      nextMigration();
      await replayPaused('replica1', async (resume) => {
        const running = migrate(['apply', '--drain-last-reader']);
        const during = await readersUntil((s) => s['replica1'] === 'maint', running);
        expect(during).toEqual({ primary: 'maint', replica1: 'maint', replica2: 'maint' });
        await resume();
        const ran = await running;
        expect(ran.code, ran.out).toBe(0);
        expect(ran.out).toMatch(/draining replica1, the last replica serving reads \(--drain-last-reader\)/);
      });
      expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'maint' });
    } finally {
      await runtime(socket, 'set server readers/replica2 state ready');
    }
  }, 180_000);

  it('killed with replica1 drained: `abort` puts it back once it has replayed', async () => {
    nextMigration();
    await replayPaused('replica1', async () => {
      const killed = await migrate(['apply'], { MIGRATE_FAULT_KILL_AFTER: 'read-pool-drain:replica1:end' });
      expect(killed.signal, killed.out).toBe('SIGKILL');
      expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'maint', replica2: 'ready' });
    });
    const aborted = await migrate(['abort']);
    expect(aborted.code, aborted.out).toBe(0);
    expect(aborted.out).toMatch(/read pool: replica1 put back in the read pool \(lag \d+ s\)/);
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
  }, 180_000);

  it('killed with replica2 drained: `resume` puts it back once it has replayed, and runs what is pending', async () => {
    const id = nextMigration();
    await replayPaused('replica2', async () => {
      const killed = await migrate(['apply'], { MIGRATE_FAULT_KILL_AFTER: 'read-pool-drain:replica2:end' });
      expect(killed.signal, killed.out).toBe('SIGKILL');
      expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'maint' });
    });
    const next = nextMigration();
    const resumed = await migrate(['resume']);
    expect(resumed.code, resumed.out).toBe(0);
    expect(resumed.out).toMatch(/read pool: replica2 put back in the read pool \(lag \d+ s\)/);
    expect(resumed.out).toContain(`applied ${next}`);
    expect(resumed.out).not.toContain(`applied ${id}`);
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
  }, 180_000);
});
