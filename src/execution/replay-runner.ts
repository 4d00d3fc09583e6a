import type { ClusterConfig } from '../config/index.ts';
import type { InPlaceCluster, ReplayWatch } from '../engines/index.ts';
import type { Logger } from '../log/index.ts';
import { Runner, type RunResult } from '../migrations/index.ts';

/**
 * The runner of an in-place cluster run: after each `up` (one migration: apply runs `up --to`)
 * it waits until the streaming replicas replayed it, so the code deployed next reads the new
 * schema on a replica too, and says how long that took.
 */
export class ReplayingRunner extends Runner {
  private replay?: { ops: InPlaceCluster; cluster: ClusterConfig; timeoutMs: number; logger: Logger; watch?: () => ReplayWatch | undefined };

  /** `watch` (the read pool, when the cluster names one): a fresh watcher for each migration's wait. */
  waitForReplicas(ops: InPlaceCluster, cluster: ClusterConfig, timeoutMs: number, logger: Logger, watch?: () => ReplayWatch | undefined): this {
    this.replay = { ops, cluster, timeoutMs, logger, ...(watch ? { watch } : {}) };
    return this;
  }

  override async up(opts: { to?: string; only?: string } = {}): Promise<RunResult> {
    const res = await super.up(opts);
    const w = this.replay;
    if (!w || res.ids.length === 0) return res;
    const report = await w.ops.waitForReplay(w.cluster, w.timeoutMs, w.watch?.());
    if (report.replicas.length === 0) return res;
    const id = res.ids.at(-1) ?? '';
    w.logger.info(`${id}: replicas replayed it (primary WAL ${report.lsn}): ${report.replicas.map((r) => `${r.node} after ${r.waitedMs} ms`).join(', ')}`);
    w.logger.event?.('replay', { migration: id, lsn: report.lsn, replicas: report.replicas });
    return res;
  }
}
