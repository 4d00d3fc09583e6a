/**
 * One real cluster per fault file: a MariaDB primary with replicas behind HAProxy, a table with
 * rows for the replica-first widenings, and a write probe committing through the endpoint.
 */
import type mysql from 'mysql2/promise';
import { loadConfig } from '../../src/config/load.ts';
import { WriteLoad } from '../../src/load/txn-load.ts';
import { WriteProbe } from '../../src/load/write-probe.ts';
import { shareRootPassword } from '../../src/sandbox/privileged.ts';
import { withRecordedRoles } from '../../src/topology/roles-state.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';
import { cli, Migrations, Pause, show, sleep, startCli, type CliResult, type RunningCli } from './harness.ts';
import { watchProbe } from './invariants.ts';

export interface Roles {
  primary: string;
  /** The node a replica-first run promotes: the first replica in config order. */
  candidate: string;
  replicas: string[];
}

export interface Probe {
  probe: WriteProbe;
  table: string;
}

export interface FaultCluster {
  sb: RunningSandbox;
  mig: Migrations;
  pause: Pause;
  /** `migrate --config <sandbox config> ...args`. */
  migrate(args: string[], env?: Record<string, string>, timeoutMs?: number): Promise<CliResult>;
  start(args: string[], env?: Record<string, string>, timeoutMs?: number): RunningCli;
  roles(): Promise<Roles>;
  /** A write probe through the endpoint into its own table (ids restart at 1 for each probe). */
  probe(name: string): Promise<Probe>;
  /**
   * The privileged clients every fault runs beside: a load (2 connections, 40 transactions/s) and
   * a probe (an INSERT every 20 ms, on probe_root) connected as root through the endpoint, as
   * cron jobs and admin tools connect. Root writes through read_only, so these are the clients a
   * switchover must end explicitly; every readInvariants checks the probe's writes too.
   */
  root: { user: string; password: string };
  rootProbe: WriteProbe;
  /** Waits until a node's replication threads run and it has caught up with the writer. */
  caughtUp(node: string, writer: string, timeoutMs?: number): Promise<void>;
  /** `fn` on a connection (as root) to one node of the sandbox, closed after. */
  onNode<T>(name: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Root through the endpoint (every node given one root password so a client follows the writer):
 * a probe on probe_root checked by every readInvariants of this sandbox, and a load on load_root
 * (id, k, c with `rows` rows; created by the caller) of `threads` connections at `tps`
 * transactions/s in all. The caller stops both.
 */
export async function privilegedClients(
  sb: RunningSandbox,
  rows: number,
  threads: number,
  tps: number,
): Promise<{ root: { user: string; password: string }; probe: WriteProbe; load: WriteLoad }> {
  const root = await shareRootPassword(sb.state);
  for (const n of sb.nodes) n.password = root.password;
  const target = { host: sb.app.host, port: sb.app.port, user: root.user, password: root.password, database: sb.app.database };
  await WriteProbe.prepare(target, 'probe_root');
  const probe = new WriteProbe(target, 'probe_root', 20);
  probe.begin();
  watchProbe(sb, probe, 'probe_root');
  const load = new WriteLoad(target, 'load_root', rows, threads, tps);
  load.begin();
  return { root, probe, load };
}

/** The rows of a query on a mysql2 connection. */
export async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

export async function faultCluster(replicas = 2): Promise<FaultCluster> {
  const mig = new Migrations();
  const pause = new Pause();
  const sb = await startSandbox({ topology: 'primary-replica', replicas, proxy: true, migrationsDir: mig.dir });
  const probes: WriteProbe[] = [];
  let rootLoad: WriteLoad | undefined;
  const fc: FaultCluster = {
    root: { user: '', password: '' },
    rootProbe: undefined as unknown as WriteProbe,
    sb,
    mig,
    pause,
    migrate: (args, env = {}, timeoutMs) => cli(['--config', sb.configPath, ...args], env, timeoutMs),
    start: (args, env = {}, timeoutMs) => startCli(['--config', sb.configPath, ...args], env, timeoutMs),
    roles: async () => {
      const config = await loadConfig({ configPath: sb.configPath });
      const nodes = withRecordedRoles(config)[0]!.nodes;
      const primary = nodes.find((n) => n.role === 'primary')!.name;
      const reps = nodes.filter((n) => n.role !== 'primary').map((n) => n.name);
      return { primary, candidate: reps[0]!, replicas: reps };
    },
    probe: async (name) => {
      const table = `probe_${name.replace(/\W/g, '_')}`;
      await WriteProbe.prepare(sb.app, table);
      // Every 20 ms: enough to see any gap that matters, light enough for a shared 2-core machine.
      const p = new WriteProbe(sb.app, table, 20);
      p.begin();
      probes.push(p);
      return { probe: p, table };
    },
    onNode: async (name, fn) => {
      const c = await sb.mysql(name);
      try {
        return await fn(c);
      } finally {
        await c.end();
      }
    },
    caughtUp: async (node, writer, timeoutMs = 60_000) => {
      const w = await sb.mysql(writer);
      const pos = String((await rows<{ p: string }>(w, 'SELECT @@gtid_binlog_pos AS p'))[0]?.p ?? '');
      await w.end();
      const c = await sb.mysql(node);
      try {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
          if (st?.['Slave_IO_Running'] === 'Yes' && st['Slave_SQL_Running'] === 'Yes') {
            const [r] = await rows<{ r: number }>(c, `SELECT MASTER_GTID_WAIT('${pos}', 30) AS r`);
            if (Number(r?.r) === 0) return;
          }
          if (Date.now() > until) throw new Error(`${node} is not replicating from ${writer} after ${timeoutMs} ms: ${JSON.stringify(st)}`);
          await sleep(200);
        }
      } finally {
        await c.end();
      }
    },
    stop: async () => {
      await Promise.all([...probes.map((p) => p.stop().catch(() => undefined)), rootLoad?.stop()]);
      pause.cleanup();
      await sb.stop();
      mig.cleanup();
    },
  };
  try {
    const up = await fc.migrate(['up']);
    if (up.code !== 0) throw new Error(`migrate up failed:\n${show(up)}`);
    const w = await sb.mysqlWriter();
    await w.query("INSERT INTO items (id, c) SELECT seq, 'x' FROM seq_1_to_5000");
    await w.query("CREATE TABLE load_root (id INT PRIMARY KEY, k INT NOT NULL DEFAULT 0, c VARCHAR(120) NOT NULL DEFAULT '')");
    await w.query("INSERT INTO load_root (id, k, c) SELECT seq, seq, 'x' FROM seq_1_to_2000");
    await w.end();
    const priv = await privilegedClients(sb, 2000, 2, 40);
    probes.push(priv.probe);
    rootLoad = priv.load;
    fc.root = priv.root;
    fc.rootProbe = priv.probe;
    // Every fault starts from replicas that hold the setup (ledger, items, load_root): a replica
    // still applying it would change under a test that asserts "nothing changed".
    const { primary, replicas } = await fc.roles();
    for (const r of replicas) await fc.caughtUp(r, primary);
  } catch (e) {
    await fc.stop().catch(() => undefined);
    throw e;
  }
  return fc;
}
