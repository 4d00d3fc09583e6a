/**
 * Where `migrate shadow up` puts its server (and where `check` looks for it), and what the
 * shadow topologies start: no replication, durability off. No server is started here.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import { nodeSpec, writeNodeCnf } from '../../src/sandbox/mariadb.ts';
import { parseUpFlags } from '../../src/sandbox/options.ts';
import { defaultShadowBase, foreignDirProblem, shadowBase, shadowDirName, shadowServerDir, shadowTopology } from '../../src/sandbox/shadow-dir.ts';
import { planTopology } from '../../src/sandbox/topologies.ts';

const tmp = mkdtempSync(join(tmpdir(), 'shadow-dir-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const uid = String(process.getuid?.());

describe('shadow server directory', () => {
  it('defaults to /dev/shm when it is a writable directory, else the temp dir', () => {
    const shm = join(tmp, 'shm');
    mkdirSync(shm);
    expect(defaultShadowBase({ shm, tmp: '/fallback' })).toBe(shm);
    expect(defaultShadowBase({ shm: join(tmp, 'missing'), tmp: '/fallback' })).toBe('/fallback');
    const file = join(tmp, 'a-file');
    writeFileSync(file, '');
    expect(defaultShadowBase({ shm: file, tmp: '/fallback' })).toBe('/fallback');
    // A small /dev/shm (a container's 64 MB) is passed over: the server would run out of room.
    expect(defaultShadowBase({ shm, tmp: '/fallback', minFree: Number.MAX_SAFE_INTEGER })).toBe('/fallback');
    expect(defaultShadowBase({ shm, tmp: '/fallback', minFree: 1 })).toBe(shm);
    if (process.getuid?.() !== 0) {
      // root may write anywhere; for anyone else a read-only /dev/shm is no place for a server.
      chmodSync(shm, 0o555);
      expect(defaultShadowBase({ shm, tmp: '/fallback' })).toBe('/fallback');
      chmodSync(shm, 0o755);
    }
  });

  it('takes --dir, else MIGRATE_SHADOW_DIR (relative to cwd, empty = unset), else the default, as the base', () => {
    expect(shadowBase('/abs/x', { MIGRATE_SHADOW_DIR: '/env' }, '/proj')).toBe('/abs/x');
    expect(shadowBase('rel', {}, '/proj')).toBe('/proj/rel');
    expect(shadowBase(undefined, { MIGRATE_SHADOW_DIR: '/env' }, '/proj')).toBe('/env');
    expect(shadowBase(undefined, { MIGRATE_SHADOW_DIR: 'env' }, '/proj')).toBe('/proj/env');
    expect(shadowBase(undefined, { MIGRATE_SHADOW_DIR: ' ' }, '/proj')).toBe(defaultShadowBase());
    expect(shadowBase(undefined, {}, '/proj')).toBe(defaultShadowBase());
    expect(() => shadowBase('', {}, '/proj')).toThrow(MigrateError);
  });

  it('names one directory per user and dialect under the base', () => {
    expect(shadowDirName('mysql')).toBe(`migrate-shadow-${uid}-mysql`);
    expect(shadowServerDir('postgres', { env: { MIGRATE_SHADOW_DIR: '/b' } })).toBe(`/b/migrate-shadow-${uid}-postgres`);
    expect(shadowServerDir('mysql', { dir: '/d', env: { MIGRATE_SHADOW_DIR: '/b' } })).toBe(`/d/migrate-shadow-${uid}-mysql`);
    expect(shadowServerDir('mysql', { env: {} })).toBe(join(defaultShadowBase(), `migrate-shadow-${uid}-mysql`));
    // A server already running in the temp dir (/dev/shm had too little room when it started) is found there.
    const shmBase = join(tmp, 'shm-base');
    const tmpBase = join(tmp, 'tmp-base');
    mkdirSync(join(tmpBase, `migrate-shadow-${uid}-mysql`), { recursive: true });
    mkdirSync(shmBase);
    expect(shadowServerDir('mysql', { env: {}, searched: [shmBase, tmpBase] })).toBe(join(tmpBase, `migrate-shadow-${uid}-mysql`));
  });

  it('refuses a symlink or a non-directory in its place, accepts an absent or own directory', () => {
    expect(foreignDirProblem(join(tmp, 'absent'))).toBeUndefined();
    const own = join(tmp, 'own');
    mkdirSync(own);
    expect(foreignDirProblem(own)).toBeUndefined();
    const link = join(tmp, 'link');
    symlinkSync(own, link);
    expect(foreignDirProblem(link)).toMatch(/symbolic link/);
    const file = join(tmp, 'plain-file');
    writeFileSync(file, '');
    expect(foreignDirProblem(file)).toMatch(/not a directory/);
  });
});

describe('shadow topologies', () => {
  it('are one writable primary named shadow, flagged as the shadow profile', () => {
    for (const [dialect, flavor] of [
      ['mysql', 'mariadb'],
      ['postgres', 'postgres'],
    ] as const) {
      const p = planTopology(shadowTopology(dialect), 0);
      expect(p).toMatchObject({ flavor, clusterTopology: 'single', writer: 'shadow' });
      expect(p.nodes).toEqual([{ name: 'shadow', role: 'primary', serverId: 1, gtidDomainId: 0, profile: 'shadow' }]);
    }
  });

  it('are not offered by `migrate sandbox up` (only `migrate shadow up` starts them)', () => {
    expect(() => parseUpFlags({ topology: 'mariadb-shadow' }, {}, '/proj')).toThrow(/not a known topology/);
    expect(() => parseUpFlags({ topology: 'postgres-shadow' }, {}, '/proj')).toThrow(/Use one of: primary-replica, master-master, postgres, single\./);
  });

  it('run MariaDB without binary log, relay log or fsync at commit / for .frm files', () => {
    const plan = planTopology('mariadb-shadow', 0).nodes[0]!;
    const spec = nodeSpec(plan, join(tmp, 'node'), join(tmp, 'run'), 40001, '/x');
    mkdirSync(spec.nodeDir, { recursive: true });
    writeNodeCnf(spec);
    const lines = readFileSync(spec.cnfFile, 'utf8').split('\n');
    for (const want of ['skip_log_bin', 'innodb_flush_log_at_trx_commit=0', 'sync_frm=OFF', 'innodb_doublewrite=0', 'read_only=OFF', 'port=40001'])
      expect(lines).toContain(want);
    for (const banned of [/^log_bin=/, /^relay_log/, /^gtid_strict_mode/, /^log_slave_updates/, /^innodb_flush_log_at_trx_commit=[12]/, /^read_only=ON/]) {
      expect(
        lines.filter((l) => banned.test(l)),
        String(banned),
      ).toEqual([]);
    }
    // The replicated topologies keep their settings.
    const primary = nodeSpec(planTopology('single', 0).nodes[0]!, join(tmp, 'node2'), join(tmp, 'run'), 40002, '/x');
    mkdirSync(primary.nodeDir, { recursive: true });
    writeNodeCnf(primary);
    const cnf = readFileSync(primary.cnfFile, 'utf8');
    expect(cnf).toMatch(/^log_bin=mysql-bin$/m);
    expect(cnf).not.toMatch(/skip_log_bin|sync_frm/);
  });
});

describe('the shadow server plan uses for a target', () => {
  it('is the MariaDB shadow server for a MariaDB target, never for a MySQL one', async () => {
    const { shadowLookupFor } = await import('../../src/cli/commands/check.ts');
    expect(shadowLookupFor('10.11.19-MariaDB-0+deb12u1')).toEqual({});
    expect(shadowLookupFor(undefined)).toEqual({});
    const mysql8 = shadowLookupFor('8.0.36');
    expect(mysql8).toEqual({
      ownUnsuitable: 'the target runs MySQL 8.0.36, and the local `migrate shadow` server is MariaDB, whose ALTER algorithms (and so the verdicts) differ',
    });
    // Without a URL that is an error naming the way out (no server is started, none is touched).
    const { findShadowServer } = await import('../../src/analysis/locate.ts');
    const { MigrateError } = await import('../../src/errors.ts');
    await expect(findShadowServer('mysql', { ...mysql8, env: {} })).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof MigrateError &&
        e.exitCode === 2 &&
        e.problem.startsWith('No shadow server: the target runs MySQL 8.0.36') &&
        /--shadow URL or set MIGRATE_SHADOW_URL/.test(e.fix),
    );
  });
});
