/**
 * Public API of src/config: other stages import from this file only (docs/architecture.md).
 * Every stage imports it, the engines at CLI start included, so it stays light: the config file's
 * loader (zod schema, TypeScript importer) is loaded by the first loadConfig() call, not here.
 */
import type { LoadConfigOptions } from './load.ts';
import type { ProjectConfig } from './types.ts';

export {
  ADOPT_DEFAULT_TABLE,
  ADOPT_TOOLS,
  CLUSTER_FLAVORS,
  DIALECT_CONFIG,
  DIALECTS,
  dialectNamed,
  type AdoptSource,
  type AdoptTool,
  LAYOUT_CHOICES,
  MIGRATION_LAYOUTS,
  type ClusterFlavor,
  type ConnectionConfig,
  type Dialect,
  type LayoutChoice,
  type MigrationLayout,
} from './dialects.ts';
export type {
  ClusterConfig,
  HandoffConfig,
  NodeConfig,
  NodeRole,
  ProjectConfig,
  ReadPoolConfig,
  VerifyConfig,
  WriterEndpointConfig,
} from './types.ts';
export { checkVerifyUrl, HTTP_VERIFY_DEFAULTS } from './handoff.ts';
export {
  countOption,
  DEFAULT_LOCK_SAFETY,
  durationOption,
  formatMs,
  LOCK_SAFETY_ENV,
  lockSafetyFromConfig,
  lockSafetyFromEnv,
  parseDurationMs,
  resolveLockSafety,
  type LockSafety,
} from './lock-safety.ts';
export type { LoadConfigOptions } from './load.ts';
export { firstCompilerLine } from './load-error.ts';
export { parseDatabaseUrl } from './url.ts';

/** Finds, reads and validates the project's config file (src/config/load.ts). */
export async function loadConfig(opts?: LoadConfigOptions): Promise<ProjectConfig> {
  return (await import('./load.ts')).loadConfig(opts);
}

/**
 * Imports a user's TypeScript or JavaScript module (src/config/ts-import.ts). Lazy like loadConfig:
 * the importer registers tsx's CommonJS hooks, which no command needs before it reads a file.
 */
export async function importModule(absPath: string, version: string): Promise<Record<string, unknown>> {
  return (await import('./ts-import.ts')).importModule(absPath, version);
}
