/** Public API of the analysis engine (what `migrate check` / `migrate plan` call). */
export { analyse, type AnalyseStats } from './analyse.ts';
export { FileCache, MemoryCache, prefixKeys, type AnalysisCache, type CacheEntry } from './cache.ts';
export { describeChange, diffSnapshots, type RenameHints } from './diff.ts';
export { decideOnTarget, type TargetFitOptions } from './data/target.ts';
export { evaluateGate, type GateResult } from './gate.ts';
export { findShadowServer, forbiddenServers, type FindShadowOptions } from './locate.ts';
export { CATALOG, catalogMarkdown, ruleDoc, type RuleDoc } from './rules/index.ts';
export type { AnalyseOptions } from './options.ts';
export { disposeAllShadows, listShadowDatabases, ShadowDatabase, SHADOW_PREFIX } from './shadow.ts';
export { listShadowObjects } from './shadow-run.ts';
export type * from './types.ts';
export { ackCovers, factsOf, isKnownAckRule } from './rules/catalog.ts';
export type { WorkRate } from './rules/catalog.ts';
export type { ShadowOrigin } from './shadow-run.ts';
export { parseWorkload, workloadFromDigests, type Workload } from './workload/parse.ts';
