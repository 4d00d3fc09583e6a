// Public API of src/execution: other stages import from this file only (docs/architecture.md).
export type { ApplyReport } from './apply.ts';
export type { StepStrategy } from './plan-steps.ts';
