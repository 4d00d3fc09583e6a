/**
 * `apply`, `continue` and `resume` with `--shadow-throwaway` and `--statement-timeout`, through
 * bin/migrate on a single-node MariaDB sandbox (issue 18 point 5: the last six flags no test ran).
 *
 * --shadow-throwaway: the gate's shadow is the machine's MariaDB, which holds other databases, named
 * with an account that may create `migrate_shadow_*` databases but no account. Without the flag the
 * server is shared and the analysis needs an account of its own, so the gate stops (exit 2, nothing
 * changed); with it the analysis runs there as the given account, and its databases are dropped
 * after. --statement-timeout is PostgreSQL's statement_timeout: these commands drive MySQL/MariaDB
 * clusters, so a non-zero value is refused before anything connects instead of bounding nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, show, type CliResult } from '../faults/harness.ts';
import { machineServer } from '../helpers/shadow.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

let work: string;
let migrations: string;
let sb: RunningSandbox;
let admin: mysql.Connection;
const account = `mcf_thr_${randomBytes(3).toString('hex')}`;
const password = randomBytes(9).toString('hex');
let shadowUrl: string;

const migrate = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => cli(['--config', sb.configPath, ...args], env, 240_000);
const write = (name: string, sql: string): void => writeFileSync(join(migrations, name), sql);
const table = (name: string): void => {
  write(`${name}.up.sql`, `CREATE TABLE ${name.replace(/^\d+_/, '')} (id INT PRIMARY KEY);\n`);
  write(`${name}.down.sql`, `DROP TABLE ${name.replace(/^\d+_/, '')};\n`);
};

const expectExit = (r: CliResult, code: number): void => {
  expect(r.signal, show(r)).toBeNull();
  expect(r.code, show(r)).toBe(code);
  expect(r.stderr, show(r)).not.toMatch(/unexpected failure|^\s+at\s/m);
};

async function ledger(): Promise<string[]> {
  const c = await sb.mysql(sb.nodes[0]!.name, 'app');
  try {
    const [rows] = await c.query('SELECT id FROM migrate_ledger ORDER BY id');
    return (rows as { id: string }[]).map((r) => r.id);
  } finally {
    await c.end();
  }
}

/** The shadow databases on the named server (the account sees only those it may use). */
async function shadowDatabases(): Promise<string[]> {
  const [rows] = await admin.query("SHOW DATABASES LIKE 'migrate\\_shadow\\_%'");
  return (rows as Record<string, string>[]).map((r) => Object.values(r)[0]!);
}

/** The gate on the named server, without and with --shadow-throwaway: refused, then analysed as the given account and cleaned up. */
async function throwawayOnly(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const before = await ledger();
  const shared = await migrate([...args, '--shadow', shadowUrl], env);
  expectExit(shared, 2);
  expect(shared.error).toMatch(/^The shadow server 127\.0\.0\.1:\d+ is shared .* but "mcf_thr_\w+" may not create it/);
  expect(await ledger()).toEqual(before);
  const existing = await shadowDatabases();
  const r = await migrate([...args, '--shadow', shadowUrl, '--shadow-throwaway'], env);
  // Every database the run created there is gone (others' runs may hold theirs meanwhile).
  expect((await shadowDatabases()).filter((d) => !existing.includes(d))).toEqual([]);
  return r;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mcf-apply-shadow-'));
  migrations = join(work, 'migrations');
  mkdirSync(migrations);
  table('0001_t1');
  sb = await startSandbox({ topology: 'single', migrationsDir: migrations });
  const first = await migrate(['apply']);
  if (first.code !== 0) throw new Error(`apply of 0001 failed: ${show(first)}`);
  const m = machineServer('mysql');
  admin = await mysql.createConnection({ host: m.host, port: m.port, user: m.user, password: m.password });
  // May create and drop the analysis's databases, not accounts: the shared mode cannot run as it.
  await admin.query(`CREATE USER '${account}'@'127.0.0.1' IDENTIFIED BY '${password}'`);
  await admin.query(`GRANT ALL ON \`migrate\\_shadow\\_%\`.* TO '${account}'@'127.0.0.1'`);
  shadowUrl = `mysql://${account}:${password}@127.0.0.1:${m.port}/`;
}, 300_000);

afterAll(async () => {
  await admin?.query(`DROP USER IF EXISTS '${account}'@'127.0.0.1'`).catch(() => undefined);
  await admin?.end();
  await sb?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('apply, continue, resume: --shadow-throwaway and --statement-timeout through the CLI', () => {
  test('--statement-timeout on apply, continue and resume is refused with exit 2 on a MariaDB cluster (PostgreSQL only), nothing changed; 0 is accepted', async () => {
    table('0002_t2');
    for (const cmd of ['apply', 'continue', 'resume']) {
      const r = await migrate([cmd, '--statement-timeout', '5s']);
      expectExit(r, 2);
      expect(r.error).toBe(
        `--statement-timeout sets PostgreSQL's statement_timeout; migrate ${cmd} on MySQL/MariaDB clusters would bound no statement with it.`,
      );
      expect(r.fix).toContain('--lock-timeout and --lock-retries');
      expect(await ledger()).toEqual(['0001_t1']);
    }
    const dry = await migrate(['apply', '--statement-timeout', '0', '--dry-run']);
    expectExit(dry, 0);
    expect(dry.stdout).toContain('CREATE TABLE t2');
    expect(await ledger()).toEqual(['0001_t1']);
  });

  test('apply --shadow-throwaway: the gate analyses on the named server as the given account and the migration runs', async () => {
    write('0003_t3.up.sql', '-- migrate:phase post-deploy\nCREATE TABLE t3 (id INT PRIMARY KEY);\n');
    write('0003_t3.down.sql', 'DROP TABLE t3;\n');
    const r = await throwawayOnly(['apply']);
    expectExit(r, 0);
    expect(r.stdout).toMatch(/done\s+0002_t2\s+pre-deploy\s+in-place/);
    expect(await ledger()).toEqual(['0001_t1', '0002_t2']);
  });

  test('continue --shadow-throwaway: the post-deploy migration passes the same gate and runs', async () => {
    const r = await throwawayOnly(['continue']);
    expectExit(r, 0);
    expect(r.stdout).toMatch(/done\s+0003_t3\s+post-deploy\s+in-place/);
    expect(await ledger()).toEqual(['0001_t1', '0002_t2', '0003_t3']);
  });

  test('resume --shadow-throwaway: after a run killed once its migration ran, resume finishes it and gates the next one on the named server', async () => {
    table('0004_t4');
    table('0005_t5');
    table('0006_t6');
    const kill = (id: string) => ({ MIGRATE_FAULT_KILL_AFTER: `in-place:${id}:end` });
    const killed = await migrate(['apply'], kill('0004_t4'));
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    expect(await ledger()).toEqual(['0001_t1', '0002_t2', '0003_t3', '0004_t4']);
    // Without the flag the resumed run's gate stops on the shared server: 0005 is not applied.
    const shared = await migrate(['resume', '--shadow', shadowUrl]);
    expectExit(shared, 2);
    expect(shared.error).toMatch(/is shared .* but "mcf_thr_\w+" may not create it/);
    expect(await ledger()).toEqual(['0001_t1', '0002_t2', '0003_t3', '0004_t4']);
    const killedAgain = await migrate(['apply', '--shadow', shadowUrl, '--shadow-throwaway'], kill('0005_t5'));
    expect(killedAgain.signal, show(killedAgain)).toBe('SIGKILL');
    const existing = await shadowDatabases();
    const r = await migrate(['resume', '--shadow', shadowUrl, '--shadow-throwaway']);
    expectExit(r, 0);
    expect((await shadowDatabases()).filter((d) => !existing.includes(d))).toEqual([]);
    expect(await ledger()).toEqual(['0001_t1', '0002_t2', '0003_t3', '0004_t4', '0005_t5', '0006_t6']);
  });
});
