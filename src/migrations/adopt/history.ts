import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { AdoptSource } from '../../config/index.ts';
import { MigrateError } from '../../errors.ts';
import type { LedgerEntry } from '../ledger.ts';
import type { RunState } from '../status.ts';
import type { MigrationSource } from '../types.ts';
import { readDbmate, readPop } from './dbmate.ts';
import { readFlyway } from './flyway.ts';
import { flywayChecksum } from './flyway-checksum.ts';
import { readGolangMigrate } from './golang-migrate.ts';
import { readGoose } from './goose.ts';
import { readKnexLedger } from './knex.ts';
import type { ToolLedger, ToolRow } from './tool-ledger.ts';
import { compareVersions, versionKey, versionOfId, type VersionedTool } from './versions.ts';

/** A migration the old tool left half-done: neither applied nor pending until someone decides. */
export interface AdoptedUnfinished {
  /** The migration's id, or the tool's name for it when no file has its version. */
  id: string;
  hasFile: boolean;
  /** What the tool recorded, in words. */
  what: string;
  /** The next step, in words (the repair commands). */
  fix: string;
}

/** Another tool's history mapped onto the migration files, as our ledger would hold it. */
export interface AdoptedHistory {
  source: AdoptSource;
  /** One per applied migration (source: the tool), missing-file rows included. */
  entries: LedgerEntry[];
  unfinished: AdoptedUnfinished[];
  /** Warnings for status: versions with no file, ambiguous versions, oddities of the table. */
  problems: string[];
}

/** The tool's table as the tool wrote it, or undefined when the table does not exist. */
async function readToolLedger(db: Knex, source: AdoptSource): Promise<ToolLedger | undefined> {
  if (source.tool === 'knex') return readKnexLedger(db, source);
  if (!(await db.schema.hasTable(source.table))) return undefined;
  switch (source.tool) {
    case 'golang-migrate':
      return readGolangMigrate(db, source);
    case 'goose':
      return readGoose(db, source);
    case 'dbmate':
      return readDbmate(db, source);
    case 'pop':
      return readPop(db, source);
    case 'flyway':
      return readFlyway(db, source);
  }
}

/** Reads the tool's table and maps it onto `migrations`; undefined when the table does not exist. */
export async function readAdoptedHistory(
  db: Knex,
  source: AdoptSource,
  migrations: readonly MigrationSource[],
  dir: string,
): Promise<AdoptedHistory | undefined> {
  const ledger = await readToolLedger(db, source);
  const checksumOf =
    source.tool === 'flyway' ? (m: MigrationSource) => (m.format === 'sql' ? flywayChecksum(readFileSync(m.upPath, 'utf8')) : undefined) : undefined;
  return ledger ? mapToolLedger(source, ledger, migrations, dir, checksumOf) : undefined;
}

function unfinishedFix(id: string, hasFile: boolean, source: AdoptSource): string {
  if (!hasFile)
    return `Restore the migration file of version ${id} (from version control), then decide with "migrate repair <its id> --mark-applied" or "--forget"; or settle it with ${source.tool} itself before adopting.`;
  return `Check which of ${id}'s changes are in the database. If all are (finished by hand): "migrate repair ${id} --mark-applied". If none are (undone by hand): "migrate repair ${id} --forget". Then "migrate up".`;
}

/**
 * The mapping proper (pure): versions to files by the tool's own comparison, an unfinished
 * migration kept out of the applied ones, and every version with no file kept as a missing-file
 * entry and named in a warning rather than dropped.
 */
export function mapToolLedger(
  source: AdoptSource,
  ledger: ToolLedger,
  migrations: readonly MigrationSource[],
  dir: string,
  checksumOf?: (m: MigrationSource) => number | undefined,
): AdoptedHistory {
  const tool = source.tool;
  const where = `${source.table} (${tool})`;
  const problems = [...ledger.notes.map((n) => `${where}: ${n}`)];
  const byVersion = new Map<string, MigrationSource[]>();
  if (tool !== 'knex') {
    for (const m of migrations) {
      const v = versionOfId(m.id, tool);
      const k = v === undefined ? undefined : versionKey(v, tool);
      if (k !== undefined) byVersion.set(k, [...(byVersion.get(k) ?? []), m]);
    }
  }
  const filesOf = (row: ToolRow): MigrationSource[] => {
    if (row.id !== undefined) return migrations.filter((m) => m.id === row.id);
    if (row.version === undefined || tool === 'knex') return [];
    const k = versionKey(row.version, tool);
    return k === undefined ? [] : (byVersion.get(k) ?? []);
  };
  const unfinished: AdoptedUnfinished[] = [];
  for (const u of ledger.unfinished) {
    const files = filesOf(u);
    if (files.length === 0) {
      problems.push(`${where}: ${u.what}, and no file in ${dir} has version ${u.name}.`);
      unfinished.push({ id: u.name, hasFile: false, what: u.what, fix: unfinishedFix(u.name, false, source) });
    }
    for (const f of files) unfinished.push({ id: f.id, hasFile: true, what: u.what, fix: unfinishedFix(f.id, true, source) });
  }
  const skip = new Set(unfinished.map((u) => u.id));
  const entries = new Map<string, LedgerEntry>();
  const add = (id: string, m: MigrationSource | undefined, appliedAt: Date | null): void => {
    if (skip.has(id) || entries.has(id)) return;
    entries.set(id, entryOf(id, m, appliedAt, source));
  };
  const applyRow = (row: ToolRow, warnMissing: boolean): void => {
    const files = filesOf(row);
    if (files.length === 0 && warnMissing && !skip.has(row.name)) {
      problems.push(
        `${where} records ${row.version !== undefined ? `version ${row.version}` : row.name} as applied, but no file in ${dir} has it: shown as missing-file ${row.name}.`,
      );
      add(row.name, undefined, row.appliedAt);
    }
    if (files.length > 1)
      problems.push(
        `${where}: version ${row.version ?? row.name} is the version of ${files.length} files (${files.map((f) => basename(f.upPath)).join(', ')}); all of them are taken as applied.`,
      );
    for (const f of files) {
      add(f.id, f, row.appliedAt);
      const now = row.checksum === undefined ? undefined : checksumOf?.(f);
      if (now !== undefined && now !== row.checksum)
        problems.push(
          `${where}: ${basename(f.upPath)} changed after ${tool} ran it (checksum ${row.checksum} recorded, ${now} now; ${tool} validate refuses this too). It is taken as applied as it is now: check that the database has what the file says, or restore the file from version control.`,
        );
    }
  };
  const upTo = ledger.upTo;
  if (upTo && tool !== 'knex') {
    for (const m of migrations) {
      const v = versionOfId(m.id, tool);
      if (v !== undefined && compareVersions(v, upTo.version, tool as VersionedTool) <= 0) add(m.id, m, upTo.appliedAt);
    }
    applyRow(upTo, upTo.named);
  }
  for (const row of ledger.applied) applyRow(row, true);
  return { source, entries: [...entries.values()], unfinished, problems };
}

function entryOf(id: string, m: MigrationSource | undefined, appliedAt: Date | null, source: AdoptSource): LedgerEntry {
  // Our checksum (sha256) is not the tools' (Flyway's CRC-32 is compared in mapToolLedger), so the
  // file as it is at adoption is taken as what was applied: later edits are drift from then on.
  return {
    id,
    checksum: m?.checksum ?? '',
    phase: m?.phase ?? null,
    appliedAt,
    appliedBy: `${source.tool} (${source.table})`,
    host: null,
    executionMs: null,
    driftAckedAt: null,
    driftAckedBy: null,
    previousChecksum: null,
    source: source.tool,
  };
}

/** The refusal of up / down / ack-drift while the old tool left a migration half-done. */
export function unfinishedError(h: AdoptedHistory): MigrateError {
  const first = h.unfinished[0];
  const list = h.unfinished.map((u) => `${u.id}: ${u.what}`).join('; ');
  return new MigrateError(
    'work',
    `${h.source.tool} left ${h.unfinished.length === 1 ? 'a migration' : `${h.unfinished.length} migrations`} unfinished (read from ${h.source.table}): ${list}. Nothing was run or adopted.`,
    first?.fix ?? 'Run "migrate status".',
  );
}

/** How `status` shows a migration the old tool left half-done: partial, with the next step. */
export function adoptedRunState(u: AdoptedUnfinished, source: AdoptSource | undefined): RunState {
  return {
    id: u.id,
    state: 'partial',
    text: `${u.what}. ${u.fix}`,
    json: { state: 'partial', adoptedFrom: source?.tool ?? null, table: source?.table ?? null, summary: u.what, next: u.fix },
  };
}
