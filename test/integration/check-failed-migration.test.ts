import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, type AnalyseStats } from '../../src/analysis/analyse.ts';
import { planSegments } from '../../src/analysis/segments.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import type { Dialect } from '../../src/config/types.ts';
import { failedOnShadow } from '../../src/execution/apply.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';
import { runCli, type CliRun } from '../helpers/cli.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';
import { serverUrl, shadowServer, sqlMigration } from '../helpers/shadow.ts';
import { junitErrors, sarifErrors, xpath as xmlPath } from '../fixtures/schemas/validate.ts';

/**
 * A migration that fails on the shadow server is a verdict, not the end of the run (issue 15,
 * point 3): through the real CLI on MariaDB and PostgreSQL, a history of four migrations whose
 * third fails on the server exits 1; the first two keep their verdicts, the third is `failed`
 * with the server's error, its statement and line, the fourth is `not analysed`, in every
 * format. A failing down keeps the up's verdict; a missing down is RV101, not a refusal; exit 2
 * stays for bad config and unreachable servers, and with --format json it is JSON on stdout.
 */
let tmp: string;
const childPids: number[] = [];

const TABLE: Record<Dialect, string> = {
  mysql: 'CREATE TABLE accounts (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL);',
  postgres: 'CREATE TABLE accounts (id bigserial PRIMARY KEY, name varchar(100) NOT NULL);',
};
/** What each server says about the third migration's DROP COLUMN of a column that was never created. */
const SERVER_SAYS: Record<Dialect, RegExp> = {
  mysql: /Can't DROP COLUMN `nickname`; check that it exists/,
  postgres: /column "nickname" of relation "accounts" does not exist/,
};

/** Writes NNNN_name.up.sql (and .down.sql unless `down` is null) into `dir`. */
function migration(dir: string, id: string, up: string, down: string | null): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${id}.up.sql`), up);
  if (down !== null) writeFileSync(join(dir, `${id}.down.sql`), down);
}

/** Four migrations; the third drops a column no migration created, on line 5 of its file. */
function history(d: Dialect): string {
  const dir = join(tmp, d);
  migration(dir, '0001_create_accounts', TABLE[d], 'DROP TABLE accounts;');
  migration(dir, '0002_add_age', 'ALTER TABLE accounts ADD COLUMN age INT;', 'ALTER TABLE accounts DROP COLUMN age;');
  migration(
    dir,
    '0003_drop_nickname',
    [
      '-- migrate:phase pre-deploy',
      '-- Meant to drop a column an earlier release was thought to have created: the server refuses it.',
      '',
      'ALTER TABLE accounts ADD COLUMN bio VARCHAR(200);',
      'ALTER TABLE accounts DROP COLUMN nickname;',
      '',
    ].join('\n'),
    'ALTER TABLE accounts DROP COLUMN bio;',
  );
  migration(dir, '0004_add_email', 'ALTER TABLE accounts ADD COLUMN email VARCHAR(200);', 'ALTER TABLE accounts DROP COLUMN email;');
  return dir;
}

function migrate(args: string[]): Promise<CliRun> {
  return runCli(args, {
    cwd: tmp,
    env: { ...process.env, NO_COLOR: '1', MIGRATE_SANDBOX_DIR: join(tmp, 'no-sandbox'), GITHUB_WORKSPACE: tmp },
    timeoutMs: 120_000,
    onPid: (pid) => childPids.push(pid),
  });
}

const check = (d: Dialect, dir: string, ...more: string[]): string[] => ['check', dir, '--dialect', d, '--shadow', serverUrl(d), ...more];

interface JsonMigration {
  id: string;
  outcome: string;
  reversible: boolean | null;
  backwardCompatible: boolean | null;
  strategy: string | null;
  failure?: { direction: string; error: string; statement?: string; file?: string; line?: number };
  notAnalysedAfter?: string;
  findings: { rule: string; severity: string; message: string; file?: string; line?: number; statement?: string; acknowledged?: unknown }[];
}
interface JsonReport {
  migrations: JsonMigration[];
  gate: { pass: boolean; reasons: { migration: string; rule?: string; reason: string }[] };
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'migrate-check-failed-'));
});

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  for (const d of ['mysql', 'postgres'] as const) expect(await listShadowDatabases(d, shadowServer(d), [process.pid, ...childPids])).toEqual([]);
});

describe.each(['mysql', 'postgres'] as const)('a migration that fails on the shadow (%s)', (d) => {
  let runs: Record<'text' | 'json' | 'markdown' | 'sarif' | 'junit' | 'github', CliRun>;

  beforeAll(async () => {
    const dir = history(d);
    const cache = join(tmp, `cache-${d}`);
    // text without a cache; the others share one, so they also go through the cached prefix.
    const text = await migrate(check(d, dir, '--no-cache'));
    const json = await migrate(check(d, dir, '--cache-dir', cache, '--format', 'json'));
    const [markdown, sarif, junit, github] = await Promise.all(
      (['markdown', 'sarif', 'junit', 'github'] as const).map((f) => migrate(check(d, dir, '--cache-dir', cache, '--format', f))),
    );
    runs = { text, json, markdown: markdown!, sarif: sarif!, junit: junit!, github: github! };
  }, 300_000);

  it('exits 1 in every format, with nothing on stderr but the shadow notes', () => {
    for (const [format, r] of Object.entries(runs)) {
      expect(r.code, `${format}: ${r.stderr}`).toBe(1);
      expect(r.stderr, format).not.toMatch(/^error:/m);
    }
  });

  it('json: 1-2 analysed with their verdicts, 3 failed with the server error, statement and line, 4 not analysed', () => {
    const data = JSON.parse(runs.json.stdout) as JsonReport;
    expect(data.migrations.map((m) => [m.id, m.outcome])).toEqual([
      ['0001_create_accounts', 'analysed'],
      ['0002_add_age', 'analysed'],
      ['0003_drop_nickname', 'failed'],
      ['0004_add_email', 'not-analysed'],
    ]);
    const [m1, m2, m3, m4] = data.migrations;
    // The migrations before the failure were analysed in full, downs included.
    expect(m2).toMatchObject({ backwardCompatible: true, reversible: true, strategy: 'in-place' });
    expect(m1!.reversible).toBe(true);
    expect(m3!.failure).toMatchObject({
      direction: 'up',
      statement: 'ALTER TABLE accounts DROP COLUMN nickname',
      file: `${d}/0003_drop_nickname.up.sql`,
      line: 5,
    });
    expect(m3!.failure!.error).toMatch(SERVER_SAYS[d]);
    // The error names the table as the migration does, not the shadow database it ran in.
    expect(m3!.failure!.error).not.toMatch(/migrate_shadow/);
    expect(m3).toMatchObject({ reversible: null, backwardCompatible: null, strategy: null });
    expect(m3!.findings).toEqual([expect.objectContaining({ rule: 'SH301', severity: 'error', file: `${d}/0003_drop_nickname.up.sql`, line: 5 })]);
    expect(m4).toMatchObject({ notAnalysedAfter: '0003_drop_nickname', reversible: null, findings: [] });
    expect(data.gate.pass).toBe(false);
    expect(data.gate.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ migration: '0003_drop_nickname', rule: 'SH301', reason: expect.stringMatching(SERVER_SAYS[d]) }),
        { migration: '0004_add_email', reason: 'not analysed: 0003_drop_nickname failed before it' },
      ]),
    );
    expect(data.gate.reasons.filter((r) => r.migration === '0001_create_accounts' || r.migration === '0002_add_age')).toEqual([]);
  });

  it('text: the table, the failure with its file:line and statement, and the migrations not analysed', () => {
    const out = runs.text.stdout;
    expect(out).toMatch(
      /^migrate check: FAILED \(1 of 4 migrations fails the gate; 0003_drop_nickname fails on the shadow database, 1 not analysed after it\)/,
    );
    expect(out).toMatch(/^0002_add_age\s+pre-deploy\s+yes\s+yes\s+no\s+no\s+\S+\s+in-place$/m);
    expect(out).toMatch(/^0003_drop_nickname\s+pre-deploy(\s+-){5}\s+FAILED$/m);
    expect(out).toMatch(/^0004_add_email\s+pre-deploy(\s+-){5}\s+not analysed$/m);
    expect(out).toContain(`FAILED on the shadow database (up) at ${d}/0003_drop_nickname.up.sql:5:`);
    expect(out).toMatch(SERVER_SAYS[d]);
    expect(out).toContain('statement: ALTER TABLE accounts DROP COLUMN nickname');
    expect(out).toContain('- 0004_add_email: not analysed: 0003_drop_nickname failed before it');
    expect(out).toMatch(/^analysed 3 migrations in /m);
  });

  it('markdown: the failed row, the failure section at file:line, and the not analysed list', () => {
    const md = runs.markdown.stdout;
    expect(md).toMatch(/^### ❌ migrate check: FAILED/);
    expect(md).toContain('| `0003_drop_nickname` | pre-deploy | – | – | – | – | – | 🛑 **failed** |');
    expect(md).toContain('| `0004_add_email` | pre-deploy | – | – | – | – | – | ⏭️ not analysed |');
    expect(md).toContain(`> 🛑 **Failed** (up) at \`${d}/0003_drop_nickname.up.sql:5\`: `);
    expect(md).toMatch(SERVER_SAYS[d]);
    expect(md).toContain('`0004_add_email`: `0003_drop_nickname` failed before it');
    // The migrations before it keep their own sections.
    expect(md).toContain('#### `0002_add_age` — pre-deploy');
  });

  it('sarif: valid, an SH301 error at the failing line, the not analysed one as a notification', () => {
    const log = JSON.parse(runs.sarif.stdout) as {
      runs: {
        results: {
          ruleId: string;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[];
        }[];
        invocations: { exitCode: number; toolExecutionNotifications?: { level: string; message: { text: string } }[] }[];
      }[];
    };
    expect(sarifErrors(log)).toEqual([]);
    const run = log.runs[0]!;
    const failed = run.results.filter((r) => r.ruleId === 'SH301');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: `${d}/0003_drop_nickname.up.sql` }, region: { startLine: 5 } } }],
    });
    expect(failed[0]!.message.text).toMatch(SERVER_SAYS[d]);
    expect(run.invocations[0]!.exitCode).toBe(1);
    expect(run.invocations[0]!.toolExecutionNotifications).toEqual(
      expect.arrayContaining([{ level: 'warning', message: { text: '0004_add_email: not analysed: 0003_drop_nickname failed before it' } }]),
    );
  });

  it('github: an error annotation at the failing line, a warning for the one not analysed', () => {
    const lines = runs.github.stdout.split('\n');
    expect(
      lines.filter((l) => l.startsWith(`::error file=${d}/0003_drop_nickname.up.sql,line=5,title=SH301::0003_drop_nickname: Fails on the shadow database: `)),
    ).toHaveLength(1);
    expect(lines).toContain(`::warning file=${d}/0004_add_email.up.sql,title=not analysed::0004_add_email: not analysed: 0003_drop_nickname failed before it`);
    expect(lines.filter((l) => l.startsWith('::error') && !l.includes('SH301'))).toEqual([]);
  });

  it('junit: valid, the failed migration a failed testcase, the one after it skipped', () => {
    const xml = runs.junit.stdout;
    const xpath = (expr: string): string => xmlPath(xml, expr).trim();
    expect(junitErrors(xml)).toEqual([]);
    expect(xpath('string(//testsuite/@failures)')).toBe('1');
    expect(xpath('string(//testsuite/@skipped)')).toBe('1');
    expect(xpath('string(//testcase[@name="0003_drop_nickname"]/failure/@type)')).toBe('SH301');
    expect(xpath('string(//testcase[@name="0003_drop_nickname"]/failure)')).toContain(`at ${d}/0003_drop_nickname.up.sql:5`);
    expect(xpath('string(//testcase[@name="0004_add_email"]/skipped)')).toBe('not analysed: 0003_drop_nickname failed before it');
    expect(xpath('count(//testcase[@name="0002_add_age"]/failure)')).toBe('0');
  });
});

describe('downs', () => {
  it('a failing down keeps the up verdict: RV103 names the error and its line, and the sweep goes on (mariadb)', async () => {
    const dir = join(tmp, 'down-fails');
    migration(dir, '0001_create_accounts', TABLE.mysql, 'DROP TABLE accounts;');
    migration(dir, '0002_add_age', 'ALTER TABLE accounts ADD COLUMN age INT;', '-- undo\nALTER TABLE accounts DROP COLUMN agee;\n');
    migration(dir, '0003_add_email', 'ALTER TABLE accounts ADD COLUMN email VARCHAR(200);', 'ALTER TABLE accounts DROP COLUMN email;');
    const r = await migrate(check('mysql', dir, '--no-cache', '--format', 'json'));
    expect(r.code, r.stderr).toBe(1);
    const data = JSON.parse(r.stdout) as JsonReport;
    expect(data.migrations.map((m) => [m.id, m.outcome, m.reversible])).toEqual([
      ['0001_create_accounts', 'analysed', true],
      ['0002_add_age', 'analysed', false],
      ['0003_add_email', 'analysed', true],
    ]);
    const rv = data.migrations[1]!.findings.find((f) => f.rule === 'RV103')!;
    expect(rv.message).toMatch(/Can't DROP COLUMN `agee`; check that it exists \(0002_add_age\.down\.sql line 2\)/);
    expect(rv).toMatchObject({ severity: 'error', file: 'down-fails/0002_add_age.down.sql', line: 2 });
    // The up's own verdict stands.
    expect(data.migrations[1]).toMatchObject({ backwardCompatible: true, strategy: 'in-place' });
  }, 120_000);

  it('a missing down is reversible: false with RV101 (exit 1, not a refusal); acknowledged, the gate passes (postgres)', async () => {
    const dir = join(tmp, 'no-down');
    migration(dir, '0001_create_accounts', TABLE.postgres, 'DROP TABLE accounts;');
    migration(dir, '0002_add_age', 'ALTER TABLE accounts ADD COLUMN age INT;', null);
    const plain = await migrate(check('postgres', dir, '--no-cache', '--format', 'json'));
    expect(plain.code, plain.stderr).toBe(1);
    const data = JSON.parse(plain.stdout) as JsonReport;
    expect(data.migrations[1]).toMatchObject({ id: '0002_add_age', outcome: 'analysed', reversible: false });
    expect(data.migrations[1]!.findings.map((f) => `${f.rule}:${f.severity}`)).toContain('RV101:error');
    expect(data.gate.reasons.map((x) => x.migration)).toEqual(['0002_add_age', '0002_add_age']);

    const acked = await migrate(check('postgres', dir, '--no-cache', '--format', 'json', '--ack', 'RV101:0002_add_age:one-way by design'));
    expect(acked.code, acked.stdout).toBe(0);
    const after = JSON.parse(acked.stdout) as JsonReport;
    expect(after.migrations[1]).toMatchObject({ reversible: false });
    expect(after.migrations[1]!.findings.find((f) => f.rule === 'RV101')!.acknowledged).toEqual({ reason: 'one-way by design' });
    expect(after.gate).toEqual({ pass: true, reasons: [] });
  }, 120_000);
});

describe('exit 2 is for bad input only, and is JSON with --format json', () => {
  it('a bad config (plan) and an unreachable shadow server (check) print one JSON object on stdout', async () => {
    const config = join(tmp, 'bad.config.json');
    writeFileSync(config, JSON.stringify({ url: 'mysql://root@127.0.0.1:3306/x', migrations: { directory: 42 } }));
    const dir = history('mysql');
    const [bad, unreachable] = await Promise.all([
      migrate(['--config', config, 'plan', '--format', 'json']),
      migrate(['check', dir, '--dialect', 'mysql', '--shadow', 'mysql://root@127.0.0.1:1', '--format', 'json']),
    ]);
    for (const r of [bad, unreachable]) {
      expect(r.code, r.stderr).toBe(2);
      const out = JSON.parse(r.stdout) as { error: { kind: string; problem: string; fix: string; exitCode: number } };
      expect(Object.keys(out)).toEqual(['error']);
      expect(out.error.exitCode).toBe(2);
      expect(out.error.fix.length).toBeGreaterThan(0);
      // stderr says the same for a person.
      expect(r.stderr).toMatch(/^error: [\s\S]+\nfix: /m);
    }
    expect((JSON.parse(bad.stdout) as { error: { kind: string } }).error.kind).toBe('config');
    expect((JSON.parse(unreachable.stdout) as { error: { kind: string; problem: string } }).error.problem).toMatch(
      /Cannot reach the MySQL\/MariaDB server at 127\.0\.0\.1:1/,
    );
  }, 120_000);
});

describe('migrate plan', () => {
  let target: FreshDatabase;
  afterAll(async () => {
    await target?.drop();
  });

  it('the pending migrations: the failed one and those after it are verdicts too (exit 1)', async () => {
    target = await freshDatabase('mysql');
    const dir = history('mysql');
    const config = join(tmp, 'plan.config.json');
    writeFileSync(config, JSON.stringify({ url: serverUrl('mysql', target.connection, target.connection.database), migrations: { directory: dir } }));
    const up = await migrate(['--config', config, 'up', '--to', '0001_create_accounts']);
    expect(up.code, up.stderr).toBe(0);
    const r = await migrate(['--config', config, 'plan', '--format', 'json', '--shadow', serverUrl('mysql'), '--no-cache']);
    expect(r.code, r.stderr).toBe(1);
    const data = JSON.parse(r.stdout) as JsonReport;
    expect(data.migrations.map((m) => [m.id, m.outcome])).toEqual([
      ['0002_add_age', 'analysed'],
      ['0003_drop_nickname', 'failed'],
      ['0004_add_email', 'not-analysed'],
    ]);
    expect(data.migrations[1]!.failure).toMatchObject({ line: 5, error: expect.stringMatching(SERVER_SAYS.mysql) });
  }, 120_000);

  it('an applied migration the shadow cannot replay: every pending one is not analysed, and the reason names it (exit 1)', async () => {
    const legacyTarget = await freshDatabase('mysql');
    try {
      const dir = join(tmp, 'plan-history');
      migration(dir, '0001_create_accounts', TABLE.mysql, 'DROP TABLE accounts;');
      // Applied on a target where someone created `legacy` by hand: no migration creates it.
      migration(dir, '0002_legacy_flag', 'ALTER TABLE legacy ADD COLUMN flag INT;', 'ALTER TABLE legacy DROP COLUMN flag;');
      migration(dir, '0003_add_email', 'ALTER TABLE accounts ADD COLUMN email VARCHAR(200);', 'ALTER TABLE accounts DROP COLUMN email;');
      await legacyTarget.knex().raw('CREATE TABLE legacy (id INT PRIMARY KEY)');
      const config = join(tmp, 'plan-history.config.json');
      writeFileSync(
        config,
        JSON.stringify({ url: serverUrl('mysql', legacyTarget.connection, legacyTarget.connection.database), migrations: { directory: dir } }),
      );
      const up = await migrate(['--config', config, 'up', '--to', '0002_legacy_flag']);
      expect(up.code, up.stderr).toBe(0);
      const r = await migrate(['--config', config, 'plan', '--format', 'json', '--shadow', serverUrl('mysql'), '--no-cache']);
      expect(r.code, r.stderr).toBe(1);
      const data = JSON.parse(r.stdout) as JsonReport & { migrations: { reason?: string }[] };
      expect(data.migrations.map((m) => [m.id, m.outcome, m.notAnalysedAfter])).toEqual([['0003_add_email', 'not-analysed', '0002_legacy_flag']]);
      expect(data.migrations[0]!.reason).toMatch(
        /^not analysed: 0002_legacy_flag \(applied on the target\) fails on the shadow database: Table '(\w+\.)?legacy' doesn't exist/,
      );
      expect(data.migrations[0]!.reason).not.toMatch(/migrate_shadow/);
    } finally {
      await legacyTarget.drop();
    }
  }, 120_000);
});

describe('a failure in a long history analysed in two segments side by side', () => {
  const d = 'mysql' as const;
  /** 30 migrations, each adding a column: long enough for two segments (planSegments: [0, 20) and [20, 30)). */
  function long(failAt: number): MigrationSource[] {
    const ms = [sqlMigration(d, '0000_create_t', 'CREATE TABLE t (id INT PRIMARY KEY)', 'DROP TABLE t')];
    for (let i = 1; i < 30; i++) {
      const id = `${String(i).padStart(4, '0')}_c${i}`;
      ms.push(
        i === failAt
          ? sqlMigration(d, id, `ALTER TABLE t ADD COLUMN c${i} INT;\nALTER TABLE t DROP COLUMN never_there`, `ALTER TABLE t DROP COLUMN c${i}`)
          : sqlMigration(d, id, `ALTER TABLE t ADD COLUMN c${i} INT`, `ALTER TABLE t DROP COLUMN c${i}`),
      );
    }
    // As the loader has it: each statement with its line (one a line here).
    const failing = ms[failAt]!;
    failing.upStatements = failing.upSql!.map((sql, k) => ({ sql, line: k + 1, noTransaction: false }));
    return ms;
  }

  it.each([
    [10, 'in the first segment (the second one replays it and stops)'],
    [25, 'in the second segment (the first one is unaffected)'],
  ])(
    'failing at %i, %s: the ones before keep the verdicts they have alone',
    async (failAt) => {
      expect(planSegments(0, 30, 2)).toEqual([
        [0, 20],
        [20, 30],
      ]);
      const ms = long(failAt);
      const stats: AnalyseStats = { shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 };
      const vs = await analyse(ms, { dialect: d, shadow: shadowServer(d), stats });
      // Both segments ran their analysis, or (failing in the first) the second stopped in its replay.
      expect(stats.segments?.map((s) => [s.from, s.to]).sort((a, b) => a[0]! - b[0]!)).toEqual(
        failAt < 20
          ? [[0, 20]]
          : [
              [0, 20],
              [20, 30],
            ],
      );
      expect(vs.map((v) => v.outcome)).toEqual([...Array<string>(failAt).fill('analysed'), 'failed', ...Array<string>(29 - failAt).fill('not-analysed')]);
      expect(vs[failAt]!.failure).toMatchObject({ direction: 'up', statement: 'ALTER TABLE t DROP COLUMN never_there' });
      expect(vs[failAt]!.failure!.error).toMatch(/Can't DROP COLUMN `never_there`/);
      expect(vs[failAt + 1]!.notAnalysedAfter).toBe(ms[failAt]!.id);
      // apply's gate on these verdicts: refused (exit 1), naming the migration, its statement and the error.
      const refusal = failedOnShadow(vs)!;
      expect(refusal.exitCode).toBe(1);
      expect(refusal.problem).toMatch(
        new RegExp(`^The gate refused ${ms[failAt]!.id}: it fails on the shadow database at ${ms[failAt]!.id}\\.up\\.sql line 2: Can't DROP COLUMN`),
      );
      expect(refusal.problem).toContain('statement: ALTER TABLE t DROP COLUMN never_there');
      expect(refusal.problem).toContain(`Not analysed after it: ${ms[failAt + 1]!.id}`);
      expect(failedOnShadow(vs.slice(0, failAt))).toBeUndefined();
      // The same verdicts as an analysis of the migrations before the failure alone: downs included.
      const alone = await analyse(ms.slice(0, failAt), { dialect: d, shadow: shadowServer(d) });
      expect(vs.slice(0, failAt)).toEqual(alone);
      expect(alone.every((v) => v.reversible)).toBe(true);
    },
    180_000,
  );
});

describe('TypeScript migrations', () => {
  const d = 'postgres' as const;
  /** A TypeScript migration held in memory, as the loader makes one of NNNN_name.ts. */
  function tsMigration(id: string, up: MigrationSource['up'], down: MigrationSource['down']): MigrationSource {
    const m: MigrationSource = { id, format: 'ts', upPath: `/virtual/${id}.ts`, checksum: id, acknowledgements: [], up };
    if (down) m.down = down;
    return m;
  }

  it('a failing statement is named; an error of the code itself names none (not the statement before it, which ran)', async () => {
    const create = tsMigration(
      '0001_create',
      async (k) => void (await k.schema.createTable('people', (t) => t.increments('id'))),
      async (k) => void (await k.schema.dropTable('people')),
    );
    const sqlFails = tsMigration(
      '0002_sql_fails',
      async (k) => void (await k.raw('ALTER TABLE people DROP COLUMN nickname')),
      async () => undefined,
    );
    const codeFails = tsMigration(
      '0002_code_fails',
      async (k) => {
        await k.raw('ALTER TABLE people ADD COLUMN age int');
        throw new Error('the migration gave up by itself');
      },
      async (k) => void (await k.raw('ALTER TABLE people DROP COLUMN age')),
    );
    const [sql, code] = await Promise.all([
      analyse([create, sqlFails], { dialect: d, shadow: shadowServer(d) }),
      analyse([create, codeFails], { dialect: d, shadow: shadowServer(d) }),
    ]);
    expect(sql.map((v) => v.outcome)).toEqual(['analysed', 'failed']);
    expect(sql[1]!.failure).toEqual({
      direction: 'up',
      error: 'column "nickname" of relation "people" does not exist',
      statement: 'ALTER TABLE people DROP COLUMN nickname',
      file: '/virtual/0002_sql_fails.ts',
    });
    expect(code.map((v) => v.outcome)).toEqual(['analysed', 'failed']);
    expect(code[1]!.failure).toEqual({ direction: 'up', error: 'the migration gave up by itself', file: '/virtual/0002_code_fails.ts' });
    expect(code[0]!.reversible).toBe(true);
  }, 120_000);
});

describe('a TypeScript migration that cannot be imported (a helper or package missing beside a real history)', () => {
  it.each(['mysql', 'postgres'] as const)(
    'is a failed verdict naming the import error, the ones before it keep theirs (%s)',
    async (d) => {
      const dir = join(tmp, `unloadable-${d}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, '0001_create.ts'),
        "export async function up(knex) { await knex.schema.createTable('people', (t) => t.increments('id')); }\nexport async function down(knex) { await knex.schema.dropTable('people'); }\n",
      );
      writeFileSync(
        join(dir, '0002_needs_package.ts'),
        "import { parse } from 'no-such-package-for-migrate-tests';\nexport async function up(knex) { await knex.raw(parse('x')); }\nexport async function down() {}\n",
      );
      writeFileSync(
        join(dir, '0003_add_age.ts'),
        "export async function up(knex) { await knex.schema.alterTable('people', (t) => t.integer('age')); }\nexport async function down(knex) { await knex.schema.alterTable('people', (t) => t.dropColumn('age')); }\n",
      );
      const r = await migrate(check(d, dir, '--format', 'json'));
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as JsonReport;
      expect(report.migrations.map((m) => [m.id, m.outcome])).toEqual([
        ['0001_create', 'analysed'],
        ['0002_needs_package', 'failed'],
        ['0003_add_age', 'not-analysed'],
      ]);
      expect(report.migrations[0]!.reversible).toBe(true);
      expect(report.migrations[1]!.failure?.error).toMatch(/Cannot load migration 0002_needs_package\.ts: .*no-such-package-for-migrate-tests/);
    },
    120_000,
  );
});

describe('secrets', () => {
  it('a failing statement that sets a password is masked in the failure, the finding and every report', async () => {
    const d = 'mysql' as const;
    const dir = join(tmp, 'secret');
    migration(dir, '0001_create_accounts', TABLE.mysql, 'DROP TABLE accounts;');
    // The server quotes the statement back in its syntax error: the password must not come with it.
    migration(dir, '0002_reporting_user', "CREATE USER 'reporting'@'%' IDENTIFIED BYY 'hunter2-not-shown';", 'DROP USER reporting;');
    const runs = await Promise.all(['json', 'text', 'sarif', 'junit', 'markdown'].map((f) => migrate(check(d, dir, '--no-cache', '--format', f))));
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout + r.stderr).not.toContain('hunter2');
    }
    const data = JSON.parse(runs[0]!.stdout) as JsonReport;
    expect(data.migrations[1]).toMatchObject({ outcome: 'failed', failure: { statement: "CREATE USER '***'@'***' IDENTIFIED BYY '***'", line: 1 } });
    // The server did quote the password back: masked there too.
    expect(data.migrations[1]!.failure!.error).toMatch(/You have an error in your SQL syntax.*near 'BYY '\*\*\*''/);
  }, 120_000);
});

describe('an explicit transaction in the failing file (postgres)', () => {
  it('the BEGIN the migration left open is rolled back: the downs of the ones before still run', async () => {
    const d = 'postgres' as const;
    const ms = [
      sqlMigration(d, '0001_create_accounts', TABLE.postgres, 'DROP TABLE accounts'),
      sqlMigration(d, '0002_add_age', 'ALTER TABLE accounts ADD COLUMN age int', 'ALTER TABLE accounts DROP COLUMN age'),
      sqlMigration(
        d,
        '0003_in_a_transaction',
        'BEGIN;\nALTER TABLE accounts ADD COLUMN bio text;\nALTER TABLE accounts DROP COLUMN nickname;\nCOMMIT;',
        'ALTER TABLE accounts DROP COLUMN bio',
      ),
    ];
    const vs = await analyse(ms, { dialect: d, shadow: shadowServer(d) });
    expect(vs.map((v) => [v.outcome, v.reversible])).toEqual([
      ['analysed', true],
      ['analysed', true],
      ['failed', false],
    ]);
    expect(vs[2]!.failure).toMatchObject({
      statement: 'ALTER TABLE accounts DROP COLUMN nickname',
      error: 'column "nickname" of relation "accounts" does not exist',
    });
  }, 120_000);
});
