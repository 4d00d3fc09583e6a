import type { Knex } from 'knex';
import { DIALECT_CONFIG } from '../../config/index.ts';
import { DRIVERS } from '../../db/index.ts';
import { postgresFit } from './fit.ts';
import { FULL_SCOPE, type Engine } from '../contract.ts';
import { readPostgresDigests } from './digests.ts';
import { postgresMigrations } from './migrations.ts';
import { postgresRules } from './rules.ts';
import { postgresShadowAdmin } from './shadow-server.ts';
import { dumpPostgres, mergePostgresDumps, partialPostgresDump, restorePostgres } from './dump.ts';
import { snapshotPostgres } from './snapshot.ts';
import { pgStatementParser } from './statements.ts';
import { pgGrammar } from './grammar.ts';
import { postgresInPlaceCluster } from './cluster.ts';

export const postgresEngine: Engine = {
  dialect: 'postgres',
  label: DRIVERS.postgres.label,
  defaultPort: DIALECT_CONFIG.postgres.defaultPort,
  defaultUser: 'postgres',
  urlExample: 'postgres://postgres@127.0.0.1:5432',
  names: DIALECT_CONFIG.postgres.names,
  urlScheme: 'postgres://',
  maxIdentifierLength: DIALECT_CONFIG.postgres.maxIdentifierLength,
  ddlIsTransactional: true,
  syntax: {
    hashComments: false,
    backtickIdentifiers: false,
    backslashEscapes: false,
    dollarQuotes: true,
    renameColumnShorthand: true,
    foldsUnquotedToLower: true,
  },
  statementParser: pgStatementParser,
  sqlGrammar: pgGrammar,
  workloadExport: 'pg_stat_statements',
  workloadText: { elidedListIsDigest: false, schemaQualified: true },
  shadowProduct: { flavor: 'postgres', product: 'PostgreSQL', aptPackage: 'postgresql', topology: 'postgres-shadow' },
  // Views are cheap to read here; each table's storage (relfilenode) tells a rewrite, and a
  // restored table has new storage.
  alwaysSnapshotViews: true,
  restoreChangesStorage: true,
  noopSql: 'SELECT 1',
  errorAbortsTransaction: true,
  switchesDatabases: false,
  probe: undefined,

  rows: DRIVERS.postgres.rows,
  adminConnection: DRIVERS.postgres.adminConnection,
  cancelStatementSql: (sessionId) => `SELECT pg_cancel_backend(${sessionId})`,
  sessionIdSql: () => 'SELECT pg_backend_pid() AS id',
  connectionErrorKind: DRIVERS.postgres.connectionErrorKind,
  isPermissionDenied: (e) => ((e ?? {}) as { code?: string }).code === '42501',
  isSqlError: (e) => {
    const code = ((e ?? {}) as { code?: unknown }).code;
    return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
  },
  prepareCheckSql: (sql) => `PREPARE migrate_wl AS ${sql}; DEALLOCATE migrate_wl`,
  async serverIdentity(db: Knex) {
    try {
      const r = (await db.raw('SELECT system_identifier::text AS s FROM pg_control_system()')) as { rows: { s: string }[] };
      return r.rows[0] ? `postgres:${r.rows[0].s}` : undefined;
    } catch {
      const r = (await db.raw("SELECT inet_server_port() AS p, current_setting('data_directory') AS d")) as { rows: { p: number; d: string }[] };
      return r.rows[0] ? `postgres:${r.rows[0].p}:${r.rows[0].d}` : undefined;
    }
  },

  snapshotSchema: () => 'public',
  createSnapshotter: (db, schema) => ({ snapshot: (scope = FULL_SCOPE) => snapshotPostgres(db, { schema, tables: scope.tables }) }),
  async resetDatabase(target) {
    await target.db.raw('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  },
  dumpSchema: dumpPostgres,
  restoreSchema: restorePostgres,
  partialDump: partialPostgresDump,
  mergeDumps: mergePostgresDumps,

  shadowAdmin: postgresShadowAdmin,
  flavors: ['postgres'],
  nowSql: 'clock_timestamp()',
  foldsUnquotedIdentifiers: true,
  migrations: postgresMigrations,
  rules: postgresRules,
  fit: postgresFit,
  isLockWaitTimeout: () => false,
  drivesClusters: false,
  inPlaceCluster: postgresInPlaceCluster,
  targetVersionForShadow: async () => undefined,
  readStatementDigests: readPostgresDigests,
  async tableSizes(db, names) {
    const res = (await db.raw(
      `SELECT c.relname AS t, c.reltuples::bigint AS r, pg_total_relation_size(c.oid) AS b FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY(?)`,
      [names],
    )) as { rows: { t: string; r: string | number; b: string | number }[] };
    // reltuples is -1 until the table was first analysed: unknown, not empty.
    return new Map(res.rows.map((x) => [x.t, { rows: Number(x.r) < 0 ? null : Number(x.r), bytes: Number(x.b) }]));
  },
  serverKind: () => ({ mariadb: false, flavor: undefined }),
  flavorFromVersion: () => undefined,
};
