/**
 * The hand-off's acceptance cases (docs/handoff.md), run through bin/migrate on a sandbox the
 * calling test file starts: verify ok -> contract; verify (HTTP, a real server) fails -> rollback
 * -> the old release verified -> exit 1, nothing contracted, and the printed next command then
 * finishes the release; rollback fails too -> exit 1, nothing contracted; --dry-run shows the
 * steps. The sandbox starts with 0001_create_t: t (id, old) and a table legacy. Shared by the primary-replica (HAProxy) and the single-server test files.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cli, lastJournal, show, type CliResult } from '../faults/harness.ts';
import { healthServer } from './health-server.ts';
import { type RunningSandbox, type StartSandboxOptions, startSandbox } from './sandbox.ts';

export interface HandoffCtx {
  sb: RunningSandbox;
  migDir: string;
  /** Extra apply flags for the expand (e.g. --strategy replica-first). */
  applyArgs: string[];
  /** The node that takes writes after that expand: what the deploy gets as MIGRATE_NEW_PRIMARY. */
  expandWriter: string;
}

/**
 * A stand-in deploy/verify/rollback command: appends "$MIGRATE_PHASE $MIGRATE_SCHEMA_VERSION
 * $MIGRATE_NEW_PRIMARY" to steps.log and fails while a file fail-<phase> exists; with a second
 * argument it creates that file (the rollback "brings back" the healthy release).
 */
export class StepScript {
  readonly dir = mkdtempSync(join(tmpdir(), 'handoff-steps-'));
  readonly path = join(this.dir, 'step.sh');
  constructor() {
    writeFileSync(
      this.path,
      [
        '#!/bin/sh',
        `echo "$MIGRATE_PHASE $MIGRATE_SCHEMA_VERSION $MIGRATE_NEW_PRIMARY" >> '${this.dir}/steps.log'`,
        `if [ -n "$1" ]; then touch "$1"; fi`,
        `[ ! -e '${this.dir}'/fail-"$MIGRATE_PHASE" ]`,
        '',
      ].join('\n'),
    );
    chmodSync(this.path, 0o755);
  }
  fail(phase: string, on = true): void {
    if (on) writeFileSync(join(this.dir, `fail-${phase}`), '');
    else rmSync(join(this.dir, `fail-${phase}`), { force: true });
  }
  /** The lines logged since the last call, then forgets them. */
  take(): string[] {
    const log = join(this.dir, 'steps.log');
    if (!existsSync(log)) return [];
    const lines = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    rmSync(log);
    return lines;
  }
  /** Like take(), without the node: "<phase> <schema version>". */
  phases(): string[] {
    return this.take().map((l) => l.split(' ').slice(0, 2).join(' '));
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function columns(sb: RunningSandbox, node: string, table = 't'): Promise<string[]> {
  const c = await sb.mysql(node);
  try {
    const [rows] = await c.query(
      'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position',
      [sb.app.database, table],
    );
    return (rows as { c: string }[]).map((r) => r.c);
  } finally {
    await c.end();
  }
}

/** The node that takes writes now (read_only off). */
export async function writer(sb: RunningSandbox): Promise<string> {
  for (const n of sb.nodes) {
    const c = await sb.mysql(n.name);
    try {
      const [rows] = await c.query('SELECT @@read_only AS ro');
      if (Number((rows as { ro: number }[])[0]?.ro) === 0) return n.name;
    } finally {
      await c.end();
    }
  }
  throw new Error('no writable node');
}

/**
 * Every node's name, once each replica has applied what the writer has executed: the contract
 * runs in place on the writer, and a replica reading it a moment later may not have it yet.
 */
export async function caughtUpNodes(sb: RunningSandbox): Promise<string[]> {
  const w = await sb.mysql(await writer(sb));
  let pos: string;
  try {
    const [rows] = await w.query('SELECT @@gtid_binlog_pos AS p');
    pos = String((rows as { p: string }[])[0]?.p ?? '');
  } finally {
    await w.end();
  }
  for (const n of sb.nodes) {
    const c = await sb.mysql(n.name);
    try {
      const [status] = await c.query('SHOW SLAVE STATUS');
      if ((status as unknown[]).length === 0) continue;
      const [rows] = await c.query('SELECT MASTER_GTID_WAIT(?, 30) AS r', [pos]);
      if (Number((rows as { r: number }[])[0]?.r) !== 0) throw new Error(`${n.name} did not reach the writer's position ${pos} within 30 s`);
    } finally {
      await c.end();
    }
  }
  return sb.nodes.map((n) => n.name);
}

/** The ledger's ids, read on the node that takes writes now. */
export async function ledger(sb: RunningSandbox): Promise<string[]> {
  const c = await sb.mysql(await writer(sb));
  try {
    const [rows] = await c.query(`SELECT id FROM \`${sb.app.database}\`.migrate_ledger ORDER BY id`);
    return (rows as { id: string }[]).map((r) => r.id);
  } finally {
    await c.end();
  }
}

/** The steps the journal of the newest run went through, in order (begin/end/fail entries). */
export const journalSteps = (sb: RunningSandbox): string[] => lastJournal(sb).map((e) => `${e.step}:${e.phase}`);

export function handoffCases(ctx: () => HandoffCtx): void {
  const step = new StepScript();
  afterAll(() => step.cleanup());
  const migrate = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => cli(['--config', ctx().sb.configPath, ...args], env);
  const write = (files: Record<string, string>): void => {
    for (const [f, sql] of Object.entries(files)) writeFileSync(join(ctx().migDir, f), sql);
  };
  const everyNode = (): Promise<string[]> => caughtUpNodes(ctx().sb);
  const cmd = `sh ${step.path}`;
  const flags = ['--deploy-command', cmd, '--verify-command', cmd, '--rollback-command', cmd];

  it('--dry-run shows the hand-off between the expand and the contract phase; verify ok: the contract runs after deploy and verify, which got MIGRATE_PHASE and the schema version', async () => {
    const { sb, applyArgs, expandWriter } = ctx();
    write({
      '0002_add_x.up.sql': 'ALTER TABLE t ADD COLUMN x INT NULL;\n',
      '0003_drop_legacy.up.sql': '-- migrate:phase post-deploy\nDROP TABLE legacy;\n',
    });
    const dry = await migrate(['apply', '--dry-run', ...applyArgs, ...flags]);
    expect(dry.code, show(dry)).toBe(0);
    const lines = dry.stdout.split('\n');
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    expect(at(/^# 0002_add_x \[pre-deploy\]/)).toBeLessThan(at(/^# hand-off to the code deploy/));
    expect(at(/^# hand-off to the code deploy/)).toBeLessThan(at(/^# 0003_drop_legacy \[post-deploy\]/));
    expect(dry.stdout).toContain(`deploy (MIGRATE_PHASE=deploy): ${cmd}`);
    expect(dry.stdout).toContain(`verify (MIGRATE_PHASE=verify): the command ${cmd}`);
    expect(dry.stdout).toContain(`on failure: rollback (MIGRATE_PHASE=rollback): ${cmd}, then verify the old release (MIGRATE_PHASE=verify-rollback)`);
    expect(step.take(), 'a dry run runs no hand-off command').toEqual([]);

    const r = await migrate(['apply', ...applyArgs, ...flags]);
    expect(r.code, show(r)).toBe(0);
    expect(step.take()).toEqual([`deploy 0002_add_x ${expandWriter}`, `verify 0002_add_x ${expandWriter}`]);
    for (const n of await everyNode()) {
      expect(await columns(sb, n), n).toEqual(['id', 'old', 'x']);
      expect(await columns(sb, n, 'legacy'), `${n}: the contract dropped legacy`).toEqual([]);
    }
    expect(await ledger(sb)).toEqual(['0001_create_t', '0002_add_x', '0003_drop_legacy']);
    const journal = journalSteps(sb);
    // Journaled, each begun before it ran (a replica-first switchover journals its own check of the new primary, earlier, as `switchover-verify`).
    expect(journal.slice(journal.indexOf('deploy:begin'), journal.indexOf('deploy:begin') + 4)).toEqual([
      'deploy:begin',
      'deploy:end',
      'verify:begin',
      'verify:end',
    ]);
    expect(journal.filter((s) => s.startsWith('rollback'))).toEqual([]);
    expect(journal.at(-1)).toBe('done:end');
  });

  it('an HTTP verify that fails: rollback, the old release verified, exit 1, the contract not run (column and ledger), and the printed next command finishes the release', async () => {
    const { sb } = ctx();
    write({
      '0004_add_y.up.sql': 'ALTER TABLE t ADD COLUMN y INT NULL;\n',
      '0005_drop_old.up.sql': '-- migrate:phase post-deploy\nALTER TABLE t DROP COLUMN old;\n',
    });
    // The app: unhealthy once the new release is deployed, healthy again once the rollback ran.
    const rolledBack = join(step.dir, 'rolled-back');
    const app = await healthServer(() => (existsSync(rolledBack) ? 200 : 503));
    try {
      const httpFlags = [
        '--deploy-command',
        cmd,
        '--verify-url',
        app.url,
        '--verify-status',
        '200',
        '--verify-retries',
        '3',
        '--verify-window',
        '300ms',
        '--rollback-command',
        `${cmd} ${rolledBack}`,
      ];
      const r = await migrate(['apply', ...httpFlags]);
      expect(r.code, show(r)).toBe(1);
      expect(r.error).toContain(`The hand-off failed: ${app.url} did not answer 200 in 3 tries (last: status 503).`);
      expect(r.error).toContain('The code was rolled back and the old release passed verify.');
      expect(r.error).toContain('no contract migration ran');
      const cluster = (JSON.parse(readFileSync(sb.configPath, 'utf8')) as { clusters: { name: string }[] }).clusters[0]!.name;
      const next = `migrate --config ${sb.configPath} continue --cluster ${cluster} --deploy-command '${cmd}' --verify-url ${app.url} --verify-status 200 --verify-retries 3 --verify-window 300ms --rollback-command '${cmd} ${rolledBack}'`;
      expect(r.fix).toContain(`Fix the release, then run: ${next} (it deploys, verifies, then runs the contract phase).`);
      expect(step.phases()).toEqual(['deploy 0004_add_y', 'rollback 0004_add_y']);
      // The expand stays, the contract did not run: old is still there on every node, 0005 not in the ledger.
      for (const n of await everyNode()) expect(await columns(sb, n), n).toEqual(['id', 'old', 'x', 'y']);
      expect(await ledger(sb)).toEqual(['0001_create_t', '0002_add_x', '0003_drop_legacy', '0004_add_y']);
      const journal = journalSteps(sb);
      for (const s of ['deploy:end', 'verify:fail', 'rollback:end', 'verify-rollback:end', 'awaiting-deploy:begin']) expect(journal, s).toContain(s);
      expect((await migrate(['runs'])).stdout).toMatch(/waiting for `migrate continue`\n$/);

      // The fixed release: healthy from the start. The printed command, as pasted.
      rmSync(rolledBack);
      app.answer = () => 200;
      const again = await cli(shellWords(next).slice(1));
      expect(again.code, show(again)).toBe(0);
      expect(step.phases()).toEqual(['deploy 0004_add_y']);
      for (const n of await everyNode()) expect(await columns(sb, n), n).toEqual(['id', 'x', 'y']);
      expect(await ledger(sb)).toContain('0005_drop_old');
    } finally {
      await app.close();
    }
  });

  it('rollback fails too (the steps from the config\'s "handoff" key): exit 1, the code state called unknown, nothing contracted', async () => {
    const { sb } = ctx();
    const original = readFileSync(sb.configPath, 'utf8');
    const config = JSON.parse(original) as Record<string, unknown>;
    writeFileSync(sb.configPath, JSON.stringify({ ...config, handoff: { deploy: cmd, verify: { command: cmd }, rollback: cmd } }));
    write({
      '0006_add_z.up.sql': 'ALTER TABLE t ADD COLUMN z INT NULL;\n',
      '0007_drop_x.up.sql': '-- migrate:phase post-deploy\nALTER TABLE t DROP COLUMN x;\n',
    });
    step.fail('verify');
    step.fail('rollback');
    try {
      const r = await migrate(['apply']);
      expect(r.code, show(r)).toBe(1);
      expect(r.error).toMatch(
        /^The hand-off failed: the verify command failed \(exit 1\): sh .*step\.sh\. The rollback failed too \(the rollback command failed \(exit 1\): sh .*step\.sh\): the code state is unknown\./,
      );
      expect(r.fix).toContain('first bring a working release back by hand');
      expect(step.phases()).toEqual(['deploy 0006_add_z', 'verify 0006_add_z', 'rollback 0006_add_z']);
      for (const n of await everyNode()) expect(await columns(sb, n), n).toEqual(['id', 'x', 'y', 'z']);
      expect(await ledger(sb)).not.toContain('0007_drop_x');
      expect(journalSteps(sb)).not.toContain('verify-rollback:begin');

      // Fixed by hand; `migrate continue` (the config supplies the steps) deploys, verifies, contracts.
      step.fail('verify', false);
      step.fail('rollback', false);
      const again = await migrate(['continue']);
      expect(again.code, show(again)).toBe(0);
      expect(step.phases()).toEqual(['deploy 0006_add_z', 'verify 0006_add_z']);
      for (const n of await everyNode()) expect(await columns(sb, n), n).toEqual(['id', 'y', 'z']);
      expect(await ledger(sb)).toContain('0007_drop_x');
    } finally {
      writeFileSync(sb.configPath, original);
      step.fail('verify', false);
      step.fail('rollback', false);
    }
  });
}

/** Splits a command line the way /bin/sh does for plain words and single-quoted ones (all continueCommand prints). */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replaceAll("'\\''", "'") : m[2]!);
  return out;
}

/**
 * The setup of the hand-off kill tests: a sandbox whose migrations folder starts with `0001_create_t`
 * (applied by `migrate up` before the tests), a step script for the hand-off commands, and the cleanup
 * of all three. `sb()` is the sandbox once beforeAll has run.
 */
export function handoffKillSetup(prefix: string, options: Omit<StartSandboxOptions, 'migrationsDir'>) {
  const migDir = mkdtempSync(join(tmpdir(), prefix));
  const step = new StepScript();
  let sb: RunningSandbox | undefined;
  const migrate = (args: string[], env: Record<string, string> = {}) => cli(['--config', sb!.configPath, ...args], env);
  beforeAll(async () => {
    writeFileSync(join(migDir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, old INT NULL);\n');
    sb = await startSandbox({ ...options, migrationsDir: migDir });
    const up = await migrate(['up']);
    expect(up.code, show(up)).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await sb?.stop();
    step.cleanup();
    rmSync(migDir, { recursive: true, force: true });
  });
  return { migDir, step, cmd: `sh ${step.path}`, migrate, sb: (): RunningSandbox => sb! };
}
