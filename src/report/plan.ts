import { factsOf, type MigrationVerdict, type WorkRate } from '../analysis/index.ts';
import type { Dialect } from '../config/index.ts';

/**
 * The model behind `migrate plan`: the pending migrations in the order they run around the code
 * deploy, with the size of the tables they touch on the target and a duration estimate for the
 * steps that hold something up (a blocking ALTER, a replica-first ALTER on every node).
 *
 * How durations are estimated (rough, order of magnitude; shown with every estimate):
 *   seconds = estimated rows of the table (information_schema.TABLES.TABLE_ROWS / pg_class.reltuples)
 *             / the throughput of the operation on this kind of server:
 *     table copy or rewrite (MySQL ALGORITHM=COPY, PostgreSQL rewrite)   250,000 rows/s
 *     in-place rebuild (MySQL ALGORITHM=INPLACE)                          400,000 rows/s
 *     index build (PostgreSQL CREATE INDEX, unique constraint)          1,000,000 rows/s
 *     validation scan (PostgreSQL SET NOT NULL, FK/CHECK validation)    5,000,000 rows/s
 *   The copy rate is what was measured here on MariaDB 10.11 (a 1M-row table copied in 3.4-4.0 s,
 *   see DESIGN.md); the others are scaled from it. A replica-first step runs the ALTER once per
 *   node, one node at a time, plus a switchover whose write block is bounded by the executor's
 *   setting (typically under a second), so writes are blocked only for the switchover.
 */
export interface TableSize {
  table: string;
  /** Estimated rows (statistics, not a count); null when the table does not exist on the target yet. */
  rows: number | null;
  /** Data + index bytes, when the server reports them. */
  bytes: number | null;
}

export interface Estimate {
  /** Seconds the step takes (per node for replica-first). */
  seconds: number;
  /** Seconds writes to the table are blocked. */
  blockedSeconds: number;
  /** How it was computed, in words. */
  basis: string;
}

export interface PlanStep {
  kind: 'pre-deploy' | 'deploy' | 'post-deploy';
  migration?: string;
  strategy?: MigrationVerdict['strategy'];
  description: string;
  tables?: TableSize[];
  estimate?: Estimate;
}

export interface PlanModel {
  /** The target database, redacted: user@host:port/database. */
  target: string;
  applied: number;
  pending: number;
  steps: PlanStep[];
  /** Per pending migration, for the JSON output. */
  sizes: Record<string, TableSize[]>;
  estimates: Record<string, Estimate>;
  warnings: string[];
  /** Nodes a replica-first step runs its ALTER on (from the config's clusters; 2 when unknown). */
  nodes: number;
}

export const RATES: Readonly<Record<WorkRate, number>> = { copy: 250_000, inplace: 400_000, index: 1_000_000, scan: 5_000_000 };

/** The tables a migration changes (what its estimate is about). */
export function touchedTables(v: MigrationVerdict): string[] {
  const out = new Set<string>();
  for (const c of v.changes) {
    if (c.kind === 'table_added') continue;
    if ('table' in c) out.add(c.kind === 'table_renamed' ? c.from : c.table);
  }
  for (const f of v.findings) {
    const family = factsOf(f.rule)?.family;
    if (f.table && (family === 'blocking-mysql' || family === 'blocking-postgres')) out.add(f.table);
  }
  return [...out];
}

function rateFor(rule: string): [number, string] | undefined {
  const work = factsOf(rule)?.work;
  return work ? [RATES[work.rate], work.label] : undefined;
}

function fmtRows(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}k` : String(Math.round(n));
}

/** Duration of a blocking or replica-first migration; undefined for the others. */
export function estimateMigration(v: MigrationVerdict, sizes: TableSize[], nodes: number): Estimate | undefined {
  if (!v.blocking && v.strategy !== 'replica-first') return undefined;
  const rows = new Map(sizes.map((s) => [s.table, s.rows ?? 0]));
  let seconds = 0;
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const f of v.findings) {
    const r = f.table ? rateFor(f.rule) : undefined;
    if (!r || !f.table) continue;
    const key = `${f.rule}\0${f.table}\0${f.statement ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const n = rows.get(f.table) ?? 0;
    seconds += n / r[0];
    parts.push(`${r[1]} of ${f.table} (${fmtRows(n)} rows at ${fmtRows(r[0])} rows/s)`);
  }
  if (!parts.length) return { seconds: 0, blockedSeconds: 0, basis: 'no table-sized work found' };
  if (v.strategy === 'replica-first') {
    return {
      seconds: seconds * nodes,
      blockedSeconds: 0,
      basis: `${parts.join(' + ')}, once on each of ${nodes} nodes; writes blocked only during the switchover (bounded by the executor's write-block limit)`,
    };
  }
  return { seconds, blockedSeconds: seconds, basis: `${parts.join(' + ')}; writes to the table wait the whole time` };
}

export function fmtSeconds(s: number): string {
  if (s < 1) return s === 0 ? '0 s' : '< 1 s';
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function buildPlan(input: {
  dialect: Dialect;
  target: string;
  applied: number;
  verdicts: MigrationVerdict[];
  sizes: Record<string, TableSize[]>;
  nodes: number;
  warnings?: string[];
}): PlanModel {
  const estimates: Record<string, Estimate> = {};
  const steps: PlanStep[] = [];
  const warnings = [...(input.warnings ?? [])];
  const step = (v: MigrationVerdict): PlanStep => {
    const tables = input.sizes[v.id] ?? [];
    const e = estimateMigration(v, tables, input.nodes);
    if (e) estimates[v.id] = e;
    const how =
      v.strategy === 'replica-first'
        ? `replica-first: ALTER each replica with binary logging off${
            v.replicaSettings
              ? ` and ${Object.entries(v.replicaSettings)
                  .map(([k, val]) => `${k}=${val}`)
                  .join(', ')}`
              : ''
          }, switch the primary, then ALTER the old primary`
        : v.strategy === 'refused'
          ? `refused: ${v.refusedReason ?? 'not safe to run'}`
          : v.blocking
            ? 'in place, blocking writes while it runs'
            : 'in place, online';
    const s: PlanStep = { kind: v.phase, migration: v.id, strategy: v.strategy, description: how, tables };
    if (e) s.estimate = e;
    return s;
  };
  const pre = input.verdicts.filter((v) => v.phase === 'pre-deploy');
  const post = input.verdicts.filter((v) => v.phase === 'post-deploy');
  steps.push(...pre.map(step));
  steps.push({
    kind: 'deploy',
    description:
      'Hand-off: deploy the new code everywhere (blue/green, rolling restart) and confirm it is live; the old release must be gone before the post-deploy steps.',
  });
  steps.push(...post.map(step));
  // Running expand steps before contract steps changes the id order when they interleave.
  const firstPost = input.verdicts.findIndex((v) => v.phase === 'post-deploy');
  if (firstPost >= 0) {
    const late = input.verdicts.slice(firstPost + 1).filter((v) => v.phase === 'pre-deploy');
    if (late.length) {
      const one = late.length === 1;
      warnings.push(
        `${late.map((v) => v.id).join(', ')} (pre-deploy) ${one ? 'sorts' : 'sort'} after ${input.verdicts[firstPost]!.id} (post-deploy) and will run before it: make sure ${one ? 'it does' : 'they do'} not depend on it.`,
      );
    }
  }
  return { target: input.target, applied: input.applied, pending: input.verdicts.length, steps, sizes: input.sizes, estimates, warnings, nodes: input.nodes };
}
