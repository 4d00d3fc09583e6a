/**
 * The margins the switchover tests allow beyond a measured figure, in one place without test
 * imports, so scripts/reliability-doc.ts states the same numbers the tests assert
 * (test/helpers/probe-gaps.ts explains and applies them).
 */

/**
 * The one margin, ms, a switchover's timings get beyond their figure and the baseline, wherever
 * a test checks one:
 * - the probe's longest gap over the write block <= the block (the tool's writeBlockMs, or the
 *   --max-write-block bound for a block that was undone) + the baseline gap + the baseline
 *   reconnect (when the endpoint moved, the probe reconnects) + this;
 * - the tool's own journal span of a block that was undone <= --max-write-block + the baseline
 *   gap + this (the undo, read_only OFF and UNLOCK on the old primary, after the bound expired).
 * The figures it was chosen from are the `[gap]` lines these tests log; docs/reliability.md
 * ("Timing margins") lists them and the commands that produced them. The worst excess measured
 * beyond the baselines was 119 ms (bench/results/timing-margins.json: a master-master switchover whose probe took 429 ms to commit
 * again after the endpoint moved, with the old active's ALTER starting on the same 2 cores), at
 * a load average of 6-12: this is about twice that. A switchover that stalls writes a few
 * hundred ms beyond what it reports (or an undo that overruns the bound by as much) fails it.
 */
export const SWITCHOVER_MARGIN_MS = 250;

/**
 * How much shorter than the tool's block the probe's gap may be, ms: the read lock lets the
 * probe's statement already in flight commit inside the block, and journal timestamps have ms
 * resolution on another clock (Date, converted to performance.now()).
 */
export const BLOCK_EDGE_TOLERANCE_MS = 25;
