/**
 * A column rename through the real CLI (`node bin/migrate check`, its own process) with the
 * machine's MariaDB and PostgreSQL as the shadow server. A rename breaks one of the two releases
 * whichever phase it runs in; inferred post-deploy, it used to pass silently (BC104 made info, exit
 * 0, nothing shown). Now the report warns that the new release runs against the old name until the
 * migration runs (BC204, exit 0), and with the new release's statements (--new-queries) one that
 * names the new column fails the gate (WL203, exit 1), naming the statement and the server's error.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shadowPrefixOf } from '../../src/analysis/shadow-names.ts';
import { listShadowObjects } from '../../src/analysis/shadow-run.ts';
import type { Dialect } from '../../src/config/types.ts';
import { type CliResult, show, startCli } from '../faults/harness.ts';
import { machineServer, serverUrl } from '../helpers/shadow.ts';

interface Finding {
  rule: string;
  severity: string;
  message: string;
  statement?: string;
  safeAlternative?: string;
  query?: { text: string; source: string; error?: string };
}
interface Report {
  gate: { pass: boolean; reasons: { migration: string; rule?: string; reason: string }[] };
  migrations: { id: string; phase: string; findings: Finding[] }[];
}

const DIALECTS: Dialect[] = ['mysql', 'postgres'];
const NEW_QUERY: Record<Dialect, string> = {
  mysql: 'SELECT id, mail FROM users WHERE id = ?',
  postgres: 'SELECT id, mail FROM users WHERE id = $1',
};
const UNKNOWN_MAIL: Record<Dialect, RegExp> = { mysql: /Unknown column 'mail'/, postgres: /column "mail" does not exist/ };

let work: string;
const pids: number[] = [];

function dirFor(d: Dialect): string {
  const dir = join(work, d, 'migrations');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '0001_users.up.sql'), 'CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100));\n');
  writeFileSync(join(dir, '0001_users.down.sql'), 'DROP TABLE users;\n');
  writeFileSync(join(dir, '0002_rename_email.up.sql'), 'ALTER TABLE users RENAME COLUMN email TO mail;\n');
  writeFileSync(join(dir, '0002_rename_email.down.sql'), 'ALTER TABLE users RENAME COLUMN mail TO email;\n');
  writeFileSync(join(work, d, 'new-release.txt'), `-- the new release reads the renamed column\n${NEW_QUERY[d]}\n`);
  return dir;
}

function check(d: Dialect, ...args: string[]): Promise<CliResult> {
  const run = startCli(['check', join(work, d, 'migrations'), '--dialect', d, '--shadow', serverUrl(d, machineServer(d)), '--no-cache', ...args], {}, 90_000);
  pids.push(run.pid);
  return run.done;
}

function report(r: CliResult): Report {
  expect(r.stdout, show(r)).toMatch(/^\{/);
  return JSON.parse(r.stdout) as Report;
}
const renameOf = (r: Report) => r.migrations.find((m) => m.id === '0002_rename_email')!;
const bySeverity = (r: Report): string[] => renameOf(r).findings.map((f) => `${f.rule}:${f.severity}`);

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'migrate-rename-cli-'));
  for (const d of DIALECTS) dirFor(d);
});
afterAll(async () => {
  // Nothing left on the servers: no shadow database or account of the CLI runs.
  const prefixes = pids.map(shadowPrefixOf);
  for (const d of DIALECTS) {
    const mine = (await listShadowObjects(d, machineServer(d))).filter((o) => prefixes.some((p) => o.name.startsWith(p)));
    expect(mine, d).toEqual([]);
  }
  rmSync(work, { recursive: true, force: true });
});

describe.each(DIALECTS)('migrate check on a column rename (%s)', (d) => {
  it('without the new release statements: a BC204 warning is shown, the gate passes (exit 0)', async () => {
    const [text, json] = await Promise.all([check(d), check(d, '--format', 'json')]);
    expect(text.code, show(text)).toBe(0);
    expect(text.stderr, show(text)).not.toMatch(/\n\s+at /);
    expect(text.stdout).toMatch(/^migrate check: passed \(2 migrations\)/);
    expect(text.stdout).toMatch(/^ {2}warning BC204 \S+0002_rename_email\.up\.sql:1$/m);
    const flat = text.stdout.replace(/\n {6,}/g, ' ');
    expect(flat).toMatch(
      /Renames column users\.email to mail after the code deploy \(post-deploy\): from the deploy until this migration runs, the new release runs against email/,
    );
    expect(flat).toMatch(/1\. Pre-deploy migration: add mail to users/);
    expect(flat).toMatch(/4\. Post-deploy migration: drop email\./);

    expect(json.code, show(json)).toBe(0);
    const r = report(json);
    expect(renameOf(r).phase).toBe('post-deploy');
    expect(bySeverity(r)).toEqual(expect.arrayContaining(['BC104:info', 'BC204:warning']));
    expect(bySeverity(r).filter((s) => s.endsWith(':error'))).toEqual([]);
    expect(renameOf(r).findings.find((f) => f.rule === 'BC204')!.message).toMatch(UNKNOWN_MAIL[d]);
    expect(r.gate).toEqual({ pass: true, reasons: [] });
  });

  it('with --new-queries naming the new column: WL203 fails the gate (exit 1) with the statement and the error', async () => {
    const newQueries = join(work, d, 'new-release.txt');
    const [text, json] = await Promise.all([check(d, '--new-queries', newQueries), check(d, '--new-queries', newQueries, '--format', 'json')]);
    expect(text.code, show(text)).toBe(1);
    expect(text.stderr, show(text)).not.toMatch(/\n\s+at /);
    expect(text.stdout).toMatch(/^migrate check: FAILED \(1 of 2 migrations fails the gate\)/);
    expect(text.stdout).toMatch(/^ {2}error WL203 \S+0002_rename_email\.up\.sql:1$/m);
    expect(text.stdout.replace(/\n {4,}/g, ' ')).toMatch(
      /- 0002_rename_email WL203: The new release runs `SELECT id, mail FROM users WHERE id = \S+` \(new-release\.txt line 2\)/,
    );

    expect(json.code, show(json)).toBe(1);
    const r = report(json);
    const wl = renameOf(r).findings.filter((f) => f.rule === 'WL203');
    expect(wl).toHaveLength(1);
    expect(wl[0]).toMatchObject({
      severity: 'error',
      statement: 'ALTER TABLE users RENAME COLUMN email TO mail',
      query: { text: NEW_QUERY[d], source: 'new-release.txt line 2' },
    });
    expect(wl[0]!.query!.error).toMatch(UNKNOWN_MAIL[d]);
    expect(wl[0]!.message).toMatch(
      /This migration is post-deploy, so it runs after the code deploy: from the deploy until it has run, every call of the new release fails/,
    );
    expect(r.gate.pass).toBe(false);
    expect(r.gate.reasons).toContainEqual(expect.objectContaining({ migration: '0002_rename_email', rule: 'WL203' }));
    // The create of users is pre-deploy: the new release starts after it, so its statement is not reported there.
    expect(r.migrations.find((m) => m.id === '0001_users')!.findings.map((f) => f.rule)).not.toContain('WL203');
  });
});
