import type { Knex } from 'knex';
import type { ConnectionConfig, Dialect } from '../config/index.ts';
import type { TargetFitOptions } from './data/target.ts';
import type { AnalysisCache } from './cache.ts';
import type { ShadowOrigin } from './shadow-run.ts';
import type { MigrationVerdict } from './types.ts';
import type { WorkloadQuery } from './workload/parse.ts';

// Apart from types.ts so the schema and verdict types depend on nothing here: the cache stores
// verdict facts, and an options type in types.ts naming the cache made a 9-file import cycle.
export interface AnalyseOptions {
  dialect: Dialect;
  /** Server to create the throwaway shadow database on; its `database` is used only to connect (PG). */
  shadow: ConnectionConfig;
  /**
   * What the caller knows about that server (shadow-run.ts): `own` (our `migrate shadow` server)
   * and `asserted` are used as throwaway; `named` (the default) is looked at, and a server that
   * holds anything else is used through an account of the run's own.
   */
  shadowOrigin?: ShadowOrigin;
  /** MySQL: the database the history was written for (plan: the target's); default the first one it USEs. */
  home?: string;
  /** Things the user should know about the shadow server (a replication source). */
  onWarning?: (message: string) => void;
  /** Acknowledgements from the command line, applied to every migration: rule code and reason. */
  acknowledgements?: { rule: string; reason: string; migration?: string }[];
  /** Run every down on the shadow to check reversibility (default true). */
  checkReversibility?: boolean;
  /** Snapshot cache; re-planning after adding a migration only analyses the new ones. */
  cache?: AnalysisCache;
  /** Called after each migration's verdict, for progress output. */
  onVerdict?: (v: MigrationVerdict) => void;
  /**
   * The first `baseline` migrations are history (already applied on the target): they only seed
   * the shadow with the target's schema and get no verdict. Default 0.
   */
  baseline?: number;
  /**
   * How many shadow databases analyse side by side (default 2): the migrations are split into
   * segments, each replaying what comes before it and analysing its own part (see planSegments).
   */
  parallel?: number;
  /**
   * plan / apply: the target whose rows decide each pending narrowing (data-aware verdicts, see
   * analysis/data/target.ts), with bounded read-only queries after the shadow analysis. Without it
   * a narrowing is decided on the shadow's rows (the history's own inserts).
   */
  dataTarget?: TargetFitOptions & { db: Knex };
  /** Statements the application runs, prepared on the shadow in each schema state. */
  workload?: {
    /** The deployed (old) code: prepared against the schema after each up (WL1xx). */
    old?: WorkloadQuery[];
    /** The new code: prepared against the schema after each down (WL2xx). */
    new?: WorkloadQuery[];
    /** Where the old statements come from, for messages: "in queries.txt", "seen since <time> in app". */
    oldWindow?: string;
  };
}
