// The code hand-off between the expand and contract phases (docs/handoff.md): apply's stages,
// resume's reading of an interrupted hand-off, and what --dry-run shows of it.
export { handoffEnv, runHandoffCommand } from './commands.ts';
export { httpCheck, type HttpCheck } from './http-check.ts';
export { contractAheadOfExpand, continueCommand, describeHandoff, handoffSteps, type HandoffOptions } from './plan.ts';
export { handoffProgress, refuseMissingSteps } from './progress.ts';
export { handoffStages, type HandoffStage } from './stages.ts';
export type { HandoffContext, HandoffPhase, HandoffProgress, HandoffSteps, Outcome } from './types.ts';
