/**
 * `migrate apply` on a PostgreSQL cluster (the sandbox's primary with one streaming replica), run
 * through the CLI: the expand migration in place on the primary, the replica's replay waited for,
 * the deploy command, then the contract migration; a blocking rewrite refused with its recipe; a
 * session idle in transaction making the migration wait (lock_timeout, retries, the holder named);
 * a coordinator killed inside the hand-off and `migrate resume` finishing the run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../helpers/cli.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';
import { lastJournal, runCount } from '../faults/harness.ts';
import { StepScript } from '../helpers/handoff-cases.ts';

let sb: RunningSandbox;
let work: string;
let migDir: string;

function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(['--config', sb.configPath, ...args], {
    cwd: work,
    env: { ...process.env, NO_COLOR: '1', NODE_PATH: resolve('node_modules'), ...env },
    timeoutMs: 120_000,
  });
}

function migration(id: string, up: string, down: string): void {
  writeFileSync(join(migDir, `${id}.up.sql`), `${up}\n`);
  writeFileSync(join(migDir, `${id}.down.sql`), `${down}\n`);
}

async function withPg<T>(node: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = await sb.pg(node, 'app');
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const columns = (node: string): Promise<string[]> =>
  withPg(node, async (c) =>
    (await c.query<{ n: string }>("SELECT column_name AS n FROM information_schema.columns WHERE table_name = 'items' ORDER BY ordinal_position")).rows.map(
      (r) => r.n,
    ),
  );

const ledger = (): Promise<string[]> =>
  withPg('primary', async (c) => (await c.query<{ id: string }>('SELECT id FROM migrate_ledger ORDER BY id')).rows.map((r) => r.id));

/**
 * A deploy step that looks at the replica as the new code would read it: the columns of items
 * there, and its MIGRATE_* environment, written to `out`.
 */
function deployScript(out: string): string {
  const script = join(work, 'deploy.cjs');
  const r = sb.node('replica1');
  writeFileSync(
    script,
    `const pg = require('pg');
const c = new pg.Client({ host: '${r.host}', port: ${r.port}, user: '${sb.app.user}', password: process.env.APP_PASSWORD, database: '${sb.app.database}' });
c.connect().then(() => c.query("SELECT column_name AS n FROM information_schema.columns WHERE table_name = 'items'")).then((res) => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MIGRATE_')));
  require('fs').writeFileSync('${out}', JSON.stringify({ replicaColumns: res.rows.map((x) => x.n), env }));
  return c.end();
}).catch((e) => { console.error(e); process.exit(1); });
`,
  );
  return `${JSON.stringify(process.execPath)} ${script}`;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'pg-apply-'));
  migDir = join(work, 'migrations');
  rmSync(migDir, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(migDir);
  migration('0001_create_items', 'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, legacy text);', 'DROP TABLE items;');
  sb = await startSandbox({ topology: 'postgres', replicas: 1, migrationsDir: migDir });
  const up = await cli(['up']);
  expect(up.code, up.stderr).toBe(0);
  await withPg('primary', (c) => c.query("INSERT INTO items SELECT g, 'n' || g, 'old' FROM generate_series(1, 5000) g"));
}, 120_000);

afterAll(async () => {
  await sb?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('migrate apply on PostgreSQL (primary + 1 streaming replica)', () => {
  it('--dry-run says every migration runs in place (no replica-first, no switchover) and changes nothing', async () => {
    migration('0002_add_sku', 'ALTER TABLE items ADD COLUMN sku text;', 'ALTER TABLE items DROP COLUMN sku;');
    migration('0003_drop_legacy', '-- migrate:phase post-deploy\nALTER TABLE items DROP COLUMN legacy;', 'ALTER TABLE items ADD COLUMN legacy text;');
    const r = await cli(['apply', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('strategy in-place for every migration: no replica-first and no switchover');
    expect(r.stdout).toContain('waits until replica1 replayed it');
    expect(r.stdout).toContain('primary: ALTER TABLE items ADD COLUMN sku text');
    expect(r.stdout).toMatch(/planned 0003_drop_legacy\s+post-deploy in-place/);
    expect(await ledger()).toEqual(['0001_create_items']);
    expect(await columns('primary')).toEqual(['id', 'name', 'legacy']);
  });

  it('expand in place, replica replayed before the deploy, deploy with MIGRATE_* env, contract after; ledger and journal say so', async () => {
    const out = join(work, 'deploy.json');
    const runsBefore = runCount(sb);
    const r = await cli(['apply', '--deploy-command', deployScript(out)], { APP_PASSWORD: sb.app.password });
    expect(r.code, r.stderr).toBe(0);
    // The new code, deployed, reads the expand migration's column on the replica; the contract has not run yet.
    const seen = JSON.parse(readFileSync(out, 'utf8')) as { replicaColumns: string[]; env: Record<string, string> };
    expect(seen.replicaColumns.sort()).toEqual(['id', 'legacy', 'name', 'sku']);
    expect(seen.env).toMatchObject({
      MIGRATE_CLUSTER: 'sandbox',
      MIGRATE_NEW_PRIMARY: 'primary',
      MIGRATE_NEW_PRIMARY_PORT: String(sb.node('primary').port),
      MIGRATE_SCHEMA_VERSION: '0002_add_sku',
    });
    expect(seen.env['MIGRATE_PLAN_ID']).toMatch(/^\d{8}T\d{6}-[0-9a-f]{6}$/);
    expect(r.stderr + r.stdout).toMatch(/0002_add_sku: replicas replayed it \(primary WAL [0-9A-F]+\/[0-9A-F]+\): replica1 after \d+ ms/);
    // After the run: the contract on the primary and, replayed, on the replica.
    expect(await columns('primary')).toEqual(['id', 'name', 'sku']);
    expect(await columns('replica1')).toEqual(['id', 'name', 'sku']);
    expect(await ledger()).toEqual(['0001_create_items', '0002_add_sku', '0003_drop_legacy']);
    expect(runCount(sb)).toBe(runsBefore + 1);
    const steps = lastJournal(sb).map((e) => `${e.step}:${e.phase}`);
    expect(steps).toEqual([
      'plan:end',
      'in-place:0002_add_sku:begin',
      'in-place:0002_add_sku:end',
      'deploy:begin',
      'deploy:end',
      'in-place:0003_drop_legacy:begin',
      'in-place:0003_drop_legacy:end',
      'done:end',
    ]);
    expect(lastJournal(sb)[0]?.data?.['steps']).toEqual([
      { id: '0002_add_sku', phase: 'pre-deploy', strategy: 'in-place' },
      { id: '0003_drop_legacy', phase: 'post-deploy', strategy: 'in-place' },
    ]);
    // The journal's copy in the database, for dashboards.
    const mirrored = await withPg(
      'primary',
      async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM migrate_journal WHERE run = $1', [seen.env['MIGRATE_PLAN_ID']])).rows[0]?.n,
    );
    expect(mirrored).toBe(steps.length);
    const runs = await cli(['runs']);
    expect(runs.stdout).toContain(`${seen.env['MIGRATE_PLAN_ID']}`);
    expect(runs.stdout.split('\n').find((l) => l.startsWith(seen.env['MIGRATE_PLAN_ID'] ?? '?'))).toContain('finished');
  });

  it('a blocking rewrite is refused with its expand/contract recipe: exit 1, nothing changed, no run', async () => {
    migration('0004_widen_id', 'ALTER TABLE items ALTER COLUMN id TYPE bigint;', 'ALTER TABLE items ALTER COLUMN id TYPE int;');
    const runsBefore = runCount(sb);
    try {
      const r = await cli(['apply', '--deploy-command', 'touch should-not-run']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('The gate refused 0004_widen_id');
      expect(r.stderr).toContain('PG104');
      expect(r.stderr).toContain('statement: ALTER TABLE items ALTER COLUMN id TYPE bigint');
      expect(r.stderr).toMatch(/safe alternative \(expand\/contract\): Add a new column of the new type, backfill in batches/);
      expect(r.stderr).toContain('Nothing was changed.');
      const type = await withPg(
        'primary',
        async (c) =>
          (await c.query<{ t: string }>("SELECT data_type AS t FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'id'")).rows[0]?.t,
      );
      expect(type).toBe('integer');
      expect(await ledger()).not.toContain('0004_widen_id');
      expect(runCount(sb)).toBe(runsBefore);
      const { existsSync } = await import('node:fs');
      expect(existsSync(join(work, 'should-not-run'))).toBe(false);
    } finally {
      rmSync(join(migDir, '0004_widen_id.up.sql'));
      rmSync(join(migDir, '0004_widen_id.down.sql'));
    }
  });

  it('a session idle in transaction on the table: the migration waits lock_timeout per try, names the holder, and applies once it ends', async () => {
    migration('0005_add_note', 'ALTER TABLE items ADD COLUMN note text;', 'ALTER TABLE items DROP COLUMN note;');
    const holder = await sb.pg('primary', 'app');
    const HOLD = 1500;
    try {
      const pid = (await holder.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]?.p;
      await holder.query("SET application_name = 'report-job'");
      await holder.query('BEGIN');
      await holder.query('SELECT count(*) FROM items');
      const running = cli(['apply', '--lock-timeout', '300ms', '--lock-retries', '40']);
      // Held until the migration is seen queued behind it (the gate's analysis comes first), then HOLD more.
      await withPg('primary', async (c) => {
        for (let i = 0; i < 600; i++) {
          const q = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'items'::regclass");
          if ((q.rows[0]?.n ?? 0) > 0) return;
          await new Promise((res) => setTimeout(res, 50));
        }
      });
      const queued = Date.now();
      await new Promise((res) => setTimeout(res, HOLD));
      await holder.query('COMMIT');
      const r = await running;
      const ms = Date.now() - queued;
      expect(r.code, r.stderr).toBe(0);
      const waits = r.stderr.split('\n').filter((l) => l.includes('waiting for lock on table items'));
      expect(waits.length).toBeGreaterThanOrEqual(2);
      expect(waits[0]).toContain(`held by pid ${pid} (user app, application "report-job", idle in transaction`);
      expect(waits[0]).toMatch(/gave up after lock_timeout 300 ms, attempt \d+\/40/);
      expect(ms).toBeGreaterThanOrEqual(HOLD);
      expect(await ledger()).toContain('0005_add_note');
      expect(await columns('replica1'), r.stderr).toContain('note');
    } finally {
      await holder.end().catch(() => undefined);
    }
  });

  it('another coordinator holding the cluster lock: refused, naming its session, nothing changed', async () => {
    migration('0006_add_flag', 'ALTER TABLE items ADD COLUMN flag boolean;', 'ALTER TABLE items DROP COLUMN flag;');
    const other = await sb.pg('primary', 'admin');
    try {
      const pid = (await other.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]?.p;
      await other.query("SELECT pg_advisory_lock(hashtextextended('migrate:coordinator:sandbox', 0))");
      const r = await cli(['apply']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`Another coordinator is running on cluster sandbox: the primary primary has its advisory lock held by pid ${pid}`);
      expect(r.stderr).toContain(`pg_terminate_backend(${pid})`);
      expect(await columns('primary')).not.toContain('flag');
    } finally {
      await other.end();
    }
  });

  it('replay paused on the replica: apply waits until it replayed the migration, and says how long', async () => {
    const replica = await sb.pg('replica1', 'admin');
    const PAUSE = 1200;
    try {
      await replica.query('SELECT pg_wal_replay_pause()');
      const running = cli(['apply']);
      // Resumed PAUSE ms after the migration committed on the primary.
      await withPg('primary', async (c) => {
        for (let i = 0; i < 600; i++) {
          const q = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM migrate_ledger WHERE id = '0006_add_flag'");
          if ((q.rows[0]?.n ?? 0) > 0) return;
          await new Promise((res) => setTimeout(res, 50));
        }
      });
      await new Promise((res) => setTimeout(res, PAUSE));
      expect(await columns('replica1')).not.toContain('flag');
      await replica.query('SELECT pg_wal_replay_resume()');
      const r = await running;
      expect(r.code, r.stderr).toBe(0);
      const waited = /0006_add_flag: replicas replayed it \(primary WAL \S+\): replica1 after (\d+) ms/.exec(r.stderr + r.stdout);
      expect(waited, r.stderr).not.toBeNull();
      // The tool's clock starts after its commit, its post-commit work and a connection to the
      // replica, the test's when it first sees the ledger row: under load the two part by a few
      // hundred ms (1167 against 1200 in a loaded run). Half the pause still proves it waited.
      expect(Number(waited?.[1])).toBeGreaterThanOrEqual(PAUSE / 2);
      expect(await columns('replica1')).toContain('flag');
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await replica.end();
    }
  });

  it('a replica that does not replay within --catch-up-timeout stops the run before the hand-off, naming it and how far behind', async () => {
    migration('0007_add_tag', 'ALTER TABLE items ADD COLUMN tag text;', 'ALTER TABLE items DROP COLUMN tag;');
    const replica = await sb.pg('replica1', 'admin');
    try {
      await replica.query('SELECT pg_wal_replay_pause()');
      const r = await cli(['apply', '--catch-up-timeout', '1', '--deploy-command', 'touch deployed-too-early']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Replica replica1 has not replayed the primary's WAL up to \S+ after 1 s \(\d+ bytes behind\)/);
      expect(r.stderr).toContain('The migration is committed on the primary');
      const { existsSync } = await import('node:fs');
      expect(existsSync(join(work, 'deployed-too-early'))).toBe(false);
      expect(await columns('primary')).toContain('tag');
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()').catch(() => undefined);
      await replica.end();
    }
  });

  it('killed inside the hand-off: `runs` shows it interrupted, `resume` deploys again and runs the contract', async () => {
    migration('0008_drop_name', '-- migrate:phase post-deploy\nALTER TABLE items DROP COLUMN name;', 'ALTER TABLE items ADD COLUMN name text;');
    const log = join(work, 'deploys.log');
    const deploy = `echo "$MIGRATE_PLAN_ID $MIGRATE_SCHEMA_VERSION" >> ${log}`;
    const killed = await cli(['apply', '--deploy-command', deploy], { MIGRATE_FAULT_KILL_AFTER: 'deploy:begin' });
    expect(killed.code).toBe(99);
    // The expand migrations are in, the contract is not.
    expect(await ledger()).toContain('0007_add_tag');
    expect(await ledger()).not.toContain('0008_drop_name');
    expect(await columns('primary')).toContain('name');
    const runs = await cli(['runs']);
    expect(runs.stdout).toContain('INTERRUPTED in deploy');
    const resumed = await cli(['resume', '--deploy-command', deploy]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming run \S+ \(stopped in step deploy\)/);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(readFileSync(log, 'utf8')).toMatch(/ 0007_add_tag$/m);
    expect(await ledger()).toContain('0008_drop_name');
    expect(await columns('replica1')).toEqual(['id', 'sku', 'note', 'flag', 'tag']);
    const after = await cli(['runs']);
    expect(after.stdout).not.toContain('INTERRUPTED');
  });
  it('without --deploy-command the run stops at the hand-off; `continue` runs the contract', async () => {
    migration('0009_add_memo', 'ALTER TABLE items ADD COLUMN memo text;', 'ALTER TABLE items DROP COLUMN memo;');
    migration('0010_drop_sku', '-- migrate:phase post-deploy\nALTER TABLE items DROP COLUMN sku;', 'ALTER TABLE items ADD COLUMN sku text;');
    const r = await cli(['apply']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/plan \S+: waiting for the code deploy; run `migrate continue` when the new code is live/);
    expect(await ledger()).toContain('0009_add_memo');
    expect(await ledger()).not.toContain('0010_drop_sku');
    expect((await cli(['runs'])).stdout).toContain('waiting for `migrate continue`');
    const c = await cli(['continue', '--format', 'json']);
    expect(c.code, c.stderr).toBe(0);
    const events = c.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e['event'] === 'replay')).toMatchObject({ migration: '0010_drop_sku', replicas: [{ node: 'replica1' }] });
    expect(events.find((e) => e['event'] === 'result')?.['steps']).toMatchObject([
      { id: '0010_drop_sku', phase: 'post-deploy', strategy: 'in-place', ran: true },
    ]);
    expect(await columns('replica1')).toEqual(['id', 'note', 'flag', 'tag', 'memo']);
  });

  it('killed before a migration ran: `abort` closes the run, nothing of it applied', async () => {
    migration('0011_add_rank', 'ALTER TABLE items ADD COLUMN rank int;', 'ALTER TABLE items DROP COLUMN rank;');
    const killed = await cli(['apply'], { MIGRATE_FAULT_KILL_AFTER: 'in-place:0011_add_rank:begin' });
    expect(killed.code).toBe(99);
    expect((await cli(['runs'])).stdout).toContain('INTERRUPTED in in-place:0011_add_rank');
    const a = await cli(['abort']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('aborted: primary is the writer');
    expect((await cli(['runs'])).stdout).not.toContain('INTERRUPTED');
    expect(await ledger()).not.toContain('0011_add_rank');
    expect(await columns('primary')).not.toContain('rank');
  });
  it('hand-off verify fails: the code is rolled back and verified, the contract does not run, exit 1; fixed, `continue` deploys, verifies and contracts', async () => {
    migration('0012_add_code', 'ALTER TABLE items ADD COLUMN code text;', 'ALTER TABLE items DROP COLUMN code;');
    migration('0013_drop_memo', '-- migrate:phase post-deploy\nALTER TABLE items DROP COLUMN memo;', 'ALTER TABLE items ADD COLUMN memo text;');
    const step = new StepScript();
    try {
      const cmd = `sh ${step.path}`;
      const flags = ['--deploy-command', cmd, '--verify-command', cmd, '--rollback-command', cmd];
      step.fail('verify');
      const r = await cli(['apply', ...flags]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('The code was rolled back and the old release passed verify.');
      expect(r.stderr).toContain('no contract migration ran');
      expect([...new Set(step.phases())]).toEqual(['deploy 0012_add_code', 'verify 0012_add_code', 'rollback 0012_add_code', 'verify-rollback 0012_add_code']);
      expect(await ledger()).toContain('0012_add_code');
      expect(await ledger()).not.toContain('0013_drop_memo');
      expect(await columns('replica1')).toEqual(['id', 'note', 'flag', 'tag', 'memo', 'rank', 'code']);
      const journal = lastJournal(sb).map((e) => `${e.step}:${e.phase}`);
      for (const x of ['deploy:end', 'verify:fail', 'rollback:end', 'verify-rollback:end']) expect(journal, x).toContain(x);

      step.fail('verify', false);
      const c = await cli(['continue', ...flags]);
      expect(c.code, c.stderr).toBe(0);
      expect([...new Set(step.phases())]).toEqual(['deploy 0012_add_code', 'verify 0012_add_code']);
      expect(await ledger()).toContain('0013_drop_memo');
      expect(await columns('replica1')).toEqual(['id', 'note', 'flag', 'tag', 'rank', 'code']);
    } finally {
      step.cleanup();
    }
  });

  it('hand-off verify fails and the rollback fails too: exit 1, the code state called unknown, nothing contracted on the server', async () => {
    migration('0014_add_batch', 'ALTER TABLE items ADD COLUMN batch int;', 'ALTER TABLE items DROP COLUMN batch;');
    migration('0015_drop_rank', '-- migrate:phase post-deploy\nALTER TABLE items DROP COLUMN rank;', 'ALTER TABLE items ADD COLUMN rank int;');
    const step = new StepScript();
    try {
      const cmd = `sh ${step.path}`;
      step.fail('verify');
      step.fail('rollback');
      const r = await cli(['apply', '--deploy-command', cmd, '--verify-command', cmd, '--rollback-command', cmd]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.replace(/\s+/g, ' ')).toMatch(
        /The hand-off failed: the verify command failed \(exit 1\): sh \S+step\.sh\. The rollback failed too \(the rollback command failed \(exit 1\): sh \S+step\.sh\): the code state is unknown\./,
      );
      expect(r.stderr).toContain('no contract migration ran');
      expect(r.stderr).toContain('first bring a working release back by hand');
      // No verify of the old release after a failed rollback: there is no known release to verify.
      expect([...new Set(step.phases())]).toEqual(['deploy 0014_add_batch', 'verify 0014_add_batch', 'rollback 0014_add_batch']);
      // On the server: the expand is in (primary and replica), the contract is not (rank still there, not in the ledger).
      expect(await ledger()).toContain('0014_add_batch');
      expect(await ledger()).not.toContain('0015_drop_rank');
      expect(await columns('primary')).toEqual(['id', 'note', 'flag', 'tag', 'rank', 'code', 'batch']);
      expect(await columns('replica1')).toEqual(['id', 'note', 'flag', 'tag', 'rank', 'code', 'batch']);
      const journal = lastJournal(sb).map((e) => `${e.step}:${e.phase}`);
      for (const x of ['deploy:end', 'verify:fail', 'rollback:fail']) expect(journal, x).toContain(x);
      expect(journal).not.toContain('verify-rollback:begin');
      expect(journal).not.toContain('in-place:0015_drop_rank:begin');
    } finally {
      step.cleanup();
    }
  });
});
