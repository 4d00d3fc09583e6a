/**
 * `migrate apply` refusals on a PostgreSQL cluster (the sandbox's primary and one streaming
 * replica), one sandbox for every case: --strategy replica-first on physical replicas, roles in
 * the config that contradict the servers, a node the config points at where no server listens.
 * Each: the exit code, the error and fix lines, no stack trace, and nothing changed (the
 * migration not applied on either node, no ledger, each node's recovery state as it was).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, show, type CliResult } from '../faults/harness.ts';
import { configCopyWith, startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

type Json = Record<string, unknown>;

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const { port } = s.address() as { port: number };
  await new Promise((res) => s.close(res));
  return port;
}

describe('apply refusals on a PostgreSQL cluster', () => {
  let sb: RunningSandbox;
  let migDir: string;

  beforeAll(async () => {
    migDir = mkdtempSync(join(tmpdir(), 'mig-errexec-pg-'));
    writeFileSync(join(migDir, '0001_create_items.up.sql'), 'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n');
    writeFileSync(join(migDir, '0001_create_items.down.sql'), 'DROP TABLE items;\n');
    sb = await startSandbox({ topology: 'postgres', replicas: 1, migrationsDir: migDir });
  }, 180_000);
  afterAll(async () => {
    await sb?.stop();
    rmSync(migDir, { recursive: true, force: true });
  });

  const configWith = (name: string, edit: (cluster: Json) => void): string => configCopyWith(sb, name, edit);

  async function state(): Promise<string> {
    const out: string[] = [];
    for (const n of sb.nodes) {
      const c = await sb.pg(n.name, 'admin');
      try {
        const r = await c.query<{ rec: boolean; items: string | null; ledger: string | null }>(
          "SELECT pg_is_in_recovery() AS rec, to_regclass('public.items')::text AS items, to_regclass('public.migrate_ledger')::text AS ledger",
        );
        out.push(`${n.name}: ${JSON.stringify(r.rows[0])}`);
      } finally {
        await c.end();
      }
    }
    return out.join('\n');
  }

  function expectRefusal(r: CliResult, code: number, problem: RegExp, fix: RegExp): void {
    expect(r.code, show(r)).toBe(code);
    expect(r.error, show(r)).toMatch(problem);
    expect(r.fix, show(r)).toMatch(fix);
    expect(r.stderr).not.toMatch(/unexpected failure|\n\s+at /);
  }

  it('--strategy replica-first: physical replicas cannot be altered first (usage error)', async () => {
    const before = await state();
    const r = await cli(['--config', sb.configPath, 'apply', '--strategy', 'replica-first']);
    expectRefusal(r, 2, /^--strategy replica-first cannot run on cluster sandbox: its replicas are physical/, /Leave --strategy out/);
    expect(await state()).toBe(before);
  });

  it('roles in the config the other way round: the cluster is not healthy, named node by node', async () => {
    const before = await state();
    const swapped = configWith('roles-swapped', (c) => {
      for (const n of c['nodes'] as Json[]) n['role'] = n['role'] === 'primary' ? 'replica' : 'primary';
    });
    const r = await cli(['--config', swapped, 'apply']);
    const primary = sb.nodes.find((n) => n.role === 'primary')!.name;
    const replica = sb.nodes.find((n) => n.role !== 'primary')!.name;
    expectRefusal(
      r,
      1,
      new RegExp(
        `^Cluster sandbox is not healthy: ${primary}: configured as replica but not in recovery \\(it takes writes\\); ${replica}: configured as primary but in recovery \\(a standby\\)\\.$`,
      ),
      /Repair what is named.*Nothing was changed\.$/,
    );
    expect(await state()).toBe(before);
  });

  it('a replica whose port has no server: cannot reach it (connection error), nothing changed', async () => {
    const before = await state();
    const port = await closedPort();
    const replica = sb.nodes.find((n) => n.role !== 'primary')!.name;
    const moved = configWith('replica-port-closed', (c) => {
      for (const n of c['nodes'] as Json[]) if (n['name'] === replica) n['port'] = port;
    });
    const r = await cli(['--config', moved, 'apply']);
    expectRefusal(
      r,
      2,
      new RegExp(`^Cannot reach PostgreSQL node ${replica} at 127\\.0\\.0\\.1:${port} as "[^"]+" \\(.*ECONNREFUSED`),
      /host, port, user and password of node/,
    );
    expect(r.stderr).not.toMatch(/password=|PGPASSWORD/);
    expect(await state()).toBe(before);
  });
});
