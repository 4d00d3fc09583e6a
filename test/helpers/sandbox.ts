/**
 * A real topology per integration suite: `startSandbox()` in beforeAll, `stop()` in afterAll.
 * Each call gets its own temp directory (and so its own ports, datadirs and sockets), so suites
 * running in parallel never share a server.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { SandboxNode, SandboxState, SandboxWriter, TopologyName } from '../../src/sandbox/contract.ts';
import type { ProviderChoice } from '../../src/sandbox/options.ts';
import { readSecret } from '../../src/sandbox/secrets.ts';
import { sandboxDown, sandboxRestartNode, sandboxUp, type UpOutcome } from '../../src/sandbox/service.ts';

export interface StartSandboxOptions {
  topology: TopologyName;
  replicas?: number;
  proxy?: boolean;
  /** Defaults to a fresh directory under the system temp dir. */
  dir?: string;
  /** Written into migrate.config.json; defaults to <repo>/migrations. */
  migrationsDir?: string;
  /** auto (default): local binaries, else Docker. */
  provider?: ProviderChoice;
}

export type RunningNode = SandboxNode & { password: string };

export interface RunningSandbox {
  dir: string;
  state: SandboxState;
  configPath: string;
  /** Nodes in plan order (primary / active first), with their admin password. */
  nodes: RunningNode[];
  node(name: string): RunningNode;
  /** The application login: through HAProxy with --proxy, else the primary/active node. */
  app: { host: string; port: number; user: string; database: string; password: string };
  writer: SandboxWriter;
  elapsedMs: number;
  /** MySQL/MariaDB connection to a node as its admin (root) or as the app user. */
  mysql(node: string, as?: 'admin' | 'app'): Promise<mysql.Connection>;
  /** mysql connection through the writer endpoint as the app user. */
  mysqlWriter(): Promise<mysql.Connection>;
  /** PostgreSQL client (connected) to a node as postgres or as the app user. */
  pg(node: string, as?: 'admin' | 'app'): Promise<pg.Client>;
  /** Stops and starts one node again (same datadir, port, settings); MariaDB comes back read-only. */
  restart(node: string): Promise<number>;
  /** Takes the sandbox down (idempotent) and removes its directory. */
  stop(): Promise<void>;
}

export async function startSandbox(opts: StartSandboxOptions): Promise<RunningSandbox> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'msbx-test-'));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await sandboxDown(dir);
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  };
  let outcome: UpOutcome;
  try {
    outcome = await sandboxUp(
      {
        topology: opts.topology,
        replicas: opts.replicas,
        proxy: opts.proxy ?? false,
        dir,
        migrationsDir: opts.migrationsDir ?? resolve('migrations'),
      },
      { provider: opts.provider },
    );
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  const { state } = outcome;
  const nodes = state.nodes.map((n) => ({ ...n, password: readSecret(n.passwordFile) }));
  const node = (name: string): RunningNode => {
    const n = nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name} in the sandbox (nodes: ${nodes.map((x) => x.name).join(', ')})`);
    return n;
  };
  const app = {
    host: state.writer.host,
    port: state.writer.port,
    user: state.app.user,
    database: state.app.database,
    password: readSecret(state.app.passwordFile),
  };
  return {
    dir,
    state,
    configPath: state.configPath,
    nodes,
    node,
    app,
    writer: state.writer,
    elapsedMs: outcome.elapsedMs,
    mysql: (name, as = 'admin') => {
      const n = node(name);
      return mysql.createConnection(
        as === 'admin'
          ? { host: n.host, port: n.port, user: n.user, password: n.password }
          : { host: n.host, port: n.port, user: app.user, password: app.password, database: app.database },
      );
    },
    mysqlWriter: () => mysql.createConnection({ host: app.host, port: app.port, user: app.user, password: app.password, database: app.database }),
    pg: async (name, as = 'admin') => {
      const n = node(name);
      const c = new pg.Client(
        as === 'admin'
          ? { host: n.host, port: n.port, user: n.user, password: n.password, database: 'postgres' }
          : { host: n.host, port: n.port, user: app.user, password: app.password, database: app.database },
      );
      c.on('error', () => undefined);
      await c.connect();
      return c;
    },
    restart: async (name) => {
      const pid = await sandboxRestartNode(dir, name);
      node(name).pid = pid;
      return pid;
    },
    stop,
  };
}

/** A copy of the sandbox config beside it (password files and the state directory resolve the same) with its first cluster edited. */
export function configCopyWith(sb: Pick<RunningSandbox, 'configPath' | 'dir'>, name: string, edit: (cluster: Record<string, unknown>) => void): string {
  const cfg = JSON.parse(readFileSync(sb.configPath, 'utf8')) as { clusters: Record<string, unknown>[] };
  edit(cfg.clusters[0]!);
  const path = join(sb.dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  return path;
}
