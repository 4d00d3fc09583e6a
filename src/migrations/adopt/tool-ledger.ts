import type { Knex } from 'knex';
import type { AdoptSource } from '../../config/index.ts';
import { configError } from '../../errors.ts';

/**
 * What one tool's table says, still in that tool's terms (versions, or file names for knex); each
 * tool's reader (golang-migrate.ts, goose.ts, dbmate.ts, flyway.ts, knex.ts) produces one, and
 * history.ts maps it onto the migration files.
 */
export interface ToolRow {
  /** The tool's version (versioned tools). */
  version?: string;
  /** Our id directly, when the tool records names (knex, Flyway repeatables). */
  id?: string;
  /** The name a row with no file is shown under (its id in our ledger once adopted). */
  name: string;
  appliedAt: Date | null;
  /** The checksum the tool recorded for the file it ran (Flyway's CRC-32), when it keeps one. */
  checksum?: number;
}

export interface ToolUnfinished extends ToolRow {
  /** What the tool recorded, in words ("golang-migrate marked version 3 dirty in schema_migrations"). */
  what: string;
}

export interface ToolLedger {
  /** Rows recorded as applied (the last word of the table on each version). */
  applied: ToolRow[];
  /**
   * Every version up to this one is applied: golang-migrate's single row, a Flyway baseline.
   * `named`: the version is one migration's (golang-migrate), so a missing file is worth a warning;
   * a Flyway baseline usually has no file of its own.
   */
  upTo?: ToolRow & { version: string; named: boolean };
  /** Migrations the tool left neither applied nor reverted (golang-migrate dirty, Flyway success = false). */
  unfinished: ToolUnfinished[];
  /** Oddities of the table itself (golang-migrate with more than one row, ...). */
  notes: string[];
}

export function emptyToolLedger(): ToolLedger {
  return { applied: [], unfinished: [], notes: [] };
}

/** A boolean as each driver returns it (true, 1, '1', 't'). */
export function flag(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return v !== 0 && v !== 0n;
  if (Buffer.isBuffer(v)) return v.length > 0 && v[0] !== 0;
  const s = String(v ?? '').toLowerCase();
  return s === '1' || s === 't' || s === 'true';
}

export function timeOf(v: unknown): Date | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  if (v === null || v === undefined || v === '') return null;
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The columns of the tool's table, after checking they are the tool's: else a config error naming the likely mix-up. */
export async function requireColumns(db: Knex, source: AdoptSource, needed: readonly string[], hint: string): Promise<void> {
  const info = (await db(source.table).columnInfo()) as Record<string, unknown>;
  const have = new Set(Object.keys(info).map((c) => c.toLowerCase()));
  const missing = needed.filter((c) => !have.has(c));
  if (missing.length === 0) return;
  throw configError(
    `The table ${source.table} has no column ${missing.join(', ')}, so it is not ${source.tool}'s history (its columns: ${[...have].join(', ') || 'none'}).`,
    hint,
  );
}
