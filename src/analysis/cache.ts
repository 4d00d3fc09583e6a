import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dialect } from '../config/index.ts';
import type { MigrationSource } from '../migrations/index.ts';
import type { SchemaSnapshot } from './types.ts';
import type { MigrationFacts } from './verdict.ts';

/**
 * Analysis results keyed by the content of the migrations prefix they depend on: the entry for
 * migration i is valid exactly as long as migrations 1..i are byte-identical. Re-planning after
 * adding one migration then reuses every entry, rebuilds the shadow from the last entry's schema
 * dump (one batch of DDL instead of replaying history) and analyses only the new migration.
 */
export interface CacheEntry {
  /** Absent on a baseline entry (history that only seeds the shadow: `restore` alone). */
  facts?: MigrationFacts;
  /** DDL that recreates the schema after this migration on an empty shadow; only on the last entry of a run. */
  restore?: string[];
  /** The schema snapshot after this migration (with `restore`): lets the next run restore only the tables it needs. */
  snapshot?: SchemaSnapshot;
}

export interface AnalysisCache {
  get(key: string): Promise<CacheEntry | undefined>;
  set(key: string, entry: CacheEntry): Promise<void>;
}

/** Bump when rules or snapshot shapes change: old entries then simply stop matching. */
export const ENGINE_VERSION = 'analysis-2';

let engineHash: string | undefined;

/**
 * A hash of the analysis engine's own source, so a cache written by another version of the rules
 * is never reused, even when ENGINE_VERSION was not bumped. The engines' rules, type-fit and
 * snapshot code (src/engines) decide verdicts as much as src/analysis does, so both are hashed.
 */
export function engineFingerprint(): string {
  if (engineHash) return engineHash;
  // The TypeScript sources when they are there, also when this runs from the compiled build (which
  // bin/migrate only runs when it matches them): the sources and the build then share one cache.
  const own = join(dirname(fileURLToPath(import.meta.url)), '..');
  const sources = join(own, '..', 'src');
  const base = existsSync(join(sources, 'analysis')) ? sources : own;
  // PostgreSQL's parser decides what statements name as much as the sources do: its version too.
  const parser = join(base, '..', 'node_modules', 'libpg-query', 'package.json');
  const parserVersion = existsSync(parser) ? String((JSON.parse(readFileSync(parser, 'utf8')) as { version?: string }).version) : '';
  engineHash = sourceFingerprint(`${ENGINE_VERSION}\0${parserVersion}`, [join(base, 'analysis'), join(base, 'engines')]);
  return engineHash;
}

/** Every source file under each directory, in a stable order; a directory that is absent (a bundled build) adds nothing. */
export function sourceFingerprint(seed: string, dirs: string[]): string {
  const h = createHash('sha256').update(seed);
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.[cm]?[jt]s$/.test(e.name)) h.update(e.name).update(readFileSync(p));
    }
  };
  for (const dir of dirs) {
    try {
      walk(dir);
    } catch {
      // A bundled build without sources: the seed alone.
    }
  }
  return h.digest('hex').slice(0, 16);
}

export function prefixKeys(migrations: MigrationSource[], dialect: Dialect, variant: string): string[] {
  const keys: string[] = [];
  let prev = createHash('sha256').update(`${engineFingerprint()}\0${dialect}\0${variant}`).digest('hex');
  for (const m of migrations) {
    // The statements as loaded, not only the file: a goose ENVSUB migration runs other SQL when
    // the environment changes, and its cached facts must not be served then.
    const statements = createHash('sha256')
      .update(JSON.stringify([m.upSql ?? null, m.downSql ?? null]))
      .digest('hex');
    prev = createHash('sha256').update(`${prev}\0${m.id}\0${m.checksum}\0${statements}`).digest('hex');
    keys.push(prev);
  }
  return keys;
}

export class MemoryCache implements AnalysisCache {
  private readonly entries = new Map<string, string>();
  async get(key: string): Promise<CacheEntry | undefined> {
    const v = this.entries.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as CacheEntry);
  }
  async set(key: string, entry: CacheEntry): Promise<void> {
    // Stored serialised so callers cannot mutate a cached entry through a returned object.
    this.entries.set(key, JSON.stringify(entry));
  }
  get size(): number {
    return this.entries.size;
  }
}

/** One JSON file per entry in a directory (e.g. node_modules/.cache/migrate); corrupt files count as misses. */
export class FileCache implements AnalysisCache {
  constructor(private readonly dir: string) {}
  async get(key: string): Promise<CacheEntry | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8')) as CacheEntry;
    } catch {
      return undefined;
    }
  }
  async set(key: string, entry: CacheEntry): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `${key}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(entry));
    await rename(tmp, join(this.dir, `${key}.json`));
  }
}
