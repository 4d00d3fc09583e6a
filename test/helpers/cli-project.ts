/**
 * A throwaway project for CLI tests: its own empty database on the machine's server
 * (test/helpers/databases.ts), a migrations directory and a migrate.config.json, and `run` to
 * start `bin/migrate --config <it>` as a child process (test/faults/harness.ts, so the run is
 * recorded for the CLI coverage check).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterEach, expect } from 'vitest';
import type { Dialect } from '../../src/config/types.ts';
import { cli, show, startCli, type CliResult, type RunningCli } from '../faults/harness.ts';
import { freshDatabase, type FreshDatabase } from './databases.ts';

export interface CliProject {
  dir: string;
  config: string;
  db: FreshDatabase;
  /** Admin knex on the project's database. */
  knex: Knex;
  write(files: Record<string, string>): void;
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
  start(args: string[], env?: Record<string, string>): RunningCli;
  /** Rows of a query on the project's database. */
  rows(sql: string, bindings?: readonly Knex.Value[]): Promise<Record<string, unknown>[]>;
  /** Ids the ledger lists as applied. */
  ledger(): Promise<string[]>;
  tables(): Promise<string[]>;
  remove(): Promise<void>;
}

export async function cliProject(dialect: Dialect, files: Record<string, string>): Promise<CliProject> {
  const db = await freshDatabase(dialect);
  const dir = mkdtempSync(join(tmpdir(), `mcf-${dialect}-`));
  mkdirSync(join(dir, 'migrations'));
  const write = (f: Record<string, string>): void => {
    for (const [k, v] of Object.entries(f)) writeFileSync(join(dir, 'migrations', k), v);
  };
  write(files);
  const config = join(dir, 'migrate.config.json');
  const { host, port, user, database } = db.connection;
  writeFileSync(config, JSON.stringify({ dialect, connection: { host, port, user, database } }));
  const knex = db.knex();
  const rows = async (sql: string, bindings: readonly Knex.Value[] = []): Promise<Record<string, unknown>[]> => {
    const r: unknown = await knex.raw(sql, bindings as Knex.Value[]);
    return dialect === 'mysql' ? (r as [Record<string, unknown>[]])[0] : (r as { rows: Record<string, unknown>[] }).rows;
  };
  return {
    dir,
    config,
    db,
    knex,
    write,
    run: (args, env) => cli(['--config', config, ...args], env),
    start: (args, env) => startCli(['--config', config, ...args], env),
    rows,
    ledger: async () =>
      (await knex.schema.hasTable('migrate_ledger')) ? ((await knex('migrate_ledger').select('id').orderBy('id')) as { id: string }[]).map((r) => r.id) : [],
    tables: async () =>
      (
        await rows(
          dialect === 'mysql'
            ? 'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()'
            : "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'",
        )
      )
        .map((r) => String(r['t']))
        .filter((t) => !t.startsWith('migrate_ledger'))
        .sort(),
    remove: async () => {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `still running` notices a run printed (--progress-every). */
export const progressNotices = (r: CliResult): number => r.stderr.split('\n').filter((l) => /still running after/.test(l)).length;

/**
 * A `cliProject` maker whose projects are removed after each test of the file that calls it (at its
 * top level, before registering its own afterEach hooks, which then run first).
 */
export function projectsRemovedAfterEach(): (dialect: Dialect, files: Record<string, string>) => Promise<CliProject> {
  const projects: CliProject[] = [];
  afterEach(async () => {
    for (const p of projects.splice(0)) await p.remove();
  });
  return async (dialect, files) => {
    const p = await cliProject(dialect, files);
    projects.push(p);
    return p;
  };
}

/** The CLI ended by itself with `code`, and with a typed message, not a crash. */
export const expectExit = (r: CliResult, code: number): void => {
  expect(r.signal, show(r)).toBeNull();
  expect(r.code, show(r)).toBe(code);
  expect(r.stderr, show(r)).not.toMatch(/unexpected failure|^\s+at\s/m);
};

/** The MariaDB session of the project's database running a statement that starts like `prefix`, once it runs (15 s at most). */
export async function mysqlSessionRunning(p: CliProject, prefix: string): Promise<number | undefined> {
  for (let i = 0; i < 150; i++) {
    const r = await p.rows('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE ?', [`${prefix}%`]);
    if (r[0]) return Number(r[0]['id']);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return undefined;
}

/**
 * Starts `migrate <args>` and, once MariaDB runs its statement starting like `prefix`, kills the
 * process and then that statement: neither can record what happened.
 */
export async function killMidStatement(p: CliProject, args: string[], prefix: string): Promise<void> {
  const run = p.start(args);
  const session = await mysqlSessionRunning(p, prefix);
  expect(session, `a statement starting like "${prefix}" running on the server`).toBeDefined();
  process.kill(run.pid, 'SIGKILL');
  await p.knex.raw(`KILL ${session}`);
  expect((await run.done).signal).toBe('SIGKILL');
}
