/**
 * What an operator checks after a fault, read from the servers themselves: exactly one writable
 * node; a write through the endpoint commits (nothing left read-only by mistake); the endpoint
 * (HAProxy, both by what answers through it and by its runtime API) on that node; every other
 * node replicating from it without error; no acknowledged probe write missing anywhere; one
 * schema. Nodes a fault took out (stopped, killed) are named in `skip` and not looked at.
 */
import type mysql from 'mysql2/promise';
import { expect } from 'vitest';
import type { ProbeReport } from '../../src/load/write-probe.ts';
import { parseServersState, runtimeCommand } from '../../src/sandbox/haproxy.ts';
import type { RunningSandbox } from '../helpers/sandbox.ts';
import { sleep } from './harness.ts';

export interface InvariantOptions {
  /** Nodes not to look at: the fault took them out and they are not back yet. */
  skip?: string[];
  /** Acknowledged probe writes that must be on every node looked at, and the probe's table. */
  probe?: ProbeReport;
  probeTable?: string;
  /** `SHOW CREATE TABLE app.items` must contain this on every node looked at (e.g. `char(103)`). */
  schema?: string;
}

/**
 * Probes that run for a whole suite (the privileged client's, see faultCluster): every
 * readInvariants on that sandbox also checks their acknowledged writes, whatever the test passes.
 */
const suiteProbes = new Map<string, { probe: { snapshot(): ProbeReport }; table: string }[]>();

export function watchProbe(sb: RunningSandbox, probe: { snapshot(): ProbeReport }, table: string): void {
  suiteProbes.set(sb.dir, [...(suiteProbes.get(sb.dir) ?? []), { probe, table }]);
}

export interface Invariants {
  /** Nodes looked at with read_only OFF. */
  writable: string[];
  /** The node that answers through the HAProxy frontend. */
  endpoint: string | null;
  /** Servers HAProxy's runtime API reports as taking traffic (null: no HAProxy). */
  haproxyReady: string[] | null;
  /** A write through the endpoint committed within a few seconds. */
  writeThroughEndpoint: boolean;
  /** Per non-writer node: what is wrong with its replication (none: healthy). */
  replicationProblems: string[];
  acknowledged: number;
  /** Probe tables whose probe acknowledged no write: the no-loss check proves nothing for them. */
  silentProbes: string[];
  /** Acknowledged probe writes missing, per node (only nodes with any missing). */
  lost: Record<string, number>;
  schemaChecked: boolean;
  schemaProblems: string[];
}

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

export async function readInvariants(sb: RunningSandbox, o: InvariantOptions = {}): Promise<Invariants> {
  // Taken first: every write acknowledged by now must be on every node once it reaches the writer's position read below.
  const checks = [
    ...(o.probe ? [{ acked: o.probe.acknowledged, table: o.probeTable ?? 'probe' }] : []),
    ...(suiteProbes.get(sb.dir) ?? []).map((p) => ({ acked: p.probe.snapshot().acknowledged, table: p.table })),
  ];
  const skip = new Set(o.skip ?? []);
  const nodes = sb.nodes.filter((n) => !skip.has(n.name));
  const byServerId = new Map<number, string>();
  const writable: string[] = [];
  for (const n of nodes) {
    const c = await sb.mysql(n.name);
    try {
      const [r] = await rows<{ ro: number; sid: number }>(c, 'SELECT @@GLOBAL.read_only AS ro, @@server_id AS sid');
      byServerId.set(Number(r?.sid), n.name);
      if (Number(r?.ro) === 0) writable.push(n.name);
    } finally {
      await c.end();
    }
  }

  // The endpoint: what answers through the frontend, and a write there committing. Clients of a
  // freshly moved endpoint may need a reconnect or two, as the probe does.
  let endpoint: string | null = null;
  let writeThroughEndpoint = false;
  for (let i = 0; i < 50 && !writeThroughEndpoint; i++) {
    const w = await sb.mysqlWriter().catch(() => undefined);
    if (w) {
      try {
        const [r] = await rows<{ sid: number }>(w, 'SELECT @@server_id AS sid');
        endpoint = byServerId.get(Number(r?.sid)) ?? `server_id ${r?.sid}`;
        await w.query('CREATE TABLE IF NOT EXISTS fault_canary (id BIGINT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3))');
        await w.query('INSERT INTO fault_canary () VALUES ()');
        writeThroughEndpoint = true;
      } catch {
        /* read-only or moving: try again */
      } finally {
        await w.end().catch(() => undefined);
      }
    }
    if (!writeThroughEndpoint) await sleep(200);
  }

  let haproxyReady: string[] | null = null;
  if (sb.writer.type === 'haproxy') {
    const text = await runtimeCommand(sb.writer.socket, `show servers state ${sb.writer.backend}`).catch(() => '');
    haproxyReady = parseServersState(text)
      .filter((s) => s.state === 'ready')
      .map((s) => s.name);
  }

  const writerName = writable.length === 1 ? writable[0]! : undefined;
  const writerNode = writerName ? sb.node(writerName) : undefined;
  let writerPos = '';
  if (writerName) {
    const c = await sb.mysql(writerName);
    writerPos = String((await rows<{ p: string }>(c, 'SELECT @@gtid_binlog_pos AS p'))[0]?.p ?? '');
    await c.end();
  }
  const replicationProblems: string[] = [];
  const lost: Record<string, number> = {};
  const schemaProblems: string[] = [];
  for (const n of nodes) {
    const c = await sb.mysql(n.name);
    try {
      if (n.name !== writerName || sb.state.topology === 'master-master') {
        const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
        if (!st) replicationProblems.push(`${n.name}: replicates from nobody`);
        else {
          const source = `${st['Master_Host']}:${st['Master_Port']}`;
          if (n.name !== writerName && writerNode && source !== `${writerNode.host}:${writerNode.port}`)
            replicationProblems.push(`${n.name}: replicates from ${source}, not from the writer ${writerName}`);
          if (st['Slave_IO_Running'] !== 'Yes' || st['Slave_SQL_Running'] !== 'Yes')
            replicationProblems.push(
              `${n.name}: IO ${st['Slave_IO_Running']}, SQL ${st['Slave_SQL_Running']} ${st['Last_IO_Error'] ?? ''}${st['Last_SQL_Error'] ?? ''}`.trim(),
            );
          else if (writerPos && n.name !== writerName) {
            const [w] = await rows<{ r: number }>(c, `SELECT MASTER_GTID_WAIT('${writerPos}', 30) AS r`);
            if (Number(w?.r) !== 0) replicationProblems.push(`${n.name}: did not reach the writer's position ${writerPos} within 30 s`);
          }
        }
      }
      for (const { acked, table } of checks.filter((x) => x.acked.length)) {
        const have = new Set((await rows<{ id: number }>(c, `SELECT id FROM app.\`${table}\``)).map((r) => Number(r.id)));
        const missing = acked.filter((id) => !have.has(id)).length;
        if (missing) lost[checks.length > 1 ? `${n.name} (${table})` : n.name] = missing;
      }
      if (o.schema) {
        const [cr] = await rows<Record<string, string>>(c, 'SHOW CREATE TABLE app.items');
        if (!cr?.['Create Table']?.includes(o.schema)) schemaProblems.push(`${n.name}: items is not ${o.schema}`);
      }
    } finally {
      await c.end();
    }
  }
  const silentProbes = checks.filter((x) => !x.acked.length).map((x) => x.table);
  return {
    writable,
    endpoint,
    haproxyReady,
    writeThroughEndpoint,
    replicationProblems,
    acknowledged: checks.reduce((a, x) => a + x.acked.length, 0),
    silentProbes,
    lost,
    schemaChecked: o.schema !== undefined,
    schemaProblems,
  };
}

/** The invariants as a list of failures (empty: all held). */
export function violations(i: Invariants, o: { allowReplicationProblems?: boolean } = {}): string[] {
  const v: string[] = [];
  if (i.writable.length !== 1) v.push(`${i.writable.length} writable nodes (${i.writable.join(', ') || 'none'})`);
  if (!i.writeThroughEndpoint) v.push('no write committed through the endpoint');
  if (i.writable.length === 1 && i.endpoint !== i.writable[0]) v.push(`the endpoint reaches ${i.endpoint}, not the writer ${i.writable[0]}`);
  if (i.haproxyReady && (i.haproxyReady.length !== 1 || i.haproxyReady[0] !== i.writable[0]))
    v.push(`HAProxy's runtime API shows ${i.haproxyReady.join(', ') || 'no server'} taking traffic`);
  if (!o.allowReplicationProblems) v.push(...i.replicationProblems);
  // A probe that wrote nothing would let "no acknowledged write lost" hold vacuously.
  for (const t of i.silentProbes) v.push(`the probe on ${t} acknowledged no write, so no loss could be seen`);
  for (const [n, k] of Object.entries(i.lost)) v.push(`${k} acknowledged writes missing on ${n}`);
  v.push(...i.schemaProblems);
  return v;
}

/** Reads and asserts the invariants; returns them for the outcome record. */
export async function expectInvariants(sb: RunningSandbox, o: InvariantOptions = {}, label = ''): Promise<Invariants> {
  const i = await readInvariants(sb, o);
  expect(violations(i), `${label} invariants: ${JSON.stringify(i)}`).toEqual([]);
  return i;
}
