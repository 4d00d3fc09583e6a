/**
 * Faults c and e: a server SIGKILLed mid-switchover. c: the candidate dies while it is being
 * promoted; the switchover must be undone with the old primary writable. e: the old primary dies
 * right after the promotion; the switchover must complete without it (new primary writable, the
 * endpoint on it, the other replicas following it) and say what to do about the old one. In both
 * cases the dead server is restarted (it comes back read-only) and `migrate resume` finishes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WriteProbe } from '../../src/load/write-probe.ts';
import { expectAckedAroundSwitchover } from '../helpers/probe-gaps.ts';
import { faultCluster, type FaultCluster } from './cluster.ts';
import { journalSpan, lastJournal, lastJournalPath, show, signalNode, waitDead } from './harness.ts';
import { readInvariants, violations } from './invariants.ts';
import { allHeld, coordinator, recordFault, summarize } from './record.ts';

describe('faults c and e: a server killed (SIGKILL) during the switchover', () => {
  let fc: FaultCluster;
  beforeAll(async () => {
    fc = await faultCluster(2);
  });
  afterAll(async () => {
    await fc?.stop();
  });

  /**
   * Runs `apply` SIGKILLed at `boundary`, then, with nobody running anything, waits up to 10 s
   * for the invariants (nodes in `skip` left out) to hold: what the write-block watchdog restores.
   */
  async function killAndWatch(boundary: string, skip: string[], probe: WriteProbe, table: string) {
    const r = await fc.start(['apply', '--strategy', 'replica-first'], { MIGRATE_FAULT_KILL_AFTER: boundary }).done;
    const killedAt = performance.now();
    const read = () => readInvariants(fc.sb, { skip, probe: probe.snapshot(), probeTable: table });
    let after = await read();
    while (violations(after).length && performance.now() - killedAt < 10_000) {
      await new Promise((res) => setTimeout(res, 100));
      after = await read();
    }
    const ms = Math.round(performance.now() - killedAt);
    // The watchdog writes its note after it acted: the invariants can hold a few ms before it exists.
    const notePath = `${lastJournalPath(fc.sb)}.watchdog`;
    while (!existsSync(notePath) && performance.now() - killedAt < 15_000) await new Promise((res) => setTimeout(res, 50));
    const note = existsSync(notePath) ? readFileSync(notePath, 'utf8') : '(no watchdog note)';
    return { r, after, ms, note };
  }

  it('c: the candidate killed during promotion: the switchover is undone, the old primary writable; restart + resume finish', async () => {
    const { primary, candidate } = await fc.roles();
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('c');
    const run = fc.start(['apply', '--strategy', 'replica-first'], fc.pause.env('promote:begin'));
    await fc.pause.reached(run);
    await waitDead(signalNode(fc.sb, candidate, 'SIGKILL'));
    fc.pause.release();
    const r = await run.done;
    const entries = lastJournal(fc.sb);
    const blockMs = journalSpan(entries, ['block-writes', 'begin'], ['undo', 'end']);
    const after = await readInvariants(fc.sb, { skip: [candidate], probe: probe.snapshot(), probeTable: table });

    await fc.sb.restart(candidate);
    await fc.caughtUp(candidate, primary);
    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    if (res.code === 0) fc.mig.applied(width);
    const resumed = lastJournal(fc.sb);
    const report = await probe.stop();
    const final = await readInvariants(fc.sb, { probe: report, probeTable: table, schema: `char(${width})` });
    const rec = recordFault({
      id: 'c-candidate-killed-promotion',
      fault: `the candidate (${candidate}) SIGKILLed while it is being promoted (inside the write block)`,
      expected: 'undo the switchover: old primary writable again, endpoint unmoved, exit 1 naming the candidate; after a restart `migrate resume` finishes',
      coordinator: coordinator('migrate apply --strategy replica-first', r),
      after: summarize(after, { skipped: [candidate] }),
      recovery: {
        steps: `restart ${candidate} (it comes back read-only), wait until it replicates, \`migrate resume\``,
        command: coordinator('migrate resume', res),
        after: summarize(final),
      },
      timings: { writeBlockUntilUndoMs: blockMs, longestProbeGapMs: report.longestGapMs, probeFailedWrites: report.failed },
      held: r.code === 1 && allHeld(summarize(after)) && res.code === 0 && allHeld(summarize(final)),
    });
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(new RegExp(`candidate ${candidate} was lost during its promotion`));
    expect(r.fix).toMatch(new RegExp(`undone: ${primary} is writable again`));
    expect(r.fix).toMatch(new RegExp(`Start ${candidate} again.*migrate resume`));
    expect(after.writable).toEqual([primary]);
    expect(violations(after), JSON.stringify(after)).toEqual([]);
    expect(res.code, show(res)).toBe(0);
    expect(violations(final), JSON.stringify(final)).toEqual([]);
    // resume completed the switchover: the no-loss check above covers both sides of its block.
    expectAckedAroundSwitchover(report, resumed, 'c (resume)');
    expect(rec.held).toBe(true);
  });

  it('e: the old primary killed after the promotion: the switchover completes without it, exit 1 naming it; restart + resume finish', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('e');
    const run = fc.start(['apply', '--strategy', 'replica-first'], fc.pause.env('promote:end'));
    await fc.pause.reached(run);
    await waitDead(signalNode(fc.sb, primary, 'SIGKILL'));
    fc.pause.release();
    const r = await run.done;
    const writeBlockMs = Number(/write block: ([\d.]+) ms/.exec(r.stderr + r.stdout)?.[1] ?? NaN);
    const switched = lastJournal(fc.sb);
    const after = await readInvariants(fc.sb, { skip: [primary], probe: probe.snapshot(), probeTable: table });
    const topo = await fc.migrate(['topology']);

    await fc.sb.restart(primary);
    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    if (res.code === 0) fc.mig.applied(width);
    const report = await probe.stop();
    const final = await readInvariants(fc.sb, { probe: report, probeTable: table, schema: `char(${width})` });
    const rec = recordFault({
      id: 'e-old-primary-killed-after-promotion',
      fault: `the old primary (${primary}) SIGKILLed right after the candidate was promoted`,
      expected:
        'finish the switchover without it: new primary writable, endpoint on it, other replicas re-pointed; exit 1 naming the old primary and what to do; after a restart `migrate resume` re-points and alters it',
      coordinator: coordinator('migrate apply --strategy replica-first', r),
      after: summarize(after, { skipped: [primary] }),
      recovery: {
        steps: `restart ${primary} (it comes back read-only), \`migrate resume\``,
        command: coordinator('migrate resume', res),
        after: summarize(final),
      },
      timings: {
        writeBlockMs: Number.isFinite(writeBlockMs) ? writeBlockMs : undefined,
        coordinatorMs: r.ms,
        longestProbeGapMs: report.longestGapMs,
        probeFailedWrites: report.failed,
      },
      held: r.code === 1 && allHeld(summarize(after)) && after.writable[0] === candidate && res.code === 0 && allHeld(summarize(final)),
    });
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(new RegExp(`old primary ${primary} stopped answering after ${candidate} was promoted`));
    expect(r.error).toMatch(new RegExp(`${candidate} is the primary now`));
    expect(r.fix).toMatch(new RegExp(`Start ${primary} again.*migrate resume`));
    expect(after.writable).toEqual([candidate]);
    expect(violations(after), JSON.stringify(after)).toEqual([]);
    for (const n of replicas.filter((x) => x !== candidate)) expect(after.replicationProblems.filter((p) => p.startsWith(n))).toEqual([]);
    // `migrate topology` agrees: the new primary is recorded, the dead one is reported unreachable.
    expect(topo.code, show(topo)).toBe(2);
    expect(topo.stdout).toMatch(new RegExp(`${candidate} .* primary +WRITABLE`));
    expect(topo.stdout).toMatch(new RegExp(`${primary} .* UNREACHABLE`));
    expect(res.code, show(res)).toBe(0);
    expect(violations(final), JSON.stringify(final)).toEqual([]);
    // The run completed the switchover without the old primary: the no-loss checks cover both sides of its block.
    expectAckedAroundSwitchover(report, switched, 'e');
    expect(rec.held).toBe(true);
  });

  it('h: the coordinator SIGKILLed after read_only, before the promotion: the watchdog makes the old primary writable again by itself; resume finishes', async () => {
    const { primary, candidate } = await fc.roles();
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('h');
    // Nobody runs anything after the kill: the old primary must take writes again within a few seconds.
    const { r, after, ms: writableAfterMs, note } = await killAndWatch('old-primary-read-only:end', [], probe, table);

    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    if (res.code === 0) fc.mig.applied(width);
    const report = await probe.stop();
    const final = await readInvariants(fc.sb, { probe: report, probeTable: table, schema: `char(${width})` });
    const rec = recordFault({
      id: 'h-coordinator-killed-read-only',
      fault: `the coordinator SIGKILLed inside the write block, after read_only on the old primary (${primary}) and before promoting ${candidate}`,
      expected:
        'the write-block watchdog (a separate process) sees the coordinator die, finds the candidate not promoted and makes the old primary writable again, with nobody running anything; `migrate resume` then finishes',
      coordinator: coordinator('migrate apply --strategy replica-first', r),
      after: summarize(after),
      recovery: { steps: '`migrate resume`', command: coordinator('migrate resume', res), after: summarize(final) },
      timings: { oldPrimaryWritableAgainAfterKillMs: writableAfterMs, longestProbeGapMs: report.longestGapMs, probeFailedWrites: report.failed },
      held: r.signal === 'SIGKILL' && allHeld(summarize(after)) && res.code === 0 && allHeld(summarize(final)),
    });
    expect(r.signal, show(r)).toBe('SIGKILL');
    expect(after.writable, JSON.stringify(after)).toEqual([primary]);
    expect(violations(after), JSON.stringify(after)).toEqual([]);
    expect(writableAfterMs).toBeLessThan(10_000);
    expect(note).toMatch(new RegExp(`before promoting ${candidate}: ${primary} made writable again`));
    expect(res.code, show(res)).toBe(0);
    expect(violations(final), JSON.stringify(final)).toEqual([]);
    expect(rec.held).toBe(true);
  });

  it('a3: the coordinator SIGKILLed right after the promotion, before the endpoint moved: the watchdog moves the endpoint to the new primary; resume finishes', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    // Left out until resume re-points them: the old primary and the replicas still following it.
    const following = [primary, ...replicas.filter((n) => n !== candidate)];
    const { width } = fc.mig.next();
    const { probe, table } = await fc.probe('a3');
    // The old primary is read-only and the others still follow it (resume's job); what matters
    // now: the only writable node gets the writes through the endpoint.
    const { r, after, ms: endpointAfterMs, note } = await killAndWatch('promote:end', following, probe, table);

    const res = await fc.migrate(['resume', '--strategy', 'replica-first']);
    if (res.code === 0) fc.mig.applied(width);
    const report = await probe.stop();
    const final = await readInvariants(fc.sb, { probe: report, probeTable: table, schema: `char(${width})` });
    const rec = recordFault({
      id: 'a3-coordinator-killed-after-promotion',
      fault: `the coordinator SIGKILLed inside the write block right after promoting ${candidate}, before the endpoint moved off ${primary}`,
      expected:
        'the write-block watchdog sees the coordinator die, finds the candidate promoted and the old primary read-only, and moves the endpoint to the candidate, with nobody running anything; `migrate resume` then re-points the old primary and finishes',
      coordinator: coordinator('migrate apply --strategy replica-first', r),
      after: summarize(after, { skipped: following }),
      recovery: { steps: '`migrate resume`', command: coordinator('migrate resume', res), after: summarize(final) },
      timings: { endpointOnNewPrimaryAfterKillMs: endpointAfterMs, longestProbeGapMs: report.longestGapMs, probeFailedWrites: report.failed },
      held: r.signal === 'SIGKILL' && allHeld(summarize(after)) && res.code === 0 && allHeld(summarize(final)),
    });
    expect(r.signal, show(r)).toBe('SIGKILL');
    expect(after.writable, JSON.stringify(after)).toEqual([candidate]);
    expect(violations(after), JSON.stringify(after)).toEqual([]);
    expect(note).toMatch(new RegExp(`after promoting ${candidate}: endpoint moved to it`));
    expect(res.code, show(res)).toBe(0);
    expect(violations(final), JSON.stringify(final)).toEqual([]);
    expect(rec.held).toBe(true);
  });
});
