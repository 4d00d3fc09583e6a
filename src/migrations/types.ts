import type { Knex } from 'knex';

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

/**
 * Something wrong with a migration file found while loading it. `blocks: 'all'` means the
 * migration cannot be run or analysed at all; `'down'` means only reverting it is impossible.
 */
export interface MigrationIssue {
  /** The migration id, when the problem belongs to one. */
  id?: string;
  /** Absolute path of the file at fault. */
  file: string;
  problem: string;
  fix: string;
  blocks: 'all' | 'down';
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
  /** Runs the migration's up / down on a knex connection. */
  up(knex: Knex): Promise<void>;
  down?: (knex: Knex) => Promise<void>;
}

/** Everything found in a migrations directory. */
export interface Discovery {
  dir: string;
  /** Ordered by id. */
  migrations: MigrationSource[];
  /** Every issue, including those attached to a migration. */
  issues: MigrationIssue[];
}
