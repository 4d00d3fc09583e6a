import type { MigrationSource } from '../migrations/index.ts';
import { holdsSecret } from '../log/index.ts';
import { storeFacts } from './analyse-cache.ts';
import type { AnalyseStats } from './analyse-stats.ts';
import { dumpSchema } from './restore.ts';
import { Aborted, ShadowAnalyser, snapshotterOf, type FailedUp, type Workloads } from './shadow-analyser.ts';
import { MigrationFailed, ShadowDatabase } from './shadow.ts';
import type { ShadowRun } from './shadow-run.ts';
import type { AnalyseOptions } from './options.ts';
import type { SchemaSnapshot } from './types.ts';
import type { MigrationFacts } from './verdict.ts';

/** Segments analysed side by side, each on its own shadow database (see planSegments). */
export const DEFAULT_PARALLEL = 2;
/** Below this many migrations one shadow is faster than two (creating one costs ~20 ms). */
const MIN_PER_SEGMENT = 12;

/**
 * Splits [start, end) into up to `k` segments analysed in parallel. Segment j must first replay
 * everything before it (plain applies, no probes or snapshots), then analyse its own migrations
 * (up + snapshot + probe, later down + snapshot: about twice a plain apply). Balancing
 *   2·x1 = x1 + 2·x2 = x1 + x2 + 2·x3 = ...   gives   x(j+1) = x(j) / 2,
 * so two segments take 2/3 and 1/3 and finish in ~4/3 of the applies instead of 2.
 */
export function planSegments(start: number, end: number, k: number): [number, number][] {
  const n = end - start;
  const parts = Math.max(1, Math.min(k, Math.floor(n / MIN_PER_SEGMENT)));
  if (parts === 1) return [[start, end]];
  const weights = Array.from({ length: parts }, (_, j) => 2 ** -j);
  const total = weights.reduce((a, b) => a + b, 0);
  const out: [number, number][] = [];
  let from = start;
  for (let j = 0; j < parts; j++) {
    const to = j === parts - 1 ? end : Math.min(end, from + Math.max(1, Math.round((n * weights[j]!) / total)));
    out.push([from, to]);
    from = to;
  }
  return out.filter(([a, b]) => b > a);
}

/** What the segments of one analysis share. */
export interface SegmentJob {
  run: ShadowRun;
  home: string | undefined;
  migrations: MigrationSource[];
  stats: AnalyseStats;
  workload: Workloads;
  checkReversibility: boolean;
  cache: AnalyseOptions['cache'];
  keys: string[];
  /** The first migration to analyse, and the dump of the state before it (cached), if any. */
  start: number;
  restore: string[] | undefined;
  /** Set when the target's history (migrations before `start`) is replayed to be cached for later plans. */
  baseKey: string | undefined;
  /** The facts so far; the segments' facts are appended in order. */
  facts: (MigrationFacts | undefined)[];
  /** Set when an up failed on the server: the facts stop before it. */
  failed?: FailedUp;
}

interface SegmentResult {
  facts: MigrationFacts[];
  failed?: FailedUp;
  dump: string[] | null;
  snapshot: SchemaSnapshot | null;
}

/**
 * Analyses migrations [job.start, end) in segments side by side, one throwaway database each. Each
 * segment creates its own and drops it as soon as it is done, so creating and dropping overlap the
 * other segment's work instead of adding to it.
 */
export async function analyseSegments(job: SegmentJob, parallel: number): Promise<void> {
  const segments = planSegments(job.start, job.migrations.length, parallel);
  const shadows: ShadowDatabase[] = [];
  try {
    const abort = { stop: false };
    const results = await Promise.allSettled(segments.map((range, k) => runSegment(job, range, k, abort, shadows)));
    // The earliest segment's error is the one to report: a later segment replaying the same
    // migration fails the same way, or was stopped because of it. A failed migration is no error:
    // the segments before it and its own give their facts, the later ones (which replayed it and
    // failed, or never reached it) give none.
    let restoreAtEnd: string[] | undefined;
    let snapshotAtEnd: SchemaSnapshot | undefined;
    for (const r of results) {
      if (r.status === 'rejected') {
        if (r.reason instanceof MigrationFailed) {
          // No earlier segment reported it (a replay that failed where the analysis did not): the
          // migration is the failure all the same, and those from here on have no verdict.
          const failed = r.reason;
          job.failed = { index: job.migrations.findIndex((m) => m.id === failed.id), failure: failed.failure };
          break;
        }
        const first = results.find(
          (x): x is PromiseRejectedResult => x.status === 'rejected' && !(x.reason instanceof Aborted) && !(x.reason instanceof MigrationFailed),
        );
        throw first ? first.reason : r.reason;
      }
      job.facts.push(...r.value.facts);
      restoreAtEnd = r.value.dump ?? undefined;
      snapshotAtEnd = r.value.snapshot ?? undefined;
      if (r.value.failed) {
        job.failed = r.value.failed;
        restoreAtEnd = undefined;
        snapshotAtEnd = undefined;
        break;
      }
    }
    if (job.cache) await storeFacts(job.cache, job.keys, job.facts, job.start, restoreAtEnd, snapshotAtEnd);
  } finally {
    const t = Date.now();
    await Promise.all(shadows.map((s) => s.dispose()));
    job.stats.shadowMs += Date.now() - t;
  }
}

async function runSegment(
  job: SegmentJob,
  [from, to]: [number, number],
  k: number,
  abort: { stop: boolean },
  shadows: ShadowDatabase[],
): Promise<SegmentResult> {
  const { stats, migrations } = job;
  const t0 = Date.now();
  let shadow: ShadowDatabase;
  try {
    shadow = await ShadowDatabase.create(job.run, { ...(job.home !== undefined ? { home: job.home } : {}) });
  } catch (e) {
    abort.stop = true;
    throw e;
  }
  shadows.push(shadow);
  stats.shadowMs += Date.now() - t0;
  const analyser = new ShadowAnalyser(shadow, snapshotterOf(shadow), migrations, stats, job.workload, abort);
  try {
    await analyser.rebuild(from - 1, job.restore ? { at: job.start - 1, sql: job.restore } : undefined);
    if (k === 0 && job.baseKey && job.cache && !job.restore) await cacheHistory(job, shadow, analyser);
    const facts = await analyser.analyseRange(from, to, job.checkReversibility, Boolean(job.cache) && to === migrations.length);
    (stats.segments ??= []).push({ from, to, ms: Date.now() - t0 });
    const result: SegmentResult = { facts, dump: analyser.finalDump, snapshot: analyser.finalState };
    if (analyser.failure) result.failed = analyser.failure;
    return result;
  } catch (e) {
    // A migration of an earlier segment failed in this one's replay: that segment analyses it and
    // reports the failure, so it must not be stopped. Anything else stops them all.
    if (!(e instanceof MigrationFailed) || k === 0) abort.stop = true;
    if (e instanceof MigrationFailed && k === 0) {
      // The first segment's replay covers what needs no verdict here (plan's applied history, or
      // the cached prefix): nothing after the failed migration can be analysed.
      const index = migrations.findIndex((m) => m.id === e.id);
      return { facts: [], dump: null, snapshot: null, failed: { index, failure: e.failure } };
    }
    throw e;
  } finally {
    const td = Date.now();
    await shadow.dispose();
    stats.shadowMs += Date.now() - td;
  }
}

/** The target's history, replayed once: later plans restore it from this dump. */
async function cacheHistory(job: SegmentJob, shadow: ShadowDatabase, analyser: ShadowAnalyser): Promise<void> {
  const td = Date.now();
  const dump = await dumpSchema(shadow);
  job.stats.snapshotMs += Date.now() - td;
  const state = analyser.stateAt(job.start - 1);
  if (dump && job.cache && job.baseKey && !holdsSecret(dump.join('\n')))
    await job.cache.set(job.baseKey, state ? { restore: dump, snapshot: state } : { restore: dump });
}
