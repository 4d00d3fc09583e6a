import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.ts';
import { MigrateError } from '../../src/errors.ts';
import { decideDrain, readPoolFor } from '../../src/execution/read-pool/index.ts';
import { parseServerStates, parseSessions } from '../../src/topology/index.ts';

const node = (name: string, port: number) => ({ name, role: 'replica' as const, host: '127.0.0.1', port, user: 'root' });

describe('read pool: the last-reader rule', () => {
  it('drains a serving replica while another serves; the last one only with --drain-last-reader; never one already out', () => {
    expect(decideDrain('r1', new Set(['r1', 'r2']), false)).toBe('drain');
    expect(decideDrain('r1', new Set(['r1']), false)).toBe('keep-last');
    expect(decideDrain('r1', new Set(['r1']), true)).toBe('drain-last');
    expect(decideDrain('r2', new Set(['r1']), true)).toBe('not-serving');
  });
});

describe("read pool: HAProxy's runtime API answers", () => {
  it('reads each server state (running, drain, maint) and its open sessions', () => {
    const states = [
      '1',
      '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight',
      '4 readers 1 primary 127.0.0.1 0 5 1',
      '4 readers 2 replica1 127.0.0.1 2 4 1',
      '4 readers 3 replica2 127.0.0.1 2 8 1',
      '4 readers 4 replica3 127.0.0.1 0 1 1',
    ].join('\n');
    // replica1: declared disabled (bit 0x04) but enabled at run time: running, so ready.
    expect(Object.fromEntries(parseServerStates(states))).toEqual({ primary: 'maint', replica1: 'ready', replica2: 'drain', replica3: 'maint' });
    const stat = [
      '# pxname,svname,qcur,qmax,scur,smax',
      'readers,FRONTEND,,,0,1',
      'readers,replica1,0,0,3,4',
      'writer,replica1,0,0,9,9',
      'readers,BACKEND,0,0,3,4',
    ].join('\n');
    expect(Object.fromEntries(parseSessions(stat, 'readers'))).toEqual({ replica1: 3 });
  });
});

describe('read pool: config', () => {
  const base = { dialect: 'mysql', connection: { host: 'h', port: 3306, user: 'u', database: 'd' } };
  const cluster = (readPool: unknown) => ({
    ...base,
    clusters: [{ name: 'main', flavor: 'mariadb', topology: 'primary-replica', nodes: [{ ...node('db1', 3306), role: 'primary' }], readPool }],
  });

  it('resolves the socket against the config directory and defaults the bounds', () => {
    const c = validateConfig(cluster({ type: 'haproxy', socket: 'run/haproxy.sock', backend: 'readers' }), 'c.json', '/p');
    expect(c.clusters[0]!.readPool).toMatchObject({ type: 'haproxy', socket: '/p/run/haproxy.sock', backend: 'readers' });
    expect(readPoolFor(c.clusters[0]!)).toMatchObject({ kind: 'haproxy', maxLagSeconds: 1 });
  });

  it('names a missing socket, an unknown key, a wrong type', () => {
    const c = validateConfig(cluster({ type: 'haproxy', backend: 'readers' }), 'c.json', '/p');
    expect(() => readPoolFor(c.clusters[0]!)).toThrow(/readPool type haproxy needs "socket" and "backend"/);
    expect(() => validateConfig(cluster({ type: 'haproxy', sockett: 'x' }), 'c.json', '/p')).toThrow(MigrateError);
    expect(() => validateConfig(cluster({ type: 'proxysql' }), 'c.json', '/p')).toThrow(/readPool\.type/);
  });
});

describe('read pool: command hook', () => {
  it('runs the command with the action and the node in its environment, and names a failing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rp-cmd-'));
    const log = join(dir, 'calls');
    try {
      const pool = readPoolFor({
        name: 'main',
        readPool: { type: 'command', command: `echo "$MIGRATE_READ_POOL_ACTION $MIGRATE_NODE $MIGRATE_NODE_HOST:$MIGRATE_NODE_PORT" >> ${log}` },
      })!;
      expect(await pool.members()).toBeUndefined();
      await pool.drain(node('r1', 3307), () => undefined);
      await pool.ready(node('r1', 3307));
      await pool.leave(node('r2', 3308));
      expect(readFileSync(log, 'utf8')).toBe('drain r1 127.0.0.1:3307\nready r1 127.0.0.1:3307\ndrain r2 127.0.0.1:3308\n');
      const failing = readPoolFor({ name: 'main', readPool: { type: 'command', command: 'echo no lb here >&2; exit 3' } })!;
      await expect(failing.ready(node('r1', 3307))).rejects.toThrow(/failed to ready r1 \(exit 3\): no lb here/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
