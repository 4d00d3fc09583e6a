/**
 * The switchover's endpoint move failing after the promotion, on a real MariaDB primary and
 * replica behind HAProxy, with root clients (a load and a probe, faultCluster's) writing through
 * the endpoint all along: root passes read_only, so an old primary left read-only behind an
 * endpoint that did not move still commits their writes while the promoted candidate takes its
 * own (a fork). The writer is a command that exits 1, as an endpoint API that refuses would.
 *
 * 1. The candidate took no write of its own: the switchover is undone (candidate read-only and
 *    replicating from the old primary again, the old primary writable behind the endpoint that
 *    never left it, every acknowledged write present), the error says so and what to run, and
 *    `migrate resume` with a working endpoint finishes.
 *    `migrate abort` after it takes the replica's ALTER back.
 * 2. The candidate took a write (a root client on it while the coordinator is held just before
 *    the move): nothing is undone (undoing would leave that write on a replica), the error says
 *    why. With root writing on the old primary meanwhile the two nodes have forked, which no
 *    automatic step resolves: this case ends the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mariadbErrantGtids } from '../../src/engines/index.ts';
import { parseServersState, runtimeCommand } from '../../src/sandbox/haproxy.ts';
import { faultCluster, type FaultCluster, rows } from '../faults/cluster.ts';
import { cli, lastJournal, show, startCli } from '../faults/harness.ts';
import { readInvariants, violations } from '../faults/invariants.ts';

const REFUSAL = 'endpoint API: 503 Service Unavailable';
// The writer command's start-up lands inside the write block: its bound is not what this checks.
const BLOCK = ['--max-write-block', '10000'];

describe('the writer endpoint does not move after the promotion, root writing through the old primary', () => {
  let fc: FaultCluster;
  beforeAll(async () => {
    fc = await faultCluster(1);
  }, 180_000);
  afterAll(async () => {
    await fc?.stop();
  });

  /** A copy of the sandbox's config (same .migrate state) whose writer is a command that refuses. */
  function refusingConfig(): string {
    const config = JSON.parse(readFileSync(fc.sb.configPath, 'utf8')) as { clusters: { writer: unknown }[] };
    for (const c of config.clusters) c.writer = { type: 'command', command: `echo '${REFUSAL}' >&2; exit 1` };
    const path = join(fc.sb.dir, 'migrate.refusing.json');
    writeFileSync(path, JSON.stringify(config, null, 2));
    return path;
  }

  const node = <T>(name: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => fc.onNode(name, fn);
  const gtidPos = (name: string) => node(name, async (c) => String((await rows<{ p: string }>(c, 'SELECT @@gtid_binlog_pos AS p'))[0]?.p ?? ''));
  const itemsType = (name: string) =>
    node(name, async (c) => (await rows<Record<string, string>>(c, 'SHOW CREATE TABLE app.items'))[0]?.['Create Table']?.match(/`c` (char\(\d+\))/)?.[1]);
  const ledger = (name: string) => node(name, async (c) => (await rows<{ id: string }>(c, 'SELECT id FROM app.migrate_ledger ORDER BY id')).map((r) => r.id));
  async function source(name: string): Promise<string> {
    return node(name, async (c) => {
      const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
      return st ? `${st['Master_Port']} ${st['Slave_IO_Running']}/${st['Slave_SQL_Running']}` : 'none';
    });
  }
  async function haproxyReady(): Promise<string[]> {
    if (fc.sb.writer.type !== 'haproxy') throw new Error('the fault cluster has HAProxy');
    return parseServersState(await runtimeCommand(fc.sb.writer.socket, `show servers state ${fc.sb.writer.backend}`))
      .filter((s) => s.state === 'ready')
      .map((s) => s.name);
  }

  it('the candidate took no write: the switchover is undone, the old primary writable behind the endpoint, nothing lost; resume then finishes', async () => {
    const { primary, candidate } = await fc.roles();
    const { id, width } = fc.mig.next();
    const { probe, table } = await fc.probe('undo');
    const rootBefore = fc.rootProbe.snapshot().acknowledged.length;
    const ledgerBefore = await ledger(primary);

    const r = await cli(['--config', refusingConfig(), 'apply', '--strategy', 'replica-first', ...BLOCK]);
    const report = await probe.stop();
    const journal = lastJournal(fc.sb);
    const position = String(journal.find((e) => e.step === 'position' && e.phase === 'end')?.data?.['position']);

    expect(r.code, show(r)).toBe(1);
    expect(r.error).toBe(
      `The writer command failed (exit 1): ${REFUSAL} The switchover was undone: ${candidate} had taken no write of its own (still at ${primary}'s position ${position}), so it is read-only again and replicates from ${primary}; ${primary} is writable again, and the writer endpoint's state is unknown (moving it back to ${primary} failed too: The writer command failed (exit 1): ${REFUSAL}).`,
    );
    expect(r.fix).toBe(
      `Fix the command in writer.command; it receives MIGRATE_NEW_PRIMARY_HOST/PORT and must exit 0. Then run \`migrate resume\` to finish the migration, or \`migrate abort\` to undo it on the replicas (check first that the endpoint sends writes to ${primary} only, and point it there if not: a move that failed midway may have changed part of it).`,
    );
    expect(r.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
    expect(r.stderr).toMatch(new RegExp(`switchover undone after \\d+ ms of write block; ${primary} is writable again`));
    // The candidate answered while it was closed again: nothing says it did not.
    expect(r.stderr).not.toMatch(/does not answer|could not set read_only back/);
    // The journal a recovery reads: promoted, the move failed, the block undone, the run failed (not interrupted).
    const phases = journal.map((e) => `${e.step}:${e.phase}`);
    expect(phases).toEqual(expect.arrayContaining(['promote:end', 'move-endpoint:fail', 'undo:end', 'switchover:fail']));
    expect(phases.indexOf('undo:end')).toBeGreaterThan(phases.indexOf('move-endpoint:fail'));
    expect(journal.find((e) => e.step === 'switchover' && e.phase === 'fail')?.data?.['undone']).toBe(true);

    // What an operator checks: one writable node (the old primary), the endpoint on it and a write
    // through it committing, the candidate read-only and replicating from it, no errant GTID on
    // the candidate, every acknowledged write (the app probe's, root's) on both nodes.
    const inv = await readInvariants(fc.sb, { probe: report, probeTable: table });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([primary]);
    expect(inv.haproxyReady).toEqual([primary]);
    expect(inv.endpoint).toBe(primary);
    expect(await source(candidate)).toBe(`${fc.sb.node(primary).port} Yes/Yes`);
    expect(mariadbErrantGtids(await gtidPos(candidate), await gtidPos(primary))).toEqual([]);
    expect(report.acknowledged.length).toBeGreaterThan(0);
    expect(fc.rootProbe.snapshot().acknowledged.length, 'root kept writing through the old primary').toBeGreaterThan(rootBefore);
    // The migration as the message says: altered on the replica only, not recorded, to resume or abort.
    expect(await ledger(primary)).toEqual(ledgerBefore);
    expect(await itemsType(primary)).toBe(`char(${width - 1})`);
    expect(await itemsType(candidate)).toBe(`char(${width})`);
    expect(ledgerBefore).not.toContain(id);

    // The fix: an endpoint that moves (the sandbox's HAProxy), then resume.
    const res = await fc.migrate(['resume', '--strategy', 'replica-first', ...BLOCK]);
    expect(res.code, show(res)).toBe(0);
    fc.mig.applied(width);
    const done = await readInvariants(fc.sb, { schema: `char(${width})` });
    expect(violations(done), JSON.stringify(done)).toEqual([]);
    expect(done.writable).toEqual([candidate]);
    expect(await ledger(candidate)).toContain(id);
  }, 300_000);

  it('after an undone switchover, `migrate abort` (the other next step the message names) takes the ALTER back on the replica', async () => {
    const { primary, candidate } = await fc.roles();
    const { id, width } = fc.mig.next();
    const r = await cli(['--config', refusingConfig(), 'apply', '--strategy', 'replica-first', ...BLOCK]);
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(/The switchover was undone/);
    expect(await itemsType(candidate)).toBe(`char(${width})`);

    const ab = await fc.migrate(['abort']);
    expect(ab.code, show(ab)).toBe(0);
    fc.mig.withdraw(id);
    const inv = await readInvariants(fc.sb, { schema: `char(${width - 1})` });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([primary]);
    expect(await ledger(primary)).not.toContain(id);
    expect(lastJournal(fc.sb).some((e) => e.step === 'aborted' && e.phase === 'end')).toBe(true);
  }, 300_000);

  it('the candidate took a write: the promotion stands (as before this fix) and the error names the write', async () => {
    const { primary, candidate } = await fc.roles();
    const { id } = fc.mig.next();
    const run = startCli(['--config', refusingConfig(), 'apply', '--strategy', 'replica-first', ...BLOCK], fc.pause.env('move-endpoint:begin'));
    await fc.pause.reached(run);
    // Promoted, the endpoint not moved yet: a root client on the candidate itself writes there.
    const gtid = await node(candidate, async (c) => {
      await c.query("INSERT INTO app.items (id, c) VALUES (900888, 'written on the promoted candidate')");
      return String((await rows<{ g: string }>(c, 'SELECT @@last_gtid AS g'))[0]?.g);
    });
    fc.pause.release();
    const r = await run.done;
    const position = String(
      lastJournal(fc.sb)
        .filter((e) => e.step === 'position' && e.phase === 'end')
        .at(-1)?.data?.['position'],
    );

    expect(r.code, show(r)).toBe(1);
    expect(r.error).toBe(
      `The writer command failed (exit 1): ${REFUSAL} ${candidate} took writes of its own after its promotion (GTIDs ${gtid} beyond ${position}), so the promotion was not undone: ${candidate} was promoted and takes writes, ${primary} is read-only, but the writer endpoint still points at ${primary}: writes through it fail, except those of users that pass read_only (root), which still commit on ${primary}.`,
    );
    expect(r.fix).toMatch(new RegExp(`Move the endpoint to ${candidate} now, .*then run \`migrate resume\`: it re-points ${primary} to ${candidate}`));
    expect(r.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
    expect(lastJournal(fc.sb).find((e) => e.step === 'switchover' && e.phase === 'fail')?.data?.['undone']).toBe(false);
    // As today: the candidate the only writable node and it kept its write; the endpoint on the old primary.
    const left = await readInvariants(fc.sb);
    expect(left.writable).toEqual([candidate]);
    expect(left.haproxyReady).toEqual([primary]);
    expect(await node(candidate, (c) => rows(c, 'SELECT id FROM app.items WHERE id = 900888'))).toHaveLength(1);

    // Nothing undone: the old primary stays read-only behind the endpoint; the candidate was not detached from it.
    expect(await source(candidate)).toMatch(new RegExp(`^${fc.sb.node(primary).port} `));
    expect(await haproxyReady()).toEqual([primary]);
    expect(await ledger(candidate)).not.toContain(id);
  }, 300_000);
});
