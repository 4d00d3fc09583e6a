import type { Knex } from 'knex';
import type { ServerKind, ServerObjects, ShadowServerAdmin } from '../contract.ts';
import { flavorFor } from './flavors.ts';

const q = (n: string): string => `\`${n.replace(/`/g, '``')}\``;
/** A string literal: MySQL reads backslashes as escapes. */
const lit = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

async function rows<T>(db: Knex, sql: string): Promise<T[]> {
  return ((await db.raw(sql)) as [T[]])[0];
}

async function value(db: Knex, sql: string): Promise<unknown> {
  return (await rows<{ v: unknown }>(db, sql))[0]?.v;
}

/** Databases every MySQL/MariaDB server has. */
const SYSTEM_DATABASES = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

/**
 * Accounts every MySQL/MariaDB server (or its official container image) has, besides the one we
 * connect as: root, mysql (Debian's unix-socket account), mysql.* (MySQL 8's internal accounts), mariadb.sys, healthcheck (the MariaDB
 * image's health probe) and PUBLIC (MariaDB 10.11's role of that name).
 */
const SYSTEM_ACCOUNTS = new Set(['root', 'mysql', 'mariadb.sys', 'healthcheck', 'PUBLIC']);

export const mysqlShadowAdmin: ShadowServerAdmin = {
  quietSessionSql: ['SET SESSION sql_log_bin = 0'],
  isQuiet: async (db) => Number(await value(db, 'SELECT @@SESSION.sql_log_bin AS v')) === 0,
  connectedAsSql: "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS v",
  // Without the SHOW DATABASES privilege, information_schema lists only the account's own databases.
  async seesAllDatabases(db) {
    const n = await value(
      db,
      "SELECT COUNT(*) AS v FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'SHOW DATABASES' AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
    );
    return Number(n) > 0;
  },
  isSystemDatabase: (name) => SYSTEM_DATABASES.has(name),
  isSystemAccount: (user, me, own) => user === me || SYSTEM_ACCOUNTS.has(user) || user.startsWith('mysql.') || (own && user === 'repl'),
  async listObjects(db, server) {
    const accounts = new Map<string, [string, string, boolean]>();
    const dbs = await rows<{ n: string }>(db, 'SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA');
    const users = await rows<{ u: string; h: string; r: string | null }>(
      db,
      server.mariadb ? 'SELECT User AS u, Host AS h, is_role AS r FROM mysql.user' : 'SELECT User AS u, Host AS h, NULL AS r FROM mysql.user',
    );
    for (const x of users) accounts.set(`'${x.u}'@'${x.h}'`, [x.u, x.h, x.r === 'Y']);
    return { databases: new Set(dbs.map((x) => x.n)), accounts } satisfies ServerObjects;
  },
  async listLeftovers(db, server: ServerKind) {
    const [dbs] = (await db.raw(`SHOW DATABASES LIKE 'migrate\\\\_shadow\\\\_%'`)) as [Record<string, string>[]];
    let accounts: [string, string][] = [];
    try {
      // is_role is compared here, not in SQL: the view's collation differs from the session's.
      const [users] = (await db.raw(
        `SELECT User AS u, Host AS h, ${server.mariadb ? 'is_role' : "'N'"} AS r FROM mysql.user WHERE User LIKE 'migrate\\\\_shadow\\\\_%'`,
      )) as [{ u: string; h: string; r: string }[]];
      accounts = users.filter((x) => x.r !== 'Y').map((x) => [x.u, x.h]);
    } catch {
      /* an account that may not read mysql.user: only databases */
    }
    return { databases: dbs.map((r) => Object.values(r)[0] ?? '').filter(Boolean), accounts };
  },
  async replicationWarning(db, o) {
    const logBin = Number(await value(db, 'SELECT @@GLOBAL.log_bin AS v').catch(() => 0));
    if (!logBin) return undefined;
    // The given account's own sessions keep binary logging off when it may; the analysis
    // account of a shared server never may, nor may an account without the privilege.
    if (!o.shared && o.quiet) return undefined;
    const replicas = await rows<unknown>(db, flavorFor(o.server.flavor ?? 'mariadb').showReplicasQuery()).catch(() => []);
    if (!replicas.length) return undefined;
    return `the shadow server ${o.where} writes a binary log and ${replicas.length} replica(s) read it: the analysis's ${o.prefix}* databases and what it runs in them replicate to them (${o.shared ? 'its restricted account may not turn binary logging off' : 'this account may not turn binary logging off'}). A shadow server must not be a replication source: use a throwaway server (leave --shadow out, or a CI service container).`;
  },
  // The host the server sees us from: the new account logs in from the same place.
  accountHost: async (db) => String(await value(db, "SELECT SUBSTRING_INDEX(USER(), '@', -1) AS v")),
  async createAccount(db, user, host, password, grantPattern) {
    await db.raw(`CREATE USER ${lit(user)}@${lit(host)} IDENTIFIED BY ${lit(password)}`);
    await db.raw(`GRANT ALL PRIVILEGES ON ${q(grantPattern)}.* TO ${lit(user)}@${lit(host)}`);
  },
  createAccountPrivileges: 'CREATE USER and GRANT OPTION',
  async createDatabase(db, name) {
    await db.raw(`CREATE DATABASE ${q(name)} CHARACTER SET utf8mb4`);
  },
  async dropDatabase(db, name) {
    await db.raw(`DROP DATABASE IF EXISTS ${q(name)}`);
  },
  async dropAccount(db, user, host, isRole) {
    await db.raw(isRole ? `DROP ROLE IF EXISTS ${lit(user)}` : `DROP USER IF EXISTS ${lit(user)}@${lit(host)}`);
  },
  acquireLock: async (db, name, waitS) => Number(await value(db, `SELECT GET_LOCK('${name}', ${waitS}) AS v`)) === 1,
  async releaseLock(db, name) {
    await db.raw(`SELECT RELEASE_LOCK('${name}')`);
  },
  loginRefusedHint: () =>
    "Check the server's account rules for this host, or analyse on a throwaway server: leave --shadow out (a local `migrate shadow` server is started) or use a CI service container.",
};
