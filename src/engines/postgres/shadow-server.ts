import type { Knex } from 'knex';
import type { ShadowServerAdmin } from '../contract.ts';

const dq = (n: string): string => `"${n.replace(/"/g, '""')}"`;
/** A string literal: standard_conforming_strings, so backslashes are plain characters. */
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

async function rows<T>(db: Knex, sql: string): Promise<T[]> {
  return ((await db.raw(sql)) as { rows: T[] }).rows;
}

/** Databases every PostgreSQL cluster has. */
const SYSTEM_DATABASES = new Set(['postgres', 'template0', 'template1']);

export const postgresShadowAdmin: ShadowServerAdmin = {
  quietSessionSql: [],
  isQuiet: async () => false,
  connectedAsSql: 'SELECT current_user AS v',
  seesAllDatabases: async () => true,
  isSystemDatabase: (name) => SYSTEM_DATABASES.has(name),
  isSystemAccount: (role, me) => role === me || role === 'postgres' || role.startsWith('pg_'),
  async listObjects(db) {
    const accounts = new Map<string, [string, string, boolean]>();
    const dbs = await rows<{ n: string }>(db, 'SELECT datname AS n FROM pg_database');
    const roles = await rows<{ n: string }>(db, 'SELECT rolname AS n FROM pg_roles');
    for (const x of roles) accounts.set(x.n, [x.n, '', false]);
    return { databases: new Set(dbs.map((x) => x.n)), accounts };
  },
  async listLeftovers(db) {
    const dbs = await rows<{ n: string }>(db, `SELECT datname AS n FROM pg_database WHERE datname LIKE 'migrate\\_shadow\\_%'`);
    const roles = await rows<{ n: string }>(db, `SELECT rolname AS n FROM pg_roles WHERE rolname LIKE 'migrate\\_shadow\\_%'`);
    return { databases: dbs.map((r) => r.n), accounts: roles.map((r): [string, string] => [r.n, '']) };
  },
  async replicationWarning(db, o) {
    const n = Number((await rows<{ v: unknown }>(db, 'SELECT COUNT(*) AS v FROM pg_stat_replication').catch(() => []))[0]?.v ?? 0);
    if (!(n > 0)) return undefined;
    return `the shadow server ${o.where} streams its WAL to ${n} standby(s): the ${o.prefix}* databases and everything the analysis does in them reach those standbys. A shadow server must not be a replication source: use a throwaway server (leave --shadow out, or a CI service container).`;
  },
  accountHost: async () => '',
  async createAccount(db, user, _host, password) {
    await db.raw(`CREATE ROLE ${dq(user)} LOGIN PASSWORD ${lit(password)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`);
  },
  createAccountPrivileges: 'CREATEROLE and CREATEDB',
  async createDatabase(db, name, owner) {
    await db.raw(`CREATE DATABASE ${dq(name)}${owner ? ` OWNER ${dq(owner)}` : ''}`);
    // A throwaway database needs no durability: without waiting for the WAL flush each DDL
    // statement's commit costs microseconds instead of an fsync (the analysis commits once per
    // statement). It applies to every session of this database.
    await db.raw(`ALTER DATABASE ${dq(name)} SET synchronous_commit = off`);
  },
  async dropDatabase(db, name) {
    await db.raw(`DROP DATABASE IF EXISTS ${dq(name)} WITH (FORCE)`);
  },
  async dropAccount(db, user) {
    await db.raw(`DROP ROLE IF EXISTS ${dq(user)}`);
  },
  async acquireLock(db, name, waitS) {
    try {
      await db.raw(`SET lock_timeout = '${waitS}s'; SELECT pg_advisory_lock(hashtext('${name}'))`);
      return true;
    } catch (e) {
      // lock_not_available: another run held it for longer than waitS.
      if ((e as { code?: string }).code !== '55P03') throw e;
      return false;
    }
  },
  async releaseLock(db, name) {
    await db.raw(`SELECT pg_advisory_unlock(hashtext('${name}'))`);
  },
  loginRefusedHint: (prefix) =>
    `Allow password logins of the ${prefix}* roles from this host in pg_hba.conf (e.g. \`host all all <this host>/32 scram-sha-256\`), or analyse on a throwaway server: leave --shadow out (a local \`migrate shadow\` server is started) or use a CI service container.`,
};
