import type { Knex } from 'knex';
import { DIALECT_CONFIG } from '../../config/index.ts';
import { DRIVERS } from '../../db/index.ts';
import { mysqlFit } from './fit.ts';
import { FULL_SCOPE, type Engine } from '../contract.ts';
import { readMysqlDigests } from './digests.ts';
import { mysqlMigrations } from './migrations.ts';
import { mysqlRules } from './rules.ts';
import { mysqlShadowAdmin } from './shadow-server.ts';
import { dumpMysql, mergeMysqlDumps, partialMysqlDump, resetMysql, restoreMysql } from './dump.ts';
import { flavorFor, flavorNameFromVersion } from './flavors.ts';
import { createDdlSnapshotter } from './snapshot-ddl.ts';
import { probeAndRun } from './probe.ts';
import { snapshotMysql } from './snapshot.ts';
import { mysqlStatementParser } from './statements.ts';

/** Server errors that mean "this account may not". */
const DENIED = new Set([1044, 1045, 1095, 1132, 1142, 1143, 1227, 1370, 1410, 1419]);

/** MySQL and MariaDB: one engine, the replication differences in their flavors (flavors.ts). */
export const mysqlEngine: Engine = {
  dialect: 'mysql',
  label: DRIVERS.mysql.label,
  defaultPort: DIALECT_CONFIG.mysql.defaultPort,
  defaultUser: 'root',
  urlExample: 'mysql://root@127.0.0.1:3306',
  names: DIALECT_CONFIG.mysql.names,
  urlScheme: 'mysql://',
  maxIdentifierLength: DIALECT_CONFIG.mysql.maxIdentifierLength,
  ddlIsTransactional: false,
  syntax: {
    hashComments: true,
    backtickIdentifiers: true,
    backslashEscapes: true,
    dollarQuotes: false,
    renameColumnShorthand: false,
    foldsUnquotedToLower: false,
  },
  workloadExport: 'performance_schema.events_statements_summary_by_digest',
  workloadText: { elidedListIsDigest: true, schemaQualified: false },
  shadowProduct: { flavor: 'mariadb', product: 'MariaDB', aptPackage: 'mariadb-server', topology: 'mariadb-shadow' },
  alwaysSnapshotViews: false,
  noopSql: 'DO 0',
  errorAbortsTransaction: false,
  switchesDatabases: true,
  probe: (obj, next, server) => probeAndRun(obj, next, server.mariadb),
  statementParser: mysqlStatementParser,
  restoreChangesStorage: false,

  rows: DRIVERS.mysql.rows,
  adminConnection: DRIVERS.mysql.adminConnection,
  cancelStatementSql: (sessionId) => `KILL QUERY ${sessionId}`,
  sessionIdSql: () => 'SELECT CONNECTION_ID() AS id',
  connectionErrorKind: DRIVERS.mysql.connectionErrorKind,
  isPermissionDenied: (e) => DENIED.has(((e ?? {}) as { errno?: number }).errno ?? 0),
  isSqlError: (e) => typeof ((e ?? {}) as { sqlState?: unknown }).sqlState === 'string',
  prepareCheckSql: (sql) => `PREPARE migrate_wl FROM '${sql.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'; DEALLOCATE PREPARE migrate_wl`,
  async serverIdentity(db: Knex) {
    const [rows] = (await db.raw('SELECT @@hostname AS h, @@port AS p, @@datadir AS d')) as [{ h: string; p: number; d: string }[]];
    const r = rows[0];
    return r ? `mysql:${r.h}:${r.p}:${r.d}` : undefined;
  },

  snapshotSchema: (database) => database,
  // MariaDB is read through SHOW CREATE TABLE (snapshot-ddl.ts, ~8x cheaper than information_schema
  // and checked equal to it); MySQL 8 through information_schema.
  createSnapshotter(db, schema, server) {
    if (server.mariadb) {
      const ddl = createDdlSnapshotter(db, schema);
      return { snapshot: (scope = FULL_SCOPE) => ddl({ tables: scope.tables, views: scope.views }) };
    }
    return { snapshot: (scope = FULL_SCOPE) => snapshotMysql(db, { schema, tables: scope.tables, mariadb: false, views: scope.views }) };
  },
  resetDatabase: resetMysql,
  dumpSchema: dumpMysql,
  restoreSchema: restoreMysql,
  partialDump: (dump, tables) => partialMysqlDump(dump, tables),
  mergeDumps: mergeMysqlDumps,

  shadowAdmin: mysqlShadowAdmin,
  flavors: ['mariadb', 'mysql'],
  nowSql: 'UTC_TIMESTAMP(3)',
  foldsUnquotedIdentifiers: false,
  migrations: mysqlMigrations,
  rules: mysqlRules,
  fit: mysqlFit,
  isLockWaitTimeout: (e) => ((e ?? {}) as { errno?: number }).errno === 1205,
  drivesClusters: true,
  async targetVersionForShadow(db) {
    return String(((await db.raw('SELECT VERSION() AS v')) as [{ v: string }[]])[0][0]?.v ?? '');
  },
  readStatementDigests: readMysqlDigests,
  async tableSizes(db, names) {
    const [rows] = (await db.raw(
      `SELECT TABLE_NAME AS t, TABLE_ROWS AS r, DATA_LENGTH + INDEX_LENGTH AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (${names.map(() => '?').join(', ')})`,
      names,
    )) as [{ t: string; r: number | string | null; b: number | string | null }[]];
    return new Map(rows.map((x) => [x.t, { rows: x.r === null ? null : Number(x.r), bytes: x.b === null ? null : Number(x.b) }]));
  },
  serverKind: (version) => ({ mariadb: /mariadb/i.test(version), flavor: flavorNameFromVersion(version) }),
  flavorFromVersion: (version) => flavorFor(flavorNameFromVersion(version)),
};
