import { createHash } from 'node:crypto';
import { holdsSecret } from '../log/index.ts';
import type { MigrationSource } from '../migrations/index.ts';
import { prefixKeys, type CacheEntry } from './cache.ts';
import type { Workloads } from './shadow-analyser.ts';
import type { ShadowRun } from './shadow-run.ts';
import type { AnalyseOptions } from './options.ts';
import type { SchemaSnapshot } from './types.ts';
import type { MigrationFacts } from './verdict.ts';

type Cache = NonNullable<AnalyseOptions['cache']>;

/** Cached facts depend on the migrations, the engine, the workload and the server that answered. */
export async function cacheKeys(
  run: ShadowRun,
  migrations: MigrationSource[],
  opts: AnalyseOptions,
  workload: Workloads,
  checkReversibility: boolean,
): Promise<string[]> {
  let variant = checkReversibility ? 'rev' : 'norev';
  if (workload.old.length || workload.new.length) {
    variant += `\0wl:${createHash('sha256')
      .update(JSON.stringify([workload.old.map((q) => [q.sql, q.source]), workload.new.map((q) => [q.sql, q.source]), workload.oldWindow ?? '']))
      .digest('hex')}`;
  }
  // A shared server refuses what a throwaway one runs (SH101): their facts differ.
  // The version the run read when it opened (the same server): no connection of its own.
  if (opts.cache) variant += `\0${opts.dialect}:${run.version || '?'}\0${run.isolation}`;
  return prefixKeys(migrations, opts.dialect, variant);
}

/** The longest prefix of migrations (after the baseline) whose analysis is cached. */
export async function cachedPrefix(cache: Cache | undefined, keys: string[], baseline: number): Promise<CacheEntry[]> {
  const cached: CacheEntry[] = [];
  if (!cache) return cached;
  for (let i = baseline; i < keys.length; i++) {
    const e = await cache.get(keys[i]!);
    if (!e?.facts) break;
    cached.push(e);
  }
  return cached;
}

/**
 * Caches the facts of migrations [start, end); the last entry also keeps the schema dump and
 * snapshot after it, so the next run can start from there instead of replaying history.
 */
export async function storeFacts(
  cache: Cache,
  keys: string[],
  facts: (MigrationFacts | undefined)[],
  start: number,
  restore: string[] | undefined,
  snapshot: SchemaSnapshot | null | undefined,
): Promise<void> {
  const end = facts.length;
  for (let i = start; i < end; i++) {
    // A goose ENVSUB value (a password, say) is a registered secret: what holds one stays off disk,
    // and the entries after it with it (each key chains on the one before).
    if (holdsSecret(JSON.stringify(facts[i])) || (i === end - 1 && restore && holdsSecret(restore.join('\n')))) return;
    const entry: CacheEntry = { facts: facts[i]! };
    if (i === end - 1 && restore) {
      entry.restore = restore;
      if (snapshot) entry.snapshot = snapshot;
    }
    await cache.set(keys[i]!, entry);
  }
}
