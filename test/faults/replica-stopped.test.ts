/**
 * Fault b: the candidate replica's mariadbd is stopped (SIGSTOP: its connections stay open and
 * nothing answers) during catch-up, before the write block, and during the write block. The
 * coordinator must not hang: it stops within its bounds, the old primary keeps (or gets back)
 * its writes, and after SIGCONT `migrate resume` finishes the migration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultCluster, type FaultCluster } from './cluster.ts';
import { journalSpan, lastJournal, resumeNode, show, signalNode, sleep } from './harness.ts';
import { readInvariants, violations } from './invariants.ts';
import { allHeld, coordinator, recordFault, summarize } from './record.ts';
import {
  baselineWindow,
  expectNoBlockSeen,
  expectProbeAcross,
  expectSwitchoverFailures,
  journaledBlock,
  probeAcross,
  readOnlyWindowMs,
  undoneBoundMs,
} from '../helpers/probe-gaps.ts';

describe('fault b: a replica stopped (SIGSTOP)', () => {
  let fc: FaultCluster;
  beforeAll(async () => {
    fc = await faultCluster(2);
  });
  afterAll(async () => {
    await fc?.stop();
  });

  /**
   * SIGCONT, wait until it replicates again, then `migrate resume` must finish the migration. A
   * plain `migrate apply` at that point must refuse: it would ALTER the replicas a second time.
   */
  async function recover(candidate: string, primary: string, width: number, checkApplyRefuses = false) {
    signalNode(fc.sb, candidate, 'SIGCONT');
    await fc.caughtUp(candidate, primary);
    if (checkApplyRefuses) {
      const again = await fc.migrate(['apply', '--strategy', 'replica-first']);
      expect(again.code, show(again)).toBe(1);
      expect(again.error).toMatch(
        /^Run \d{8}T\d{6}-[0-9a-f]+ on cluster sandbox failed in step switchover with \S+, \S+ already altered; a new run would repeat what it did\.$/,
      );
      expect(again.fix).toMatch(/migrate resume.*migrate abort.*Nothing was changed/);
    }
    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    expect(res.code, show(res)).toBe(0);
    fc.mig.applied(width);
    return res;
  }

  it('b1: the candidate stopped during catch-up: exits 1 within the answer bound, nothing blocked, then resume finishes', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('b1');
    const baseline = await baselineWindow(fc.sb.app, 2000);
    const runFrom = performance.now();
    const run = fc.start(['apply', '--strategy', 'replica-first'], fc.pause.env('catch-up:begin'));
    await fc.pause.reached(run);
    signalNode(fc.sb, candidate, 'SIGSTOP');
    const t0 = performance.now();
    fc.pause.release();
    let r;
    let res;
    try {
      r = await run.done;
      const stoppedForMs = Math.round(performance.now() - t0);
      const during = probeAcross(probe.snapshot(), baseline, { from: runFrom, to: performance.now() });
      const entries = lastJournal(fc.sb);
      const blocked = entries.some((e) => e.step === 'block-writes');
      const after = await readInvariants(fc.sb, { skip: [candidate], probe: probe.snapshot(), probeTable: table });
      res = await recover(candidate, primary, width);
      const report = await probe.stop();
      const final = await readInvariants(fc.sb, { probe: report, probeTable: table, schema: `char(${width})` });
      const rec = recordFault({
        id: 'b1-replica-stopped-catch-up',
        fault: `the candidate replica (${candidate}) stopped with SIGSTOP while the coordinator waits for it to catch up (before the write block)`,
        expected: 'stop within the bound on node answers without blocking writes; `migrate resume` finishes after SIGCONT',
        coordinator: coordinator('migrate apply --strategy replica-first', r),
        after: summarize(after, { skipped: [candidate] }),
        recovery: {
          steps: `SIGCONT ${candidate}, wait until it replicates, \`migrate resume\``,
          command: coordinator('migrate resume', res),
          after: summarize(final),
        },
        timings: { coordinatorExitAfterStopMs: stoppedForMs, longestProbeGapMs: report.longestGapMs, probeFailedWrites: report.failed },
        held: r.code === 1 && !blocked && allHeld(summarize(after)) && res.code === 0 && allHeld(summarize(final)),
      });
      expect(r.code, show(r)).toBe(1);
      expect(r.error).toMatch(new RegExp(`candidate ${candidate} did not answer .* within`));
      expect(r.error).toMatch(new RegExp(`Nothing was blocked: ${primary} still takes writes`));
      expect(r.fix).toMatch(/migrate resume/);
      expect(blocked, 'the write block never started').toBe(false);
      // "Nothing was blocked", on the probe's clock: no gap over the run beyond its baseline + the margin.
      expectNoBlockSeen(during, 'b1 run');
      expect(violations(after), JSON.stringify(after)).toEqual([]);
      expect(after.writable).toEqual([primary]);
      expect(
        replicas.filter((n) => n !== candidate).every((n) => !after.replicationProblems.some((p) => p.startsWith(n))),
        'the other replica kept replicating',
      ).toBe(true);
      expect(violations(final), JSON.stringify(final)).toEqual([]);
      // One switchover in all (resume's, the last journal): what the probe may lose at its block.
      expectSwitchoverFailures(report, 'b1', { readOnlyWindowMs: readOnlyWindowMs(lastJournal(fc.sb)), intervalMs: 20 });
      expect(rec.held).toBe(true);
    } finally {
      resumeNode(fc.sb, candidate);
    }
  });

  it('b3: another replica lagging (its SQL thread held by a lock): catch-up waits for every replica, within --catch-up-timeout, and blocks nothing', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    const lagging = replicas.find((n) => n !== candidate)!;
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('b3');
    const baseline = await baselineWindow(fc.sb.app, 2000);
    const runFrom = performance.now();
    const run = fc.start(['apply', '--strategy', 'replica-first', '--catch-up-timeout', '5'], fc.pause.env('switchover:begin'));
    await fc.pause.reached(run);
    // The probe's rows reach the lagging replica, whose SQL thread then waits on this lock.
    const holder = await fc.sb.mysql(lagging);
    await holder.query(`LOCK TABLES app.\`${table}\` WRITE`);
    // Long enough for its lag (whole seconds) to exceed the 1 s the block may start with.
    await sleep(3_000);
    fc.pause.release();
    let r;
    try {
      r = await run.done;
    } finally {
      await holder.query('UNLOCK TABLES');
      await holder.end();
    }
    const during = probeAcross(probe.snapshot(), baseline, { from: runFrom, to: performance.now() });
    const entries = lastJournal(fc.sb);
    const blocked = entries.some((e) => e.step === 'block-writes');
    const after = await readInvariants(fc.sb, { probe: probe.snapshot(), probeTable: table });
    await fc.caughtUp(lagging, primary);
    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    if (res.code === 0) fc.mig.applied(width);
    const report = await probe.stop();
    const final = await readInvariants(fc.sb, { probe: report, probeTable: table, schema: `char(${width})` });
    const rec = recordFault({
      id: 'b3-replica-lagging-catch-up',
      fault: `a replica other than the candidate (${lagging}) lagging before the write block: its SQL thread waits on a table lock`,
      expected:
        'wait for every replica (not only the candidate) to catch up before blocking writes, bounded by --catch-up-timeout; past it stop without blocking; `migrate resume` finishes once it caught up',
      coordinator: coordinator('migrate apply --strategy replica-first --catch-up-timeout 5', r),
      after: summarize(after, { allowReplicationProblems: true }),
      recovery: {
        steps: `release the lock, wait until ${lagging} caught up, \`migrate resume\``,
        command: coordinator('migrate resume', res),
        after: summarize(final),
      },
      timings: { coordinatorMs: r.ms, longestProbeGapMs: report.longestGapMs, probeFailedWrites: report.failed },
      held: r.code === 1 && !blocked && allHeld(summarize(after, { allowReplicationProblems: true })) && res.code === 0 && allHeld(summarize(final)),
    });
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(
      new RegExp(
        `After 5 s of waiting for every replica to catch up before the write block, ${lagging} is still \\d+ s behind\\. Nothing was blocked: ${primary} still takes writes`,
      ),
    );
    expect(r.fix).toMatch(/--catch-up-timeout.*migrate resume/);
    expect(blocked, 'the write block never started').toBe(false);
    // "Nothing was blocked", on the probe's clock: no gap over the run beyond its baseline + the margin.
    expectNoBlockSeen(during, 'b3 run');
    expect(after.writable).toEqual([primary]);
    expect(violations(after, { allowReplicationProblems: true }), JSON.stringify(after)).toEqual([]);
    expect(res.code, show(res)).toBe(0);
    expect(violations(final), JSON.stringify(final)).toEqual([]);
    expectSwitchoverFailures(report, 'b3', { readOnlyWindowMs: readOnlyWindowMs(lastJournal(fc.sb)), intervalMs: 20 });
    expect(rec.held).toBe(true);
  });

  it('b4: another replica stops replicating (STOP SLAVE) during catch-up: exits 1 naming it as a replica, nothing blocked; START SLAVE then resume finishes', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    const stopped = replicas.find((n) => n !== candidate)!;
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('b4');
    const run = fc.start(['apply', '--strategy', 'replica-first'], fc.pause.env('switchover:begin'));
    await fc.pause.reached(run);
    const c = await fc.sb.mysql(stopped);
    try {
      await c.query('STOP SLAVE');
      fc.pause.release();
      const r = await run.done;
      expect(r.code, show(r)).toBe(1);
      // The message says which kind of node it is: the operator repairs a replica, not the candidate.
      expect(r.error).toBe(`Replica ${stopped} is not replicating. Nothing was blocked: ${primary} still takes writes.`);
      expect(r.fix).toMatch(new RegExp(`Repair replication on ${stopped} .*migrate resume`));
      expect(
        lastJournal(fc.sb).some((e) => e.step === 'block-writes'),
        'the write block never started',
      ).toBe(false);
      const after = await readInvariants(fc.sb, { skip: [stopped], probe: probe.snapshot(), probeTable: table });
      expect(after.writable).toEqual([primary]);
      expect(violations(after), JSON.stringify(after)).toEqual([]);
    } finally {
      await c.query('START SLAVE');
      await c.end();
    }
    await fc.caughtUp(stopped, primary);
    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    expect(res.code, show(res)).toBe(0);
    fc.mig.applied(width);
    const final = await readInvariants(fc.sb, { probe: await probe.stop(), probeTable: table, schema: `char(${width})` });
    expect(violations(final), JSON.stringify(final)).toEqual([]);
  });

  it('b5: another replica stuck behind the old primary (SQL thread stopped just before the block): the switchover completes, re-pointing waits for it and exits 1 naming it; START SLAVE then resume finishes', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    const stuck = replicas.find((n) => n !== candidate)!;
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('b5');
    const run = fc.start(['apply', '--strategy', 'replica-first'], fc.pause.env('block-writes:begin'));
    await fc.pause.reached(run);
    const c = await fc.sb.mysql(stuck);
    try {
      // Caught up at the catch-up step; from now on it applies nothing, while the probe keeps writing.
      await c.query('STOP SLAVE SQL_THREAD');
      await sleep(300);
      fc.pause.release();
      const r = await run.done;
      expect(r.code, show(r)).toBe(1);
      // Re-pointed without waiting, it would have skipped the check that it reached the old primary's position.
      expect(r.error).toMatch(
        new RegExp(
          `^Replica ${stuck} did not reach the old primary's position \\S+ within 30 s after the switchover; ${candidate} is the new primary and takes writes, ${stuck} still replicates from ${primary}\\.$`,
        ),
      );
      expect(r.fix).toMatch(/migrate resume/);
      const after = await readInvariants(fc.sb, { skip: [stuck], probe: probe.snapshot(), probeTable: table });
      expect(after.writable).toEqual([candidate]);
    } finally {
      await c.query('START SLAVE');
      await c.end();
    }
    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    expect(res.code, show(res)).toBe(0);
    fc.mig.applied(width);
    const final = await readInvariants(fc.sb, { probe: await probe.stop(), probeTable: table, schema: `char(${width})` });
    expect(violations(final), JSON.stringify(final)).toEqual([]);
  });

  it('b2: the candidate stopped inside the write block: the bound aborts, the old primary is writable again, then resume finishes', async () => {
    const maxWriteBlockMs = 2000;
    const { primary, candidate } = await fc.roles();
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('b2');
    const baseline = await baselineWindow(fc.sb.app, 2000);
    const run = fc.start(['apply', '--strategy', 'replica-first', '--max-write-block', String(maxWriteBlockMs)], fc.pause.env('wait-candidate:begin'));
    await fc.pause.reached(run);
    signalNode(fc.sb, candidate, 'SIGSTOP');
    fc.pause.release();
    try {
      const r = await run.done;
      const entries = lastJournal(fc.sb);
      const blockMs = journalSpan(entries, ['block-writes', 'begin'], ['undo', 'end']);
      const afterUndo = probe.snapshot();
      const block = journaledBlock(entries, 'undo');
      const seen = block && probeAcross(afterUndo, baseline, block);
      const after = await readInvariants(fc.sb, { skip: [candidate], probe: afterUndo, probeTable: table });
      const res = await recover(candidate, primary, width, true);
      const report = await probe.stop();
      const final = await readInvariants(fc.sb, { probe: report, probeTable: table, schema: `char(${width})` });
      const rec = recordFault({
        id: 'b2-replica-stopped-write-block',
        fault: `the candidate replica (${candidate}) stopped with SIGSTOP inside the write block, while the coordinator waits for it to reach the old primary's position`,
        expected: `abort at the write-block bound (--max-write-block ${maxWriteBlockMs}), old primary writable again, endpoint unmoved; \`migrate resume\` finishes after SIGCONT`,
        coordinator: coordinator(`migrate apply --strategy replica-first --max-write-block ${maxWriteBlockMs}`, r),
        after: summarize(after, { skipped: [candidate] }),
        recovery: {
          steps: `SIGCONT ${candidate}, wait until it replicates; \`migrate apply\` refuses (the run must be resumed or aborted); \`migrate resume\``,
          command: coordinator('migrate resume', res),
          after: summarize(final),
        },
        timings: { writeBlockUntilUndoMs: blockMs, boundMs: maxWriteBlockMs, longestProbeGapMs: report.longestGapMs, probeFailedWrites: report.failed },
        held:
          r.code === 1 &&
          blockMs !== undefined &&
          seen !== undefined &&
          blockMs <= undoneBoundMs(maxWriteBlockMs, seen) &&
          allHeld(summarize(after)) &&
          res.code === 0 &&
          allHeld(summarize(final)),
      });
      expect(r.code, show(r)).toBe(1);
      expect(r.error).toMatch(new RegExp(`candidate ${candidate} did not answer while the write block \\(bound: ${maxWriteBlockMs} ms\\)`));
      expect(r.fix).toMatch(new RegExp(`undone: ${primary} is writable again`));
      expect(r.fix).toMatch(/migrate resume/);
      expect(blockMs, 'write block until undo (journal)').toBeDefined();
      // The bound plus the undo, on the tool's journal and on the probe's clock, within the one margin.
      expect(seen, 'the block and its undo are journaled').toBeDefined();
      expect(blockMs!).toBeLessThanOrEqual(undoneBoundMs(maxWriteBlockMs, seen!));
      expectProbeAcross(seen!, { label: 'b2 (undone)', blockMs: blockMs!, limitMs: maxWriteBlockMs, reconnect: false, lockedMs: block!.lockedMs });
      // The undo ends no session: the probe's write waited for UNLOCK and committed.
      expect(afterUndo.failed, JSON.stringify(afterUndo.errors)).toBe(0);
      // Then resume's switchover (the last journal): what the probe may lose at its block.
      expectSwitchoverFailures(report, 'b2', { readOnlyWindowMs: readOnlyWindowMs(lastJournal(fc.sb)), intervalMs: 20 });
      expect(after.writable).toEqual([primary]);
      expect(violations(after), JSON.stringify(after)).toEqual([]);
      expect(violations(final), JSON.stringify(final)).toEqual([]);
      expect(rec.held).toBe(true);
    } finally {
      resumeNode(fc.sb, candidate);
    }
  });
});
