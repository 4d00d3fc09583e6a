import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClusterConfig, NodeRole, ProjectConfig } from '../config/index.ts';

/**
 * After a switchover the live roles differ from the ones the config was written with. The
 * coordinator records the new assignment beside the config (.migrate/roles-<cluster>.json) and
 * reads it back, so `migrate topology` and the next run agree with the servers without anyone
 * editing the config by hand.
 */
export function stateDir(config: ProjectConfig): string {
  const base = config.source === 'DATABASE_URL' ? process.cwd() : dirname(config.source);
  return join(base, '.migrate');
}

function rolesPath(config: ProjectConfig, cluster: string): string {
  return join(stateDir(config), `roles-${cluster.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

export function saveRoles(config: ProjectConfig, cluster: ClusterConfig, roles: Record<string, NodeRole>): void {
  const path = rolesPath(config, cluster.name);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ cluster: cluster.name, updatedAt: new Date().toISOString(), roles }, null, 2)}\n`);
  renameSync(tmp, path);
}

/** The clusters with any recorded role changes applied. */
export function withRecordedRoles(config: ProjectConfig): ClusterConfig[] {
  return config.clusters.map((c) => {
    const path = rolesPath(config, c.name);
    if (!existsSync(path)) return c;
    const saved = JSON.parse(readFileSync(path, 'utf8')) as { roles?: Record<string, NodeRole> };
    const roles = saved.roles ?? {};
    return { ...c, nodes: c.nodes.map((n) => ({ ...n, role: roles[n.name] ?? n.role })) };
  });
}

/** Roles after `newWriter` took over from `oldWriter`. */
export function swappedRoles(cluster: ClusterConfig, oldWriter: string, newWriter: string): Record<string, NodeRole> {
  const mm = cluster.topology === 'master-master';
  const out: Record<string, NodeRole> = {};
  for (const n of cluster.nodes) {
    if (n.name === newWriter) out[n.name] = mm ? 'active' : 'primary';
    else if (n.name === oldWriter) out[n.name] = mm ? 'passive' : 'replica';
    else out[n.name] = n.role;
  }
  return out;
}
