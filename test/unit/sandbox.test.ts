import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import type { NodeStatus, SandboxNode, WriterStatus } from '../../src/sandbox/contract.ts';
import { haproxyConfig, haproxySpec, parseServersState } from '../../src/sandbox/haproxy.ts';
import { isHealthy } from '../../src/sandbox/local.ts';
import { parseUpFlags, resolveRequest, resolveSandboxDir } from '../../src/sandbox/options.ts';
import { freePorts } from '../../src/sandbox/ports.ts';
import { claimDir, removeDir } from '../../src/sandbox/state.ts';
import { planTopology } from '../../src/sandbox/topologies.ts';

function usage(fn: () => unknown): MigrateError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MigrateError);
    expect((e as MigrateError).kind).toBe('usage');
    expect((e as MigrateError).exitCode).toBe(2);
    expect((e as MigrateError).fix.length).toBeGreaterThan(10);
    return e as MigrateError;
  }
  throw new Error('expected a usage error');
}

describe('sandbox flags', () => {
  const cwd = '/proj';

  it('resolves the directory from --dir, MIGRATE_SANDBOX_DIR, else ./.sandbox', () => {
    expect(resolveSandboxDir(undefined, {}, cwd)).toBe('/proj/.sandbox');
    expect(resolveSandboxDir(undefined, { MIGRATE_SANDBOX_DIR: 'sb' }, cwd)).toBe('/proj/sb');
    expect(resolveSandboxDir('/abs/x', { MIGRATE_SANDBOX_DIR: 'sb' }, cwd)).toBe('/abs/x');
  });

  it('rejects unknown topologies and bad replica counts as usage errors', () => {
    expect(usage(() => parseUpFlags({ topology: 'ring' }, {}, cwd)).problem).toMatch(/"ring" is not a known topology/);
    expect(usage(() => parseUpFlags({ replicas: '0' }, {}, cwd)).problem).toMatch(/out of range/);
    expect(usage(() => parseUpFlags({ replicas: '-1' }, {}, cwd)).problem).toMatch(/not a whole number/);
    expect(usage(() => parseUpFlags({ replicas: '2x' }, {}, cwd)).problem).toMatch(/not a whole number/);
    expect(usage(() => parseUpFlags({ replicas: '1e1' }, {}, cwd)).problem).toMatch(/not a whole number/);
    expect(usage(() => parseUpFlags({ replicas: '99' }, {}, cwd)).problem).toMatch(/out of range/);
    expect(usage(() => parseUpFlags({ topology: 'master-master', replicas: '3' }, {}, cwd)).problem).toMatch(/does not apply/);
  });

  it('defaults to primary-replica with 2 replicas, or to what is already running', () => {
    const flags = parseUpFlags({}, {}, cwd);
    expect(resolveRequest(flags)).toMatchObject({
      topology: 'primary-replica',
      replicas: 2,
      proxy: false,
      dir: '/proj/.sandbox',
      migrationsDir: '/proj/migrations',
    });
    expect(resolveRequest(flags, { topology: 'postgres', replicas: 1, proxy: true })).toMatchObject({ topology: 'postgres', replicas: 1, proxy: true });
    expect(resolveRequest(parseUpFlags({ topology: 'master-master' }, {}, cwd), { topology: 'postgres', replicas: 1, proxy: true })).toMatchObject({
      topology: 'master-master',
      replicas: 0,
      proxy: false,
    });
    expect(resolveRequest(parseUpFlags({ topology: 'postgres' }, {}, cwd))).toMatchObject({ replicas: 0 });
  });
});

describe('sandbox topologies', () => {
  it('plans unique server ids; replicas follow the primary with slave_pos', () => {
    const p = planTopology('primary-replica', 3);
    expect(p.nodes.map((n) => [n.name, n.role, n.serverId, n.source ?? null, n.useGtid ?? null])).toEqual([
      ['primary', 'primary', 1, null, null],
      ['replica1', 'replica', 2, 'primary', 'slave_pos'],
      ['replica2', 'replica', 3, 'primary', 'slave_pos'],
      ['replica3', 'replica', 4, 'primary', 'slave_pos'],
    ]);
  });

  it('plans master-master as two masters in separate GTID domains using current_pos', () => {
    const p = planTopology('master-master', 0);
    expect(p.writer).toBe('a');
    expect(p.nodes.map((n) => [n.name, n.role, n.source, n.useGtid, n.gtidDomainId])).toEqual([
      ['a', 'active', 'b', 'current_pos', 1],
      ['b', 'passive', 'a', 'current_pos', 2],
    ]);
  });
});

describe('sandbox HAProxy', () => {
  const node = (name: string, port: number): SandboxNode => ({
    name,
    role: 'replica',
    flavor: 'mariadb',
    host: '127.0.0.1',
    port,
    user: 'root',
    passwordFile: '/x',
  });

  it('enables only the writer and puts the others in maintenance', () => {
    const cfg = haproxyConfig(haproxySpec('/d/haproxy', '/d/run', 40000, 40001), [node('primary', 1), node('replica1', 2)], 'primary');
    expect(cfg).toContain('bind 127.0.0.1:40000');
    // The read pool: its own port, the replicas enabled, the writer out.
    const readers = cfg.slice(cfg.indexOf('frontend readers_front'));
    expect(readers).toContain('bind 127.0.0.1:40001');
    expect(readers).toContain('backend readers\n  balance roundrobin\n  server primary 127.0.0.1:1 disabled\n  server replica1 127.0.0.1:2\n');
    expect(cfg).toContain('stats socket /d/run/haproxy.sock mode 600 level admin');
    expect(cfg).toMatch(/server primary 127\.0\.0\.1:1\n/);
    expect(cfg).toMatch(/server replica1 127\.0\.0\.1:2 disabled\n/);
    expect(cfg).not.toMatch(/\bbackup\b|\bcheck\b/);
  });

  it('parses `show servers state` (HAProxy 2.6 layout)', () => {
    const text = [
      '1',
      '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port',
      '3 writer 1 primary 127.0.0.1 2 0 1 1 0 1 0 2 0 0 0 0 - 3306 - 0 0 - - 0',
      '3 writer 2 replica1 127.0.0.1 0 5 1 1 0 1 0 0 8 0 0 0 - 3307 - 0 0 - - 0',
      '3 writer 3 replica2 127.0.0.1 2 8 1 1 0 1 0 0 8 0 0 0 - 3308 - 0 0 - - 0',
      '',
    ].join('\n');
    expect(parseServersState(text)).toEqual([
      { name: 'primary', address: '127.0.0.1:3306', state: 'ready' },
      { name: 'replica1', address: '127.0.0.1:3307', state: 'maint' },
      { name: 'replica2', address: '127.0.0.1:3308', state: 'drain' },
    ]);
  });
});

describe('sandbox health', () => {
  const up = (name: string, readOnly: boolean, repl?: boolean): NodeStatus => ({
    name,
    role: readOnly ? 'replica' : 'primary',
    host: 'h',
    port: 1,
    up: true,
    readOnly,
    ioRunning: repl,
    sqlRunning: repl,
  });
  const haproxy = (ready: string): WriterStatus => ({
    type: 'haproxy',
    host: 'h',
    port: 2,
    up: true,
    servers: [
      { name: 'primary', address: 'x', state: ready === 'primary' ? 'ready' : 'maint' },
      { name: 'replica1', address: 'y', state: ready === 'replica1' ? 'ready' : 'maint' },
    ],
  });

  it('needs exactly one writable node, replication running, and HAProxy routing to the writable node', () => {
    expect(isHealthy([up('primary', false), up('replica1', true, true)], haproxy('primary'))).toBe(true);
    // After a switchover another node is the writer: still healthy if the endpoint followed.
    expect(isHealthy([up('primary', true, true), up('replica1', false)], haproxy('replica1'))).toBe(true);
    expect(isHealthy([up('primary', true, true), up('replica1', false)], haproxy('primary'))).toBe(false);
    expect(isHealthy([up('primary', false), up('replica1', false, true)], haproxy('primary'))).toBe(false);
    expect(isHealthy([up('primary', false), up('replica1', true, false)], haproxy('primary'))).toBe(false);
  });
});

describe('sandbox directory safety', () => {
  it('never claims or deletes a non-empty directory it did not create', () => {
    const dir = mkdtempSync(join(tmpdir(), 'msbx-unit-'));
    writeFileSync(join(dir, 'precious.txt'), 'keep me');
    try {
      expect(() => claimDir(dir)).toThrow(/not created by `migrate sandbox`/);
      expect(() => removeDir(dir)).toThrow(/not deleting it/);
      expect(existsSync(join(dir, 'precious.txt'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands out distinct free ports, never the machine servers', async () => {
    const ports = await freePorts(6);
    expect(new Set(ports).size).toBe(6);
    for (const p of ports) expect([3306, 5432]).not.toContain(p);
  });
});
