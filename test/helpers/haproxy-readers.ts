/**
 * What a test reads of HAProxy itself (its runtime API on the admin socket), not through the
 * tool's code: the readers backend's server states. And a bin/migrate run held at a journal
 * boundary (MIGRATE_FAULT_PAUSE_AT) so the test can read those states while a step is under way.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from './sandbox.ts';

const BIN = resolve('bin/migrate');

export interface Ran {
  code: number | null;
  signal: string | null;
  out: string;
}

export function runMigrate(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((res) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, NO_COLOR: '1' }, timeout: 180_000 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number; signal?: string }) | null;
      res({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, out: `${stdout}\n${stderr}` });
    });
  });
}

/** One runtime-API command on HAProxy's admin socket, answered in full. */
export function runtime(socket: string, command: string): Promise<string> {
  return new Promise((res, rej) => {
    const c = connect({ path: socket });
    let out = '';
    c.on('connect', () => c.write(`${command}\n`));
    c.on('data', (d) => (out += d.toString()));
    c.on('error', rej);
    c.on('close', () => res(out));
  });
}

/**
 * `show servers state readers` as name -> ready | drain | maint. srv_op_state 2 is running;
 * srv_admin_state bit 0x08/0x10 is drain (forced / inherited), 0x01 forced maintenance.
 */
export async function readers(socket: string): Promise<Record<string, string>> {
  const text = await runtime(socket, 'show servers state readers');
  const lines = text.split('\n').filter((l) => /^\d+ readers /.test(l));
  return Object.fromEntries(
    lines.map((l) => {
      const f = l.split(/\s+/);
      const op = Number(f[5]);
      const admin = Number(f[6]);
      return [f[3], op === 2 ? (admin & 0x18 ? 'drain' : 'ready') : 'maint'];
    }),
  );
}

/**
 * Runs bin/migrate held at `boundary` (a journal step:phase): calls `during` there, lets the run
 * go on, and returns what `during` answered and the finished run. Fails when the run never gets there.
 */
export async function heldAt<T>(args: string[], boundary: string, during: () => Promise<T>, env: Record<string, string> = {}): Promise<{ seen: T; ran: Ran }> {
  const dir = mkdtempSync(join(tmpdir(), 'held-'));
  const running = runMigrate(args, { ...env, MIGRATE_FAULT_PAUSE_AT: boundary, MIGRATE_FAULT_PAUSE_DIR: dir });
  let ended: Ran | undefined;
  void running.then((r) => (ended = r));
  const until = Date.now() + 120_000;
  while (!existsSync(join(dir, 'paused')) && !ended && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  try {
    if (!existsSync(join(dir, 'paused'))) throw new Error(`the run never reached ${boundary}: ${ended?.out ?? 'still running'}`);
    const seen = await during();
    writeFileSync(join(dir, 'continue'), '');
    return { seen, ran: await running };
  } finally {
    writeFileSync(join(dir, 'continue'), '');
    await running;
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A sandbox behind HAProxy (its readers backend the read pool) for a file's read-pool tests, with
 * a migrations directory holding `first`, applied: the sandbox, that directory and HAProxy's socket.
 */
export async function startReadPoolSandbox(
  prefix: string,
  opts: Pick<StartSandboxOptions, 'topology' | 'replicas'>,
  first: { id: string; up: string; down: string },
): Promise<{ sb: RunningSandbox; migDir: string; socket: string }> {
  const migDir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(migDir, `${first.id}.up.sql`), `${first.up}\n`);
  writeFileSync(join(migDir, `${first.id}.down.sql`), `${first.down}\n`);
  const sb = await startSandbox({ ...opts, proxy: true, migrationsDir: migDir });
  if (sb.state.writer.type !== 'haproxy') throw new Error('the sandbox has no HAProxy');
  const up = await runMigrate(['--config', sb.configPath, 'up']);
  if (up.code !== 0) throw new Error(`migrate up of ${first.id} failed: ${up.out}`);
  return { sb, migDir, socket: sb.state.writer.socket };
}
