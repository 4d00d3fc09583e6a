import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { engineOfFlavor } from '../engines/index.ts';
import type { SandboxState } from './contract.ts';
import type { TopologyPlan } from './topologies.ts';

export const CONFIG_FILE = 'migrate.config.json';

/**
 * The migrate.config.json other commands use with `--config <dir>/migrate.config.json`, in the
 * shape src/config/load.ts validates. Password files are relative to the config file; the
 * application connects as `app` (through HAProxy when there is one), the cluster's nodes as the
 * admin account the coordinator needs for replication statements.
 */
export function sandboxConfig(state: SandboxState, plan: TopologyPlan, migrationsDir: string): Record<string, unknown> {
  const rel = (p: string): string => relative(state.dir, p);
  const writerNode = state.nodes.find((n) => n.name === plan.writer) ?? state.nodes[0];
  const endpoint = state.writer.type === 'haproxy' ? { host: state.writer.host, port: state.writer.port } : { host: writerNode?.host, port: writerNode?.port };
  return {
    dialect: engineOfFlavor(state.flavor).dialect,
    connection: {
      host: endpoint.host,
      port: endpoint.port,
      user: state.app.user,
      database: state.app.database,
      passwordFile: rel(state.app.passwordFile),
    },
    migrations: { directory: migrationsDir },
    clusters: [
      {
        name: 'sandbox',
        flavor: state.flavor,
        topology: plan.clusterTopology,
        nodes: state.nodes.map((n) => ({ name: n.name, role: n.role, host: n.host, port: n.port, user: n.user, passwordFile: rel(n.passwordFile) })),
        writer:
          state.writer.type === 'haproxy'
            ? { type: 'haproxy', socket: state.writer.socket, backend: state.writer.backend, host: state.writer.host, port: state.writer.port }
            : { type: 'none' },
        ...(state.writer.type === 'haproxy' && state.writer.readers
          ? { readPool: { type: 'haproxy', socket: state.writer.socket, backend: state.writer.readers.backend } }
          : {}),
      },
    ],
  };
}

export function writeSandboxConfig(state: SandboxState, plan: TopologyPlan, migrationsDir: string): string {
  const cfg = sandboxConfig(state, plan, migrationsDir);
  const file = join(state.dir, CONFIG_FILE);
  writeFileSync(file, `${JSON.stringify(cfg, null, 2)}\n`);
  return file;
}
