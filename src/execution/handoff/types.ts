import type { VerifyConfig } from '../../config/index.ts';

/** The hand-off's journal steps, and what each command sees as MIGRATE_PHASE. */
export type HandoffPhase = 'deploy' | 'verify' | 'rollback' | 'verify-rollback';

/** What every hand-off command gets in its environment (besides MIGRATE_PHASE). */
export interface HandoffContext {
  planId: string;
  cluster: string;
  newPrimary: string;
  newPrimaryHost: string;
  newPrimaryPort: number;
  /** The id of the last migration applied: the schema version the new code may rely on. */
  schemaVersion: string;
}

/** The steps this run hands off with: flags over the config's "handoff" key. */
export interface HandoffSteps {
  deploy?: string;
  verify?: VerifyConfig;
  rollback?: string;
}

/** How a deploy, verify or rollback went: a failure says why, in words an operator can act on. */
export type Outcome = { ok: true; detail?: string } | { ok: false; why: string };

/**
 * Where an interrupted run's hand-off stood (from its journal), so `resume` continues at the right
 * step: `next` is the step to run first. `failed` says why the release was being rolled back.
 */
export interface HandoffProgress {
  run: string;
  next: 'deploy' | 'verify' | 'contract' | 'rollback' | 'verify-rollback' | 'stop';
  failed?: string;
  /** Whether the interrupted run had a verify step / a rollback command: resume needs them again. */
  hadVerify: boolean;
  hadRollback: boolean;
}
