/**
 * `check --queries-from`: the running release's statements read from the server it runs against,
 * produced here by a real client (mysql2 / pg running the statements an application would) on
 * servers that record them: a MariaDB with performance_schema ON and a PostgreSQL with
 * pg_stat_statements preloaded, started for this file (test/helpers/digest-servers.ts) because the
 * machine's servers record neither and may not be restarted. Each run goes through the real CLI.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Dialect } from '../../src/config/types.ts';
import { cli, show, type CliResult } from '../faults/harness.ts';
import { type DigestServer, startMariaDbWithDigests, startPostgresWithDigests } from '../helpers/digest-servers.ts';

interface Finding {
  rule: string;
  severity: string;
  message: string;
}
interface Report {
  migrations: { id: string; backwardCompatible: boolean; findings: Finding[] }[];
  notes: string[];
}

const DDL: Record<Dialect, { users: string; addNote: string; addEmail: string }> = {
  mysql: {
    users: 'CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL, email VARCHAR(100), legacy_note TEXT);',
    addNote: 'ALTER TABLE users ADD COLUMN legacy_note TEXT;',
    addEmail: 'ALTER TABLE users ADD COLUMN email VARCHAR(100);',
  },
  postgres: {
    users: 'CREATE TABLE users (id serial PRIMARY KEY, name varchar(50) NOT NULL, email varchar(100), legacy_note text);',
    addNote: 'ALTER TABLE users ADD COLUMN legacy_note text;',
    addEmail: 'ALTER TABLE users ADD COLUMN email varchar(100);',
  },
};

/** What the application does: its common statements 6 times each, and one that reads legacy_note once. */
const APP: Record<Dialect, { common: [string, unknown[]][]; rare: [string, unknown[]] }> = {
  mysql: {
    common: [
      ['SELECT id, name, email FROM users WHERE id = ?', [1]],
      ['INSERT INTO users (name, email) VALUES (?, ?)', ['ann', 'ann@example.com']],
      // Qualified with the database: the digest keeps `app` . `users`, which the shadow must not need.
      ['SELECT name FROM app.users WHERE id = ?', [1]],
    ],
    rare: ['SELECT legacy_note FROM users WHERE id = ?', [1]],
  },
  postgres: {
    common: [
      ['SELECT id, name, email FROM users WHERE id = $1', [1]],
      ['INSERT INTO users (name, email) VALUES ($1, $2)', ['ann', 'ann@example.com']],
      ['SELECT name FROM public.users WHERE id = $1', [1]],
    ],
    rare: ['SELECT legacy_note FROM users WHERE id = $1', [1]],
  },
};

function project(d: Dialect): string {
  const dir = mkdtempSync(join(tmpdir(), `i16-qf-${d}-`));
  const m = join(dir, 'migrations');
  mkdirSync(m);
  const files: Record<string, string> = {
    '0001_users.up.sql': DDL[d].users,
    '0001_users.down.sql': 'DROP TABLE users;',
    '0002_drop_legacy_note.up.sql': '-- migrate:phase pre-deploy\nALTER TABLE users DROP COLUMN legacy_note;',
    '0002_drop_legacy_note.down.sql': DDL[d].addNote,
    '0003_drop_email.up.sql': '-- migrate:phase pre-deploy\nALTER TABLE users DROP COLUMN email;',
    '0003_drop_email.down.sql': DDL[d].addEmail,
  };
  for (const [k, v] of Object.entries(files)) writeFileSync(join(m, k), v);
  return dir;
}

/**
 * Creates the app's database on `s` (PostgreSQL: with pg_stat_statements, plus one database
 * without it when `withoutExtension`) and runs `fn` on a connection to it, as the application would.
 */
async function onApp(
  d: Dialect,
  s: DigestServer,
  fn: (run: (sql: string, args: unknown[]) => Promise<unknown>) => Promise<void>,
  withoutExtension = false,
): Promise<void> {
  if (d === 'mysql') {
    const admin = await mysql.createConnection({ host: s.host, port: s.port, user: s.user });
    await admin.query('CREATE DATABASE app');
    await admin.end();
    const c = await mysql.createConnection({ host: s.host, port: s.port, user: s.user, database: 'app' });
    // query(), as knex runs statements: MariaDB 10.11 leaves statements run through the binary
    // protocol (mysql2's execute(), server-side prepared) out of the digest summary.
    await fn((sql, args) => c.query(sql, args));
    await c.end();
    return;
  }
  const admin = new pg.Client({ host: s.host, port: s.port, user: s.user, database: 'postgres' });
  await admin.connect();
  await admin.query('CREATE DATABASE app');
  if (withoutExtension) await admin.query('CREATE DATABASE app_without_extension');
  await admin.end();
  const c = new pg.Client({ host: s.host, port: s.port, user: s.user, database: 'app' });
  await c.connect();
  await c.query('CREATE EXTENSION pg_stat_statements');
  await fn((sql, args) => c.query(sql, args));
  await c.end();
}

async function runApp(d: Dialect, s: DigestServer): Promise<void> {
  const app = APP[d];
  await onApp(
    d,
    s,
    async (run) => {
      await run(DDL[d].users.replace(/;$/, ''), []);
      for (let i = 0; i < 6; i++) for (const [sql, args] of app.common) await run(sql, args);
      await run(app.rare[0], app.rare[1]);
    },
    true,
  );
}

/** The replica's share of the release: the app's table, and the rare read run six times there. */
async function runReplicaReads(d: Dialect, s: DigestServer): Promise<void> {
  const [sql, args] = APP[d].rare;
  await onApp(d, s, async (run) => {
    await run(DDL[d].users.replace(/;$/, ''), []);
    for (let i = 0; i < 6; i++) await run(sql, args);
  });
}

function report(r: CliResult): Report {
  expect(r.stdout, show(r)).toMatch(/^\{/);
  return JSON.parse(r.stdout) as Report;
}
const migration = (r: Report, id: string) => r.migrations.find((m) => m.id === id)!;
const bc102 = (r: Report, id: string) => migration(r, id).findings.find((f) => f.rule === 'BC102')!;

for (const d of ['mysql', 'postgres'] as const) {
  describe(`check --queries-from (${d === 'mysql' ? 'MariaDB performance_schema' : 'PostgreSQL pg_stat_statements'})`, () => {
    let server: DigestServer;
    let dir: string;
    let url: string;
    beforeAll(async () => {
      server = await (d === 'mysql' ? startMariaDbWithDigests() : startPostgresWithDigests());
      await runApp(d, server);
      dir = project(d);
      url = `${d}://${server.user}@${server.host}:${server.port}/app`;
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    const check = (...args: string[]) => cli(['check', join(dir, 'migrations'), '--dialect', d, '--no-cache', ...args]);
    const node = (name: string, role: string, s: DigestServer) => ({ name, role, host: s.host, port: s.port, user: s.user });
    /** A config whose one cluster, prod, has `nodes`; `connection` is the first recording server. */
    const clusterConfig = (file: string, topology: string, nodes: ReturnType<typeof node>[]): string => {
      const config = join(dir, file);
      writeFileSync(
        config,
        JSON.stringify({
          dialect: d,
          connection: { host: server.host, port: server.port, user: server.user, database: 'app' },
          migrations: { directory: join(dir, 'migrations') },
          clusters: [{ name: 'prod', flavor: d === 'mysql' ? 'mariadb' : 'postgres', topology, nodes }],
        }),
      );
      return config;
    };

    test('a column the recorded statements never name may be dropped; one they name may not; --min-count leaves out rare statements', async () => {
      const [all, frequent, text] = await Promise.all([
        check('--format', 'json', '--queries-from', url),
        check('--format', 'json', '--queries-from', url, '--min-count', '5'),
        check('--queries-from', url, '--min-count', '5'),
      ]);
      // The rare SELECT legacy_note ran once: in the window, so dropping legacy_note breaks it.
      expect(all.code, show(all)).toBe(1);
      const a = report(all);
      expect(migration(a, '0002_drop_legacy_note').backwardCompatible).toBe(false);
      expect(bc102(a, '0002_drop_legacy_note').message).toMatch(/SELECT .?legacy_note.? FROM .?users.? WHERE .?id.? = (\?|\$1).* names users\.legacy_note/i);

      const f = report(frequent);
      expect(f.notes.join('\n')).toMatch(/--queries-from: 3 statements of the running release .* window: since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
      expect(migration(f, '0002_drop_legacy_note').backwardCompatible).toBe(true);
      expect(bc102(f, '0002_drop_legacy_note')).toMatchObject({ severity: 'warning' });
      expect(bc102(f, '0002_drop_legacy_note').message).toMatch(
        /no statement seen since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC in app on 127\.0\.0\.1:\d+ names users\.legacy_note/,
      );
      // email is read by the common SELECT: still breaking, and the statement is named.
      expect(migration(f, '0003_drop_email').backwardCompatible).toBe(false);
      expect(bc102(f, '0003_drop_email')).toMatchObject({ severity: 'error' });
      expect(bc102(f, '0003_drop_email').message).toMatch(/SELECT .?id.? , .?name.? , .?email.?|SELECT id, name, email/i);
      expect(frequent.code, show(frequent)).toBe(1);
      // Every recorded statement prepares on the shadow (none is reported as never valid there).
      expect(f.migrations.flatMap((m) => m.findings.map((x) => x.rule))).not.toContain('WL100');

      expect(text.stdout, show(text)).toMatch(
        new RegExp(
          `--queries-from: 3 statements of the running release from ${d === 'mysql' ? 'performance_schema statement digests' : 'pg_stat_statements'} of app on 127\\.0\\.0\\.1:\\d+ \\(${d === 'mysql' ? 'COUNT_STAR' : 'calls'} >= 5.*\\), window: since \\d{4}-`,
        ),
      );
    }, 120_000);

    test('plan and check --queries-from <cluster>: every node of the configured cluster is read', async () => {
      const config = clusterConfig('migrate.config.json', 'single', [node('db1', 'primary', server)]);
      const r = await cli(['--config', config, 'plan', '--no-cache', '--format', 'json', '--queries-from', 'prod', '--min-count', '5']);
      expect(r.code, show(r)).toBe(1);
      const p = report(r);
      expect(migration(p, '0002_drop_legacy_note').backwardCompatible).toBe(true);
      expect(bc102(p, '0002_drop_legacy_note').message).toMatch(/no statement seen since .* UTC in app on db1 \(127\.0\.0\.1:\d+\) names users\.legacy_note/);
      expect(migration(p, '0003_drop_email').backwardCompatible).toBe(false);
      // check reads the same cluster through --config.
      const viaCheck = await cli([
        '--config',
        config,
        'check',
        join(dir, 'migrations'),
        '--dialect',
        d,
        '--no-cache',
        '--format',
        'json',
        '--queries-from',
        'prod',
        '--min-count',
        '5',
      ]);
      expect(migration(report(viaCheck), '0002_drop_legacy_note').backwardCompatible).toBe(true);
      const unknown = await cli(['--config', config, 'plan', '--queries-from', 'staging']);
      expect(unknown.code, show(unknown)).toBe(2);
      expect(unknown.error).toContain('--queries-from staging:');
      expect(unknown.fix).toContain('Use one of: prod');
    }, 120_000);

    test('a replica of the cluster is read too: a statement only the replica served keeps its column', async () => {
      // A second recording server as the cluster's replica, serving the reads the primary never
      // sees: SELECT legacy_note six times there (it ran once on the primary). Replication is not
      // what is tested, so the two servers do not replicate; each holds the app's table.
      const replica = await (d === 'mysql' ? startMariaDbWithDigests() : startPostgresWithDigests());
      try {
        await runReplicaReads(d, replica);
        const config = clusterConfig('migrate.replicas.config.json', 'primary-replica', [node('db1', 'primary', server), node('db2', 'replica', replica)]);
        const r = await cli(['--config', config, 'plan', '--no-cache', '--format', 'json', '--queries-from', 'prod', '--min-count', '5']);
        expect(r.code, show(r)).toBe(1);
        const p = report(r);
        // The primary alone ran it once (under --min-count 5: droppable, the test above); with the
        // replica's six it is a statement of the release, and dropping legacy_note breaks it.
        expect(migration(p, '0002_drop_legacy_note').backwardCompatible).toBe(false);
        expect(bc102(p, '0002_drop_legacy_note')).toMatchObject({ severity: 'error' });
        expect(bc102(p, '0002_drop_legacy_note').message).toMatch(/SELECT .?legacy_note.? FROM .?users.?.* names users\.legacy_note/i);
        expect(p.notes.join('\n')).toMatch(/db1 \(127\.0\.0\.1:\d+\).*db2 \(127\.0\.0\.1:\d+\)|db2 \(127\.0\.0\.1:\d+\).*db1 \(127\.0\.0\.1:\d+\)/);
      } finally {
        await replica.stop();
      }
    }, 180_000);

    test('bad input is a typed error naming the fix (exit 2)', async () => {
      const [both, minAlone, missing] = await Promise.all([
        check('--queries-from', url, '--queries', join(dir, 'nothing.txt')),
        check('--min-count', '2'),
        d === 'postgres'
          ? check('--queries-from', `${url}_without_extension`)
          : // The machine's MariaDB runs with performance_schema OFF (asserted by this very error).
            check('--queries-from', 'mysql://root@127.0.0.1:3306/mysql'),
      ]);
      expect(both.code, show(both)).toBe(2);
      expect(both.error).toContain('--queries and --queries-from both give');
      expect(minAlone.code, show(minAlone)).toBe(2);
      expect(minAlone.error).toContain('--min-count applies to --queries-from only');
      expect(missing.code, show(missing)).toBe(2);
      if (d === 'postgres') {
        expect(missing.error).toContain('The pg_stat_statements extension is not installed in database app_without_extension');
        expect(missing.fix).toContain('CREATE EXTENSION pg_stat_statements');
      } else {
        expect(missing.error).toContain('performance_schema is OFF');
        expect(missing.fix).toContain('performance_schema=ON');
      }
    }, 120_000);
  });
}
