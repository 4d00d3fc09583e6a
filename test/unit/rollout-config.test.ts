import { describe, expect, it } from 'vitest';
import type { ClusterConfig, ProjectConfig } from '../../src/config/types.ts';
import { configForCluster } from '../../src/execution/rollout.ts';

/** Where one cluster's migrations run: the endpoint the writer driver moves, or the writer node. */
const cluster = (writer: ClusterConfig['writer']): ClusterConfig => ({
  name: 'main',
  flavor: 'mariadb',
  topology: 'primary-replica',
  nodes: [
    { name: 'db1', role: 'primary', host: '10.0.0.1', port: 3306, user: 'app' },
    { name: 'db2', role: 'replica', host: '10.0.0.2', port: 3306, user: 'app' },
  ],
  ...(writer ? { writer } : {}),
});
const config = (host: string, port: number, clusters: ClusterConfig[]): ProjectConfig => ({
  dialect: 'mysql',
  connection: { host, port, user: 'app', database: 'app' },
  migrationsDir: '/m',
  ledgerTable: 'migrate_ledger',
  clusters,
  source: 'test',
});
const at = (c: ProjectConfig): string => `${c.connection.host}:${c.connection.port}`;

describe('configForCluster', () => {
  it('runs through `connection` when it is the endpoint a haproxy or command writer moves', () => {
    for (const type of ['haproxy', 'command'] as const) {
      const c = cluster({ type });
      expect(at(configForCluster(config('10.0.0.9', 6033, [c]), c)), type).toBe('10.0.0.9:6033');
    }
  });

  it('keeps a `connection` that names a node pinned to the recorded writer node: after a switchover that node is a replica', () => {
    const c = cluster({ type: 'haproxy' });
    expect(at(configForCluster(config('10.0.0.2', 3306, [c]), c))).toBe('10.0.0.1:3306');
  });

  it('uses writer.host/port when given, and the writer node with no driver or several clusters', () => {
    const c = cluster({ type: 'haproxy', host: '10.0.0.8', port: 6033 });
    expect(at(configForCluster(config('10.0.0.9', 6033, [c]), c))).toBe('10.0.0.8:6033');
    const none = cluster({ type: 'none' });
    expect(at(configForCluster(config('10.0.0.9', 6033, [none]), none))).toBe('10.0.0.1:3306');
    const a = cluster({ type: 'haproxy' });
    const b = { ...cluster({ type: 'haproxy' }), name: 'other' };
    expect(at(configForCluster(config('10.0.0.9', 6033, [a, b]), a))).toBe('10.0.0.1:3306');
  });
});
