import { describe, expect, it } from 'vitest';
import { grantPattern, isLocalHost, leftoverReason, newRunName, parseShadowName, type LeftoverPolicy } from '../../src/analysis/shadow-names.ts';
import { aliasHome, firstUse, firstUseInSource, rewriteHomeQualifiers, serverWideInSource, serverWideReason } from '../../src/analysis/shadow-statements.ts';

describe('shadow names', () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);

  it('fit a MySQL 8 user name and say who made them and when', () => {
    const run = newRunName(4_194_303, now, 'ab12');
    expect(run.length).toBeLessThanOrEqual(32);
    expect(parseShadowName(run)).toEqual({ pid: 4_194_303, startedAt: Math.floor(now / 1000), run });
    expect(parseShadowName(`${run}_3`)).toEqual({ pid: 4_194_303, startedAt: Math.floor(now / 1000), run });
    // Earlier releases: pid and 10 hex characters, no time.
    expect(parseShadowName('migrate_shadow_2n9c_0123456789')).toEqual({ pid: parseInt('2n9c', 36), run: 'migrate_shadow_2n9c_0123456789' });
    expect(parseShadowName('migrate_shadow_app')).toBeUndefined();
    expect(parseShadowName('app')).toBeUndefined();
  });

  it('are leftovers when their local process is gone or they are older than the bound, never when in use', () => {
    const run = newRunName(1234, now - 120_000, 'ab12');
    const base: LeftoverPolicy = { nowMs: now, maxAgeS: 3600, localServer: true, isAlive: () => true, ownRuns: new Set() };
    expect(leftoverReason(`${run}_0`, base)).toBeUndefined();
    expect(leftoverReason(`${run}_0`, { ...base, isAlive: () => false })).toBe('its process 1234 is gone');
    // On another host a pid means nothing: only the age counts.
    expect(leftoverReason(`${run}_0`, { ...base, localServer: false, isAlive: () => false })).toBeUndefined();
    expect(leftoverReason(`${run}_0`, { ...base, localServer: false, maxAgeS: 60 })).toBe('older than 60 s');
    // A run of this process is never a leftover.
    expect(leftoverReason(`${run}_0`, { ...base, isAlive: () => false, ownRuns: new Set([run]) })).toBeUndefined();
    expect(leftoverReason('somebody_else', { ...base, isAlive: () => false })).toBeUndefined();
  });

  it("grant exactly the run's databases", () => {
    expect(grantPattern('migrate_shadow_ab_cd_ef01')).toBe('migrate\\_shadow\\_ab\\_cd\\_ef01\\_%');
  });

  it('tell local servers, whose pids are ours to check', () => {
    for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]', '/run/mysqld/mysqld.sock', '127.0.1.1']) expect(isLocalHost(h), h).toBe(true);
    for (const h of ['10.0.0.1', 'db.example.com', 'shadow']) expect(isLocalHost(h), h).toBe(false);
  });
});

describe('home database alias (MySQL)', () => {
  const shadow = 'migrate_shadow_x_y_0000_0';

  it('runs USE / CREATE DATABASE / ALTER DATABASE of the home database on the shadow', () => {
    expect(aliasHome('USE app', 'app', shadow)).toEqual({ sql: `USE \`${shadow}\`` });
    expect(aliasHome('use `app`;', 'app', shadow)).toEqual({ sql: `USE \`${shadow}\`` });
    expect(aliasHome('/*!40000 x */ CREATE DATABASE /*!32312 IF NOT EXISTS*/ `app`', 'app', shadow)).toEqual({ sql: 'DO 0' });
    expect(aliasHome('CREATE DATABASE IF NOT EXISTS app CHARACTER SET utf8mb4', 'app', shadow)).toEqual({ sql: 'DO 0' });
    expect(aliasHome('ALTER DATABASE app CHARACTER SET utf8mb4', 'app', shadow)).toEqual({ sql: `ALTER DATABASE \`${shadow}\` CHARACTER SET utf8mb4` });
  });

  it('reports USE of another database, and leaves other statements alone', () => {
    expect(aliasHome('USE victim', 'app', shadow)).toEqual({ otherDatabase: 'victim' });
    expect(aliasHome('USE victim', undefined, shadow)).toEqual({ otherDatabase: 'victim' });
    expect(aliasHome(`USE ${shadow}`, 'app', shadow)).toBeUndefined();
    expect(aliasHome('CREATE DATABASE victim', 'app', shadow)).toBeUndefined();
    expect(aliasHome('ALTER TABLE users ADD c INT', 'app', shadow)).toBeUndefined();
    expect(aliasHome('ALTER TABLE app.users ADD c INT', undefined, shadow)).toBeUndefined();
  });

  it('rewrites qualifiers of the home database only, outside strings and comments', () => {
    expect(rewriteHomeQualifiers('ALTER TABLE app.orders ADD COLUMN cents INT', 'app', shadow)).toBe(`ALTER TABLE \`${shadow}\`.orders ADD COLUMN cents INT`);
    expect(rewriteHomeQualifiers("UPDATE `app` . `orders` SET note = 'app.orders' -- app.x\nWHERE 1", 'app', shadow)).toBe(
      `UPDATE \`${shadow}\` . \`orders\` SET note = 'app.orders' -- app.x\nWHERE 1`,
    );
    // A column of a table named like the database, other databases, and longer names stay.
    expect(rewriteHomeQualifiers('SELECT t.app.x, victim.users.id, apps.t, myapp.t FROM t', 'app', shadow)).toBe(
      'SELECT t.app.x, victim.users.id, apps.t, myapp.t FROM t',
    );
    expect(rewriteHomeQualifiers('CREATE TABLE app.t (id INT) /* app.t */', 'app', shadow)).toBe(`CREATE TABLE \`${shadow}\`.t (id INT) /* app.t */`);
  });

  it('finds the first database a history USEs', () => {
    expect(firstUse(['CREATE DATABASE IF NOT EXISTS app', 'USE app', 'USE other'])).toBe('app');
    expect(firstUse(['CREATE TABLE t (id INT)'])).toBeUndefined();
    expect(firstUseInSource("await knex.raw('USE `shop`');")).toBe('shop');
    expect(firstUseInSource('// we use knex here\nawait knex.schema.createTable("t", () => {})')).toBeUndefined();
  });
});

describe('server-wide statements', () => {
  it('are accounts, roles, privileges, other databases and global settings (MySQL)', () => {
    const yes = [
      "CREATE USER 'reporting'@'%' IDENTIFIED BY 'x'",
      "DROP USER IF EXISTS 'app'@'localhost'",
      "GRANT SELECT ON app.* TO 'reporting'@'%'",
      'CREATE ROLE r1',
      'SET GLOBAL max_connections = 10',
      'SET @@global.read_only = 1',
      'USE victim',
      'CREATE DATABASE victim',
      'DROP DATABASE IF EXISTS victim',
      "PREPARE s FROM 'CREATE USER x'",
      'FLUSH PRIVILEGES',
    ];
    for (const s of yes) expect(serverWideReason(s, 'mysql', 'app'), s).toBeDefined();
    const no = [
      'USE app',
      'CREATE DATABASE IF NOT EXISTS app',
      'ALTER DATABASE CHARACTER SET utf8mb4',
      'CREATE TABLE grants (id INT, grant_id INT)',
      'ALTER TABLE users ADD COLUMN role VARCHAR(10)',
      'SET SESSION sql_mode = ""',
      'SET FOREIGN_KEY_CHECKS = 0',
    ];
    for (const s of no) expect(serverWideReason(s, 'mysql', 'app'), s).toBeUndefined();
    expect(serverWideReason('USE victim', 'mysql', 'app')).toBe('switches to the database victim');
  });

  it('are roles, databases, tablespaces, ALTER SYSTEM and role membership (PostgreSQL)', () => {
    const yes = [
      'DROP ROLE IF EXISTS reporting',
      'CREATE ROLE reporting NOLOGIN',
      "ALTER USER app PASSWORD 'x'",
      'CREATE DATABASE other',
      "ALTER SYSTEM SET work_mem = '1GB'",
      'GRANT reporting TO app',
      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'r') THEN CREATE ROLE r; END IF; END $$",
    ];
    for (const s of yes) expect(serverWideReason(s, 'postgres'), s).toBeDefined();
    const no = [
      'GRANT SELECT ON users TO PUBLIC',
      'CREATE SCHEMA app',
      'CREATE TABLE roles (id int)',
      'SET ROLE NONE',
      'ALTER TABLE users OWNER TO CURRENT_USER',
    ];
    for (const s of no) expect(serverWideReason(s, 'postgres'), s).toBeUndefined();
  });

  it('are found in TypeScript sources', () => {
    expect(serverWideInSource("await knex.raw('CREATE ROLE reporting')", 'postgres')).toBe('changes roles');
    expect(serverWideInSource("await knex.raw('USE victim')", 'mysql', 'app')).toBe('switches to the database victim');
    expect(serverWideInSource("await knex.raw('USE app')", 'mysql', 'app')).toBeUndefined();
    expect(serverWideInSource("await knex.schema.alterTable('users', (t) => t.string('role'))", 'mysql', 'app')).toBeUndefined();
  });
});
