/**
 * What an independent write probe (src/load/write-probe.ts: one connection, one INSERT every
 * 10-20 ms through the writer endpoint, in the test's own process) must have seen across a
 * switchover's write block, judged against a baseline the same test measured under the same load
 * just before the run, and the one margin every switchover test allows on top of it.
 *
 * Why a baseline and not an absolute figure: CI runs two test files at a time on 2 cores, where
 * the probe's ordinary gap between two commits, and what a reconnect through HAProxy costs, vary
 * several-fold from run to run (scheduling, the other file's servers). Both are measured in the
 * same test right before the run, so the constant margin left on top of them only has to cover
 * the difference between two moments of the same machine, not the machine itself.
 */
import mysql from 'mysql2/promise';
import { expect } from 'vitest';
import type { ProbeReport, ProbeTarget } from '../../src/load/write-probe.ts';
import { BLOCK_EDGE_TOLERANCE_MS, SWITCHOVER_MARGIN_MS } from './switchover-margins.ts';

export { BLOCK_EDGE_TOLERANCE_MS, SWITCHOVER_MARGIN_MS };

/** A baseline measured on fewer commits than this says nothing about the machine's noise. */
const MIN_BASELINE_ACKS = 20;

/** Wall-clock time (a journal's ISO `ts`) -> this process's performance.now(), the probe's clock. */
export const toPerf = (iso: string): number => Date.parse(iso) - (Date.now() - performance.now());

/** The journal entries a switchover writes (the local run file, or the switchover's own journal). */
type Entry = { step: string; phase: string; ts: string };

/**
 * The write block as the journal records it, on the probe's clock: from `block-writes:begin` to
 * `<end>:end` (`move-endpoint` for a completed switchover, `undo` for one undone), and the part
 * of it after the read lock was granted (`block-writes:end`). Undefined when not journaled.
 */
export function journaledBlock(entries: Entry[], end: 'move-endpoint' | 'undo'): { from: number; to: number; spanMs: number; lockedMs: number } | undefined {
  const a = entries.find((e) => e.step === 'block-writes' && e.phase === 'begin');
  const l = entries.find((e) => e.step === 'block-writes' && e.phase === 'end');
  const b = entries.find((e) => e.step === end && e.phase === 'end');
  if (!a || !l || !b) return undefined;
  return { from: toPerf(a.ts), to: toPerf(b.ts), spanMs: Date.parse(b.ts) - Date.parse(a.ts), lockedMs: Date.parse(b.ts) - Date.parse(l.ts) };
}

export interface Baseline {
  /** The window on the probe's clock. */
  from: number;
  to: number;
  /** Longest of the reconnects timed in the window (connect through the endpoint + one statement), ms. */
  connectMs: number;
}

/**
 * Lets the probe run `ms` with nothing migrating, and meanwhile times a fresh connection through
 * `endpoint` (connect, handshake, `SELECT 1`) every 250 ms: what the probe's reconnect after
 * HAProxy's `shutdown sessions` costs on this machine right now. Returns the window on the
 * probe's clock and the longest reconnect.
 */
export async function baselineWindow(endpoint: ProbeTarget, ms = 2000): Promise<Baseline> {
  const from = performance.now();
  let connectMs = 0;
  while (performance.now() - from < ms - 250) {
    const t = performance.now();
    const c = await mysql.createConnection({ ...endpoint, connectTimeout: 2000 });
    try {
      await c.query('SELECT 1');
    } finally {
      await c.end();
    }
    connectMs = Math.max(connectMs, performance.now() - t);
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, ms - (performance.now() - from))));
  return { from, to: performance.now(), connectMs: Math.round(connectMs * 10) / 10 };
}

export interface ProbeAcross {
  /** Longest gap between two acknowledgements both inside the baseline window, ms. */
  baselineMs: number;
  baselineAcks: number;
  /** The longest reconnect timed in the baseline window, ms. */
  connectMs: number;
  /** Longest gap between two consecutive acknowledgements that overlaps the block, ms. */
  gapMs: number;
  /** Of that gap: from its first acknowledgement to the block's start, and from the block's end to its last one. */
  leadMs: number;
  tailMs: number;
  /** Acknowledgements before the block began, inside it, and after it ended. */
  ackedBefore: number;
  ackedWithin: number;
  ackedAfter: number;
}

/** Reads, from the probe's own acknowledgement times, the baseline and what it saw over the block. */
export function probeAcross(report: Pick<ProbeReport, 'ackTimes'>, baseline: Baseline, block: { from: number; to: number }): ProbeAcross {
  const t = report.ackTimes;
  let baselineMs = 0;
  let baselineAcks = 0;
  let gapMs = 0;
  let gapAt = 0;
  for (let i = 0; i < t.length; i++) {
    const b = t[i]!;
    if (b >= baseline.from && b <= baseline.to) baselineAcks++;
    if (i === 0) continue;
    const a = t[i - 1]!;
    if (a >= baseline.from && b <= baseline.to) baselineMs = Math.max(baselineMs, b - a);
    if (b >= block.from && a <= block.to && b - a > gapMs) {
      gapMs = b - a;
      gapAt = a;
    }
  }
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  return {
    baselineMs: r1(baselineMs),
    baselineAcks,
    connectMs: baseline.connectMs,
    gapMs: r1(gapMs),
    leadMs: r1(block.from - gapAt),
    tailMs: r1(gapAt + gapMs - block.to),
    ackedBefore: t.filter((x) => x < block.from).length,
    ackedWithin: t.filter((x) => x >= block.from && x <= block.to).length,
    ackedAfter: t.filter((x) => x > block.to).length,
  };
}

/**
 * The probe saw the block the tool reports, and no more than the block plus the margin:
 * - it acknowledged writes before the block and after it (a probe that saw nothing proves nothing);
 * - its gap over the block is at least the part of the block after the read lock was granted
 *   (`lockedMs`, journal `block-writes:end` to the block's end; default the whole block), less
 *   BLOCK_EDGE_TOLERANCE_MS: writes really stopped for as long as the tool says. Not the whole
 *   block: FLUSH TABLES WITH READ LOCK lets statements already running commit before it returns
 *   (measured: the probe's last commit came up to 88 ms after `block-writes:begin` on a loaded
 *   machine, privileged-clients run 1);
 * - its gap is at most `limitMs` (the tool's block, or the bound of a block that was undone) +
 *   its baseline gap + (`reconnect`: the endpoint moved, so it reconnected) its baseline
 *   reconnect + SWITCHOVER_MARGIN_MS.
 * Returns the line it logs: the figures the margin was chosen from.
 */
export function expectProbeAcross(p: ProbeAcross, o: { label: string; blockMs: number; limitMs: number; reconnect: boolean; lockedMs?: number }): string {
  const allowed = o.limitMs + p.baselineMs + (o.reconnect ? p.connectMs : 0) + SWITCHOVER_MARGIN_MS;
  const line = `[gap] ${o.label}: block ${o.blockMs} ms, probe gap over it ${p.gapMs} ms (${p.leadMs} before it, ${p.tailMs} after it), allowed ${Math.round(allowed)}; baseline gap ${p.baselineMs} ms over ${p.baselineAcks} commits, reconnect ${p.connectMs} ms; ${p.ackedBefore} acknowledged before / ${p.ackedAfter} after`;
  console.log(line);
  expect(p.baselineAcks, `${o.label}: commits in the baseline window`).toBeGreaterThanOrEqual(MIN_BASELINE_ACKS);
  expect(p.ackedBefore, `${o.label}: writes acknowledged before the block`).toBeGreaterThan(0);
  expect(p.ackedAfter, `${o.label}: writes acknowledged after the block`).toBeGreaterThan(0);
  expect(p.gapMs, `${o.label}: the probe's gap covers the block while the lock was held`).toBeGreaterThanOrEqual(
    (o.lockedMs ?? o.blockMs) - BLOCK_EDGE_TOLERANCE_MS,
  );
  expect(p.gapMs, `${o.label}: the probe's gap within block/bound + baseline + margin`).toBeLessThanOrEqual(allowed);
  return line;
}

/**
 * "Nothing was blocked", on the probe's clock: over a run that took no write block, the probe
 * kept committing, its longest gap within twice its baseline gap + SWITCHOVER_MARGIN_MS. Twice:
 * the run lasts several times the baseline window, and the longest of more gaps is longer
 * (replica-stopped b1 measured 109-245 ms over its ~10 s runs against baselines of 46-95 ms
 * over 2 s: at most 142 ms beyond twice the baseline, in 6 runs).
 */
export function expectNoBlockSeen(p: ProbeAcross, label: string): string {
  const allowed = 2 * p.baselineMs + SWITCHOVER_MARGIN_MS;
  const line = `[gap] ${label}: no block; probe's longest gap over the run ${p.gapMs} ms (${p.ackedWithin} commits), allowed ${Math.round(allowed)}; baseline gap ${p.baselineMs} ms over ${p.baselineAcks} commits`;
  console.log(line);
  expect(p.baselineAcks, `${label}: commits in the baseline window`).toBeGreaterThanOrEqual(MIN_BASELINE_ACKS);
  expect(p.ackedWithin, `${label}: writes acknowledged during the run`).toBeGreaterThan(0);
  expect(p.gapMs, `${label}: the probe kept committing through the run`).toBeLessThanOrEqual(allowed);
  return line;
}

/**
 * How long new writes through the endpoint were refused rather than queued, ms: read_only is set
 * on the old primary inside the block, and MariaDB checks read_only before a write waits for the
 * read lock, so a statement that arrives between `read-only-old-primary` and the endpoint's move
 * fails at once (ER_OPTION_PREVENTS_STATEMENT) instead of waiting. 0 when the journal has no
 * such span (the block was undone before read_only was set).
 */
export function readOnlyWindowMs(entries: Entry[]): number {
  const a = entries.find((e) => e.step === 'read-only-old-primary' && e.phase === 'begin');
  const b = entries.find((e) => e.step === 'move-endpoint' && e.phase === 'end');
  return a && b ? Date.parse(b.ts) - Date.parse(a.ts) : 0;
}

/**
 * What a one-connection probe may lose at a completed switchover: its one statement in flight at
 * the endpoint's move (HAProxy's `shutdown sessions`, or the session sweep on the old primary,
 * ends it), and the statements it sent while the old primary was read-only but still behind the
 * endpoint (refused at once, each retried after a reconnect: at most one per probe interval of
 * that window, plus the one that straddles it). Measured: privileged-clients run 3 saw
 * {"ER_OPTION_PREVENTS_STATEMENT":1,"PROTOCOL_CONNECTION_LOST":1} over an 80 ms block; every other
 * run one PROTOCOL_CONNECTION_LOST. `before` is the probe's state before this switchover, for a
 * probe that runs longer than one; `switchovers` how many completed while it ran.
 */
export function expectSwitchoverFailures(
  report: Pick<ProbeReport, 'failed' | 'errors'>,
  label: string,
  o: { readOnlyWindowMs: number; intervalMs: number; before?: Pick<ProbeReport, 'failed' | 'errors'>; switchovers?: number },
): void {
  const n = o.switchovers ?? 1;
  const refused = (report.errors['ER_OPTION_PREVENTS_STATEMENT'] ?? 0) - (o.before?.errors['ER_OPTION_PREVENTS_STATEMENT'] ?? 0);
  const other = report.failed - (o.before?.failed ?? 0) - refused;
  const what = `${label}: probe writes that failed ${JSON.stringify(report.errors)}${o.before ? ` (before: ${JSON.stringify(o.before.errors)})` : ''}`;
  expect(other, `${what}: at most the statement in flight at each endpoint move`).toBeLessThanOrEqual(n);
  expect(refused, `${what}: refused by read_only only inside the ${o.readOnlyWindowMs} ms before the endpoint moved`).toBeLessThanOrEqual(
    n * (1 + Math.floor(o.readOnlyWindowMs / o.intervalMs)),
  );
}

/**
 * What the tool's own journal may show for a block that was undone at the bound: the bound + the
 * probe's baseline gap + SWITCHOVER_MARGIN_MS. The undo (read_only OFF, UNLOCK) runs after the
 * bound expired, on the same loaded machine, so it is judged like the probe's gap. Measured:
 * 6-40 ms over a 300 ms bound (switchover.test.ts), 105-179 ms over a 2000 ms bound with the
 * candidate SIGSTOPped (replica-stopped b2), with baseline gaps of 30-145 ms.
 */
export function undoneBoundMs(limitMs: number, p: Pick<ProbeAcross, 'baselineMs'>): number {
  return limitMs + p.baselineMs + SWITCHOVER_MARGIN_MS;
}

/**
 * A probe that shows nothing acknowledged was lost across a completed switchover proves it only
 * if it acknowledged writes on both sides of the block (journal `block-writes:begin` to
 * `move-endpoint:end` of `entries`, the run that completed it).
 */
export function expectAckedAroundSwitchover(report: Pick<ProbeReport, 'ackTimes'>, entries: Entry[], label: string): void {
  const block = journaledBlock(entries, 'move-endpoint');
  expect(block, `${label}: a completed switchover is journaled`).toBeDefined();
  expect(report.ackTimes.filter((t) => t < block!.from).length, `${label}: writes acknowledged before the block`).toBeGreaterThan(0);
  expect(report.ackTimes.filter((t) => t > block!.to).length, `${label}: writes acknowledged after the block`).toBeGreaterThan(0);
}
