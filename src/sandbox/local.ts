import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MigrateError } from '../errors.ts';
import { findHaproxy, findMariaDb, findPostgres, INSTALL_HINT, type MariaDbBinaries, type PostgresBinaries } from './binaries.ts';
import type { DownReport, NodeStatus, SandboxNode, SandboxProvider, SandboxState, SandboxStatus, UpRequest, WriterStatus } from './contract.ts';
import { BACKEND, READERS_BACKEND, haproxySpec, haproxyStatus, startHaproxy, stopHaproxy } from './haproxy.ts';
import {
  ADMIN_USER,
  APP_DATABASE,
  APP_USER,
  bootstrapNode,
  initTemplate,
  mariadbNodeStatus,
  nodeSpec,
  PortInUseError,
  prepareNode,
  setReadOnly,
  specOfNode,
  startReplication,
  startServer,
  stopMariaDbNode,
  waitReplicating,
  writeNodeCnf,
  type Credentials,
  type MariaDbNodeSpec,
} from './mariadb.ts';
import { freePorts } from './ports.ts';
import {
  bootstrapPostgres,
  initPrimary,
  initReplica,
  PG_ADMIN_USER,
  PgPortInUseError,
  pgNodeSpec,
  postgresNodeStatus,
  serverAccount,
  startPostgres,
  stopPostgresNode,
  waitStreaming,
  type PostgresNodeSpec,
} from './postgres.ts';
import { liveServerPid, serverProcessesReferencing, stopProcess, type OsUser, type StopOutcome } from './process.ts';
import { engineOfFlavor, type Dialect } from '../engines/index.ts';
import type { SandboxFlavor } from './contract.ts';
import { newPassword, writeSecret } from './secrets.ts';
import { planTopology, type TopologyPlan } from './topologies.ts';

const HOST = '127.0.0.1';
const PORT_RETRIES = 3;
/** sun_path holds 108 bytes; keep room for the longest socket name we create. */
const MAX_SOCKET_DIR = 80;

/**
 * Short enough for unix socket paths: `<dir>/run`, else a private directory under the system
 * temp dir (recorded in state.json as runDir and removed by `down`).
 */
function makeRunDir(dir: string): string {
  const inside = join(dir, 'run');
  if (inside.length <= MAX_SOCKET_DIR) {
    mkdirSync(inside, { recursive: true, mode: 0o755 });
    return inside;
  }
  const outside = mkdtempSync(join(tmpdir(), 'msbx-'));
  // PostgreSQL (running as its own account) keeps its socket below this directory.
  chmodSync(outside, 0o711);
  return outside;
}

/** Starts one server, moving to a fresh port if another process took ours since we picked it. */
async function withPortRetry<T>(start: () => Promise<T>, repick: (port: number) => void, isPortError: (e: unknown) => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (!isPortError(e) || attempt >= PORT_RETRIES) {
        if (isPortError(e))
          throw new MigrateError(
            'sandbox',
            `Every port tried for a sandbox node was taken by another process (${(e as Error).message}).`,
            'Run the command again; if it keeps failing, check what keeps opening ports on 127.0.0.1.',
          );
        throw e;
      }
      const [port] = await freePorts(1);
      repick(port!);
    }
  }
}

/**
 * Promise.all that waits for every task before failing: a node still starting when another
 * failed must have been recorded before `up` cleans up, or its server would outlive the cleanup.
 */
async function allSettledOrThrow<T>(tasks: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

type UpArgs = [
  plan: TopologyPlan,
  state: SandboxState,
  ports: number[],
  appPassword: string,
  record: (s: SandboxState) => void,
  progress: (msg: string) => void,
];

/** What the local provider does with each engine's nodes (the mysql engine's are MariaDB servers). */
interface LocalServer {
  /** Why its binaries cannot be used here, or undefined. */
  missing(): string | undefined;
  up(...args: UpArgs): Promise<void>;
  status(node: SandboxNode): Promise<NodeStatus>;
  restart(state: SandboxState, node: SandboxNode & { datadir: string }): Promise<number>;
  stop(node: SandboxNode): Promise<{ pid?: number; how: StopOutcome }>;
}

export class LocalProvider implements SandboxProvider {
  readonly kind = 'local' as const;

  private readonly servers: Record<Dialect, LocalServer> = {
    mysql: {
      missing: () => (findMariaDb() ? undefined : 'MariaDB server binaries (mariadbd, mariadb-install-db) were not found.'),
      up: (...args) => this.upMariaDb(findMariaDb()!, ...args),
      status: mariadbNodeStatus,
      restart: (state, node) => this.restartMariaDb(state, node),
      stop: stopMariaDbNode,
    },
    postgres: {
      missing: () => (findPostgres() ? undefined : 'PostgreSQL server binaries (initdb, pg_ctl) were not found.'),
      up: (...args) => this.upPostgres(findPostgres()!, ...args),
      status: postgresNodeStatus,
      restart: (state, node) => this.restartPostgres(state, node),
      stop: stopPostgresNode,
    },
  };

  private serverOf(flavor: SandboxFlavor): LocalServer {
    return this.servers[engineOfFlavor(flavor).dialect];
  }

  unsupported(req: UpRequest): string | undefined {
    const missing = this.serverOf(planTopology(req.topology, req.replicas).flavor).missing();
    if (missing) return missing;
    if (req.proxy && !findHaproxy()) return '--proxy needs HAProxy, which was not found.';
    return undefined;
  }

  async up(req: UpRequest, record: (s: SandboxState) => void, progress: (msg: string) => void): Promise<SandboxState> {
    const reason = this.unsupported(req);
    if (reason) throw new MigrateError('sandbox', reason, INSTALL_HINT);
    const plan = planTopology(req.topology, req.replicas);
    const runDir = makeRunDir(req.dir);
    const appPassword = newPassword();
    const appPasswordFile = writeSecret(req.dir, 'app', appPassword);
    const state: SandboxState = {
      version: 1,
      provider: 'local',
      status: 'starting',
      topology: req.topology,
      flavor: plan.flavor,
      replicas: req.replicas,
      proxy: req.proxy,
      dir: req.dir,
      runDir,
      createdAt: new Date().toISOString(),
      nodes: [],
      writer: { type: 'direct', node: plan.writer, host: HOST, port: 0 },
      app: { user: APP_USER, database: APP_DATABASE, passwordFile: appPasswordFile },
      configPath: join(req.dir, 'migrate.config.json'),
    };
    record(state);
    const ports = await freePorts(plan.nodes.length + (req.proxy ? 2 : 0));
    await this.serverOf(plan.flavor).up(plan, state, ports, appPassword, record, progress);

    const writerNode = state.nodes.find((n) => n.name === plan.writer)!;
    state.writer = { type: 'direct', node: writerNode.name, host: writerNode.host, port: writerNode.port };
    if (req.proxy) {
      progress('starting HAProxy');
      const spec = haproxySpec(join(req.dir, 'haproxy'), runDir, ports[plan.nodes.length]!, ports[plan.nodes.length + 1]!);
      const pid = await startHaproxy(findHaproxy()!, spec, state.nodes, plan.writer);
      state.writer = {
        type: 'haproxy',
        host: HOST,
        port: spec.port,
        socket: spec.socket,
        backend: BACKEND,
        node: plan.writer,
        ...(plan.nodes.length > 1 ? { readers: { host: HOST, port: spec.readersPort, backend: READERS_BACKEND } } : {}),
        pid,
        pidFile: spec.pidFile,
        configFile: spec.configFile,
      };
      record(state);
    }
    return state;
  }

  private async upMariaDb(
    bins: MariaDbBinaries,
    plan: TopologyPlan,
    state: SandboxState,
    ports: number[],
    appPassword: string,
    record: (s: SandboxState) => void,
    progress: (msg: string) => void,
  ): Promise<void> {
    const dir = state.dir;
    const cred: Omit<Credentials, 'admin'> = { app: appPassword, repl: newPassword() };
    writeSecret(dir, 'repl', cred.repl);
    progress('initialising the MariaDB data directory');
    const templateDir = join(dir, 'template');
    const template = await initTemplate(bins, templateDir);

    progress(`starting ${plan.nodes.length} mariadbd`);
    const specs = plan.nodes.map((p, i) => nodeSpec(p, join(dir, 'nodes', p.name), state.runDir, ports[i]!, ''));
    const nodes = await allSettledOrThrow(
      specs.map(async (spec): Promise<SandboxNode> => {
        const admin = newPassword();
        spec.passwordFile = writeSecret(dir, spec.plan.name, admin);
        await prepareNode(spec, template);
        const child = await withPortRetry(
          () => startServer(bins, spec),
          (port) => {
            spec.port = port;
            writeNodeCnf(spec);
          },
          (e) => e instanceof PortInUseError,
        );
        const node = mariaNode(spec, child.pid);
        state.nodes.push(node);
        record(state);
        const version = await bootstrapNode(spec, { ...cred, admin });
        state.serverVersion ??= version;
        return node;
      }),
    );
    // Node order in the state follows the plan, whichever started first.
    state.nodes = plan.nodes.map((p) => nodes.find((n) => n.name === p.name)!);
    rmSync(templateDir, { recursive: true, force: true });

    const byName = new Map(state.nodes.map((n) => [n.name, n]));
    const replicating = plan.nodes.filter((p) => p.source);
    if (replicating.length > 0) progress('starting replication');
    await allSettledOrThrow(replicating.map((p) => startReplication(byName.get(p.name)!, byName.get(p.source!)!, cred.repl, p.useGtid ?? 'slave_pos')));
    await allSettledOrThrow(replicating.map((p) => waitReplicating(byName.get(p.name)!)));
    await setReadOnly(byName.get(plan.writer)!, false);
    record(state);
  }

  private async upPostgres(
    bins: PostgresBinaries,
    plan: TopologyPlan,
    state: SandboxState,
    ports: number[],
    appPassword: string,
    record: (s: SandboxState) => void,
    progress: (msg: string) => void,
  ): Promise<void> {
    const as = serverAccount();
    const dir = state.dir;
    const admin = newPassword();
    const specs = plan.nodes.map((p, i) => {
      const s = pgNodeSpec(p, join(dir, 'nodes', p.name), ports[i]!, writeSecret(dir, p.name, admin));
      s.socketDir = join(state.runDir, p.name);
      return s;
    });
    const prepareSocketDir = (s: PostgresNodeSpec, owner: OsUser | undefined): void => {
      mkdirSync(s.socketDir, { recursive: true, mode: 0o700 });
      if (owner) chownSync(s.socketDir, owner.uid, owner.gid);
    };
    const startOne = async (s: PostgresNodeSpec): Promise<SandboxNode> => {
      const pid = await withPortRetry(
        () => startPostgres(bins, s, as),
        (port) => {
          s.port = port;
          // The last `port = ` line wins.
          appendPort(s, port);
        },
        (e) => e instanceof PgPortInUseError,
      );
      const node = pgNode(s, pid);
      state.nodes.push(node);
      record(state);
      return node;
    };

    const primary = specs[0]!;
    progress('initialising PostgreSQL');
    prepareSocketDir(primary, as);
    await initPrimary(bins, primary, as);
    const primaryNode = await startOne(primary);
    state.serverVersion = await bootstrapPostgres(primary, admin, APP_USER, appPassword, APP_DATABASE);

    const replicas = specs.slice(1);
    if (replicas.length > 0) progress(`cloning ${replicas.length} streaming replica(s)`);
    const replicaNodes = await allSettledOrThrow(
      replicas.map(async (s) => {
        prepareSocketDir(s, as);
        await initReplica(bins, s, primary, as);
        const node = await startOne(s);
        await waitStreaming(node);
        return node;
      }),
    );
    state.nodes = [primaryNode, ...replicaNodes];
    record(state);
  }

  async status(state: SandboxState): Promise<SandboxStatus> {
    const nodes = await Promise.all(
      state.nodes.map(async (n): Promise<NodeStatus> => {
        if (!n.datadir || !liveServerPid(n.pidFile, n.pid, n.datadir)) {
          return { name: n.name, role: n.role, host: n.host, port: n.port, up: false, error: 'server process is not running' };
        }
        return this.serverOf(n.flavor).status(n);
      }),
    );
    let writer: WriterStatus;
    if (state.writer.type === 'haproxy') {
      writer = await haproxyStatus(state.writer);
    } else {
      const target = state.writer.node;
      const wn = nodes.find((n) => n.name === target);
      writer = { type: 'direct', host: state.writer.host, port: state.writer.port, up: wn?.up ?? false };
    }
    return {
      dir: state.dir,
      topology: state.topology,
      phase: state.status,
      provider: 'local',
      healthy: state.status === 'ready' && isHealthy(nodes, writer),
      nodes,
      writer,
      configPath: state.configPath,
    };
  }

  async restartNode(state: SandboxState, name: string): Promise<number> {
    const node = state.nodes.find((n) => n.name === name);
    if (!node?.datadir)
      throw new MigrateError(
        'sandbox',
        `There is no node "${name}" in the sandbox in ${state.dir}.`,
        `Use one of: ${state.nodes.map((n) => n.name).join(', ')}.`,
      );
    const pid = await this.serverOf(node.flavor).restart(state, { ...node, datadir: node.datadir });
    node.pid = pid;
    return pid;
  }

  private async restartPostgres(state: SandboxState, node: SandboxNode & { datadir: string }): Promise<number> {
    const bins = findPostgres();
    if (!bins) throw new MigrateError('sandbox', 'PostgreSQL server binaries were not found.', INSTALL_HINT);
    await stopPostgresNode(node);
    const plan = planTopology(state.topology, state.replicas).nodes.find((p) => p.name === node.name)!;
    const spec = { ...pgNodeSpec(plan, dirname(node.datadir), node.port, node.passwordFile), socketDir: node.socket! };
    return startPostgres(bins, spec, serverAccount());
  }

  private async restartMariaDb(state: SandboxState, node: SandboxNode & { datadir: string }): Promise<number> {
    const bins = findMariaDb();
    if (!bins) throw new MigrateError('sandbox', 'MariaDB server binaries were not found.', INSTALL_HINT);
    await stopMariaDbNode(node);
    const plan = planTopology(state.topology, state.replicas).nodes.find((p) => p.name === node.name)!;
    const child = await startServer(bins, specOfNode(node, plan));
    return child.pid!;
  }

  async down(state: SandboxState): Promise<DownReport> {
    const report: DownReport = { stopped: [] };
    // The endpoint first, so no client is routed to a node that is shutting down.
    if (state.writer.type === 'haproxy') {
      const r = await stopHaproxy(state.writer);
      report.stopped.push({ what: 'haproxy', pid: r.pid, how: r.how });
    }
    const results = await Promise.all(
      state.nodes.map(async (n) => {
        const r = await this.serverOf(n.flavor).stop(n);
        return { what: `${n.flavor} ${n.name}`, pid: r.pid, how: r.how };
      }),
    );
    report.stopped.push(...results);
    // An interrupted `up` may have started a server it never recorded.
    for (const d of new Set([state.dir, state.runDir])) {
      for (const p of serverProcessesReferencing(d)) {
        const how = await stopProcess(p.pid, d, p.cmdline.includes('postgres') ? 'SIGINT' : 'SIGTERM', 30_000);
        report.stopped.push({ what: `unrecorded ${p.cmdline.split(' ')[0]}`, pid: p.pid, how });
      }
    }
    if (state.runDir && !state.runDir.startsWith(`${state.dir}/`) && existsSync(state.runDir)) rmSync(state.runDir, { recursive: true, force: true });
    return report;
  }
}

function appendPort(s: PostgresNodeSpec, port: number): void {
  appendFileSync(join(s.datadir, 'postgresql.conf'), `port = ${port}\n`);
}

function mariaNode(s: MariaDbNodeSpec, pid: number | undefined): SandboxNode {
  return {
    name: s.plan.name,
    role: s.plan.role,
    flavor: 'mariadb',
    host: HOST,
    port: s.port,
    socket: s.socket,
    datadir: s.datadir,
    pid,
    pidFile: s.pidFile,
    logFile: s.logFile,
    user: ADMIN_USER,
    passwordFile: s.passwordFile,
    serverId: s.plan.serverId,
    gtidDomainId: s.plan.gtidDomainId,
  };
}

function pgNode(s: PostgresNodeSpec, pid: number): SandboxNode {
  return {
    name: s.plan.name,
    role: s.plan.role,
    flavor: 'postgres',
    host: HOST,
    port: s.port,
    socket: s.socketDir,
    datadir: s.datadir,
    pid,
    pidFile: join(s.datadir, 'postmaster.pid'),
    logFile: s.logFile,
    user: PG_ADMIN_USER,
    passwordFile: s.passwordFile,
    serverId: s.plan.serverId,
  };
}

/**
 * Every node up, every replica's threads running, exactly one writable node, and the endpoint
 * up and (HAProxy) routing to that node only. Which node is writable is not fixed: after a
 * switchover by the coordinator another node is, and the sandbox is still healthy.
 */
export function isHealthy(nodes: NodeStatus[], writer: WriterStatus): boolean {
  const writable = nodes.filter((n) => n.readOnly === false);
  if (!writer.up || writable.length !== 1) return false;
  if (!nodes.every((n) => n.up && (n.ioRunning === undefined || (n.ioRunning && n.sqlRunning === true)))) return false;
  if (writer.servers) {
    const ready = writer.servers.filter((s) => s.state === 'ready');
    return ready.length === 1 && ready[0]!.name === writable[0]!.name;
  }
  return true;
}
