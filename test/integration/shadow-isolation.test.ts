/**
 * Issue 11: the analysis touches nothing but its own throwaway. On the machine's MariaDB and
 * PostgreSQL (shared servers that hold other databases) a victim database with rows, an account
 * and a role exist; the migrations USE the victim, name its tables with qualified names, drop and
 * re-create the account and the role, and the history starts with a mysqldump-style baseline
 * (`CREATE DATABASE IF NOT EXISTS app; USE app; DROP TABLE IF EXISTS users; ...`). `check` and
 * `plan` run through the CLI on the default shadow (the run's throwaway `migrate shadow` server)
 * and with --shadow naming the shared server; every victim table, row, account and role is
 * checksummed before and after, and the baseline's verdicts must be right. A `check` killed with
 * SIGKILL halfway leaves databases (and an account) that the next run removes.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, type AnalyseStats } from '../../src/analysis/analyse.ts';
import { listShadowObjects } from '../../src/analysis/shadow-run.ts';
import { shadowPrefixOf } from '../../src/analysis/shadow-names.ts';
import type { ConnectionConfig, Dialect } from '../../src/config/types.ts';
import { createKnex } from '../../src/db/connect.ts';
import { runCli, type CliRun } from '../helpers/cli.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';
import { machineServer, serverUrl, shadowServer, sqlMigration } from '../helpers/shadow.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(root, 'bin', 'migrate');
const tag = `iso${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const names = { app: `${tag}_app`, victim: `${tag}_victim`, user: `${tag}_user`, role: `${tag}_role` };
const work = mkdtempSync(join(tmpdir(), 'migrate-isolation-'));
/** Every CLI child of this file: nothing named after them may be left on any server. */
const childPids: number[] = [];

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', MIGRATE_SANDBOX_DIR: join(work, 'no-sandbox') };
  delete base['MIGRATE_SHADOW_URL'];
  return runCli(args, { cwd: work, env: { ...base, ...env }, timeoutMs: 120_000, onPid: (p) => childPids.push(p) });
}

function writeMigrations(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return dir;
}

interface Json {
  migrations: { id: string; backwardCompatible: boolean; findings: { rule: string; severity: string; message: string; statement?: string }[] }[];
  shadow?: string;
}

const newStats = (): AnalyseStats => ({ shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 });

const rules = (j: Json, id: string): string[] => j.migrations.find((m) => m.id === id)?.findings.map((f) => f.rule) ?? [];

async function withKnex<T>(dialect: Dialect, conn: ConnectionConfig, fn: (db: Knex) => Promise<T>): Promise<T> {
  const db = createKnex(dialect, conn, { pool: { min: 0, max: 1 } });
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

/** Nothing named migrate_shadow_* of this file's processes on a server: databases and accounts. */
async function leftovers(dialect: Dialect, server: ConnectionConfig, pids: number[] = [process.pid, ...childPids]): Promise<string[]> {
  const prefixes = pids.map(shadowPrefixOf);
  return (await listShadowObjects(dialect, server)).filter((o) => prefixes.some((p) => o.name.startsWith(p))).map((o) => `${o.kind} ${o.name}`);
}

/** The victims live for the whole file: every describe checks them. */
beforeAll(async () => {
  await withKnex('mysql', machineServer('mysql'), async (db) => {
    await db.raw(`CREATE DATABASE \`${names.victim}\``);
    await db.raw(`CREATE TABLE \`${names.victim}\`.users (id INT PRIMARY KEY, name VARCHAR(100))`);
    await db.raw(`CREATE TABLE \`${names.victim}\`.orders (id INT PRIMARY KEY, total INT)`);
    await db.raw(`INSERT INTO \`${names.victim}\`.users VALUES (1, 'ada'), (2, 'grace')`);
    await db.raw(`INSERT INTO \`${names.victim}\`.orders VALUES (1, 1999), (2, 4250)`);
    await db.raw(`CREATE USER '${names.user}'@'%' IDENTIFIED BY 'the-real-password'`);
    await db.raw(`CREATE ROLE ${names.role}`);
    await db.raw(`GRANT SELECT ON \`${names.victim}\`.* TO ${names.role}`);
  });
  const machinePg = machineServer('postgres');
  await withKnex('postgres', machinePg, async (db) => {
    await db.raw(`CREATE DATABASE "${names.victim}"`);
    await db.raw(`CREATE ROLE "${names.user}" LOGIN PASSWORD 'the-real-password'`);
    await db.raw(`CREATE ROLE "${names.role}" NOLOGIN`);
  });
  await withKnex('postgres', { ...machinePg, database: names.victim }, async (db) => {
    await db.raw('CREATE TABLE users (id int PRIMARY KEY, name text)');
    await db.raw("INSERT INTO users VALUES (1, 'ada'), (2, 'grace')");
    await db.raw(`GRANT SELECT ON users TO "${names.role}"`);
  });
});

afterAll(async () => {
  await withKnex('mysql', machineServer('mysql'), async (db) => {
    await db.raw(`DROP DATABASE IF EXISTS \`${names.victim}\``);
    await db.raw(`DROP USER IF EXISTS '${names.user}'@'%'`);
    await db.raw(`DROP ROLE IF EXISTS ${names.role}`);
  });
  await withKnex('postgres', machineServer('postgres'), async (db) => {
    await db.raw(`DROP DATABASE IF EXISTS "${names.victim}" WITH (FORCE)`);
    await db.raw(`DROP ROLE IF EXISTS "${names.role}"`);
    await db.raw(`DROP ROLE IF EXISTS "${names.user}"`);
  });
});

// --- MySQL / MariaDB -----------------------------------------------------------------------------

const mysqlMigrations = (): Record<string, string> => ({
  '0001_baseline.up.sql': `-- mysqldump-style baseline: the database, then USE it
CREATE DATABASE /*!32312 IF NOT EXISTS*/ \`${names.app}\` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;
USE \`${names.app}\`;
DROP TABLE IF EXISTS \`users\`;
CREATE TABLE \`users\` (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(100));
DROP TABLE IF EXISTS \`orders\`;
CREATE TABLE \`orders\` (id INT PRIMARY KEY, user_id INT, total INT NOT NULL DEFAULT 0);
`,
  '0001_baseline.down.sql': 'DROP TABLE orders;\nDROP TABLE users;\n',
  '0002_drop_email.up.sql': `-- migrate:phase pre-deploy\nALTER TABLE \`${names.app}\`.users DROP COLUMN email;\n`,
  '0002_drop_email.down.sql': 'ALTER TABLE users ADD COLUMN email VARCHAR(100);\n',
  '0003_victim.up.sql': `CREATE DATABASE IF NOT EXISTS ${names.victim};
CREATE TABLE IF NOT EXISTS ${names.victim}.orders (id INT PRIMARY KEY, total INT);
USE ${names.victim};
DROP TABLE IF EXISTS users;
CREATE TABLE users (id INT PRIMARY KEY);
USE ${names.app};
ALTER TABLE ${names.victim}.orders ADD COLUMN cents INT;
UPDATE ${names.victim}.orders SET cents = total * 100, total = 0;
ALTER TABLE users ADD COLUMN nickname VARCHAR(20);
`,
  '0003_victim.down.sql': 'ALTER TABLE users DROP COLUMN nickname;\n',
  '0004_accounts.up.sql': `DROP USER IF EXISTS '${names.user}'@'%';
CREATE USER '${names.user}'@'%' IDENTIFIED BY 'changed-by-a-migration';
DROP ROLE IF EXISTS ${names.role};
CREATE ROLE ${names.role};
GRANT SELECT ON ${names.app}.users TO ${names.role};
CREATE TABLE audit (id INT PRIMARY KEY);
`,
  '0004_accounts.down.sql': `DROP TABLE audit;\nDROP ROLE IF EXISTS ${names.role};\nDROP USER IF EXISTS '${names.user}'@'%';\n`,
});

/** Everything of the victim a user would check: schema, rows, checksums, the account and the role. */
async function mysqlFingerprint(server: ConnectionConfig): Promise<string> {
  return withKnex('mysql', server, async (db) => {
    const out: unknown[] = [];
    const [dbs] = (await db.raw(`SHOW DATABASES LIKE '${tag}%'`)) as [Record<string, string>[]];
    out.push(dbs);
    for (const t of ['users', 'orders']) {
      const [create] = (await db.raw(`SHOW CREATE TABLE \`${names.victim}\`.\`${t}\``)) as [Record<string, string>[]];
      const [rows] = (await db.raw(`SELECT * FROM \`${names.victim}\`.\`${t}\` ORDER BY id`)) as [unknown[]];
      const [sum] = (await db.raw(`CHECKSUM TABLE \`${names.victim}\`.\`${t}\``)) as [unknown[]];
      out.push(create, rows, sum);
    }
    const [accounts] = (await db.raw('SELECT User, Host, authentication_string, is_role FROM mysql.user WHERE User IN (?, ?) ORDER BY User, Host', [
      names.user,
      names.role,
    ])) as [unknown[]];
    const [grants] = (await db.raw(`SHOW GRANTS FOR ${names.role}`)) as [unknown[]];
    out.push(accounts, grants);
    return JSON.stringify(out);
  });
}

describe('MySQL/MariaDB: a victim on the shared server stays identical', () => {
  const machine = machineServer('mysql');
  const dir = join(work, 'mysql-migrations');
  let before = '';

  beforeAll(async () => {
    writeMigrations(dir, mysqlMigrations());
    before = await mysqlFingerprint(machine);
  });

  it('check on the default shadow: the baseline is analysed where it puts its tables, the victim is untouched', async () => {
    const r = await cli(['check', dir, '--dialect', 'mysql', '--no-cache', '--format', 'json']);
    expect(r.code, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as Json;
    // The baseline's tables were snapshotted in the shadow database that stands for `app`.
    expect(rules(j, '0001_baseline')).toEqual(['RV201', 'RV201']);
    expect(rules(j, '0002_drop_email')).toContain('BC102');
    expect(j.migrations.find((m) => m.id === '0002_drop_email')?.backwardCompatible).toBe(false);
    // On the throwaway server USE of another database runs, and is reported as not analysed.
    expect(rules(j, '0003_victim')).toContain('SH201');
    expect(rules(j, '0003_victim')).not.toContain('SH101');
    expect(rules(j, '0004_accounts')).not.toContain('SH101');
    expect(j.shadow).toMatch(/throwaway by construction/);
    expect(await mysqlFingerprint(machine)).toBe(before);
  });

  it('check with --shadow naming the shared server: refused statements are findings, nothing outside the shadow changes', async () => {
    const r = await cli(['check', dir, '--dialect', 'mysql', '--no-cache', '--format', 'json', '--shadow', serverUrl('mysql', machine)]);
    expect(r.code, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as Json;
    expect(j.shadow).toMatch(/shared \(it holds .*\): analysed through an account of its own/);
    expect(rules(j, '0002_drop_email')).toContain('BC102');
    const sh = j.migrations.find((m) => m.id === '0003_victim')!.findings.filter((f) => f.rule === 'SH101');
    expect(sh.map((f) => f.statement)).toEqual([
      `CREATE DATABASE IF NOT EXISTS ${names.victim}`,
      `CREATE TABLE IF NOT EXISTS ${names.victim}.orders (id INT PRIMARY KEY, total INT)`,
      `USE ${names.victim}`,
      `ALTER TABLE ${names.victim}.orders ADD COLUMN cents INT`,
      `UPDATE ${names.victim}.orders SET cents = total * 100, total = 0`,
    ]);
    expect(sh[2]!.message).toMatch(
      new RegExp(`it switches to the database ${names.victim}.*The 2 statements after it, meant for ${names.victim}, did not run either`),
    );
    expect(sh.every((f) => f.severity === 'error')).toBe(true);
    // The rest of 0003 was analysed: the column added to the home database is seen.
    expect(rules(j, '0003_victim')).toContain('RV201');
    const accounts = j.migrations.find((m) => m.id === '0004_accounts')!.findings.filter((f) => f.rule === 'SH101');
    expect(accounts.length).toBeGreaterThanOrEqual(5);
    expect(accounts.some((f) => /it changes accounts/.test(f.message))).toBe(true);
    expect(await mysqlFingerprint(machine)).toBe(before);
    expect(await leftovers('mysql', machine)).toEqual([]);
  });
});

// --- PostgreSQL ----------------------------------------------------------------------------------

const pgMigrations = (): Record<string, string> => ({
  '0001_users.up.sql': 'CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text);\n',
  '0001_users.down.sql': 'DROP TABLE users;\n',
  '0002_drop_email.up.sql': '-- migrate:phase pre-deploy\nALTER TABLE users DROP COLUMN email;\n',
  '0002_drop_email.down.sql': 'ALTER TABLE users ADD COLUMN email text;\n',
  '0003_roles.up.sql': `DROP ROLE IF EXISTS ${names.role};
CREATE ROLE ${names.role} NOLOGIN;
DROP ROLE IF EXISTS ${names.user};
CREATE ROLE ${names.user} LOGIN PASSWORD 'changed-by-a-migration';
GRANT SELECT ON users TO ${names.role};
ALTER TABLE users ADD COLUMN nickname text;
`,
  '0003_roles.down.sql': `ALTER TABLE users DROP COLUMN nickname;\nREVOKE SELECT ON users FROM ${names.role};\nDROP ROLE IF EXISTS ${names.role};\nDROP ROLE IF EXISTS ${names.user};\n`,
  '0004_database.up.sql': `DROP DATABASE IF EXISTS ${names.victim};\nCREATE TABLE audit (id int PRIMARY KEY);\n`,
  '0004_database.down.sql': 'DROP TABLE audit;\n',
});

async function pgFingerprint(server: ConnectionConfig): Promise<string> {
  const out: unknown[] = [];
  await withKnex('postgres', server, async (db) => {
    out.push((await db.raw(`SELECT datname FROM pg_database WHERE datname LIKE '${tag}%' ORDER BY 1`)).rows);
    out.push(
      (await db.raw('SELECT rolname, rolcanlogin, rolpassword, rolsuper FROM pg_authid WHERE rolname IN (?, ?) ORDER BY 1', [names.user, names.role])).rows,
    );
  });
  await withKnex('postgres', { ...server, database: names.victim }, async (db) => {
    out.push((await db.raw("SELECT md5(string_agg(t::text, ',' ORDER BY id)) AS m, count(*) AS n FROM users t")).rows);
    out.push((await db.raw("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position")).rows);
    out.push((await db.raw("SELECT grantee, privilege_type FROM information_schema.role_table_grants WHERE table_name = 'users' ORDER BY 1, 2")).rows);
  });
  return JSON.stringify(out);
}

describe('PostgreSQL: a victim database, login role and role on the shared server stay identical', () => {
  const machine = machineServer('postgres');
  const dir = join(work, 'pg-migrations');
  let before = '';

  beforeAll(async () => {
    writeMigrations(dir, pgMigrations());
    before = await pgFingerprint(machine);
  });

  it('check on the default shadow and with --shadow naming the shared server', async () => {
    const own = await cli(['check', dir, '--dialect', 'postgres', '--no-cache', '--format', 'json']);
    expect(own.code, own.stderr).toBe(1);
    const a = JSON.parse(own.stdout) as Json;
    expect(rules(a, '0002_drop_email')).toContain('BC102');
    expect(a.migrations.flatMap((m) => m.findings).filter((f) => f.rule.startsWith('SH'))).toEqual([]);
    expect(await pgFingerprint(machine)).toBe(before);

    const shared = await cli(['check', dir, '--dialect', 'postgres', '--no-cache', '--format', 'json', '--shadow', serverUrl('postgres', machine)]);
    expect(shared.code, shared.stderr).toBe(1);
    const b = JSON.parse(shared.stdout) as Json;
    expect(b.shadow).toMatch(/shared \(it holds .*\): analysed through an account of its own/);
    const sh = b.migrations.find((m) => m.id === '0003_roles')!.findings.filter((f) => f.rule === 'SH101');
    expect(sh.map((f) => f.statement)).toEqual([
      `DROP ROLE IF EXISTS ${names.role}`,
      `CREATE ROLE ${names.role} NOLOGIN`,
      `DROP ROLE IF EXISTS ${names.user}`,
      // The password the migration sets is masked, as in every report format.
      `CREATE ROLE ${names.user} LOGIN PASSWORD '***'`,
      `DROP ROLE IF EXISTS ${names.role}`,
      `DROP ROLE IF EXISTS ${names.user}`,
    ]);
    expect(shared.stdout).not.toContain('changed-by-a-migration');
    expect(rules(b, '0004_database')).toContain('SH101');
    expect(rules(b, '0002_drop_email')).toContain('BC102');
    expect(await pgFingerprint(machine)).toBe(before);
    expect(await leftovers('postgres', machine)).toEqual([]);
  });
});

// --- plan and apply's gate against sandbox clusters -----------------------------------------------

/** The MariaDB position of every node: the analysis must not move any of them. */
async function positions(sb: RunningSandbox): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of sb.nodes) {
    const c = await sb.mysql(n.name);
    try {
      const [rows] = await c.query('SELECT @@gtid_binlog_pos AS p');
      out[n.name] = String((rows as { p: string }[])[0]?.p);
    } finally {
      await c.end();
    }
  }
  return out;
}

/** The nodes' positions once every replica has applied what the primary logged (what `up` just ran), so a later move is the analysis's. */
async function settledPositions(sb: RunningSandbox): Promise<Record<string, string>> {
  const t0 = Date.now();
  for (;;) {
    const p = await positions(sb);
    if (new Set(Object.values(p)).size === 1 || Date.now() - t0 > 30_000) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A config for `target` on the sandbox's primary (as its admin), with the sandbox's cluster. */
function sandboxConfig(sb: RunningSandbox, dialect: Dialect, database: string, dir: string, file: string): string {
  const primary = sb.nodes[0]!;
  const cfg = JSON.parse(readFileSync(sb.configPath, 'utf8')) as { clusters: { nodes: { passwordFile: string }[] }[] };
  for (const c of cfg.clusters) for (const n of c.nodes) n.passwordFile = join(sb.dir, n.passwordFile);
  const url = serverUrl(dialect, { host: primary.host, port: primary.port, user: primary.user, password: primary.password, database }, database);
  writeFileSync(file, JSON.stringify({ url, migrations: { directory: dir }, clusters: cfg.clusters }));
  return file;
}

describe("plan and apply's gate against a sandbox cluster, with the sandbox running", () => {
  let my: RunningSandbox;
  let pgsb: RunningSandbox;
  const mysqlDir = join(work, 'sandbox-mysql-migrations');
  const pgDir = join(work, 'sandbox-pg-migrations');
  const withSandbox = (sb: RunningSandbox): NodeJS.ProcessEnv => ({ MIGRATE_SANDBOX_DIR: sb.dir });

  beforeAll(async () => {
    [my, pgsb] = await Promise.all([startSandbox({ topology: 'primary-replica', replicas: 1 }), startSandbox({ topology: 'postgres', replicas: 0 })]);
    writeMigrations(mysqlDir, mysqlMigrations());
    writeMigrations(pgDir, pgMigrations());
    const c = await my.mysql('primary');
    try {
      await c.query(`CREATE DATABASE \`${names.app}\``);
    } finally {
      await c.end();
    }
    const p = await pgsb.pg('primary');
    try {
      await p.query(`CREATE DATABASE "${names.app}"`);
    } finally {
      await p.end();
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.all([my?.stop(), pgsb?.stop()]);
  });

  it("MySQL/MariaDB: no node's gtid_binlog_pos moves, the victim on the shared server stays identical, nodes are refused as shadows", async () => {
    const machine = machineServer('mysql');
    const victimBefore = await mysqlFingerprint(machine);
    const config = sandboxConfig(my, 'mysql', names.app, mysqlDir, join(work, 'sandbox-mysql.config.json'));
    const up = await cli(['--config', config, 'up', '--to', '0002_drop_email'], withSandbox(my));
    expect(up.code, up.stderr).toBe(0);
    const before = await settledPositions(my);
    for (const extra of [[], ['--shadow', serverUrl('mysql', machine)]]) {
      const r = await cli(['--config', config, 'plan', '--no-cache', '--format', 'json', ...extra], withSandbox(my));
      // On the shared server the refused statements are errors (SH101): the gate fails.
      expect(r.code, r.stderr).toBe(extra.length ? 1 : 0);
      const j = JSON.parse(r.stdout) as Json;
      expect(j.migrations.map((m) => m.id)).toEqual(['0003_victim', '0004_accounts']);
      expect(rules(j, '0003_victim')).toContain(extra.length ? 'SH101' : 'SH201');
      expect(j.shadow).not.toContain(`:${my.nodes[0]!.port}`);
    }
    // A check with the sandbox running uses the throwaway server, not the sandbox's primary.
    const check = await cli(['check', mysqlDir, '--dialect', 'mysql', '--no-cache', '--format', 'json'], withSandbox(my));
    expect(check.code, check.stderr).toBe(1);
    expect((JSON.parse(check.stdout) as Json).shadow).toMatch(/throwaway by construction/);
    // apply's gate (a dry run stops after the gate and the preflight): the pending migrations are analysed on the throwaway.
    const dry = await cli(['--config', config, 'apply', '--dry-run'], withSandbox(my));
    expect(dry.stderr).not.toMatch(/error:/);
    expect(dry.stdout).toMatch(/0003_victim/);
    // Any node of the cluster, or the target, named as the shadow: refused, exit 2, nothing run.
    const replica = my.nodes[1]!;
    for (const [url, why] of [
      [
        serverUrl('mysql', { host: 'localhost', port: replica.port, user: replica.user, password: replica.password, database: '' }),
        /is node replica1 of cluster sandbox/,
      ],
      [
        serverUrl('mysql', { host: '127.0.0.1', port: my.nodes[0]!.port, user: 'root', password: my.nodes[0]!.password, database: '' }),
        /is the target of (plan|apply)/,
      ],
    ] as const) {
      for (const cmd of [['plan'], ['apply', '--dry-run']]) {
        const r = await cli(['--config', config, ...cmd, '--shadow', url], withSandbox(my));
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(why);
      }
    }
    // check has no config: the running sandbox's nodes are refused all the same.
    const node = await cli(
      [
        'check',
        mysqlDir,
        '--dialect',
        'mysql',
        '--shadow',
        serverUrl('mysql', { host: '127.0.0.1', port: replica.port, user: replica.user, password: replica.password, database: '' }),
      ],
      withSandbox(my),
    );
    expect(node.code).toBe(2);
    expect(node.stderr).toMatch(/is node replica1 of the sandbox in/);
    expect(await positions(my)).toEqual(before);
    expect(await mysqlFingerprint(machine)).toBe(victimBefore);
    expect(await leftovers('mysql', machine)).toEqual([]);
  });

  it('a shared server that is a replication source: a warning, and its replicas keep replicating', async () => {
    const primary = my.nodes[0]!;
    const warnings: string[] = [];
    const stats = newStats();
    const vs = await analyse(
      [
        sqlMigration('mysql', '0001_t', 'CREATE TABLE t (id INT PRIMARY KEY);', 'DROP TABLE t;'),
        sqlMigration('mysql', '0002_c', 'ALTER TABLE t ADD COLUMN c INT;', 'ALTER TABLE t DROP COLUMN c;'),
      ],
      {
        dialect: 'mysql',
        shadow: { host: primary.host, port: primary.port, user: primary.user, password: primary.password, database: '' },
        onWarning: (m) => warnings.push(m),
        stats,
      },
    );
    expect(vs).toHaveLength(2);
    expect(stats.isolation).toBe('shared');
    expect(warnings).toEqual([expect.stringMatching(/writes a binary log and 1 replica\(s\) read it: .*A shadow server must not be a replication source/)]);
    // What reached the replica through the binary log is whole: replication runs, nothing is left.
    const c = await my.mysql('replica1');
    try {
      await c.query(`SELECT MASTER_GTID_WAIT('${(await positions(my))['primary']}', 20)`);
      const [st] = await c.query('SHOW SLAVE STATUS');
      const row = (st as Record<string, unknown>[])[0]!;
      expect([row['Slave_IO_Running'], row['Slave_SQL_Running'], row['Last_SQL_Error']]).toEqual(['Yes', 'Yes', '']);
      const [dbs] = await c.query("SHOW DATABASES LIKE 'migrate\\_shadow\\_%'");
      expect(dbs).toEqual([]);
    } finally {
      await c.end();
    }
  });

  it('PostgreSQL: plan on the default shadow and with --shadow naming the shared server leaves the victim identical', async () => {
    const machine = machineServer('postgres');
    const victimBefore = await pgFingerprint(machine);
    const config = sandboxConfig(pgsb, 'postgres', names.app, pgDir, join(work, 'sandbox-pg.config.json'));
    const up = await cli(['--config', config, 'up', '--to', '0002_drop_email'], withSandbox(pgsb));
    expect(up.code, up.stderr).toBe(0);
    for (const extra of [[], ['--shadow', serverUrl('postgres', machine)]]) {
      const r = await cli(['--config', config, 'plan', '--no-cache', '--format', 'json', ...extra], withSandbox(pgsb));
      expect(r.code, r.stderr + r.stdout).toBe(extra.length ? 1 : 0);
      const j = JSON.parse(r.stdout) as Json;
      expect(j.migrations.map((m) => m.id)).toEqual(['0003_roles', '0004_database']);
      expect(rules(j, '0003_roles')).toEqual(extra.length ? expect.arrayContaining(['SH101']) : expect.not.arrayContaining(['SH101']));
    }
    const r = await cli(['--config', config, 'plan', '--shadow', serverUrl('postgres', { ...pgsb.nodes[0]!, database: 'postgres' })], withSandbox(pgsb));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is the target of plan/);
    expect(await pgFingerprint(machine)).toBe(victimBefore);
    expect(await leftovers('postgres', machine)).toEqual([]);
  });
});

// --- a check killed halfway ----------------------------------------------------------------------

describe('a check killed with SIGKILL halfway', () => {
  const slow = join(work, 'slow');
  const fast = join(work, 'fast');

  beforeAll(() => {
    writeMigrations(slow, {
      '0001_t.up.sql': 'CREATE TABLE t (id INT PRIMARY KEY);\n',
      '0001_t.down.sql': 'DROP TABLE t;\n',
      '0002_slow.up.sql': 'DO SLEEP(30);\nALTER TABLE t ADD COLUMN c INT;\n',
      '0002_slow.down.sql': 'ALTER TABLE t DROP COLUMN c;\n',
    });
    writeMigrations(fast, { '0001_t.up.sql': 'CREATE TABLE t (id INT PRIMARY KEY);\n', '0001_t.down.sql': 'DROP TABLE t;\n' });
  });

  /** Starts `check` on `slow`, waits until its shadow database exists, then kills it with SIGKILL. */
  async function killHalfway(server: ConnectionConfig, extra: string[]): Promise<{ pid: number; left: string[] }> {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', MIGRATE_SANDBOX_DIR: join(work, 'no-sandbox') };
    delete env['MIGRATE_SHADOW_URL'];
    const child = spawn(process.execPath, [BIN, 'check', slow, '--dialect', 'mysql', '--no-cache', ...extra], { cwd: work, env, stdio: 'ignore' });
    const pid = child.pid!;
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    const until = Date.now() + 60_000;
    let left: string[] = [];
    while (Date.now() < until) {
      left = await leftovers('mysql', server, [pid]);
      if (left.some((l) => l.startsWith('database'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    await exited;
    return { pid, left: await leftovers('mysql', server, [pid]) };
  }

  it('on the default shadow: the next check removes its databases', async () => {
    const throwaway = shadowServer('mysql');
    const { pid, left } = await killHalfway(throwaway, []);
    expect(left.filter((l) => l.startsWith('database')).length).toBeGreaterThan(0);
    // `migrate shadow status` lists them, and why they count as left over.
    const status = await cli(['shadow', 'status', '--dialect', 'mysql']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/shadow databases and accounts: .*left by killed runs, removed by the next check, plan or apply:/);
    for (const l of left) expect(status.stdout).toContain(`  ${l}: its process ${pid} is gone`);
    const next = await cli(['check', fast, '--dialect', 'mysql', '--no-cache']);
    expect(next.code, next.stderr).toBe(0);
    expect(await leftovers('mysql', throwaway, [pid])).toEqual([]);
  });

  it('on a shared server: the next check removes its databases and its account', async () => {
    const machine = machineServer('mysql');
    const { pid, left } = await killHalfway(machine, ['--shadow', serverUrl('mysql', machine)]);
    expect(left.some((l) => l.startsWith('database'))).toBe(true);
    expect(left.some((l) => l.startsWith('account'))).toBe(true);
    const next = await cli(['check', fast, '--dialect', 'mysql', '--no-cache', '--shadow', serverUrl('mysql', machine)]);
    expect(next.code, next.stderr).toBe(0);
    expect(await leftovers('mysql', machine, [pid])).toEqual([]);
  });
});

afterAll(async () => {
  for (const d of ['mysql', 'postgres'] as const) {
    expect(await leftovers(d, machineServer(d))).toEqual([]);
    expect(await leftovers(d, shadowServer(d))).toEqual([]);
  }
  rmSync(work, { recursive: true, force: true });
});
