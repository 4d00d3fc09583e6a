import type { Knex } from 'knex';
import type { Layout } from './layouts/version.ts';

/** Expand (runs before the code deploy) or contract (runs after it). */
export type Phase = 'pre-deploy' | 'post-deploy';

export const PHASES: readonly Phase[] = ['pre-deploy', 'post-deploy'];

/** An acknowledgement of a gate finding, declared in the migration. */
export interface Acknowledgement {
  rule: string;
  reason: string;
}

/** One statement of a SQL migration file, as the splitter found it. */
export interface SqlStatement {
  /** The statement text without its terminating semicolon (leading comments stripped). */
  sql: string;
  /** 1-based line of the file where the statement's first token is. */
  line: number;
  /**
   * PostgreSQL only: the statement cannot run inside a transaction block
   * (CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE, VACUUM, ...).
   */
  noTransaction: boolean;
}

/** How much a loader note matters: info (nothing to do), warning (look at it), error (a real gap, e.g. no down). */
export type IssueSeverity = 'info' | 'warning' | 'error';

/**
 * What a loader note is about, so the analysis can turn it into a finding without parsing words:
 * - empty-migration: the up holds no statement (comment-only placeholder); it runs as a no-op;
 * - orphan-down: a down (or Flyway undo) file with no up of its version; it is never run;
 * - missing-down: the migration has no down; it cannot be reverted (`reversible: false`);
 * - version-order: versions that sort differently as text and as numbers (unpadded), or out of
 *   order; the note names the order used;
 * - skipped-file: a file beside the migrations that is not one (a knex helper or test module);
 * - repeatable: a Flyway `R__` migration, run once after the versioned ones (see docs/adopting.md);
 * - layout: which layout was detected and why.
 */
export type LoadNoteKind = 'empty-migration' | 'orphan-down' | 'missing-down' | 'version-order' | 'skipped-file' | 'repeatable' | 'layout';

/**
 * Something wrong or unusual about a migration file found while loading it. `blocks: 'all'` means
 * the migration cannot be run or analysed at all; `'down'` means only reverting it is impossible;
 * `'none'` means it is a note: `up`, `check` and `status` go on and show it.
 */
export interface MigrationIssue {
  /** The migration id, when the problem belongs to one. */
  id?: string;
  /** Absolute path of the file at fault. */
  file: string;
  problem: string;
  fix: string;
  blocks: 'all' | 'down' | 'none';
  severity: IssueSeverity;
  /** Set on loader notes (Discovery.notes / MigrationSource.notes). */
  kind?: LoadNoteKind;
  /**
   * The module could not be imported; its MigrationSource is a stand-in whose up() throws this
   * problem. `up` refuses the whole run on it; the analysis runs up to it and reports it failed.
   */
  unloadable?: true;
}

/** A non-blocking loader note: kept apart from the issues, which stop `up` or `check`. */
export interface LoadNote extends MigrationIssue {
  blocks: 'none' | 'down';
  kind: LoadNoteKind;
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
  /** For SQL: the same statements with their line numbers and transaction needs. */
  upStatements?: SqlStatement[];
  downStatements?: SqlStatement[];
  /**
   * Whether the runner wraps the migration in a transaction (PostgreSQL makes DDL transactional;
   * on MySQL DDL commits implicitly whatever we do). TS: `export const transaction = false` opts
   * out. SQL: false when any statement must run outside a transaction; the runner then groups
   * the other statements into transactions around them. Absent means true.
   */
  transactional?: boolean;
  /** Problems found while loading this migration (also listed in the discovery result). Absent means none. */
  issues?: MigrationIssue[];
  /** Non-blocking notes about this migration (also listed in Discovery.notes). Absent means none. */
  notes?: LoadNote[];
  /** The layout the migration was read in (absent: native). */
  layout?: Layout;
  /** The version its tool records (versionOfId), for layouts that keep one. */
  version?: string;
  /** false when the migration has no down (or Flyway undo): it cannot be reverted. Absent means true. */
  reversible?: boolean;
  /** Runs the migration's up / down on a knex connection. */
  up(knex: Knex): Promise<void>;
  down?: (knex: Knex) => Promise<void>;
}

/** Everything found in a migrations directory. */
export interface Discovery {
  dir: string;
  /** The layout the files were read in, and why (detected, or forced by --layout / migrations.layout). */
  layout: Layout;
  layoutReason: string;
  /** In the order the layout runs them: id order (native, knex), version order (the other tools). */
  migrations: MigrationSource[];
  /** Every blocking issue (blocks 'all' or 'down'), including those attached to a migration. */
  issues: MigrationIssue[];
  /** Every non-blocking note (MigrationIssue with a kind), including those attached to a migration. */
  notes: LoadNote[];
}
