/**
 * The values the config file names a database by, and what reading a config needs to know about
 * each (default port, longest database name, URL schemes). Everything else that differs per
 * database is its engine's (src/engines), which builds on these.
 */

/** The config file's "dialect": which engine. MariaDB is the mysql engine with its own flavor. */
export const DIALECTS = ['mysql', 'postgres'] as const;

/**
 * The migration-history layouts (docs/adopting.md): `native` is this tool's own; the others are
 * read the way their tools read them. `auto` (the default) detects one from the directory's files.
 */
export const MIGRATION_LAYOUTS = ['native', 'golang-migrate', 'goose', 'dbmate', 'flyway', 'pop', 'knex'] as const;
export type MigrationLayout = (typeof MIGRATION_LAYOUTS)[number];
export const LAYOUT_CHOICES = ['auto', ...MIGRATION_LAYOUTS] as const;
export type LayoutChoice = (typeof LAYOUT_CHOICES)[number];
export type Dialect = (typeof DIALECTS)[number];

/** A cluster's (and a sandbox node's) "flavor" as the config file and state.json spell it. */
export const CLUSTER_FLAVORS = ['mariadb', 'mysql', 'postgres'] as const;
export type ClusterFlavor = (typeof CLUSTER_FLAVORS)[number];

export interface ConnectionConfig {
  host: string;
  port: number;
  user: string;
  /** Resolved from passwordEnv / passwordFile / URL; registered with redact() when loaded. */
  password?: string;
  database: string;
}

export const DIALECT_CONFIG: Record<Dialect, { defaultPort: number; maxIdentifierLength: number; names: readonly string[] }> = {
  mysql: { defaultPort: 3306, maxIdentifierLength: 64, names: ['mysql', 'mariadb'] },
  postgres: { defaultPort: 5432, maxIdentifierLength: 63, names: ['postgres', 'postgresql'] },
};

/** The dialect a --dialect value or URL scheme names (mysql, mariadb, postgres, postgresql), if any. */
export function dialectNamed(name: string | undefined): Dialect | undefined {
  if (name === undefined) return undefined;
  return DIALECTS.find((d) => DIALECT_CONFIG[d].names.includes(name));
}

/**
 * The migration tools whose history `"adopt"` reads, and the table each keeps it in by default
 * (docs/adopting.md). Here, beside the dialects, because the config file names them.
 */
export const ADOPT_TOOLS = ['knex', 'golang-migrate', 'goose', 'dbmate', 'flyway', 'pop'] as const;
export type AdoptTool = (typeof ADOPT_TOOLS)[number];

export const ADOPT_DEFAULT_TABLE: Record<AdoptTool, string> = {
  knex: 'knex_migrations',
  'golang-migrate': 'schema_migrations',
  goose: 'goose_db_version',
  dbmate: 'schema_migrations',
  flyway: 'flyway_schema_history',
  pop: 'schema_migration',
};

/** Another tool's ledger to take the applied history from, while ours does not exist yet. */
export interface AdoptSource {
  tool: AdoptTool;
  table: string;
}
