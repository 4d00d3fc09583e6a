/**
 * The cluster commands and their flags through the real CLI (`node bin/migrate` in its own
 * process) on real topologies: a master-master pair behind HAProxy, started once for the file by
 * `migrate sandbox up --provider local` itself, and a single-node shard (the sandbox helper) for
 * `--all-clusters`. The tests run in order and build on each other's state (one ledger per
 * cluster), as an operator's session would: dry run, shards, lock bounds, the deploy hand-off,
 * --hold with rollback and finalize, a killed run aborted, another resumed, then `sandbox down`.
 * Each asserts what the operator checks on the servers: GTID positions, schemas, writable nodes,
 * ledgers.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, show, type CliResult } from '../faults/harness.ts';
import { processesReferencing } from '../helpers/processes.ts';
import { sandboxDown } from '../../src/sandbox/service.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const T0 = "CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL, c CHAR(20) NOT NULL DEFAULT '');\n";

let work: string;
let migrations: string;
let config: string;
let mmDir: string;
let mmUp: { provider: string; status: string; topology: string; nodes: { name: string; role: string; pid: number }[] };
let mm: RunningSandbox;
let solo: RunningSandbox;

const migrate = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => cli(['--config', config, ...args], env, 240_000);
const write = (name: string, sql: string): void => writeFileSync(join(migrations, name), sql);

const expectExit = (r: CliResult, code: number): void => {
  expect(r.signal, show(r)).toBeNull();
  expect(r.code, show(r)).toBe(code);
  expect(r.stderr, show(r)).not.toMatch(/unexpected failure|^\s+at\s/m);
};

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

async function onNode<T>(sb: RunningSandbox, node: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await sb.mysql(node);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** What must not move under a dry run: per node, its binlog position, read_only, and a digest of the app schema and ledger. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [sb, node] of [...mm.nodes.map((n) => [mm, n.name] as const), [solo, solo.nodes[0]!.name] as const]) {
    out[node] = await onNode(sb, node, async (c) => {
      const [pos] = await rows<{ pos: string; ro: number }>(c, 'SELECT @@gtid_binlog_pos AS pos, @@read_only AS ro');
      const cols = await rows<Record<string, unknown>>(
        c,
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app' ORDER BY TABLE_NAME, ORDINAL_POSITION",
      );
      const hasLedger = cols.some((r) => r['TABLE_NAME'] === 'migrate_ledger');
      const ledger = hasLedger ? await rows<{ id: string }>(c, 'SELECT id FROM app.migrate_ledger ORDER BY id') : [];
      const digest = createHash('sha256')
        .update(JSON.stringify([cols, ledger]))
        .digest('hex');
      return `${pos!.pos} ro=${pos!.ro} schema=${digest}`;
    });
  }
  return out;
}

async function columnType(sb: RunningSandbox, node: string, column: string): Promise<string | undefined> {
  return onNode(sb, node, async (c) => {
    const r = await rows<{ t: string }>(
      c,
      `SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='t' AND COLUMN_NAME='${column}'`,
    );
    return r[0]?.t;
  });
}

async function writable(): Promise<string[]> {
  const out: string[] = [];
  for (const n of mm.nodes) if (Number((await onNode(mm, n.name, (c) => rows<{ ro: number }>(c, 'SELECT @@read_only AS ro')))[0]?.ro) === 0) out.push(n.name);
  return out;
}

async function ledger(sb: RunningSandbox, node = sb.nodes[0]!.name): Promise<string[]> {
  return onNode(sb, node, async (c) => (await rows<{ id: string }>(c, 'SELECT id FROM app.migrate_ledger ORDER BY id')).map((r) => r.id));
}

/** Every node of the pair replicating without error and caught up with the writer. */
async function replicationHealthy(): Promise<void> {
  const [w] = await writable();
  const pos = (await onNode(mm, w!, (c) => rows<{ p: string }>(c, 'SELECT @@gtid_binlog_pos AS p')))[0]!.p;
  for (const n of mm.nodes) {
    await onNode(mm, n.name, async (c) => {
      const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
      expect(st?.['Slave_IO_Running'], `${n.name} IO thread`).toBe('Yes');
      expect(st?.['Slave_SQL_Running'], `${n.name} SQL thread`).toBe('Yes');
      const [waited] = await rows<{ r: number }>(c, `SELECT MASTER_GTID_WAIT('${pos}', 20) AS r`);
      expect(Number(waited?.r), `${n.name} caught up`).toBe(0);
    });
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mcf-cluster-'));
  migrations = join(work, 'migrations');
  mkdirSync(migrations);
  write('0001_create_t.up.sql', T0);
  write('0001_create_t.down.sql', 'DROP TABLE t;\n');
  mmDir = join(work, 'mm');
  const up = await cli(['sandbox', 'up', '--topology', 'master-master', '--proxy', '--provider', 'local', '--dir', mmDir, '--format', 'json'], {}, 240_000);
  if (up.code !== 0) throw new Error(`sandbox up failed: ${show(up)}`);
  mmUp = JSON.parse(up.stdout) as typeof mmUp;
  // The helper finds the running sandbox (sandbox up is idempotent) and gives the test its connections.
  mm = await startSandbox({ topology: 'master-master', proxy: true, dir: mmDir, migrationsDir: migrations });
  solo = await startSandbox({ topology: 'single', migrationsDir: migrations });
  // One application login for both clusters, as real shards have.
  await onNode(solo, solo.nodes[0]!.name, (c) => c.query("ALTER USER 'app'@'127.0.0.1' IDENTIFIED BY ?", [mm.app.password]));
  // The pair's writer endpoint as `sandbox up` wrote it; secrets paths made absolute for a config elsewhere.
  const generated = JSON.parse(readFileSync(mm.configPath, 'utf8')) as { connection: { passwordFile: string }; clusters: { writer: unknown }[] };
  const abs = (p: string): string => (isAbsolute(p) ? p : join(dirname(mm.configPath), p));
  const node = (n: RunningSandbox['nodes'][number]) => ({
    name: n.name,
    role: n.role,
    host: n.host,
    port: n.port,
    user: n.user,
    passwordFile: abs(n.passwordFile),
  });
  config = join(work, 'migrate.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      dialect: 'mysql',
      connection: { host: mm.app.host, port: mm.app.port, user: 'app', database: 'app', passwordFile: abs(generated.connection.passwordFile) },
      migrations: { directory: migrations },
      clusters: [
        { name: 'mm', flavor: 'mariadb', topology: 'master-master', nodes: mm.nodes.map(node), writer: generated.clusters[0]!.writer },
        { name: 'solo', flavor: 'mariadb', topology: 'single', nodes: solo.nodes.map(node), writer: { type: 'none' } },
      ],
    }),
  );
}, 300_000);

afterAll(async () => {
  // The pair was started by the CLI: without the helper (its start failed), stop it by its directory.
  if (mm) await mm.stop();
  else if (mmDir) await sandboxDown(mmDir).catch(() => undefined);
  await solo?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('cluster commands through the CLI', () => {
  test('sandbox up --provider local started real servers from the local binaries; topology --cluster reads only that cluster', async () => {
    expect(mmUp).toMatchObject({ status: 'ready', provider: 'local', topology: 'master-master' });
    expect(mmUp.nodes.map((n) => [n.name, n.role])).toEqual(mm.nodes.map((n) => [n.name, n.role]));
    for (const n of mmUp.nodes)
      expect(
        processesReferencing(mmDir).some((p) => p.startsWith(`${n.pid}:`)),
        `${n.name} runs as pid ${n.pid}`,
      ).toBe(true);
    const topo = await migrate(['topology', '--cluster', 'mm', '--format', 'json']);
    expectExit(topo, 0);
    const doc = JSON.parse(topo.stdout) as { clusters: { cluster: string; nodes: { name: string; readOnly?: boolean }[] }[] };
    expect(doc.clusters.map((c) => c.cluster)).toEqual(['mm']);
    expect(doc.clusters[0]!.nodes.map((n) => n.name).sort()).toEqual(mm.nodes.map((n) => n.name).sort());
    const wrong = await migrate(['topology', '--cluster', 'nope']);
    expectExit(wrong, 2);
    expect(wrong.fix).toContain('mm, solo');
  });

  test('apply --all-clusters --dry-run prints every statement per node and changes nothing on any node; --canary goes first', async () => {
    // A node still applying earlier writes would change between the two snapshots by itself.
    await replicationHealthy();
    const before = await snapshot();
    const r = await migrate(['apply', '--all-clusters', '--canary', 'solo', '--concurrency', '1', '--dry-run']);
    expectExit(r, 0);
    expect(r.stdout).toContain('cluster solo: done');
    expect(r.stdout).toContain('cluster mm: done');
    // In place: on each cluster's writer only (the pair's other node gets it through replication).
    const [active] = await writable();
    for (const n of [active!, solo.nodes[0]!.name]) expect(r.stdout).toContain(`\n${n}: CREATE TABLE t (`);
    expect(r.stdout).not.toContain(`\n${mm.nodes.find((n) => n.name !== active)!.name}: CREATE TABLE`);
    expect(r.stdout).toMatch(/planned 0001_create_t/);
    const starts = r.stderr.split('\n').filter((l) => /cluster \w+: starting/.test(l));
    expect(starts).toEqual([expect.stringContaining('cluster solo: starting'), expect.stringContaining('cluster mm: starting')]);
    expect(await snapshot()).toEqual(before);
  });

  test('apply --all-clusters runs the canary first, then the others; --concurrency must be a whole number above 0', async () => {
    const bad = await migrate(['apply', '--all-clusters', '--concurrency', '0']);
    expectExit(bad, 2);
    expect(bad.error).toBe('--concurrency must be a whole number above 0 (got "0").');
    const unknownCanary = await migrate(['apply', '--all-clusters', '--canary', 'nope']);
    expectExit(unknownCanary, 2);
    expect(unknownCanary.fix).toBe('Use one of: mm, solo.');
    const r = await migrate(['apply', '--all-clusters', '--canary', 'solo', '--concurrency', '1']);
    expectExit(r, 0);
    const starts = r.stderr.split('\n').filter((l) => /cluster \w+: starting/.test(l));
    expect(starts).toEqual([expect.stringContaining('cluster solo: starting'), expect.stringContaining('cluster mm: starting')]);
    expect(await ledger(solo)).toEqual(['0001_create_t']);
    // In place on the active; the passive has it once replication applied it.
    await replicationHealthy();
    for (const n of mm.nodes) expect(await ledger(mm, n.name), n.name).toEqual(['0001_create_t']);
  });

  test('apply --cluster with --lock-timeout/--lock-retries: a held lock on the shard stops the in-place step after the retries, the other cluster is untouched', async () => {
    write('0002_add_k.up.sql', 'ALTER TABLE t ADD COLUMN k INT NULL;\n');
    write('0002_add_k.down.sql', 'ALTER TABLE t DROP COLUMN k;\n');
    const holder = await solo.mysql(solo.nodes[0]!.name);
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM app.t');
    const held = await migrate(['apply', '--cluster', 'solo', '--lock-timeout', '1s', '--lock-retries', '2']);
    await holder.query('COMMIT');
    await holder.end();
    expectExit(held, 1);
    expect(held.stderr.split('\n').filter((l) => /waited lock_wait_timeout .*attempt 1\/2, retrying/.test(l))).toHaveLength(1);
    expect(held.stderr).toContain('Lock wait timeout exceeded');
    expect(await columnType(solo, solo.nodes[0]!.name, 'k')).toBeUndefined();
    expect(await columnType(mm, 'a', 'k'), 'mm was not named').toBeUndefined();
    const ok = await migrate(['apply', '--cluster', 'solo', '--lock-timeout', '1s', '--lock-retries', '2']);
    expectExit(ok, 0);
    expect(await columnType(solo, solo.nodes[0]!.name, 'k')).toBe('int(11)');
    expect(await columnType(mm, 'a', 'k')).toBeUndefined();
    const mmRun = await migrate(['apply', '--cluster', 'mm']);
    expectExit(mmRun, 0);
    await replicationHealthy();
    for (const n of mm.nodes) expect(await columnType(mm, n.name, 'k'), n.name).toBe('int(11)');
  });

  test("apply stops for the deploy on every shard; continue runs the post-deploy migration: --dry-run changes nothing, the lock bounds stop the canary and spare the rest, --shadow names the gate's server, --strategy with the switchover bounds", async () => {
    write('0003_drop_k.up.sql', '-- migrate:phase post-deploy\nALTER TABLE t DROP COLUMN k;\n');
    write('0003_drop_k.down.sql', 'ALTER TABLE t ADD COLUMN k INT NULL;\n');
    const shards = ['--all-clusters', '--canary', 'solo', '--concurrency', '1'];
    const r = await migrate(['apply', ...shards]);
    expectExit(r, 0);
    expect(r.stdout.match(/waiting for the code deploy; run `migrate continue` when the new code is live/g)).toHaveLength(2);
    expect(await columnType(solo, solo.nodes[0]!.name, 'k'), 'not before the deploy').toBe('int(11)');
    expect(await columnType(mm, 'a', 'k'), 'not before the deploy').toBe('int(11)');

    // The apply's last writes (its journal copied to the active) still replicating would move the passive.
    await replicationHealthy();
    const before = await snapshot();
    const dry = await migrate(['continue', ...shards, '--dry-run']);
    expectExit(dry, 0);
    expect(dry.stdout.match(/: ALTER TABLE t DROP COLUMN k/g)).toHaveLength(2);
    expect(dry.stdout).toMatch(/planned 0003_drop_k\s+post-deploy/);
    expect(await snapshot()).toEqual(before);

    const holder = await solo.mysql(solo.nodes[0]!.name);
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM app.t');
    const held = await migrate(['continue', ...shards, '--lock-timeout', '1s', '--lock-retries', '2', '--format', 'json']);
    await holder.query('COMMIT');
    await holder.end();
    expectExit(held, 1);
    const events = held.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; message?: string });
    expect(events.filter((e) => e.event === 'warning' && /waited lock_wait_timeout .*attempt 1\/2, retrying/.test(e.message ?? ''))).toHaveLength(1);
    expect(held.error).toMatch(/cluster solo failed.*not started: mm/);
    expect(await columnType(solo, solo.nodes[0]!.name, 'k')).toBe('int(11)');
    expect(await columnType(mm, 'a', 'k'), 'mm never started').toBe('int(11)');

    const soloDone = await migrate(['continue', '--cluster', 'solo', '--format', 'json']);
    expectExit(soloDone, 0);
    const result = soloDone.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; steps?: { id: string; ran: boolean }[] })
      .find((e) => e.event === 'result');
    expect(result?.steps?.map((s) => [s.id, s.ran])).toEqual([['0003_drop_k', true]]);
    expect(await columnType(solo, solo.nodes[0]!.name, 'k')).toBeUndefined();

    const unreachable = await migrate(['continue', '--cluster', 'mm', '--shadow', 'mysql://root@127.0.0.1:1']);
    expectExit(unreachable, 2);
    expect(unreachable.error).toMatch(/--shadow.*127\.0\.0\.1:1/);
    expect(await columnType(mm, 'a', 'k')).toBe('int(11)');

    const [active] = await writable();
    const passive = mm.nodes.find((n) => n.name !== active)!.name;
    // A bound no switchover can keep: it is undone, the old active stays the writer.
    const tooTight = await migrate(['continue', '--cluster', 'mm', '--strategy', 'replica-first', '--max-write-block', '1', '--catch-up-timeout', '120']);
    expectExit(tooTight, 1);
    // Which step runs out of the 1 ms depends on timing; every such refusal names the bound and the flag.
    expect(tooTight.fix, show(tooTight)).toMatch(/raise --max-write-block/i);
    expect(await writable()).toEqual([active]);
    expect(await ledger(mm, active!)).not.toContain('0003_drop_k');
    // The altered node stays altered until the operator decides: abort undoes it there.
    const undo = await migrate(['abort', '--cluster', 'mm']);
    expectExit(undo, 0);
    for (const n of mm.nodes) expect(await columnType(mm, n.name, 'k'), n.name).toBe('int(11)');
    await replicationHealthy();
    const mmDone = await migrate(['continue', '--cluster', 'mm', '--strategy', 'replica-first', '--max-write-block', '3000', '--catch-up-timeout', '120']);
    expectExit(mmDone, 0);
    expect(mmDone.stdout).toMatch(new RegExp(`done\\s+0003_drop_k\\s+post-deploy\\s+replica-first\\s+write block [\\d.]+ ms, new primary ${passive}`));
    const block = Number(/write block ([\d.]+) ms, new primary/.exec(mmDone.stdout)?.[1]);
    expect(block).toBeLessThan(3000);
    expect(await writable()).toEqual([passive]);
    await replicationHealthy();
    for (const n of mm.nodes) expect(await columnType(mm, n.name, 'k'), n.name).toBeUndefined();
    for (const sb of [solo, mm]) expect(await ledger(sb)).toEqual(['0001_create_t', '0002_add_k', '0003_drop_k']);
  });

  test('apply --hold keeps the old active on the old schema; rollback --cluster switches back and undoes; apply --hold then finalize --cluster completes', async () => {
    write('0004_widen_c.up.sql', "ALTER TABLE t MODIFY c VARCHAR(40) NOT NULL DEFAULT '';\n");
    write('0004_widen_c.down.sql', "ALTER TABLE t MODIFY c CHAR(20) NOT NULL DEFAULT '';\n");
    const [active] = await writable();
    const passive = mm.nodes.find((n) => n.name !== active)!.name;
    const hold = await migrate(['apply', '--cluster', 'mm', '--hold', '--strategy', 'replica-first']);
    expectExit(hold, 0);
    expect(await writable()).toEqual([passive]);
    expect(await columnType(mm, passive, 'c')).toBe('varchar(40)');
    expect(await columnType(mm, active!, 'c'), 'held on the old schema').toBe('char(20)');
    // Held, the cluster takes no further migration (this file is gone again before the rollback).
    write('0004a_probe.up.sql', 'CREATE TABLE probe_held (id INT PRIMARY KEY);\n');
    const blocked = await migrate(['apply', '--cluster', 'mm']);
    rmSync(join(migrations, '0004a_probe.up.sql'));
    expectExit(blocked, 1);
    expect(blocked.error).toBe(`Cluster mm holds ${active} on the old schema for 0004_widen_c (a master-master run with --hold).`);
    expect(blocked.fix).toContain('Run `migrate finalize` once the deploy is confirmed, or `migrate rollback`');

    const back = await migrate(['rollback', '--cluster', 'mm', '--max-write-block', '3000']);
    expectExit(back, 0);
    expect(await writable()).toEqual([active]);
    for (const n of mm.nodes) expect(await columnType(mm, n.name, 'c'), n.name).toBe('char(20)');
    expect(await ledger(mm, active!)).not.toContain('0004_widen_c');
    await replicationHealthy();

    const again = await migrate(['apply', '--cluster', 'mm', '--hold', '--strategy', 'replica-first']);
    expectExit(again, 0);
    const fin = await migrate(['finalize', '--cluster', 'mm']);
    expectExit(fin, 0);
    for (const n of mm.nodes) expect(await columnType(mm, n.name, 'c'), n.name).toBe('varchar(40)');
    expect((await writable()).length).toBe(1);
    expect(await ledger(mm, (await writable())[0])).toContain('0004_widen_c');
    await replicationHealthy();
  });

  test('a run killed after altering the passive: abort --cluster undoes it there; another killed run: resume --cluster with its flags finishes it, runs the deploy command, then the post-deploy migration', async () => {
    write('0005_widen_n.up.sql', 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n');
    write('0005_widen_n.down.sql', 'ALTER TABLE t MODIFY n INT NOT NULL;\n');
    const [active] = await writable();
    const passive = mm.nodes.find((n) => n.name !== active)!.name;
    const kill = { MIGRATE_FAULT_KILL_AFTER: `alter:${passive}:end` };
    const killed = await migrate(['apply', '--cluster', 'mm', '--strategy', 'replica-first'], kill);
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    expect(await columnType(mm, passive, 'n')).toBe('bigint(20)');
    const runs = await migrate(['runs']);
    expect(runs.stdout).toMatch(new RegExp(`stopped after alter:${passive}\\n`));

    const abort = await migrate(['abort', '--cluster', 'mm']);
    expectExit(abort, 0);
    expect(abort.stdout).toContain(`aborted: ${active} is the writer`);
    expect(await writable()).toEqual([active]);
    for (const n of mm.nodes) expect(await columnType(mm, n.name, 'n'), n.name).toBe('int(11)');
    await replicationHealthy();

    write('0006_audit.up.sql', '-- migrate:phase post-deploy\nCREATE TABLE audit (id INT PRIMARY KEY);\n');
    write('0006_audit.down.sql', 'DROP TABLE audit;\n');
    const killedAgain = await migrate(['apply', '--cluster', 'mm', '--strategy', 'replica-first'], kill);
    expect(killedAgain.signal, show(killedAgain)).toBe('SIGKILL');
    // A resume whose gate cannot reach its shadow changes nothing and leaves the run interrupted:
    // the next resume still finds it (it used to be marked resumed before the gate ran).
    const unreachable = await migrate(['resume', '--cluster', 'mm', '--strategy', 'replica-first', '--shadow', 'mysql://root@127.0.0.1:1']);
    expectExit(unreachable, 2);
    expect((await migrate(['runs'])).stdout).toMatch(new RegExp(`stopped after alter:${passive}\\n`));
    expect(await columnType(mm, passive, 'n')).toBe('bigint(20)');
    expect(await writable()).toEqual([active]);
    const envFile = join(work, 'deploy.env');
    const resume = await migrate([
      'resume',
      '--cluster',
      'mm',
      '--strategy',
      'replica-first',
      '--format',
      'json',
      '--max-write-block',
      '3000',
      '--catch-up-timeout',
      '120',
      '--lock-timeout',
      '2s',
      '--lock-retries',
      '3',
      '--deploy-command',
      `env | grep ^MIGRATE_ > ${envFile}`,
    ]);
    expectExit(resume, 0);
    const events = resume.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event?: string; steps?: { id: string; ran: boolean; newPrimary?: string; writeBlockMs?: number }[] });
    const result = events.find((e) => e.event === 'result');
    expect(result?.steps?.map((s) => [s.id, s.ran])).toEqual([
      ['0005_widen_n', true],
      ['0006_audit', true],
    ]);
    const widened = result!.steps![0]!;
    expect(widened.newPrimary).toBe(passive);
    expect(widened.writeBlockMs).toBeLessThan(3000);
    const env = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const newPrimary = mm.node(passive);
    expect(env).toMatchObject({
      MIGRATE_CLUSTER: 'mm',
      MIGRATE_NEW_PRIMARY: passive,
      MIGRATE_NEW_PRIMARY_PORT: String(newPrimary.port),
      MIGRATE_SCHEMA_VERSION: '0005_widen_n',
    });
    expect(env['MIGRATE_PLAN_ID']).toBeTruthy();
    expect(await writable()).toEqual([passive]);
    for (const n of mm.nodes) expect(await columnType(mm, n.name, 'n'), n.name).toBe('bigint(20)');
    expect(await ledger(mm, passive)).toEqual(['0001_create_t', '0002_add_k', '0003_drop_k', '0004_widen_c', '0005_widen_n', '0006_audit']);
    await replicationHealthy();
  });

  test('resume --hold finishes a killed run and holds the old active on the old schema until finalize', async () => {
    write('0007_widen_id.up.sql', 'ALTER TABLE t MODIFY id BIGINT NOT NULL;\n');
    write('0007_widen_id.down.sql', 'ALTER TABLE t MODIFY id INT NOT NULL;\n');
    const [active] = await writable();
    const passive = mm.nodes.find((n) => n.name !== active)!.name;
    const killed = await migrate(['apply', '--cluster', 'mm', '--strategy', 'replica-first'], { MIGRATE_FAULT_KILL_AFTER: `alter:${passive}:end` });
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    expect(await columnType(mm, passive, 'id')).toBe('bigint(20)');

    const held = await migrate(['resume', '--cluster', 'mm', '--strategy', 'replica-first', '--hold']);
    expectExit(held, 0);
    expect(await writable()).toEqual([passive]);
    expect(await columnType(mm, passive, 'id')).toBe('bigint(20)');
    expect(await columnType(mm, active!, 'id'), 'held on the old schema').toBe('int(11)');
    const fin = await migrate(['finalize', '--cluster', 'mm']);
    expectExit(fin, 0);
    for (const n of mm.nodes) expect(await columnType(mm, n.name, 'id'), n.name).toBe('bigint(20)');
    expect(await ledger(mm, passive)).toContain('0007_widen_id');
    await replicationHealthy();
  });

  test('sandbox down --format json reports every process it stopped, and none is left', async () => {
    const r = await cli(['sandbox', 'down', '--dir', mmDir, '--format', 'json']);
    expectExit(r, 0);
    const doc = JSON.parse(r.stdout) as { dir: string; existed: boolean; stopped: { what: string; pid: number }[] };
    expect(doc.dir).toBe(mmDir);
    expect(doc.existed).toBe(true);
    expect(doc.stopped.map((s) => s.what).sort()).toEqual(['haproxy', ...mm.nodes.map((n) => `mariadb ${n.name}`)].sort());
    expect(processesReferencing(mmDir)).toEqual([]);
    expect(existsSync(mmDir)).toBe(false);
  });
});
