import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MigrateError, messageOf } from '../errors.ts';
import { redact } from '../log/index.ts';
import { flavorFor, flavorNameFromVersion } from '../engines/index.ts';
import type { DownReport, NodeStatus, SandboxProvider, SandboxState, SandboxStatus, UpRequest } from './contract.ts';
import { connectAdmin, queryRows, withConnection } from './mysql-client.ts';
import { newPassword, writeSecret } from './secrets.ts';

export const MYSQL_IMAGE = 'mysql:8.0';

/** Where the engine's API socket is, from DOCKER_HOST or the usual places. */
function dockerSocket(env: NodeJS.ProcessEnv): { socketPath?: string; host?: string; port?: number } | undefined {
  const dh = env['DOCKER_HOST'];
  if (dh) {
    if (dh.startsWith('unix://')) return { socketPath: dh.slice('unix://'.length) };
    const m = /^tcp:\/\/([^:/]+):(\d+)/.exec(dh);
    if (m) return { host: m[1], port: Number(m[2]) };
    return undefined;
  }
  for (const p of ['/var/run/docker.sock', join(homedir(), '.docker/run/docker.sock'), `/run/user/${process.getuid?.() ?? 0}/docker.sock`]) {
    if (existsSync(p)) return { socketPath: p };
  }
  return undefined;
}

/**
 * True when a Docker engine answers `GET /_ping` within a second. A docker client without a
 * daemon (this machine) has no socket, so this is a file check plus at most one local request.
 */
export function isDockerReachable(env: NodeJS.ProcessEnv = process.env, timeoutMs = 1_000): Promise<boolean> {
  const target = dockerSocket(env);
  if (!target) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * A single MySQL 8 server in a container, for machines without local server binaries. Kept to
 * the `single` topology: replication between containers needs a network and per-container
 * configuration that the local provider already covers with real binaries.
 */
export class DockerProvider implements SandboxProvider {
  readonly kind = 'docker' as const;

  unsupported(req: UpRequest): string | undefined {
    if (req.topology !== 'single')
      return `The Docker provider starts a single MySQL 8 server (--topology single); "${req.topology}" needs the local server binaries.`;
    if (req.proxy) return 'The Docker provider does not start HAProxy (--proxy).';
    return undefined;
  }

  async up(req: UpRequest, record: (s: SandboxState) => void, progress: (msg: string) => void): Promise<SandboxState> {
    const reason = this.unsupported(req);
    if (reason) throw new MigrateError('usage', reason, 'Install the MariaDB/PostgreSQL server binaries for replicated topologies, or use --topology single.');
    // The sandbox outlives this process (`sandbox up` returns); the reaper would remove the
    // container when it exits. `down` removes it instead.
    process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
    const { MySqlContainer } = await import('@testcontainers/mysql');
    const appPassword = newPassword();
    const rootPassword = newPassword();
    const appPasswordFile = writeSecret(req.dir, 'app', appPassword);
    const rootFile = writeSecret(req.dir, 'primary', rootPassword);
    progress(`starting ${MYSQL_IMAGE} in Docker (the first run pulls the image)`);
    let started: Awaited<ReturnType<InstanceType<typeof MySqlContainer>['start']>>;
    try {
      started = await new MySqlContainer(MYSQL_IMAGE)
        .withDatabase('app')
        .withUsername('app')
        .withUserPassword(appPassword)
        .withRootPassword(rootPassword)
        .withCommand(['--server-id=1', '--log-bin=mysql-bin', '--binlog-format=ROW', '--gtid-mode=ON', '--enforce-gtid-consistency=ON'])
        .start();
    } catch (e) {
      throw new MigrateError('sandbox', redact(`The MySQL container did not start: ${messageOf(e)}`), 'Check `docker info` and that the image can be pulled.', {
        cause: e,
      });
    }
    const state: SandboxState = {
      version: 1,
      provider: 'docker',
      status: 'starting',
      topology: 'single',
      flavor: 'mysql',
      replicas: 0,
      proxy: false,
      dir: req.dir,
      runDir: req.dir,
      createdAt: new Date().toISOString(),
      nodes: [
        {
          name: 'primary',
          role: 'primary',
          flavor: 'mysql',
          host: started.getHost(),
          port: started.getPort(),
          user: 'root',
          passwordFile: rootFile,
          serverId: 1,
          containerId: started.getId(),
        },
      ],
      writer: { type: 'direct', node: 'primary', host: started.getHost(), port: started.getPort() },
      app: { user: 'app', database: 'app', passwordFile: appPasswordFile },
      configPath: join(req.dir, 'migrate.config.json'),
    };
    record(state);
    const n = state.nodes[0]!;
    state.serverVersion = await withConnection(connectAdmin(n), async (c) => String((await queryRows(c, 'SELECT @@version AS v'))[0]?.['v'] ?? ''));
    return state;
  }

  async status(state: SandboxState): Promise<SandboxStatus> {
    const nodes = await Promise.all(
      state.nodes.map(async (n): Promise<NodeStatus> => {
        const base: NodeStatus = { name: n.name, role: n.role, host: n.host, port: n.port, up: false };
        try {
          return await withConnection(connectAdmin(n, 2_000), async (c) => {
            const version = String((await queryRows(c, 'SELECT @@version AS v'))[0]?.['v'] ?? '');
            const flavor = flavorFor(flavorNameFromVersion(version));
            const ro = (await queryRows(c, flavor.readOnlyQuery()))[0];
            const pos = (await queryRows(c, flavor.gtidPositionQuery()))[0];
            return { ...base, up: true, readOnly: Number(ro?.['ro']) === 1, position: String(pos?.['pos'] ?? '') };
          });
        } catch (e) {
          return { ...base, error: redact(messageOf(e)) };
        }
      }),
    );
    const up = nodes.every((n) => n.up);
    return {
      dir: state.dir,
      topology: state.topology,
      phase: state.status,
      provider: 'docker',
      healthy: state.status === 'ready' && up,
      nodes,
      writer: { type: 'direct', host: state.writer.host, port: state.writer.port, up },
      configPath: state.configPath,
    };
  }

  async down(state: SandboxState): Promise<DownReport> {
    const report: DownReport = { stopped: [] };
    const ids = state.nodes.map((n) => n.containerId).filter((x): x is string => !!x);
    if (ids.length === 0) return report;
    const { getContainerRuntimeClient } = await import('testcontainers');
    const client = await getContainerRuntimeClient();
    for (const id of ids) {
      const c = client.container.getById(id);
      try {
        await client.container.stop(c, { timeout: 10 });
      } catch {
        /* already stopped */
      }
      try {
        await client.container.remove(c, { removeVolumes: true });
        report.stopped.push({ what: `container ${id.slice(0, 12)}`, how: 'container' });
      } catch {
        report.stopped.push({ what: `container ${id.slice(0, 12)}`, how: 'already-gone' });
      }
    }
    return report;
  }
}
