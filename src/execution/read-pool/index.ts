/** The read pool (docs/read-pool.md): replicas out of the read endpoint while their ALTER stalls them. */
export type { ReadPool } from './contract.ts';
export { decideDrain, type DrainDecision } from './decide.ts';
export { planReadPool, type ReadPoolPlan } from './describe.ts';
export { readPoolFor } from './for-cluster.ts';
export { restoreReadPool } from './restore.ts';
export { replayWatch } from './replay-watch.ts';
export { ReadPoolRun, readPoolRunFor, type ReadPoolRunOptions } from './run.ts';
