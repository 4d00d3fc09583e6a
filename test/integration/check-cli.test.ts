import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import { runMain } from '../helpers/in-process.ts';
import type { ConnectionConfig, Dialect } from '../../src/config/types.ts';
import { runCli } from '../helpers/cli.ts';
import { serverUrl, shadowServer } from '../helpers/shadow.ts';

/**
 * `migrate check` end to end: the real CLI (node bin/migrate) in a child process against the
 * local servers, asserting exit codes and what each format prints. Independent runs go in
 * parallel; each costs mostly the CLI's start-up.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'test', 'fixtures');

const url = (dialect: Dialect, s?: ConnectionConfig): string => serverUrl(dialect, s);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let tmp: string;
/** Processes started by this file: the shadows they created are checked for leftovers. */
const childPids: number[] = [];
const leftovers = (d: Dialect): Promise<string[]> => listShadowDatabases(d, shadowServer(d), [process.pid, ...childPids]);
const sandboxDir = (): string => join(tmp, 'no-sandbox');

function migrate(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runCli(args, {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', MIGRATE_SANDBOX_DIR: sandboxDir(), GITHUB_WORKSPACE: root, ...env },
    timeoutMs: 60_000,
    onPid: (pid) => childPids.push(pid),
  });
}

/** The same CLI in this process (no start-up cost): for the cases that need no child process. */
async function inProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const saved = { ...process.env };
  Object.assign(process.env, { NO_COLOR: '1', MIGRATE_SANDBOX_DIR: sandboxDir(), GITHUB_WORKSPACE: root }, env);
  try {
    return await runMain(args);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

const mysql = (dir: string, ...more: string[]): string[] => [
  'check',
  join(fixtures, dir),
  '--dialect',
  'mysql',
  '--shadow',
  url('mysql'),
  '--no-cache',
  ...more,
];

/** The runs through the real binary, started together up front (start-up dominates each). */
let children: Record<'passMd' | 'failMd' | 'failGh' | 'dialect' | 'syntax' | 'noDown' | 'unreachable', Promise<Run>>;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'migrate-check-cli-'));
  children = {
    passMd: migrate(mysql('check-pass-mysql', '--format', 'markdown')),
    failMd: migrate(mysql('check-fail-mysql', '--format', 'markdown')),
    failGh: migrate(mysql('check-fail-mysql', '--format', 'github')),
    dialect: migrate(['check', join(fixtures, 'check-pass-mysql'), '--dialect', 'oracle']),
    syntax: migrate(mysql('check-bad-syntax')),
    noDown: migrate(mysql('check-no-down')),
    unreachable: migrate(['check', join(fixtures, 'check-pass-mysql'), '--dialect', 'mysql', '--shadow', url('mysql', { ...shadowServer('mysql'), port: 1 })]),
  };
});

afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  for (const d of ['mysql', 'postgres'] as const) expect(await leftovers(d)).toEqual([]);
});

describe('migrate check (CLI)', () => {
  it('a passing directory exits 0 in every format; acknowledgements show with their reason', async () => {
    const md = await children.passMd;
    const json = await inProcess(mysql('check-pass-mysql', '--format', 'json'));
    const gh = await inProcess(mysql('check-pass-mysql', '--format', 'github'));
    const pg = await inProcess([
      'check',
      join(fixtures, 'check-pass-pg'),
      '--dialect',
      'postgres',
      '--shadow',
      url('postgres'),
      '--no-cache',
      '--format',
      'text',
    ]);
    for (const r of [json, md, gh, pg]) expect(r.code, r.stderr).toBe(0);
    const data = JSON.parse(json.stdout) as { migrations: Record<string, unknown>[]; gate: { pass: boolean } };
    expect(data.gate.pass).toBe(true);
    expect(data.migrations.map((m) => m['id'])).toEqual([
      '0001_create_accounts',
      '0002_add_accounts_email',
      '0003_accounts_name_index',
      '0004_drop_legacy_flag',
    ]);
    for (const m of data.migrations) {
      expect(Object.keys(m).slice(0, 9)).toEqual([
        'id',
        'phase',
        'backwardCompatible',
        'reversible',
        'dataLoss',
        'blocking',
        'replicaFirstSafe',
        'strategy',
        'findings',
      ]);
      for (const f of m['findings'] as Record<string, unknown>[]) expect(Object.keys(f).slice(0, 3)).toEqual(['rule', 'severity', 'message']);
    }
    const ack = (data.migrations[3]!['findings'] as { rule: string; acknowledged?: { reason: string } }[]).find((f) => f.rule === 'BC102');
    expect(ack?.acknowledged?.reason).toMatch(/release 41/);
    expect(md.stdout).toMatch(/^### ✅ migrate check: passed/);
    expect(md.stdout).toMatch(/✔️ \*\*BC102\*\* acknowledged \(error\): _legacy_flag has not been read/);
    expect(gh.stdout).toMatch(
      /^::notice file=test\/fixtures\/check-pass-mysql\/0004_drop_legacy_flag\.up\.sql,line=3,title=BC102::.*Acknowledged \(error\): legacy_flag/m,
    );
    expect(pg.stdout).toMatch(/migrate check: passed \(2 migrations\)/);
    expect(pg.stdout).not.toMatch(/\u001b\[/); // NO_COLOR
  });

  it('a drop column in a pre-deploy migration fails the gate: exit 1, the finding with its recipe, an annotation on the right file and line', async () => {
    const [md, gh] = await Promise.all([children.failMd, children.failGh]);
    const text = await inProcess(mysql('check-fail-mysql'));
    const acked = await inProcess(
      mysql('check-fail-mysql', '--format', 'json', '--ack', 'BC102:0002_drop_accounts_age:age moved to the profiles service in release 40'),
    );
    expect(text.code, text.stderr).toBe(1);
    expect(text.stdout).toMatch(/Gate failed:/);
    expect(text.stdout).toMatch(/error BC102 test\/fixtures\/check-fail-mysql\/0002_drop_accounts_age\.up\.sql:4/);

    expect(md.code).toBe(1);
    expect(md.stdout).toMatch(/^### ❌ migrate check: FAILED \(1 of 3 migrations fails the gate\)/);
    expect(md.stdout).toMatch(
      /- 🛑 \*\*BC102\*\* \(error\) \(`test\/fixtures\/check-fail-mysql\/0002_drop_accounts_age\.up\.sql:4`\): Drops column accounts\.age/,
    );
    const block = md.stdout.slice(md.stdout.indexOf('**BC102** (error)'));
    expect(block).toMatch(
      /<details><summary>Safe alternative<\/summary>[\s\S]*1\. Remove every use of accounts\.age[\s\S]*2\. Drop the column in a post-deploy migration[\s\S]*<\/details>/,
    );
    // The TS migration's own acknowledgement shows, with its reason.
    expect(md.stdout).toMatch(/✔️ \*\*BC104\*\* acknowledged \(error\): _legacy_flag is only read by the nightly export/);

    expect(gh.code).toBe(1);
    const line = gh.stdout.split('\n').find((l) => l.includes('title=BC102'));
    expect(line).toMatch(
      /^::error file=test\/fixtures\/check-fail-mysql\/0002_drop_accounts_age\.up\.sql,line=4,title=BC102::0002_drop_accounts_age: Drops column accounts\.age/,
    );
    expect(line).toMatch(/%0ASafe alternative:%0A1\. Remove every use/);
    expect(line).not.toMatch(/\n|\r/);
    expect(gh.stdout).toMatch(/^::notice file=test\/fixtures\/check-fail-mysql\/0003_rename_legacy_flag\.ts,line=\d+,title=BC104::/m);

    // The same directory passes once the drop is acknowledged on the command line.
    expect(acked.code, acked.stderr).toBe(0);
    const data = JSON.parse(acked.stdout) as {
      migrations: { id: string; backwardCompatible: boolean; findings: { rule: string; acknowledged?: { reason: string } }[] }[];
    };
    const m2 = data.migrations.find((m) => m.id === '0002_drop_accounts_age')!;
    expect(m2.backwardCompatible).toBe(true);
    expect(m2.findings.find((f) => f.rule === 'BC102')?.acknowledged?.reason).toBe('age moved to the profiles service in release 40');
  });

  it('a migration the server refuses and a missing down are verdicts (exit 1), not bad input', async () => {
    const syntax = await children.syntax;
    expect(syntax.code, syntax.stderr).toBe(1);
    // Wrapped to the terminal's width: compared with the line breaks undone.
    expect(syntax.stdout.replace(/\s+/g, ' ')).toContain(
      'FAILED on the shadow database (up) at test/fixtures/check-bad-syntax/0002_broken.up.sql:3: You have an error in your SQL syntax',
    );
    expect(syntax.stdout).toMatch(/statement: ALTER TABLE accounts ADD COLUMN nickname/);
    expect(syntax.stdout).toMatch(/^0001_create_accounts\s+pre-deploy\s+yes\s+yes/m);
    const noDown = await children.noDown;
    expect(noDown.code, noDown.stderr).toBe(1);
    expect(noDown.stdout).toMatch(/error RV101 .*\n\s+Migration 0002_add_email has no down/);
    expect(noDown.stdout).toMatch(/^0002_add_email\s+pre-deploy\s+yes\s+no\s/m);
  });

  it('bad input exits 2 with a clear error and leaves no shadow database behind', async () => {
    // The four bad inputs of the issue through the real binary (and a missing directory) ...
    const runs: Run[] = [
      await children.dialect,
      await inProcess(['check', join(fixtures, 'does-not-exist'), '--dialect', 'mysql', '--shadow', url('mysql')]),
      await children.unreachable,
    ];
    // ... and the other usage errors in this process.
    for (const args of [
      mysql('check-pass-mysql', '--format', 'xml'),
      mysql('check-pass-mysql', '--ack', 'BC102:0009_nope:reason'),
      mysql('check-pass-mysql', '--ack', 'BC102'),
      mysql('check-pass-mysql', '--ack', 'XX999:0001_create_accounts:reason'),
      mysql('check-pass-mysql', '--queries', join(tmp, 'missing.txt')),
      ['check', join(fixtures, 'check-pass-mysql')],
      ['check', join(fixtures, 'check-pass-mysql'), '--dialect', 'postgres', '--shadow', url('mysql')],
    ]) {
      runs.push(await inProcess(args));
    }
    const [dialect, dir, unreachable, format, ack, ackShape, ackRule, queries, noDialect, mismatch] = runs;
    for (const r of runs) {
      expect(r!.code, r!.stderr).toBe(2);
      expect(r!.stderr).toMatch(/^error: [\s\S]+\nfix: .+/);
      expect(r!.stdout).toBe('');
    }
    expect(dialect!.stderr).toMatch(/--dialect "oracle" is not supported/);
    expect(dir!.stderr).toMatch(/does-not-exist does not exist/);
    expect(unreachable!.stderr).toMatch(/shadow server from --shadow cannot be used: Cannot reach the MySQL\/MariaDB server at 127\.0\.0\.1:1/);
    expect(format!.stderr).toMatch(/--format "xml"/);
    expect(ack!.stderr).toMatch(/no migration has the id "0009_nope"/);
    expect(ackShape!.stderr).toMatch(/is not RULE:MIGRATION_ID:reason/);
    expect(ackRule!.stderr).toMatch(/XX999 is not a rule code/);
    expect(queries!.stderr).toMatch(/--queries .*missing\.txt: the file does not exist/);
    expect(noDialect!.stderr).toMatch(/--dialect is missing/);
    expect(mismatch!.stderr).toMatch(/is a MySQL\/MariaDB server, but --dialect is postgres/);
    for (const d of ['mysql', 'postgres'] as const) expect(await leftovers(d)).toEqual([]);
  });

  it('uses the `migrate shadow` server without --shadow, says why a named one cannot be used, and reuses its cache', async () => {
    const cacheDir = join(tmp, 'cache');
    const auto = process.env['MIGRATE_TEST_MYSQL_URL'] ? { MIGRATE_SHADOW_URL: url('mysql') } : { MIGRATE_SHADOW_URL: '' };
    const first = await inProcess(['check', join(fixtures, 'check-pass-mysql'), '--dialect', 'mysql', '--cache-dir', cacheDir], auto);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/analysed 4 migrations in/);
    if (!process.env['MIGRATE_TEST_MYSQL_URL'])
      expect(first.stdout).toMatch(/\(shadow server \S+ \(127\.0\.0\.1:\d+\); the `migrate shadow` server: throwaway by construction\)/);
    const again = await inProcess(['check', join(fixtures, 'check-pass-mysql'), '--dialect', 'mysql', '--cache-dir', cacheDir], auto);
    const none = await inProcess(['check', join(fixtures, 'check-pass-mysql'), '--dialect', 'mysql', '--no-cache'], {
      MIGRATE_SHADOW_URL: 'mysql://nobody@127.0.0.1:1',
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/analysed 0 migrations, 4 from cache/);
    expect(again.stdout).toMatch(/acknowledged BC102/);
    expect(again.stdout).toMatch(/legacy_flag has not been read or written since release 41/);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/shadow server from MIGRATE_SHADOW_URL cannot be used/);
    expect(none.stderr).toMatch(/or leave --shadow out to use a throwaway `migrate shadow` server \(started when none runs\)/);
  });

  it('--queries: a statement of the running release that no longer prepares fails the gate, quoting the query and the server', async () => {
    const dir = join(tmp, 'wl');
    cpSync(join(fixtures, 'check-fail-mysql'), dir, { recursive: true });
    rmSync(join(dir, '0003_rename_legacy_flag.ts'));
    writeFileSync(
      join(dir, '0002_drop_accounts_age.up.sql'),
      '-- migrate:phase pre-deploy\n-- migrate:ack BC102 the ORM ignores age since release 40\nALTER TABLE accounts DROP COLUMN age;\n',
    );
    const r = await inProcess([
      'check',
      dir,
      '--dialect',
      'mysql',
      '--shadow',
      url('mysql'),
      '--no-cache',
      '--format',
      'json',
      '--queries',
      join(fixtures, 'check-queries', 'old-mysql.txt'),
    ]);
    expect(r.code, r.stderr).toBe(1);
    const data = JSON.parse(r.stdout) as {
      migrations: { id: string; backwardCompatible: boolean; findings: { rule: string; severity: string; message: string; line?: number }[] }[];
      skippedQueries: { source: string }[];
    };
    const m = data.migrations.find((x) => x.id === '0002_drop_accounts_age')!;
    expect(m.backwardCompatible).toBe(false);
    const wl = m.findings.filter((f) => f.rule === 'WL101');
    expect(wl.map((f) => f.message)).toEqual([
      expect.stringMatching(/`SELECT id, name, age FROM accounts WHERE id = \?` \(old-mysql\.txt line 2\).*"Unknown column 'age' in 'SELECT'"/),
      expect.stringMatching(/`INSERT INTO accounts \(name, age\) VALUES \(\?, \?\)` \(old-mysql\.txt line 3\).*"Unknown column 'age' in 'INSERT INTO'"/),
    ]);
    expect(wl[0]!.line).toBe(3);
    expect(data.skippedQueries.map((s) => s.source)).toEqual(['old-mysql.txt line 4']);
  });
});
