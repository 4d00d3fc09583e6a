import type { ReplayWatch } from '../../engines/index.ts';
import { ReadPoolRun, type ReadPoolRunOptions } from './run.ts';

/**
 * The read pool while an in-place run (PostgreSQL) waits for its streaming replicas to replay a
 * migration: a replica still behind after the pool's lag bound serves stale reads, so it is
 * drained (the same rules and journal steps as before a replica-first ALTER: never the last
 * reader without --drain-last-reader) and returns once it has replayed and its lag is under the
 * bound. The pool's membership is journaled (`read-pool`) only when a replica first falls
 * behind, so a run whose replicas keep up leaves no pool steps; resume / abort restore from it.
 */
export function replayWatch(o: ReadPoolRunOptions & { caughtUp: NonNullable<ReadPoolRunOptions['caughtUp']> }): ReplayWatch {
  let run: Promise<ReadPoolRun> | undefined;
  // The replicas are watched side by side: one pool change at a time, so two replicas falling
  // behind together cannot both see the other serving and leave no reader.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    staleAfterMs: o.pool.maxLagSeconds * 1000,
    stale: (node, behind) =>
      serial(async () => {
        run ??= ReadPoolRun.start(o);
        await (await run).stale(node, behind);
      }),
    replayed: (node) =>
      serial(async () => {
        if (run) await (await run).afterAlter(node);
      }),
  };
}
