/** What analyse() measured, for `--stats` and the tests that compare the speed-ups. */
export interface AnalyseStats {
  shadowMs: number;
  applyMs: number;
  snapshotMs: number;
  reversalMs: number;
  cachedMigrations: number;
  analysedMigrations: number;
  /** Time spent preparing workload statements (--queries / --new-queries). */
  workloadMs?: number;
  /** Set when a re-plan restored only this many tables next to the cached snapshot. */
  partialRestore?: number;
  /** Wall time of each parallel segment ([from, to) of the migrations, ms). */
  segments?: { from: number; to: number; ms: number }[];
  /** How the shadow server was used: throwaway (as given) or shared (through an account of the run's own). */
  isolation?: 'throwaway' | 'shared';
  /** Why, in words, for the report's shadow line. */
  isolationReason?: string;
  /** Set when the run held the server-wide lock, one segment at a time: which statement needed it. */
  serverWide?: string;
}
