import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import type { SarifLog } from '../../src/report/index.ts';
import { junitErrors, sarifErrors, xpath } from '../fixtures/schemas/validate.ts';
import { runCli } from '../helpers/cli.ts';
import { serverUrl, shadowServer } from '../helpers/shadow.ts';

/**
 * The CI integration end to end on a sample pull request (test/fixtures/sample-pr): the pull
 * request adds a pre-deploy migration that drops a column the running release still uses. The
 * real CLI (node bin/migrate check) runs against the local MariaDB as the shadow server, once per
 * format a CI job uses, and each output is checked the way its consumer reads it: the markdown
 * comment, the GitHub annotations, SARIF against the official schema, JUnit against its XSD.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = join(root, 'test', 'fixtures', 'sample-pr', 'migrations');
const rel = 'test/fixtures/sample-pr/migrations';
const DROP_ID = '0002_drop_users_legacy_note';
const DROP_FILE = `${rel}/${DROP_ID}.up.sql`;
/** The line a reviewer sees the DROP on, read from the fixture rather than written down twice. */
const DROP_LINE =
  readFileSync(join(dir, `${DROP_ID}.up.sql`), 'utf8')
    .split('\n')
    .findIndex((l) => /DROP COLUMN legacy_note/.test(l)) + 1;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let tmp: string;
const childPids: number[] = [];
let runs: Record<'markdown' | 'github' | 'sarif' | 'junit', Promise<Run>>;
let actionRuns: Record<'gate' | 'broken', Promise<ActionRun>>;

interface ActionRun extends Run {
  /** What the step wrote to GITHUB_OUTPUT, as the action's later steps see it. */
  outputs: Record<string, string>;
  summary: string;
}

const shadowUrl = (): string => serverUrl('mysql');

function check(format: string): Promise<Run> {
  return runCli(['check', dir, '--dialect', 'mysql', '--shadow', shadowUrl(), '--no-cache', '--format', format], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', MIGRATE_SANDBOX_DIR: join(tmp, 'no-sandbox'), GITHUB_WORKSPACE: root },
    timeoutMs: 90_000,
    onPid: (pid) => childPids.push(pid),
  });
}

/**
 * The action's run step (scripts/ci/action-run.sh) as the runner starts it: inputs as INPUT_*
 * variables, RUNNER_TEMP, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, the working directory
 * apart from the repository (the cache then goes to TMPDIR, inside this test's directory).
 */
function actionRun(name: string, inputs: Record<string, string>): Promise<ActionRun> {
  const home = join(tmp, name);
  mkdirSync(join(home, 'runner-temp'), { recursive: true });
  const output = join(home, 'github-output');
  const summary = join(home, 'step-summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  const env = {
    ...process.env,
    NO_COLOR: '1',
    MIGRATE_SANDBOX_DIR: join(tmp, 'no-sandbox'),
    GITHUB_WORKSPACE: root,
    RUNNER_TEMP: join(home, 'runner-temp'),
    TMPDIR: home,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    ...inputs,
  };
  return new Promise((resolve) => {
    execFile(
      'bash',
      [join(root, 'scripts', 'ci', 'action-run.sh')],
      { cwd: home, env, timeout: 150_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const outputs = Object.fromEntries(
          readFileSync(output, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr, outputs, summary: readFileSync(summary, 'utf8') });
      },
    );
  });
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'migrate-ci-sample-'));
  // Independent runs, started together: each costs mostly the CLI's start-up.
  runs = { markdown: check('markdown'), github: check('github'), sarif: check('sarif'), junit: check('junit') };
  const inputs = {
    INPUT_COMMAND: 'check',
    INPUT_MIGRATIONS: dir,
    INPUT_DIALECT: 'mysql',
    INPUT_SHADOW_URL: shadowUrl(),
    INPUT_ACK: '',
    INPUT_COMMENT_MARKER: '<!-- migrate-report -->',
  };
  actionRuns = {
    gate: actionRun('gate', inputs),
    // No server on port 1: migrate cannot run (exit 2).
    broken: actionRun('broken', { ...inputs, INPUT_SHADOW_URL: 'mysql://root@127.0.0.1:1' }),
  };
});

afterAll(async () => {
  await Promise.allSettled([...Object.values(runs), ...Object.values(actionRuns)]);
  rmSync(tmp, { recursive: true, force: true });
  expect(await listShadowDatabases('mysql', shadowServer('mysql'), [process.pid, ...childPids])).toEqual([]);
});

describe('CI on a sample pull request that drops a column before the deploy', () => {
  it('the fixture is what the test claims: the DROP is on a line of its own in the pull request migration', () => {
    expect(DROP_LINE).toBeGreaterThan(1);
  });

  it('fails the gate (exit 1) in every format', async () => {
    for (const [format, r] of Object.entries(runs)) {
      const run = await r;
      expect(run.code, `${format}: ${run.stderr}`).toBe(1);
    }
  });

  it('markdown (the pull-request comment): the finding, the expand/contract recipe and the hidden marker', async () => {
    const md = (await runs.markdown).stdout;
    expect(md).toMatch(/^### ❌ migrate check: FAILED \(1 of 2 migrations fails the gate\)/);
    expect(md).toMatch(
      new RegExp(`- 🛑 \\*\\*BC102\\*\\* \\(error\\) \\(\`${DROP_FILE.replace(/\./g, '\\.')}:${DROP_LINE}\`\\): Drops column users\\.legacy_note`),
    );
    const block = md.slice(md.indexOf('**BC102** (error)'));
    expect(block).toMatch(
      /<summary>Safe alternative<\/summary>[\s\S]*1\. Remove every use of users\.legacy_note from the code[\s\S]*and deploy that release\.[\s\S]*2\. Drop the column in a post-deploy migration/,
    );
    expect(md.trimEnd().split('\n').at(-1)).toBe('<!-- migrate-report -->');
  });

  it('github: an ::error annotation on the pull request migration, at the line of the DROP', async () => {
    const lines = (await runs.github).stdout.split('\n');
    const bc = lines.filter((l) => l.includes('title=BC102'));
    expect(bc).toHaveLength(1);
    expect(bc[0]).toMatch(
      new RegExp(`^::error file=${DROP_FILE.replace(/\./g, '\\.')},line=${DROP_LINE},title=BC102::${DROP_ID}: Drops column users\\.legacy_note`),
    );
    expect(bc[0]).toMatch(/%0ASafe alternative:%0A1\. Remove every use of users\.legacy_note/);
    // The harmless migration fails nothing.
    expect(lines.filter((l) => l.startsWith('::error') && l.includes('0001_create_users'))).toEqual([]);
  });

  it('sarif: valid against the official SARIF 2.1.0 schema, with a BC102 result at that file and line', async () => {
    const log = JSON.parse((await runs.sarif).stdout) as SarifLog;
    expect(sarifErrors(log)).toEqual([]);
    const run = log.runs[0]!;
    expect(run.originalUriBaseIds['SRCROOT']!.uri).toBe(`${pathToFileURL(root).href}/`);
    const bc = run.results.filter((r) => r.ruleId === 'BC102');
    expect(bc).toHaveLength(1);
    expect(bc[0]).toMatchObject({
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: DROP_FILE, uriBaseId: 'SRCROOT' }, region: { startLine: DROP_LINE } } }],
      properties: { migration: DROP_ID, table: 'users', column: 'legacy_note' },
    });
    expect(bc[0]!.suppressions).toBeUndefined();
    expect(run.tool.driver.rules[bc[0]!.ruleIndex]!.help.text).toMatch(/Safe alternative:\n1\./);
    expect(run.invocations[0]!.exitCode).toBe(1);
  });

  it('junit: valid against the XSD, a BC102 failure for the pull request migration and a pass for the other', async () => {
    const xml = (await runs.junit).stdout;
    expect(junitErrors(xml)).toEqual([]);
    expect(xpath(xml, 'string(//testsuite/@tests)')).toBe('2\n');
    expect(xpath(xml, 'string(//testsuite/@failures)')).toBe('1\n');
    expect(xpath(xml, `string(//testcase[@name="${DROP_ID}"]/@classname)`)).toBe(`mysql/${rel}\n`);
    expect(xpath(xml, `string(//testcase[@name="${DROP_ID}"]/failure/@type)`)).toBe('BC102\n');
    expect(xpath(xml, `string(//testcase[@name="${DROP_ID}"]/failure)`)).toMatch(
      new RegExp(
        `BC102 \\(error\\) at ${DROP_FILE.replace(/\./g, '\\.')}:${DROP_LINE}[\\s\\S]*Safe alternative:\\n {4}1\\. Remove every use of users\\.legacy_note`,
      ),
    );
    expect(xpath(xml, 'count(//testcase[@name="0001_create_users"])')).toBe('1\n');
    expect(xpath(xml, 'count(//testcase[@name="0001_create_users"]/failure)')).toBe('0\n');
  });
});

describe('the GitHub Action run step on the sample pull request', () => {
  it('annotates, writes every report, records exit code 1 for the last step and still exits 0 itself', async () => {
    const r = await actionRuns.gate;
    expect(r.code, r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ 'exit-code': '1', passed: 'false' });
    expect(r.stdout).toMatch(new RegExp(`^::error file=${DROP_FILE.replace(/\./g, '\\.')},line=${DROP_LINE},title=BC102::`, 'm'));
    const md = readFileSync(r.outputs['markdown-file']!, 'utf8');
    expect(md).toMatch(/^### ❌ migrate check: FAILED/);
    expect(md).toContain('<!-- migrate-report -->');
    expect(r.summary).toBe(md);
    expect(sarifErrors(JSON.parse(readFileSync(r.outputs['sarif-file']!, 'utf8')))).toEqual([]);
    expect(junitErrors(readFileSync(r.outputs['junit-file']!, 'utf8'))).toEqual([]);
  });

  it('when migrate cannot run: exit code 2 for the last step, and the comment carries the error and its fix', async () => {
    const r = await actionRuns.broken;
    expect(r.code, r.stderr).toBe(0);
    expect(r.outputs).toMatchObject({ 'exit-code': '2', passed: 'false' });
    expect(r.outputs['sarif-file']).toBeUndefined();
    const md = readFileSync(r.outputs['markdown-file']!, 'utf8');
    expect(md).toMatch(
      /^### ⚠️ migrate check could not run \(exit 2\)\n\n```\nerror: The shadow server from --shadow cannot be used: Cannot reach the MySQL\/MariaDB server at 127\.0\.0\.1:1[\s\S]*\nfix: /,
    );
    expect(md.trimEnd().endsWith('<!-- migrate-report -->')).toBe(true);
    expect(r.stdout).toMatch(/^::error title=migrate check could not run::error: The shadow server/m);
  });
});
