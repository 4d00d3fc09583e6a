import type { Dialect } from '../config/index.ts';

/**
 * The schema snapshot an engine reads from a server (src/engines/<db>/snapshot.ts): plain JSON, so
 * the analysis can cache it on disk keyed by content and diff two of them into changes.
 */

export interface ColumnSnapshot {
  name: string;
  /** 1-based order in the table: row-based replication maps columns by position, not by name. */
  position: number;
  /** The full type as the server prints it, e.g. "varchar(100)", "int(10) unsigned", "character varying(100)". */
  type: string;
  /** The base type name, lower case: "varchar", "int", "character varying", or the enum type name on PG. */
  dataType: string;
  nullable: boolean;
  /** Default expression as the server stores it; "NULL" for a nullable column without one; null = no default. */
  default: string | null;
  charset?: string | null;
  collation?: string | null;
  /** ENUM/SET values (MySQL) or the values of the column's enum type (PG), in order. */
  enumValues?: string[];
  /** Generation expression of a generated column. */
  generated?: string | null;
  /** AUTO_INCREMENT, serial/identity: the server fills it, so "NOT NULL without default" does not apply. */
  autoFilled?: boolean;
}

export interface IndexSnapshot {
  name: string;
  unique: boolean;
  columns: string[];
  /** PG: predicate of a partial index. */
  where?: string | null;
  /** PG: false for an index left invalid by a failed CREATE INDEX CONCURRENTLY. */
  valid?: boolean;
}

export interface ForeignKeySnapshot {
  name: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onUpdate: string;
  onDelete: string;
  /** PG: false while NOT VALID. */
  validated?: boolean;
}

export interface CheckSnapshot {
  name: string;
  expression: string;
  validated?: boolean;
}

export interface TableSnapshot {
  name: string;
  columns: ColumnSnapshot[];
  primaryKey: string[];
  indexes: IndexSnapshot[];
  foreignKeys: ForeignKeySnapshot[];
  checks: CheckSnapshot[];
  /** PG relfilenode: it changes exactly when the table is rewritten, which is the ground truth for "rewrite". */
  storageId?: string;
  engine?: string | null;
  collation?: string | null;
}

export interface ViewSnapshot {
  name: string;
  definition: string;
}

export interface SchemaSnapshot {
  dialect: Dialect;
  tables: Record<string, TableSnapshot>;
  views: Record<string, ViewSnapshot>;
  /** PG enum types and their values in sort order. */
  enumTypes: Record<string, string[]>;
}

/** MySQL/MariaDB ALTER algorithm as the server accepted it on the shadow. */
export type Algorithm = 'INSTANT' | 'NOCOPY' | 'INPLACE' | 'COPY' | 'UNKNOWN';
