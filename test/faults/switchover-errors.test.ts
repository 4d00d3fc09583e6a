/**
 * The switchover's own errors, raised by real faults inside a running replica-first switchover on a
 * MariaDB primary and replica behind HAProxy, root clients (faultCluster's load and probe) writing
 * through the endpoint all along. Each fault is done while the coordinator is held at a journal
 * step (MIGRATE_FAULT_PAUSE_AT), as an operator, a script or a crash would do it:
 *
 * 1. A replica's replication stopped (STOP SLAVE on the re-pointed old primary) before the check at
 *    the end: "After the switchover: ..."; START SLAVE, then `migrate resume` finishes.
 * 2. The old primary's sessions killed by a DBA (the coordinator's guard and lock sessions among
 *    them) before the fence check: a driver error, "The switchover failed: ..."; resume finishes.
 * 3. The new primary at max_connections (every slot taken, as by clients reconnecting to it) for
 *    ~7 s after the old primary is re-pointed to it: its IO thread is refused and retries each
 *    second; the check at the end waits as catch-up does and the switchover succeeds.
 * 3b. A read-pool backend that lost the replica's server (`del server`) before its drain: HAProxy
 *    refuses the drain, nothing changed; the server added back, the apply runs.
 * 4. A writer backend that lost the candidate's server (`del server`) and the old primary stopped
 *    (SIGSTOP) before the endpoint move: HAProxy refuses the move, the promotion is taken back, and
 *    undoing it fails on the stopped old primary: "... and undoing it failed too on ...", no node
 *    writable; the server resumed and added back, `migrate resume` finishes.
 * 5. The session holding the old primary's read lock killed (a DBA, a tool that kills idle or
 *    blocking sessions) and root writing there inside the block: the fence check names the moved
 *    position and the lost lock. (FLUSH PRIVILEGES and statement-logged temporary tables wait for
 *    the lock on MariaDB 10.11: tried.) The old primary then holds a transaction the new one
 *    lacks, which only a person resolves: this case ends the file.
 */
import { readFileSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coordinatorLockName } from '../../src/execution/cluster-lock.ts';
import { RESUME_OR_ABORT } from '../../src/execution/switchover.ts';
import { parseServersState, runtimeCommand } from '../../src/sandbox/haproxy.ts';
import { faultCluster, type FaultCluster, rows } from './cluster.ts';
import { lastJournal, resumeNode, show, signalNode } from './harness.ts';
import { readInvariants, violations } from './invariants.ts';

// A writer or a node command's start-up may land in the block on this loaded machine: the bound is not what this checks.
const BLOCK = ['--max-write-block', '10000'];
const NO_STACK = /\n\s+at /;

describe('switchover errors under real faults', () => {
  let fc: FaultCluster;
  beforeAll(async () => {
    fc = await faultCluster(1);
  }, 180_000);
  afterAll(async () => {
    await fc?.stop();
  });

  const node = <T>(name: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => fc.onNode(name, fn);
  const ledger = (name: string) => node(name, async (c) => (await rows<{ id: string }>(c, 'SELECT id FROM app.migrate_ledger ORDER BY id')).map((r) => r.id));
  const source = (name: string) =>
    node(name, async (c) => {
      const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
      return st ? `${st['Master_Port']} ${st['Slave_IO_Running']}/${st['Slave_SQL_Running']}` : 'none';
    });
  function haproxy(): { socket: string; writer: string; readers: string } {
    const w = fc.sb.writer;
    if (w.type !== 'haproxy' || !w.readers) throw new Error('the fault cluster has HAProxy with a readers backend');
    return { socket: w.socket, writer: w.backend, readers: w.readers.backend };
  }
  async function servers(backend: string): Promise<{ name: string; state: string }[]> {
    return parseServersState(await runtimeCommand(haproxy().socket, `show servers state ${backend}`));
  }
  /** Takes a server out of a backend at run time, as an operator editing the pool would. */
  async function delServer(backend: string, name: string): Promise<void> {
    const { socket } = haproxy();
    await runtimeCommand(socket, `set server ${backend}/${name} state maint`);
    await runtimeCommand(socket, `shutdown sessions server ${backend}/${name}`);
    const answer = await runtimeCommand(socket, `del server ${backend}/${name}`);
    expect(answer, `del server ${backend}/${name}`).toMatch(/Server deleted/i);
  }
  /** Puts it back (a dynamic server starts in maintenance), ready if it was. */
  async function addServer(backend: string, name: string, ready: boolean): Promise<void> {
    const { socket } = haproxy();
    const n = fc.sb.node(name);
    const answer = await runtimeCommand(socket, `add server ${backend}/${name} ${n.host}:${n.port}`);
    expect(answer, `add server ${backend}/${name}`).toMatch(/New server registered/i);
    if (ready) expect((await runtimeCommand(socket, `set server ${backend}/${name} state ready`)).trim()).toBe('');
  }
  const clusterName = (): string => (JSON.parse(readFileSync(fc.sb.configPath, 'utf8')) as { clusters: { name: string }[] }).clusters[0]!.name;

  /** The migration the failed run left: resume finishes it, the candidate the only writable node. */
  async function resumeFinishes(candidate: string, id: string, width: number): Promise<void> {
    const res = await fc.migrate(['resume', '--strategy', 'replica-first', ...BLOCK]);
    expect(res.code, show(res)).toBe(0);
    fc.mig.applied(width);
    const done = await readInvariants(fc.sb, { schema: `char(${width})` });
    expect(violations(done), JSON.stringify(done)).toEqual([]);
    expect(done.writable).toEqual([candidate]);
    expect(await ledger(candidate)).toContain(id);
  }

  it('replication stopped on the old primary before the last check: "After the switchover", the promotion stands; START SLAVE and resume finish', async () => {
    const { primary, candidate } = await fc.roles();
    const { id, width } = fc.mig.next();
    const run = fc.start(['apply', '--strategy', 'replica-first', ...BLOCK], fc.pause.env('switchover-verify:begin'));
    await fc.pause.reached(run);
    // Re-pointed to the candidate by the switchover; stopped as an operator would by mistake.
    await node(primary, (c) => c.query('STOP SLAVE'));
    fc.pause.release();
    const r = await run.done;

    expect(r.code, show(r)).toBe(1);
    expect(r.error).toBe(`After the switchover: ${primary}: replication not running.`);
    expect(r.fix).toBe(`Run \`migrate topology\` and repair the nodes named; the new primary is ${candidate}.`);
    expect(r.stderr, 'no stack trace').not.toMatch(NO_STACK);
    expect(lastJournal(fc.sb).some((e) => e.step === 'switchover-verify' && e.phase === 'fail')).toBe(true);
    // What the message says: the candidate is the new primary behind the endpoint, the old one read-only and stopped.
    const inv = await readInvariants(fc.sb, { skip: [primary] });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([candidate]);
    expect(inv.endpoint).toBe(candidate);
    expect(await source(primary)).toBe(`${fc.sb.node(candidate).port} No/No`);

    // The repair it names, then the migration's own next step.
    await node(primary, (c) => c.query('START SLAVE'));
    await fc.caughtUp(primary, candidate);
    await resumeFinishes(candidate, id, width);
  }, 300_000);

  it('the old primary\'s sessions killed before the fence check: "The switchover failed: ..." (a driver error), resume re-points it and finishes', async () => {
    const { primary, candidate } = await fc.roles();
    const { id, width } = fc.mig.next();
    const run = fc.start(['apply', '--strategy', 'replica-first', ...BLOCK], fc.pause.env('fence-check:begin'));
    await fc.pause.reached(run);
    // Every session but the coordinator's cluster lock (its guard and read-lock sessions among them).
    const killed = await node(primary, async (c) => {
      const ids = await rows<{ id: number }>(
        c,
        `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND ID <> IFNULL(IS_USED_LOCK('${coordinatorLockName(clusterName())}'), 0)
           AND USER NOT IN ('system user', 'event_scheduler') AND COMMAND NOT LIKE 'Binlog Dump%'`,
      );
      for (const { id: k } of ids) await c.query(`KILL ${k}`).catch(() => undefined);
      return ids.length;
    });
    expect(killed).toBeGreaterThanOrEqual(2);
    fc.pause.release();
    const r = await run.done;

    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(/^The switchover failed: .+/);
    expect(r.fix).toBe('Run `migrate topology` to see the state; the journal names the last step.');
    expect(r.stderr, 'no stack trace').not.toMatch(NO_STACK);
    const journal = lastJournal(fc.sb);
    expect(journal.some((e) => e.step === 'fence-check' && e.phase === 'fail')).toBe(true);
    expect(journal.find((e) => e.step === 'switchover' && e.phase === 'fail')?.data?.['undone']).toBe(false);
    // Promoted behind the moved endpoint; the old primary read-only, not re-pointed yet, holding nothing the new one lacks.
    const inv = await readInvariants(fc.sb, { skip: [primary] });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([candidate]);
    expect(inv.endpoint).toBe(candidate);
    expect(await node(primary, async (c) => Number((await rows<{ ro: number }>(c, 'SELECT @@read_only AS ro'))[0]?.ro))).toBe(1);

    await resumeFinishes(candidate, id, width);
  }, 300_000);

  it('the new primary at max_connections for ~7 s as the old primary starts replicating from it: its IO thread retries, the switchover is verified and succeeds', async () => {
    const { primary, candidate } = await fc.roles();
    const { id, width } = fc.mig.next();
    const run = fc.start(['apply', '--strategy', 'replica-first', ...BLOCK], fc.pause.env('repoint-old-primary:begin'));
    await fc.pause.reached(run);
    // Every connection slot of the new primary taken (SUPER's extra one too), as a reconnect storm
    // of clients following the endpoint would: the old primary's IO thread is refused (1040).
    const admin = await fc.sb.mysql(candidate);
    const held: mysql.Connection[] = [];
    const maxBefore = Number((await rows<{ m: number }>(admin, 'SELECT @@max_connections AS m'))[0]?.m);
    let refused = '';
    try {
      await admin.query('SET GLOBAL max_connections = 10');
      for (let i = 0; i < 40; i++) {
        try {
          held.push(await fc.sb.mysql(candidate));
        } catch (e) {
          refused = String((e as Error).message);
          break;
        }
      }
      expect(refused).toMatch(/Too many connections/);
      fc.pause.release();
      await new Promise((r) => setTimeout(r, 3_000));
      // The old primary can still be asked (its own slots are free): refused by the new one, retrying.
      const io = await node(primary, async (c) => (await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS'))[0]);
      expect(io?.['Slave_IO_Running'], JSON.stringify(io)).not.toBe('Yes');
      expect(String(io?.['Last_IO_Error'])).toMatch(/Too many connections/);
      await new Promise((r) => setTimeout(r, 4_000));
    } finally {
      await Promise.all(held.map((c) => c.end().catch(() => undefined)));
      await admin.query(`SET GLOBAL max_connections = ${maxBefore}`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    }
    const r = await run.done;
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`verified: ${candidate} is the only writable node; every other node replicates`));
    fc.mig.applied(width);
    const done = await readInvariants(fc.sb, { schema: `char(${width})` });
    expect(violations(done), JSON.stringify(done)).toEqual([]);
    expect(done.writable).toEqual([candidate]);
    expect(await ledger(candidate)).toContain(id);
  }, 300_000);

  it("the replica's server gone from the read-pool backend before its drain: HAProxy refuses, nothing changed; added back, the apply runs", async () => {
    const { primary, candidate } = await fc.roles();
    const { id, width } = fc.mig.next();
    const { readers } = haproxy();
    const run = fc.start(['apply', '--strategy', 'replica-first', '--drain-last-reader', ...BLOCK], fc.pause.env(`read-pool-drain:${candidate}:begin`));
    await fc.pause.reached(run);
    await delServer(readers, candidate);
    fc.pause.release();
    const r = await run.done;

    const cmd = `set server ${readers}/${candidate} state drain`;
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(new RegExp(`^HAProxy refused "${esc(cmd)}": No such server\\.(?!\\.)`));
    expect(r.fix).toMatch(new RegExp(`Check that ${candidate} is declared as a server of the read-pool backend ${readers}, named as in the config\\.`));
    expect(r.stderr, 'no stack trace').not.toMatch(NO_STACK);
    // Nothing changed: the replica not altered, still replicating, the primary the only writable node.
    const inv = await readInvariants(fc.sb, { schema: `char(${width - 1})` });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([primary]);
    expect(await source(candidate)).toBe(`${fc.sb.node(primary).port} Yes/Yes`);

    await addServer(readers, candidate, true);
    expect((await servers(readers)).find((s) => s.name === candidate)?.state).toBe('ready');
    const again = await fc.migrate(['resume', '--strategy', 'replica-first', '--drain-last-reader', ...BLOCK]);
    expect(again.code, show(again)).toBe(0);
    fc.mig.applied(width);
    expect(await ledger(candidate)).toContain(id);
  }, 300_000);

  it("the candidate's server gone from the writer backend before the move: HAProxy refuses, the switchover is undone and the endpoint still on the old primary; added back, resume finishes", async () => {
    const { primary, candidate } = await fc.roles();
    const { id, width } = fc.mig.next();
    const { writer } = haproxy();
    const { probe, table } = await fc.probe('writer_refused');
    const run = fc.start(['apply', '--strategy', 'replica-first', ...BLOCK], fc.pause.env('move-endpoint:begin'));
    await fc.pause.reached(run);
    await delServer(writer, candidate);
    fc.pause.release();
    const r = await run.done;
    const report = await probe.stop();
    const position = String(
      lastJournal(fc.sb)
        .filter((e) => e.step === 'position' && e.phase === 'end')
        .at(-1)?.data?.['position'],
    );

    const cmd = `set server ${writer}/${candidate} state ready; set server ${writer}/${primary} state maint; shutdown sessions server ${writer}/${primary}`;
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toBe(
      `HAProxy refused "${cmd}": No such server. The switchover was undone: ${candidate} had taken no write of its own (still at ${primary}'s position ${position}), so it is read-only again and replicates from ${primary}; ${primary} is writable again, and the writer endpoint, which did not move, points at it only (read back from it).`,
    );
    expect(r.fix).toBe(`Check that every node is declared as a server of the writer backend, named as in the config. Then ${RESUME_OR_ABORT}.`);
    expect(r.stderr, 'no stack trace').not.toMatch(NO_STACK);
    // What it says, read from the servers and HAProxy: the old primary the only writable node, the
    // endpoint on it (a write through it commits), the candidate replicating from it, nothing lost.
    const inv = await readInvariants(fc.sb, { probe: report, probeTable: table });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([primary]);
    expect(inv.haproxyReady).toEqual([primary]);
    expect(inv.endpoint).toBe(primary);
    expect(await source(candidate)).toBe(`${fc.sb.node(primary).port} Yes/Yes`);
    expect(report.acknowledged.length).toBeGreaterThan(0);

    await addServer(writer, candidate, false);
    await resumeFinishes(candidate, id, width);
  }, 300_000);

  it("the candidate's server gone from the writer backend and the old primary stopped before the move: refused, and undoing it fails too; resumed, resume finishes", async () => {
    const { primary, candidate } = await fc.roles();
    const { id, width } = fc.mig.next();
    const { writer } = haproxy();
    const run = fc.start(['apply', '--strategy', 'replica-first', ...BLOCK], fc.pause.env('move-endpoint:begin'));
    await fc.pause.reached(run);
    let r: Awaited<typeof run.done>;
    try {
      await delServer(writer, candidate);
      signalNode(fc.sb, primary, 'SIGSTOP');
      fc.pause.release();
      r = await run.done;
    } finally {
      resumeNode(fc.sb, primary);
    }

    const cmd = `set server ${writer}/${candidate} state ready; set server ${writer}/${primary} state maint; shutdown sessions server ${writer}/${primary}`;
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(
      new RegExp(
        `^The switchover failed \\(HAProxy refused "${esc(cmd)}": No such server\\.\\) and undoing it failed too on ${primary} \\(.+\\): ${primary} may be left read-only, so no node may take writes\\.$`,
      ),
    );
    expect(r.fix).toBe(
      `Bring ${primary} back (\`migrate topology\` shows it), then run \`migrate abort\` or \`migrate resume\`: both make exactly one node writable and point the endpoint at it.`,
    );
    expect(r.stderr, 'no stack trace').not.toMatch(NO_STACK);
    // The candidate closed again (it took no write) and still replicating from the old primary
    // behind the endpoint that never left it. The old primary's undo (read_only off) was sent
    // before its answer was given up on, so a resumed server may run it: "may be left read-only".
    // Never two writable nodes.
    const left = await readInvariants(fc.sb);
    expect(left.writable.filter((n) => n !== primary)).toEqual([]);
    expect(left.haproxyReady).toEqual([primary]);
    expect(await source(candidate)).toBe(`${fc.sb.node(primary).port} Yes/Yes`);

    await addServer(writer, candidate, false);
    await resumeFinishes(candidate, id, width);
  }, 300_000);

  it("the read lock's session killed and root writing on the old primary inside the block: the fence check names the moved position and the lost lock (ends the file)", async () => {
    const { primary, candidate } = await fc.roles();
    fc.mig.next();
    // Lets the test find the session holding the read lock, as a DBA would.
    await node(primary, (c) => c.query("INSTALL SONAME 'metadata_lock_info'").catch(() => undefined));
    const run = fc.start(['apply', '--strategy', 'replica-first', ...BLOCK], fc.pause.env('fence-check:begin'));
    await fc.pause.reached(run);
    const position = String(
      lastJournal(fc.sb)
        .filter((e) => e.step === 'position' && e.phase === 'end')
        .at(-1)?.data?.['position'],
    );
    const { holder, moved } = await node(primary, async (c) => {
      const [lock] = await rows<{ id: number }>(
        c,
        "SELECT THREAD_ID AS id FROM information_schema.METADATA_LOCK_INFO WHERE LOCK_MODE LIKE 'MDL_BACKUP_FTWRL%'",
      );
      if (!lock) throw new Error('no session holds the global read lock');
      await c.query(`KILL ${lock.id}`);
      // Root passes read_only; with the lock gone nothing holds its write back.
      await c.query("INSERT INTO app.items (id, c) VALUES (900777, 'past the read lock')");
      return { holder: lock.id, moved: String((await rows<{ p: string }>(c, 'SELECT @@gtid_binlog_pos AS p'))[0]?.p) };
    });
    expect(moved).not.toBe(position);
    fc.pause.release();
    const r = await run.done;

    expect(r.code, show(r)).toBe(1);
    expect(r.error).toBe(
      `The old primary ${primary} moved from ${position} to ${moved} during the write block, under its read lock: the session holding that lock (connection ${holder}) was ended by someone else, and a client that passes read_only (root, SUPER) wrote there.`,
    );
    expect(r.fix).toBe(`Compare the two nodes' data; ${candidate} is the new primary. Re-point ${primary} by hand once it holds nothing ${candidate} lacks.`);
    expect(r.stderr, 'no stack trace').not.toMatch(NO_STACK);
    // The new primary takes writes behind the endpoint, nothing acknowledged lost there; the old one read-only, not re-pointed.
    const inv = await readInvariants(fc.sb, { skip: [primary] });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([candidate]);
    expect(inv.endpoint).toBe(candidate);
    expect(await node(primary, async (c) => Number((await rows<{ ro: number }>(c, 'SELECT @@read_only AS ro'))[0]?.ro))).toBe(1);
    expect(await source(primary)).toBe('none');
  }, 300_000);
});

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
