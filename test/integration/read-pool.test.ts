/**
 * The read pool on real servers behind a real HAProxy (the sandbox's --proxy: a "writer" backend
 * and a "readers" backend of the replicas, named as readPool in migrate.config.json). The test
 * reads HAProxy's server states through the runtime API itself (`show servers state readers`),
 * not through the tool's code: while a replica-first ALTER is held (the coordinator paused at the
 * journal's alter:<node>:begin), after the run, after the last-reader rule, and after a
 * coordinator killed with a replica drained was resumed or aborted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJournal } from '../faults/harness.ts';
import { type Ran, readers, runMigrate, runtime } from '../helpers/haproxy-readers.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const run = runMigrate;

describe('read pool: replicas out of the readers backend while their ALTER runs', () => {
  let sb: RunningSandbox;
  let migDir: string;
  let socket: string;
  let width = 100;
  const apply = ['--strategy', 'replica-first', '--max-write-block', '3000'];

  /** The next widening migration (its down narrows back), returned as its id. */
  function nextMigration(): string {
    width += 1;
    const id = `${String(width - 98).padStart(4, '0')}_widen_c_${width}`;
    writeFileSync(join(migDir, `${id}.up.sql`), `ALTER TABLE items MODIFY c CHAR(${width}) NOT NULL DEFAULT '';\n`);
    writeFileSync(join(migDir, `${id}.down.sql`), `ALTER TABLE items MODIFY c CHAR(${width - 1}) NOT NULL DEFAULT '';\n`);
    return id;
  }

  /** Runs apply paused at `alter:<node>:begin`; returns the readers' states read there, and the run. */
  async function applyHeldAt(node: string, extra: string[] = []): Promise<{ during: Record<string, string>; readerPort: number | undefined; ran: Ran }> {
    const dir = mkdtempSync(join(tmpdir(), 'rp-pause-'));
    const running = run(['--config', sb.configPath, 'apply', ...apply, ...extra], {
      MIGRATE_FAULT_PAUSE_AT: `alter:${node}:begin`,
      MIGRATE_FAULT_PAUSE_DIR: dir,
    });
    let ended: Ran | undefined;
    void running.then((r) => (ended = r));
    const until = Date.now() + 120_000;
    while (!existsSync(join(dir, 'paused')) && !ended && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(dir, 'paused')), `the run never reached the ALTER: ${ended?.out ?? 'still running'}`).toBe(true);
    let during: Record<string, string>;
    let readerPort: number | undefined;
    try {
      during = await readers(socket);
      // What an application reading through the readers port gets while the ALTER is held (with no server there: nothing).
      const rd = sb.state.writer.type === 'haproxy' ? sb.state.writer.readers : undefined;
      readerPort = await mysql
        .createConnection({ host: rd!.host, port: rd!.port, user: sb.app.user, password: sb.app.password, database: sb.app.database })
        .then(async (c) => {
          const [rows] = await c.query('SELECT @@port AS port');
          await c.end();
          return Number((rows as { port: number }[])[0]!.port);
        })
        .catch(() => undefined);
    } finally {
      writeFileSync(join(dir, 'continue'), '');
    }
    const ran = await running;
    rmSync(dir, { recursive: true, force: true });
    return { during, readerPort, ran };
  }

  beforeAll(async () => {
    migDir = mkdtempSync(join(tmpdir(), 'mig-rp-'));
    writeFileSync(join(migDir, '0001_create_items.up.sql'), "CREATE TABLE items (id INT PRIMARY KEY, c CHAR(100) NOT NULL DEFAULT '');\n");
    writeFileSync(join(migDir, '0001_create_items.down.sql'), 'DROP TABLE items;\n');
    sb = await startSandbox({ topology: 'primary-replica', replicas: 2, proxy: true, migrationsDir: migDir });
    if (sb.state.writer.type !== 'haproxy') throw new Error('the sandbox has no HAProxy');
    socket = sb.state.writer.socket;
    const up = await run(['--config', sb.configPath, 'up']);
    expect(up.code, up.out).toBe(0);
    const w = await sb.mysqlWriter();
    await w.query("INSERT INTO items (id, c) SELECT seq, 'x' FROM seq_1_to_5000");
    await w.end();
  }, 180_000);

  afterAll(async () => {
    await sb?.stop();
    if (migDir) rmSync(migDir, { recursive: true, force: true });
  });

  it('the sandbox names its readers backend as readPool; topology and --dry-run show the pool steps', async () => {
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
    const cfg = JSON.parse(readFileSync(sb.configPath, 'utf8')) as { clusters: { readPool?: unknown }[] };
    expect(cfg.clusters[0]!.readPool).toEqual({ type: 'haproxy', socket, backend: 'readers' });
    const topo = await run(['--config', sb.configPath, 'topology']);
    expect(topo.code, topo.out).toBe(0);
    expect(topo.out).toMatch(/replica1 .*read-pool=ready/);
    expect(topo.out).toMatch(/primary .*read-pool=maint/);
    nextMigration();
    const dry = await run(['--config', sb.configPath, 'apply', ...apply, '--dry-run']);
    expect(dry.code, dry.out).toBe(0);
    const lines = dry.out.split('\n');
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    const last = (re: RegExp): number => lines.length - 1 - [...lines].reverse().findIndex((l) => re.test(l));
    // Drained before its ALTER, back after it once caught up; the new primary leaves, the old one joins.
    expect(at(/set server readers\/replica1 state drain/)).toBeGreaterThan(-1);
    expect(at(/set server readers\/replica1 state drain/)).toBeLessThan(at(/^replica1: ALTER TABLE items/));
    expect(at(/set server readers\/replica1 state ready/)).toBeGreaterThan(at(/^replica1: ALTER TABLE items/));
    expect(at(/read pool: replica1 is the writer now/)).toBeGreaterThan(at(/switchover primary -> replica1/));
    expect(last(/set server readers\/replica1 state maint$/)).toBe(at(/read pool: replica1 is the writer now/) + 1);
    expect(at(/set server readers\/primary state ready/)).toBeGreaterThan(at(/^primary: ALTER TABLE items/));
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
  }, 120_000);

  it('drains a replica for its ALTER (HAProxy says maint, reads go to the other) and returns it; the pool follows the switchover', async () => {
    const { during, readerPort, ran } = await applyHeldAt('replica1');
    expect(ran.code, ran.out).toBe(0);
    expect(during).toEqual({ primary: 'maint', replica1: 'maint', replica2: 'ready' });
    expect(readerPort).toBe(sb.node('replica2').port);
    // After: replica1 is the writer (out of the pool), the old primary joined, replica2 back.
    expect(await readers(socket)).toEqual({ primary: 'ready', replica1: 'maint', replica2: 'ready' });
    const steps = lastJournal(sb).map((e) => `${e.step}:${e.phase}`);
    const i = (s: string): number => steps.indexOf(s);
    expect(i('read-pool-drain:replica1:end')).toBeGreaterThan(-1);
    expect(i('read-pool-drain:replica1:end')).toBeLessThan(i('alter:replica1:begin'));
    expect(i('read-pool-ready:replica1:begin')).toBeGreaterThan(i('alter:replica1:end'));
    expect(i('read-pool-drain:replica2:end')).toBeLessThan(i('alter:replica2:begin'));
    expect(i('read-pool-leave:end')).toBeGreaterThan(i('switchover:end'));
    expect(i('read-pool-join:begin')).toBeGreaterThan(i('alter:primary:end'));
    const data = (step: string) => lastJournal(sb).find((e) => e.step === step && e.phase === 'begin')?.data;
    expect(data('read-pool-leave')).toMatchObject({ node: 'replica1' });
    expect(data('read-pool-join')).toMatchObject({ node: 'primary' });
  }, 180_000);

  it('keeps the last replica serving reads unless --drain-last-reader, and says so', async () => {
    // The operator takes replica2 out by hand: primary (a replica now) is the only reader left.
    expect(await runtime(socket, 'set server readers/replica2 state maint')).toMatch(/^\s*$/);
    nextMigration();
    // The plan says it before anything runs.
    const plan = await run(['--config', sb.configPath, 'plan']);
    expect(plan.out.replace(/\s+/g, ' ')).toMatch(/warning: read pool: primary is the only replica serving reads: .*apply --drain-last-reader/);
    const kept = await run(['--config', sb.configPath, 'apply', ...apply]);
    expect(kept.code, kept.out).toBe(0);
    expect(kept.out).toMatch(/primary is the last replica serving reads: it is not drained .*--drain-last-reader.* reads that grow stale/);
    expect(lastJournal(sb).some((e) => e.step.startsWith('read-pool-drain:'))).toBe(false);
    // primary is the writer again: out; replica1 joined; replica2 stays out as the operator left it.
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'maint' });

    nextMigration();
    const { during, readerPort, ran } = await applyHeldAt('replica1', ['--drain-last-reader']);
    expect(ran.code, ran.out).toBe(0);
    // The price of the flag: no server takes reads while the ALTER runs.
    expect(readerPort).toBeUndefined();
    expect(ran.out).toMatch(/draining replica1, the last replica serving reads \(--drain-last-reader\)/);
    expect(during).toEqual({ primary: 'maint', replica1: 'maint', replica2: 'maint' });
    expect(await readers(socket)).toEqual({ primary: 'ready', replica1: 'maint', replica2: 'maint' });
    expect(await runtime(socket, 'set server readers/replica2 state ready')).toMatch(/^\s*$/);
  }, 240_000);

  it('resume and abort put back a replica a killed coordinator left drained', async () => {
    // Writer replica1; the next run alters primary first (drained, then killed before its ALTER).
    nextMigration();
    const killed = await run(['--config', sb.configPath, 'apply', ...apply], { MIGRATE_FAULT_KILL_AFTER: 'alter:primary:begin' });
    expect(killed.signal, killed.out).toBe('SIGKILL');
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'maint', replica2: 'ready' });
    const resumed = await run(['--config', sb.configPath, 'resume', '--strategy', 'replica-first']);
    expect(resumed.code, resumed.out).toBe(0);
    expect(resumed.out).toMatch(/read pool: primary put back in the read pool \(lag \d+ s\)/);
    // The resumed run finished the migration: primary is the writer, the old writer joined.
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });

    const id = nextMigration();
    const killed2 = await run(['--config', sb.configPath, 'apply', ...apply], { MIGRATE_FAULT_KILL_AFTER: 'alter:replica1:begin' });
    expect(killed2.signal, killed2.out).toBe('SIGKILL');
    expect((await readers(socket))['replica1']).toBe('maint');
    const aborted = await run(['--config', sb.configPath, 'abort']);
    expect(aborted.code, aborted.out).toBe(0);
    expect(aborted.out).toMatch(/read pool: replica1 put back in the read pool/);
    expect(await readers(socket)).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'ready' });
    rmSync(join(migDir, `${id}.up.sql`));
    rmSync(join(migDir, `${id}.down.sql`));
  }, 300_000);
});
