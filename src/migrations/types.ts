import type { Knex } from 'knex';

/** Expand (runs before the code deploy) or contract (runs after it). */
export type Phase = 'pre-deploy' | 'post-deploy';

/** An acknowledgement of a gate finding, declared in the migration. */
export interface Acknowledgement {
  rule: string;
  reason: string;
}

/**
 * One migration as found on disk, whatever its format. The id is the file stem
 * (e.g. "0003_add_email" for 0003_add_email.ts or 0003_add_email.up.sql).
 */
export interface MigrationSource {
  id: string;
  format: 'ts' | 'sql';
  /** Absolute paths: the TS/JS file, or the .up.sql (and .down.sql) pair. */
  upPath: string;
  downPath?: string;
  /** sha256 over the file contents (both files for SQL pairs), hex. */
  checksum: string;
  /** Declared phase, if any (TS `export const phase`, SQL header `-- migrate:phase post-deploy`). */
  phase?: Phase;
  acknowledgements: Acknowledgement[];
  /** For SQL: the statements of each file, split; for TS: undefined (only known by running). */
  upSql?: string[];
  downSql?: string[];
  /** Runs the migration's up / down on a knex connection. */
  up(knex: Knex): Promise<void>;
  down?: (knex: Knex) => Promise<void>;
}
