// Public API of src/execution: other stages import from this file only (docs/architecture.md).
// The CLI imports it lazily, when a command runs: `--help` and usage errors load none of it.
export { apply, type ApplyReport } from './apply.ts';
export { finalize, rollback } from './hold.ts';
export type { StepStrategy } from './plan-steps.ts';
export { summarizeRuns } from './recover.ts';
export { abort, resume } from './resume.ts';
export { configForCluster, rollout } from './rollout.ts';
