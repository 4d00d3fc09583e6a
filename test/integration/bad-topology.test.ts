/**
 * Bad input: a config whose replica entry names a server that is not a replica of the cluster:
 * an independent server, or the primary itself. `migrate topology` and `migrate apply` must exit
 * 2 (a configuration error) with a message naming the node and the fix, and change nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, runCount, show, type CliResult } from '../faults/harness.ts';
import { readInvariants, violations } from '../faults/invariants.ts';
import { allHeld, coordinator, recordFault, summarize } from '../faults/record.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

interface NodeEntry {
  name: string;
  role: string;
  host: string;
  port: number;
  user: string;
  passwordFile: string;
}

describe('a config that names a node that is not a replica', () => {
  let sb: RunningSandbox;
  let other: RunningSandbox;
  let migDir: string;
  beforeAll(async () => {
    migDir = mkdtempSync(join(tmpdir(), 'mig-badtopo-'));
    writeFileSync(join(migDir, '0001_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL);\n');
    writeFileSync(join(migDir, '0001_t.down.sql'), 'DROP TABLE t;\n');
    [sb, other] = await Promise.all([startSandbox({ topology: 'primary-replica', replicas: 1, migrationsDir: migDir }), startSandbox({ topology: 'single' })]);
    const up = await cli(['--config', sb.configPath, 'up']);
    expect(up.code, show(up)).toBe(0);
    writeFileSync(join(migDir, '0002_n.up.sql'), 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n');
    writeFileSync(join(migDir, '0002_n.down.sql'), 'ALTER TABLE t MODIFY n INT NOT NULL;\n');
  });
  afterAll(async () => {
    await Promise.all([sb?.stop(), other?.stop()]);
    rmSync(migDir, { recursive: true, force: true });
  });

  /** A copy of the sandbox config (beside it, so relative password files resolve) with its nodes edited. */
  function badConfig(name: string, edit: (nodes: NodeEntry[]) => NodeEntry[]): string {
    const cfg = JSON.parse(readFileSync(sb.configPath, 'utf8')) as { clusters: { nodes: NodeEntry[] }[] };
    cfg.clusters[0]!.nodes = edit(cfg.clusters[0]!.nodes);
    const path = join(sb.dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(cfg, null, 2));
    return path;
  }

  async function state(): Promise<string> {
    const out: string[] = [];
    for (const s of [sb, other]) {
      for (const n of s.nodes) {
        const c = await s.mysql(n.name);
        const [r] = await rows<Record<string, unknown>>(
          c,
          "SELECT @@read_only AS ro, @@gtid_binlog_pos AS pos, (SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='t' AND COLUMN_NAME='n') AS n",
        );
        const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
        await c.end();
        out.push(`${n.name}@${n.port}: ${JSON.stringify(r)} ${st ? `${st['Master_Port']} ${st['Slave_SQL_Running']}` : '-'}`);
      }
    }
    return out.join('\n');
  }

  it.each([
    {
      id: 'h1-config-node-independent-server',
      what: 'a replica entry pointing at an independent server',
      config: () =>
        badConfig('independent', (nodes) => [
          ...nodes,
          {
            name: 'replica9',
            role: 'replica',
            host: other.nodes[0]!.host,
            port: other.nodes[0]!.port,
            user: 'root',
            passwordFile: other.nodes[0]!.passwordFile,
          },
        ]),
      problem: /node replica9 \(127\.0\.0\.1:\d+\) is configured as replica but is not one: it replicates from nobody and never has, and it is writable/,
      node: 'replica9',
    },
    {
      id: 'h2-config-node-is-the-primary',
      what: 'a replica entry pointing at the primary itself',
      config: () =>
        badConfig('self', (nodes) =>
          nodes.map((n) =>
            n.role === 'replica' ? { ...n, port: sb.node('primary').port, passwordFile: nodes.find((p) => p.role === 'primary')!.passwordFile } : n,
          ),
        ),
      problem: /node replica1 \(127\.0\.0\.1:\d+\) is the same server as node primary \(127\.0\.0\.1:\d+; host \S+, port \d+, datadir \S+\)/,
      node: 'replica1',
    },
  ])('$what: topology and apply exit 2 naming the node and the fix, nothing changed', async ({ id, what, config, problem, node }) => {
    const path = config();
    const before = await state();
    const runsBefore = runCount(sb);
    const results: CliResult[] = [];
    for (const args of [['topology'], ['apply', '--strategy', 'replica-first']]) results.push(await cli(['--config', path, ...args]));
    const [topology, apply] = results as [CliResult, CliResult];
    const unchanged = (await state()) === before && runCount(sb) === runsBefore;
    const after = await readInvariants(sb);
    const fixPattern = new RegExp(`^Point ${node} at a replica of primary .* or remove it from cluster sandbox.*Nothing was changed\\.$`);
    recordFault({
      id,
      fault: `${what} (node ${node})`,
      expected: '`migrate topology` and `migrate apply` exit 2 naming the node and the fix; nothing changed',
      coordinator: coordinator('migrate apply --strategy replica-first', apply),
      also: [coordinator('migrate topology', topology)],
      after: summarize(after),
      timings: { applyRefusedAfterMs: apply.ms, topologyMs: topology.ms },
      held: results.every((r) => r.code === 2 && problem.test(r.error) && fixPattern.test(r.fix)) && unchanged && allHeld(summarize(after)),
    });
    for (const r of results) {
      expect(r.code, show(r)).toBe(2);
      expect(r.error, show(r)).toMatch(problem);
      expect(r.error).toContain(`${path}:`);
      expect(r.fix).toMatch(fixPattern);
    }
    expect(unchanged, 'no server changed, no run journaled').toBe(true);
    expect(violations(after), JSON.stringify(after)).toEqual([]);
  });
});
