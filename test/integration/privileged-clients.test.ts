/**
 * The switchover with clients that bypass read_only: the application's load connected as root
 * through the endpoint (as cron jobs, admin tools and legacy applications connect), the way the
 * first release forked the data in 4 runs out of 4 (root's writes queued behind the read lock
 * committed on the old primary at UNLOCK). Every run must end with no fork, nothing acknowledged
 * lost, exactly one writable node and replication running everywhere; the probe's own clock
 * bounds the gap clients saw. Then a fork is forced (a write on the old primary right after
 * UNLOCK, while the coordinator is held there) and must be reported as a fork, with its GTID and
 * table, the old primary fenced, `migrate resume` refusing until the recovery steps were done.
 */
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriteLoad, type LoadReport } from '../../src/load/txn-load.ts';
import { parseServersState, runtimeCommand } from '../../src/sandbox/haproxy.ts';
import { faultCluster, type FaultCluster } from '../faults/cluster.ts';
import { lastJournal, show } from '../faults/harness.ts';
import { readInvariants, violations } from '../faults/invariants.ts';
import { baselineWindow, expectProbeAcross, expectSwitchoverFailures, journaledBlock, probeAcross, readOnlyWindowMs } from '../helpers/probe-gaps.ts';

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

describe('switchover with the load connected as root (bypasses read_only)', () => {
  let fc: FaultCluster;
  let load: WriteLoad;
  let loadReport: LoadReport | undefined;
  const figures: string[] = [];
  beforeAll(async () => {
    fc = await faultCluster(2);
    const w = await fc.sb.mysqlWriter();
    await w.query("CREATE TABLE load_t (id INT PRIMARY KEY, k INT NOT NULL DEFAULT 0, c VARCHAR(120) NOT NULL DEFAULT '')");
    await w.query("INSERT INTO load_t (id, k, c) SELECT seq, seq, 'x' FROM seq_1_to_20000");
    await w.end();
    // The load: 4 connections, 200 transactions/s in all (UPDATE, UPDATE, DELETE, INSERT), as root.
    load = new WriteLoad({ host: fc.sb.app.host, port: fc.sb.app.port, database: fc.sb.app.database, ...fc.root }, 'load_t', 20_000, 4, 200);
    load.begin();
  }, 120_000);
  afterAll(async () => {
    loadReport = await load?.stop();
    console.log(
      `[privileged] ${figures.join('\n[privileged] ')}\n[privileged] root load: ${loadReport?.committed} committed, ${loadReport?.failed} failed ${JSON.stringify(loadReport?.errors)}`,
    );
    await fc?.stop();
  });

  it.each([1, 2, 3, 4])(
    'run %i: no fork, nothing lost, one writable node, replication everywhere; the probe saw a gap within the bound',
    async (run) => {
      const before = await fc.roles();
      const { width } = fc.mig.next();
      const { probe, table } = await fc.probe(`app${run}`);
      // Both probes under the root load with nothing migrating: the baseline their gaps are judged against.
      const baseline = await baselineWindow(fc.sb.app, 2000);
      const rootBefore = fc.rootProbe.snapshot();
      // The first run as an operator reads it (text), the others as a pipeline does (JSON events).
      const json = run > 1;
      const r = await fc.migrate(['apply', '--strategy', 'replica-first', '--max-write-block', '2000', ...(json ? ['--format', 'json'] : [])]);
      expect(r.code, show(r) + JSON.stringify(lastJournal(fc.sb).map((e) => [e.ts.slice(17), e.step, e.phase, e.data?.['error'] ?? '']))).toBe(0);
      fc.mig.applied(width);
      const report = await probe.stop();
      const inv = await readInvariants(fc.sb, { probe: report, probeTable: table, schema: `char(${width})` });
      const entries = lastJournal(fc.sb);
      expect(
        entries.filter((e) => e.step === 'fork'),
        'no fork',
      ).toEqual([]);
      expect(violations(inv), JSON.stringify(inv)).toEqual([]);
      expect(inv.writable).toEqual([before.candidate]);

      // What the tool says about its own block, and what the root client's probe saw meanwhile.
      const block = journaledBlock(entries, 'move-endpoint');
      expect(block, 'the block is journaled').toBeDefined();
      const snap = fc.rootProbe.snapshot();
      const rootSeen = probeAcross(snap, baseline, block!);
      const appSeen = probeAcross(report, baseline, block!);
      let writeBlockMs: number;
      let ended: number;
      if (json) {
        const events = r.stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        const sw = events.find((e) => e['event'] === 'switchover');
        expect(sw, 'a switchover event with the step timings').toBeTruthy();
        expect(sw!['blockSteps']).toEqual(['block-writes', 'record-position', 'wait-candidate', 'read-only-old-primary', 'promote', 'move-endpoint']);
        const steps = sw!['stepsMs'] as Record<string, number>;
        for (const k of sw!['blockSteps'] as string[]) expect(typeof steps[k], k).toBe('number');
        writeBlockMs = Number(sw!['writeBlockMs']);
        ended = Number(sw!['endedSessions']);
        const result = events.find((e) => e['event'] === 'result') as { steps: { switchover?: { writeBlockMs: number } }[] };
        expect(result.steps.find((s) => s.switchover)?.switchover?.writeBlockMs).toBe(writeBlockMs);
      } else {
        expect(r.stdout).toMatch(
          /write block [\d.]+ ms: block-writes [\d.]+, record-position [\d.]+, wait-candidate [\d.]+, read-only-old-primary [\d.]+, promote [\d.]+, move-endpoint [\d.]+/,
        );
        expect(r.stdout).toMatch(
          /after it \(writes flow to \w+\): end-sessions [\d.]+, detach-candidate [\d.]+.*unlock [\d.]+, watch-old-primary [\d.]+, switchover-verify [\d.]+; \d+ session\(s\) ended on the old primary/,
        );
        // Preflight named the privileged users connected and what happens to their sessions.
        expect(r.stderr).toMatch(new RegExp(`users that write through read_only on ${before.primary}: root.*\\d+ sessions?.*READ_ONLY ADMIN.*ended`));
        writeBlockMs = Number(/write block ([\d.]+) ms:/.exec(r.stdout)?.[1]);
        ended = Number(/; (\d+) session\(s\) ended/.exec(r.stdout)?.[1]);
      }
      figures.push(
        `run ${run} ${before.primary} -> ${before.candidate}: write block ${writeBlockMs} ms (tool), root probe's longest gap over the block ${rootSeen.gapMs} ms (baseline ${rootSeen.baselineMs}), app probe's ${appSeen.gapMs} ms (baseline ${appSeen.baselineMs}), app probe ${report.acknowledged.length} acknowledged / ${report.failed} failed, root probe ${snap.failed - rootBefore.failed} failed, ${ended} session(s) ended`,
      );
      expect(writeBlockMs).toBeGreaterThan(0);
      expect(writeBlockMs).toBeLessThanOrEqual(2000);
      // The block holds on the independent clocks too, for the root client (writes through
      // read_only) as for the application user: each saw the block the tool reports and no more
      // than that block + its baseline + SWITCHOVER_MARGIN_MS (one reconnect).
      const o = { blockMs: writeBlockMs, limitMs: writeBlockMs, reconnect: true, lockedMs: block!.lockedMs };
      expectProbeAcross(rootSeen, { ...o, label: `privileged run ${run} root probe` });
      expectProbeAcross(appSeen, { ...o, label: `privileged run ${run} app probe` });
      // Each loses its statement in flight at the endpoint's move; the application user's may
      // also be refused by read_only just before it (root writes through read_only).
      const failures = { readOnlyWindowMs: readOnlyWindowMs(entries), intervalMs: 20 };
      expectSwitchoverFailures(report, `run ${run} app probe`, failures);
      expectSwitchoverFailures(snap, `run ${run} root probe`, { ...failures, before: rootBefore });
    },
    180_000,
  );

  it('a write on the old primary right after UNLOCK is reported as a FORK with its GTID and table; the old primary stays fenced until reconciled', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    const other = replicas.find((n) => n !== candidate)!;
    const { width } = fc.mig.next();
    const run = fc.start(['apply', '--strategy', 'replica-first'], fc.pause.env('unlock:end'));
    await fc.pause.reached(run);
    // A root client connected to the old primary itself, writing the instant the lock is gone.
    const direct = await fc.sb.mysql(primary);
    await direct.query("INSERT INTO app.items (id, c) VALUES (900777, 'written on the old primary')");
    const gtid = String((await rows<{ g: string }>(direct, 'SELECT @@last_gtid AS g'))[0]?.g);
    await direct.end();
    fc.pause.release();
    const r = await run.done;

    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(
      new RegExp(
        `^FORK: the old primary ${primary} committed 1 transaction after the switchover that the new primary ${candidate} does not have \\(errant GTID ${gtid}; tables app\\.items\\)`,
      ),
    );
    expect(r.error).not.toMatch(/replication not running/);
    expect(r.fix).toMatch(new RegExp(`${primary} is fenced: read-only, out of the endpoint, its replication stopped; ${candidate} is the primary`));
    expect(r.fix).toMatch(/SHOW BINLOG EVENTS IN 'mysql-bin\.\d+' FROM \d+/);
    expect(r.fix).toMatch(/migrate resume/);
    const fork = lastJournal(fc.sb).find((e) => e.step === 'fork' && e.phase === 'end');
    expect(fork?.data?.['gtids']).toEqual([gtid]);
    expect(fork?.data?.['tables']).toEqual(['app.items']);

    // Fenced: read-only, not replicating, out of the endpoint; the new primary takes writes, the other replica follows it.
    const fenced = async () => {
      const c = await fc.sb.mysql(primary);
      try {
        const [ro] = await rows<{ ro: number }>(c, 'SELECT @@read_only AS ro');
        const [st] = await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
        return { readOnly: Number(ro?.ro) === 1, io: st?.['Slave_IO_Running'], sql: st?.['Slave_SQL_Running'] };
      } finally {
        await c.end();
      }
    };
    expect(await fenced()).toEqual({ readOnly: true, io: 'No', sql: 'No' });
    if (fc.sb.writer.type !== 'haproxy') throw new Error('the cluster has HAProxy');
    const ready = parseServersState(await runtimeCommand(fc.sb.writer.socket, `show servers state ${fc.sb.writer.backend}`))
      .filter((s) => s.state === 'ready')
      .map((s) => s.name);
    expect(ready).toEqual([candidate]);
    const inv = await readInvariants(fc.sb, { skip: [primary] });
    expect(inv.writable).toEqual([candidate]);
    expect(inv.replicationProblems, `${other} follows ${candidate}`).toEqual([]);

    // resume refuses while the old primary holds what the new one lacks, and changes nothing.
    const refused = await fc.migrate(['resume', '--strategy', 'replica-first']);
    expect(refused.code, show(refused)).toBe(1);
    expect(refused.error).toMatch(new RegExp(`^FORK: the old primary ${primary} committed 1 transaction .*${gtid}`));
    expect(await fenced()).toEqual({ readOnly: true, io: 'No', sql: 'No' });

    // The recovery steps as printed: undo the errant change on the old primary (binlog off), then the statements the fix names.
    const printed = new RegExp(`on ${primary}: SET SESSION sql_log_bin=0; <undo>; RESET MASTER; SET GLOBAL gtid_slave_pos = '([\\d,-]*)'`).exec(refused.fix);
    expect(printed, refused.fix).toBeTruthy();
    const p = await fc.sb.mysql(primary);
    await p.query('SET SESSION sql_log_bin=0');
    await p.query('DELETE FROM app.items WHERE id = 900777');
    await p.query('RESET MASTER');
    await p.query(`SET GLOBAL gtid_slave_pos = '${printed![1]}'`);
    await p.end();
    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    expect(res.code, show(res)).toBe(0);
    fc.mig.applied(width);
    const after = await readInvariants(fc.sb, { schema: `char(${width})` });
    expect(violations(after), JSON.stringify(after)).toEqual([]);
  }, 240_000);
});
