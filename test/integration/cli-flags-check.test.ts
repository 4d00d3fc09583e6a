/**
 * The analysis flags of `check` and `plan` (--ack, --queries, --new-queries, --cache-dir,
 * --shadow-throwaway, plan --dialect) and `shadow up|down --format json`, each through the real CLI
 * (`node bin/migrate` in its own process) on real servers: the run's throwaway shadow server
 * (test/global-setup.ts) for the analysis, the machine's MariaDB as plan's target. Each asserts
 * what a user checks: the exit code, the gate, the findings of the JSON report, the files left.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, show, type CliResult } from '../faults/harness.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';
import { processesReferencing } from '../helpers/processes.ts';
import { machineServer, serverUrl, shadowServer } from '../helpers/shadow.ts';

const FAIL = resolve('test/fixtures/check-fail-mysql');
const PASS = resolve('test/fixtures/check-pass-mysql');
const OLD_QUERIES = resolve('test/fixtures/check-queries/old-mysql.txt');
const ACK_BC102 = 'BC102:0002_drop_accounts_age:age moved to the profiles service in release 40';

interface Finding {
  rule: string;
  severity: string;
  message: string;
  acknowledged?: { reason: string };
}
interface Report {
  gate: { pass: boolean; reasons: { migration: string; rule?: string; reason: string }[] };
  shadow: string;
  migrations: { id: string; findings: Finding[] }[];
}

let work: string;
let target: FreshDatabase;
let config: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'mcf-check-'));
  // plan's target: nothing applied, so all three migrations of the failing fixture are pending.
  target = await freshDatabase('mysql');
  cpSync(FAIL, join(work, 'migrations'), { recursive: true });
  config = join(work, 'migrate.config.json');
  writeFileSync(
    config,
    JSON.stringify({ url: serverUrl('mysql', target.connection, target.connection.database), migrations: { directory: join(work, 'migrations') } }),
  );
});
afterAll(async () => {
  await target?.drop();
  rmSync(work, { recursive: true, force: true });
});

const check = (dir: string, ...args: string[]): Promise<CliResult> => cli(['check', dir, '--dialect', 'mysql', '--no-cache', ...args]);
const plan = (...args: string[]): Promise<CliResult> => cli(['--config', config, 'plan', '--no-cache', ...args]);

function report(r: CliResult): Report {
  expect(r.stdout, show(r)).toMatch(/^\{/);
  return JSON.parse(r.stdout) as Report;
}
const findings = (r: Report, id: string): Finding[] => r.migrations.find((m) => m.id === id)?.findings ?? [];
const rules = (r: Report, id: string): string[] => findings(r, id).map((f) => f.rule);

describe.each([
  { command: 'check', run: (...a: string[]) => check(FAIL, ...a) },
  { command: 'plan', run: (...a: string[]) => plan(...a) },
])('$command: acknowledgements and workload files', ({ command, run }) => {
  test('--ack acknowledges the finding and the gate passes; an unknown rule code is refused (exit 2) before any analysis', async () => {
    const [plain, acked, unknown] = await Promise.all([
      run('--format', 'json'),
      run('--format', 'json', '--ack', ACK_BC102),
      run('--ack', 'BC999:0002_drop_accounts_age:no such rule'),
    ]);
    expect(plain.code, show(plain)).toBe(1);
    expect(report(plain).gate.reasons).toContainEqual(expect.objectContaining({ migration: '0002_drop_accounts_age', rule: 'BC102' }));
    expect(acked.code, show(acked)).toBe(0);
    const r = report(acked);
    expect(r.gate).toEqual({ pass: true, reasons: [] });
    expect(findings(r, '0002_drop_accounts_age').find((f) => f.rule === 'BC102')).toMatchObject({
      severity: 'error',
      acknowledged: { reason: 'age moved to the profiles service in release 40' },
    });
    expect(unknown.code, show(unknown)).toBe(2);
    expect(unknown.error).toBe('--ack "BC999:0002_drop_accounts_age:no such rule": BC999 is not a rule code.');
    expect(unknown.fix).toContain('docs/rules.md lists them all');
    expect(unknown.stdout).toBe('');
  });

  test('--queries: statements of the running release that no longer prepare fail the gate (WL101), naming the file and line', async () => {
    const r = await run('--format', 'json', '--ack', ACK_BC102, '--queries', OLD_QUERIES);
    expect(r.code, show(r)).toBe(1);
    const wl = findings(report(r), '0002_drop_accounts_age').filter((f) => f.rule === 'WL101');
    expect(wl.map((f) => f.message)).toEqual([
      expect.stringMatching(/`SELECT id, name, age FROM accounts WHERE id = \?` \(old-mysql\.txt line 2\).*Unknown column 'age'/),
      expect.stringMatching(/`INSERT INTO accounts \(name, age\) VALUES \(\?, \?\)` \(old-mysql\.txt line 3\).*Unknown column 'age'/),
    ]);
    expect(report(r).gate.pass).toBe(false);
  });

  test("--new-queries: a statement of the new release that a migration's down breaks is reported (WL201); without the file it is not", async () => {
    const newQueries = join(work, `${command}-new.txt`);
    writeFileSync(newQueries, '-- the new release reads the renamed column\nSELECT id, flags FROM accounts WHERE id = ?\n');
    const [with_, without] = await Promise.all([
      run('--format', 'json', '--ack', ACK_BC102, '--new-queries', newQueries),
      run('--format', 'json', '--ack', ACK_BC102),
    ]);
    expect(with_.code, show(with_)).not.toBe(2);
    const wl = findings(report(with_), '0003_rename_legacy_flag').filter((f) => f.rule === 'WL201');
    expect(wl.map((f) => f.message)).toEqual([expect.stringMatching(/`SELECT id, flags FROM accounts WHERE id = \?` \(\S+-new\.txt line 2\)/)]);
    expect(rules(report(without), '0003_rename_legacy_flag')).not.toContain('WL201');
  });
});

describe('check and plan: --cache-dir, --shadow-throwaway, plan --dialect', () => {
  test('--cache-dir: the first run writes one result per migration there, the second analyses nothing and gives the same verdicts', async () => {
    for (const [name, run] of [
      ['check', (...a: string[]) => cli(['check', PASS, '--dialect', 'mysql', ...a])],
      ['plan', (...a: string[]) => cli(['--config', config, 'plan', ...a])],
    ] as const) {
      const cache = mkdtempSync(join(work, `${name}-cache-`));
      const ack = name === 'plan' ? ['--ack', ACK_BC102] : [];
      const first = await run('--cache-dir', cache, ...ack);
      const count = name === 'check' ? 4 : 3;
      expect(first.stdout, show(first)).toMatch(new RegExp(`analysed ${count} migrations in`));
      expect(
        readdirSync(cache).filter((f) => f.endsWith('.json')),
        name,
      ).toHaveLength(count);
      const second = await run('--cache-dir', cache, ...ack);
      expect(second.code, show(second)).toBe(first.code);
      expect(second.stdout, show(second)).toMatch(new RegExp(`analysed 0 migrations, ${count} from cache in`));
      const third = await run('--cache-dir', cache, '--format', 'json', ...ack);
      const fresh = await run('--no-cache', '--format', 'json', ...ack);
      const verdicts = (r: CliResult) => report(r).migrations.map((m) => ({ id: m.id, findings: m.findings.map((f) => `${f.rule}:${f.severity}`) }));
      expect(verdicts(third)).toEqual(verdicts(fresh));
    }
  });

  test('--shadow-throwaway: the named shadow server is used as the given account, and the report says so; the verdicts are the same', async () => {
    // A server that holds other databases (the machine's), named with --shadow: without the flag
    // the analysis works there through a restricted account of its own. plan's target must then
    // be elsewhere: a database on the run's throwaway server.
    const shared = serverUrl('mysql', machineServer('mysql'));
    const own = shadowServer('mysql');
    const database = `mcf_plan_${Date.now().toString(36)}`;
    const admin = await mysql.createConnection({ host: own.host, port: own.port, user: own.user, password: own.password });
    await admin.query(`CREATE DATABASE \`${database}\``);
    const elsewhere = join(work, 'plan-elsewhere.json');
    writeFileSync(elsewhere, JSON.stringify({ url: serverUrl('mysql', own, database), migrations: { directory: join(work, 'migrations') } }));
    const planThere = (...a: string[]) => cli(['--config', elsewhere, 'plan', '--no-cache', ...a]);
    try {
      const runs = await Promise.all([
        check(PASS, '--shadow', shared, '--format', 'json'),
        check(PASS, '--shadow', shared, '--shadow-throwaway', '--format', 'json'),
        planThere('--shadow', shared, '--format', 'json', '--ack', ACK_BC102),
        planThere('--shadow', shared, '--shadow-throwaway', '--format', 'json', '--ack', ACK_BC102),
      ]);
      for (const r of runs) expect(r.code, show(r)).toBe(0);
      const [checkShared, checkThrowaway, planShared, planThrowaway] = runs.map(report);
      for (const r of [checkThrowaway!, planThrowaway!])
        expect(r.shadow).toMatch(/^root@127\.0\.0\.1:\d+ \(--shadow; said to be throwaway \(--shadow-throwaway\)\)$/);
      for (const r of [checkShared!, planShared!])
        expect(r.shadow).toMatch(/^root@127\.0\.0\.1:\d+ \(--shadow; shared \(.*\): analysed through an account of its own/);
      const verdicts = (r: Report) => r.migrations.map((m) => m.findings.map((f) => `${m.id} ${f.rule}:${f.severity}`));
      expect(verdicts(checkThrowaway!)).toEqual(verdicts(checkShared!));
      expect(verdicts(planThrowaway!)).toEqual(verdicts(planShared!));
    } finally {
      await admin.query(`DROP DATABASE \`${database}\``);
      await admin.end();
    }
  });

  test('plan --dialect: the config dialect is accepted, another is refused with exit 2 before anything connects', async () => {
    const [same, other] = await Promise.all([plan('--dialect', 'mysql', '--format', 'json', '--ack', ACK_BC102), plan('--dialect', 'postgres')]);
    expect(same.code, show(same)).toBe(0);
    expect(report(same).migrations.map((m) => m.id)).toEqual(['0001_create_accounts', '0002_drop_accounts_age', '0003_rename_legacy_flag']);
    expect(other.code, show(other)).toBe(2);
    expect(other.error).toBe('--dialect postgres does not match the config (mysql).');
    expect(other.fix).toBe('Drop --dialect: plan takes the dialect from the config.');
  });
});

describe('shadow up / down --format json', () => {
  test('up prints the server as JSON (its password works), a second up reports the same server as already running, down reports what it stopped', async () => {
    const base = mkdtempSync(join(tmpdir(), 'mcf-shadow-'));
    // A server of its own (--dir), not the run's: down must not stop what other suites use.
    try {
      const up = await cli(['shadow', 'up', '--dialect', 'mysql', '--dir', base, '--format', 'json']);
      expect(up.code, show(up)).toBe(0);
      const doc = JSON.parse(up.stdout) as {
        status: string;
        serverVersion: string;
        nodes: { name: string; host: string; port: number; user: string; password: string; pid: number }[];
        shadow: { dialect: string; dir: string; url: string; passwordFile: string };
      };
      expect(doc.status).toBe('ready');
      expect(doc.shadow.dialect).toBe('mysql');
      expect(doc.shadow.dir).toMatch(new RegExp(`^${base}/migrate-shadow-\\d+-mysql$`));
      const node = doc.nodes[0]!;
      expect(doc.shadow.url).toBe(`mysql://root@127.0.0.1:${node.port}`);
      const c = await mysql.createConnection({ host: node.host, port: node.port, user: node.user, password: node.password });
      const [rows] = await c.query('SELECT VERSION() AS v');
      await c.end();
      expect((rows as { v: string }[])[0]!.v).toBe(doc.serverVersion);

      const again = await cli(['shadow', 'up', '--dialect', 'mysql', '--dir', base, '--format', 'json']);
      const second = JSON.parse(again.stdout) as typeof doc;
      expect(second.status).toBe('already-running');
      expect(second.nodes[0]!.port).toBe(node.port);

      const down = await cli(['shadow', 'down', '--dir', base, '--format', 'json']);
      expect(down.code, show(down)).toBe(0);
      const gone = JSON.parse(down.stdout) as { servers: { dialect: string; dir: string; existed: boolean; stopped: unknown[] }[] };
      expect(gone.servers.map((s) => [s.dialect, s.existed])).toEqual([
        ['mysql', true],
        ['postgres', false],
      ]);
      expect(gone.servers[0]!.stopped.length).toBeGreaterThan(0);
      expect(existsSync(doc.shadow.dir)).toBe(false);
      expect(processesReferencing(doc.shadow.dir)).toEqual([]);
    } finally {
      await cli(['shadow', 'down', '--dir', base]);
      rmSync(base, { recursive: true, force: true });
    }
  });
});
