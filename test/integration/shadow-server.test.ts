/**
 * `migrate shadow up|status|down` end to end: the real CLI in a child process starts a throwaway
 * MariaDB / PostgreSQL in a fresh base directory (under /dev/shm when it exists), the server runs
 * with the throwaway settings, `check` finds it through MIGRATE_SHADOW_DIR, and `down` leaves
 * nothing behind. One server per describe block, always taken down in afterAll.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findShadowServer } from '../../src/analysis/locate.ts';
import { MigrateError } from '../../src/errors.ts';
import type { Dialect } from '../../src/config/types.ts';
import { freePorts } from '../../src/sandbox/ports.ts';
import { defaultShadowBase, shadowDirName } from '../../src/sandbox/shadow-dir.ts';
import { shadowDown } from '../../src/sandbox/shadow-server.ts';
import { MARKER_FILE, readState } from '../../src/sandbox/state.ts';
import { runCli, type CliRun } from '../helpers/cli.ts';
import { processesReferencing } from '../helpers/processes.ts';

const root = resolve('.');
type Run = CliRun;

/** The CLI with a clean environment: no shadow URL, no project sandbox, no colours. */
function migrate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', MIGRATE_SANDBOX_DIR: join(root, 'node_modules', '.no-sandbox-here') };
  delete base['MIGRATE_SHADOW_URL'];
  delete base['MIGRATE_SHADOW_DIR'];
  return runCli(args, { cwd: root, env: { ...base, ...env }, timeoutMs: 60_000 });
}

/** The server's settings that make it throwaway, read over TCP with its admin password. */
async function settings(dialect: Dialect, port: number, password: string): Promise<Record<string, string>> {
  if (dialect === 'mysql') {
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password });
    try {
      const [rows] = await c.query(
        'SELECT @@log_bin AS log_bin, @@innodb_flush_log_at_trx_commit AS flush, @@sync_frm AS sync_frm, @@read_only AS read_only, @@innodb_doublewrite AS doublewrite',
      );
      return Object.fromEntries(Object.entries((rows as Record<string, unknown>[])[0]!).map(([k, v]) => [k, String(v)]));
    } finally {
      await c.end();
    }
  }
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'wal_level', 'max_wal_senders', 'synchronous_commit', 'full_page_writes', 'default_transaction_read_only')",
    );
    return Object.fromEntries(r.rows.map((x) => [x.name, x.setting]));
  } finally {
    await c.end();
  }
}

const FIXTURE: Record<Dialect, string> = { mysql: 'test/fixtures/check-pass-mysql', postgres: 'test/fixtures/check-pass-pg' };
const EXPECTED: Record<Dialect, Record<string, string>> = {
  mysql: { log_bin: '0', flush: '0', sync_frm: '0', read_only: '0', doublewrite: '0' },
  postgres: {
    fsync: 'off',
    wal_level: 'minimal',
    max_wal_senders: '0',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    default_transaction_read_only: 'off',
  },
};

describe.each(['mysql', 'postgres'] as const)('migrate shadow (%s)', (dialect) => {
  // A base directory of our own on tmpfs (as the default would be); open for traversal, since
  // PostgreSQL runs as the postgres account when the tests run as root.
  const base = mkdtempSync(join(defaultShadowBase(), 'mshadow-test-'));
  chmodSync(base, 0o755);
  const dir = join(base, shadowDirName(dialect));
  const noSandbox = { MIGRATE_SANDBOX_DIR: join(base, 'no-sandbox') };
  let up: Run;
  let port = 0;
  let passwords: string[] = [];
  /** Everything the CLI printed in this block, checked for passwords at the end. */
  const printed: string[] = [];
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> => {
    const r = await migrate(args, env);
    printed.push(r.stdout, r.stderr);
    return r;
  };

  beforeAll(async () => {
    up = await cli(['shadow', 'up', '--dialect', dialect, '--dir', base]);
    console.info(`migrate shadow up --dialect ${dialect}: exit ${up.code} in ${Math.round(up.ms)} ms (CLI included)\n${up.stdout}`);
    const state = readState(dir);
    port = state?.nodes[0]?.port ?? 0;
    passwords = existsSync(join(dir, 'secrets')) ? readdirSync(join(dir, 'secrets')).map((f) => readFileSync(join(dir, 'secrets', f), 'utf8').trim()) : [];
  });

  afterAll(async () => {
    // Whatever happened above: no server outlives the suite.
    const r = await migrate(['shadow', 'down', '--dialect', dialect, '--dir', base]);
    if (r.code !== 0) await shadowDown(dialect, dir).catch(() => undefined);
    rmSync(base, { recursive: true, force: true });
  });

  it('starts, says where, its URL without password, how long it took and how check finds it', () => {
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`shadow server \\(${dialect}\\) ready in \\d+\\.\\d s: .* in ${dir}`));
    expect(up.stdout).toContain(
      `url: ${dialect}://${dialect === 'mysql' ? 'root' : 'postgres'}@127.0.0.1:${port} (password in ${join(dir, 'secrets', 'shadow.password')})`,
    );
    // Not the default place: the output says how check/plan find it.
    expect(up.stdout).toContain(`MIGRATE_SHADOW_DIR=${base}`);
    expect(port).toBeGreaterThan(0);
    expect([3306, 5432]).not.toContain(port);
    expect(readState(dir)).toMatchObject({ status: 'ready', topology: dialect === 'mysql' ? 'mariadb-shadow' : 'postgres-shadow' });
  });

  it('runs with the throwaway settings and is writable', async () => {
    const pw = readFileSync(join(dir, 'secrets', 'shadow.password'), 'utf8').trim();
    expect(await settings(dialect, port, pw)).toMatchObject(EXPECTED[dialect]);
  });

  it('reports healthy in status (exit 0)', async () => {
    const st = await cli(['shadow', 'status', '--dialect', dialect, '--dir', base]);
    expect(st.code, st.stdout + st.stderr).toBe(0);
    expect(st.stdout).toContain(`shadow server (${dialect}) in ${dir}: healthy`);
    const js = await cli(['shadow', 'status', '--dialect', dialect, '--dir', base, '--format', 'json']);
    expect(JSON.parse(js.stdout)).toMatchObject({ healthy: true, servers: [{ dialect, dir, present: true, healthy: true }] });
  });

  it('reuses the running server on a second up, quickly', async () => {
    const pid = readState(dir)?.nodes[0]?.pid;
    // The baseline: the CLI starting and exiting on this machine now, timed the same way.
    const baseline = await cli(['--help']);
    expect(baseline.code, baseline.stderr).toBe(0);
    const again = await cli(['shadow', 'up', '--dialect', dialect, '--dir', base]);
    expect(again.code, again.stderr).toBe(0);
    const m = /already running in (\S+) and healthy: nothing to do \(checked in \d+\.\d s\)/.exec(again.stdout);
    expect(m, again.stdout).not.toBeNull();
    expect(m![1]).toBe(dir);
    // The same server, not a new one: same process, same port.
    expect(pid).toBeGreaterThan(0);
    expect(readState(dir)?.nodes[0]?.pid).toBe(pid);
    expect(readState(dir)?.nodes[0]?.port).toBe(port);
    // Quickly, by the test's own clock: a health check on top of the CLI's start-up, well under
    // what starting a server took (the first up, seconds); 2 s of margin for a loaded machine.
    console.info(`shadow up (reuse) ${Math.round(again.ms)} ms; migrate --help ${Math.round(baseline.ms)} ms; first up ${Math.round(up.ms)} ms`);
    expect(again.ms - baseline.ms).toBeLessThan(2000);
  });

  it('is the server `migrate check` uses when MIGRATE_SHADOW_DIR points at it', async () => {
    const r = await cli(['check', FIXTURE[dialect], '--dialect', dialect], { MIGRATE_SHADOW_DIR: base, ...noSandbox });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`(shadow server ${dir} (127.0.0.1:${port}); the \`migrate shadow\` server: throwaway by construction)`);
    const found = await findShadowServer(dialect, { env: { MIGRATE_SHADOW_DIR: base, ...noSandbox } });
    expect(found.source).toBe(`shadow server ${dir} (127.0.0.1:${port})`);
    expect(found.origin).toBe('own');
    expect(found.server.port).toBe(port);
    // Named by its URL it is still our own server: throwaway by construction.
    const pw = encodeURIComponent(readFileSync(join(dir, 'secrets', 'shadow.password'), 'utf8').trim());
    const byUrl = await findShadowServer(dialect, {
      url: `${dialect}://${dialect === 'mysql' ? 'root' : 'postgres'}:${pw}@127.0.0.1:${port}`,
      env: { MIGRATE_SHADOW_DIR: base, ...noSandbox },
    });
    expect(byUrl.origin).toBe('own');
  });

  it.runIf(dialect === 'mysql')("is also the shadow of `apply`'s gate (which never uses the project sandbox)", async () => {
    const saved = process.env['MIGRATE_SHADOW_DIR'];
    process.env['MIGRATE_SHADOW_DIR'] = base;
    try {
      const { shadowConnection } = await import('../../src/cli/commands/apply.ts');
      const found = await shadowConnection({ dialect, connection: { host: '127.0.0.1', port: 1, user: 'app', database: 'app' }, clusters: [] });
      expect(found).toMatchObject({ server: { port }, origin: 'own' });
    } finally {
      if (saved === undefined) delete process.env['MIGRATE_SHADOW_DIR'];
      else process.env['MIGRATE_SHADOW_DIR'] = saved;
    }
    // Nothing running and not allowed to start one: an error naming both ways out, never the
    // machine's own server.
    await expect(findShadowServer(dialect, { env: { MIGRATE_SHADOW_DIR: join(base, 'nothing-here') }, start: false })).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof MigrateError &&
        e.exitCode === 2 &&
        /No shadow server: no shadow server in /.test(e.problem) &&
        /migrate shadow up/.test(e.fix) &&
        /--shadow URL/.test(e.fix),
    );
  });

  it('starts a fresh server where the state file says ready but the server does not answer, and says so', async () => {
    const staleBase = join(base, 'stale');
    const stale = join(staleBase, shadowDirName(dialect));
    mkdirSync(join(stale, 'secrets'), { recursive: true });
    chmodSync(staleBase, 0o755);
    writeFileSync(join(stale, MARKER_FILE), '');
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as {
      dir: string;
      nodes: { port: number; passwordFile: string; pid?: number; pidFile?: string; datadir?: string }[];
    };
    const [closed] = await freePorts(1);
    state.dir = stale;
    state.nodes[0]!.port = closed!;
    state.nodes[0]!.passwordFile = join(stale, 'secrets', 'shadow.password');
    delete state.nodes[0]!.pid;
    delete state.nodes[0]!.pidFile;
    state.nodes[0]!.datadir = join(stale, 'nodes', 'shadow', 'data');
    writeFileSync(join(stale, 'secrets', 'shadow.password'), 'not-the-password\n', { mode: 0o600 });
    writeFileSync(join(stale, 'state.json'), JSON.stringify(state));
    try {
      // check says so on stderr (its report on stdout stays clean) and runs on the new server.
      const r = await cli(['check', FIXTURE[dialect], '--dialect', dialect, '--format', 'json'], { MIGRATE_SHADOW_DIR: staleBase, ...noSandbox });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        `warning: started a throwaway shadow server (${dialect}) in ${stale} for the analysis (the shadow server in ${stale} does not answer`,
      );
      expect(r.stderr).toContain(`stop it with \`migrate shadow down --dialect ${dialect}\``);
      expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
      const fresh = readState(stale);
      expect(fresh?.status).toBe('ready');
      expect(fresh?.nodes[0]?.port).not.toBe(closed);
      // The next run reuses it, silently.
      const again = await cli(['check', FIXTURE[dialect], '--dialect', dialect, '--format', 'json'], { MIGRATE_SHADOW_DIR: staleBase, ...noSandbox });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).not.toContain('started a throwaway shadow server');
      expect(readState(stale)?.nodes[0]?.port).toBe(fresh?.nodes[0]?.port);
    } finally {
      await shadowDown(dialect, stale).catch(() => undefined);
      rmSync(staleBase, { recursive: true, force: true });
    }
  });

  it.runIf(dialect === 'mysql')('status reports an `up` that failed before any server was recorded (exit 1, no crash)', async () => {
    const failedBase = join(base, 'failed');
    const failed = join(failedBase, shadowDirName(dialect));
    mkdirSync(failed, { recursive: true });
    writeFileSync(join(failed, MARKER_FILE), '');
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(failed, 'state.json'), JSON.stringify({ ...state, dir: failed, status: 'failed', nodes: [] }));
    const st = await cli(['shadow', 'status', '--dialect', dialect, '--dir', failedBase]);
    expect(st.code, st.stderr).toBe(1);
    expect(st.stdout).toContain(`shadow server (${dialect}) in ${failed}: NOT healthy (state: failed; its logs are in ${failed}`);
    const down = await cli(['shadow', 'down', '--dialect', dialect, '--dir', failedBase]);
    expect(down.code, down.stderr).toBe(0);
    expect(existsSync(failed)).toBe(false);
    rmSync(failedBase, { recursive: true, force: true });
  });

  it('never prints a password', () => {
    expect(passwords.length).toBeGreaterThan(0);
    const all = printed.join('\n');
    for (const pw of passwords) expect(all.includes(pw), 'a password was printed').toBe(false);
  });

  it("down stops it and removes its directory; the next check starts it again, never the machine's own server", async () => {
    const down = await cli(['shadow', 'down', '--dialect', dialect, '--dir', base]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain(`removed ${dir}`);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(base)).toBe(true);
    expect(processesReferencing(dir)).toEqual([]);
    await expect(findShadowServer(dialect, { env: { MIGRATE_SHADOW_DIR: base, ...noSandbox }, start: false })).rejects.toThrow(`no shadow server in ${dir}`);
    // Nothing running is fine, and status says so with exit 1.
    const again = await cli(['shadow', 'down', '--dialect', dialect, '--dir', base]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`no shadow server (${dialect}) in ${dir}: nothing to stop`);
    const st = await cli(['shadow', 'status', '--dialect', dialect, '--dir', base]);
    expect(st.code).toBe(1);
    expect(st.stdout).toContain(`no shadow server (${dialect}) in ${dir}`);
    const r = await cli(['check', FIXTURE[dialect], '--dialect', dialect], { MIGRATE_SHADOW_DIR: base, ...noSandbox });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(`started a throwaway shadow server (${dialect}) in ${dir} for the analysis (none was running)`);
    const port2 = readState(dir)?.nodes[0]?.port;
    expect(r.stdout).toContain(`(shadow server ${dir} (127.0.0.1:${port2}); the \`migrate shadow\` server: throwaway by construction)`);
    expect([3306, 5432]).not.toContain(port2);
  });
});
