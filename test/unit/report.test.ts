import { describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/analysis/gate.ts';
import type { Finding, MigrationVerdict } from '../../src/analysis/types.ts';
import { parseAck } from '../../src/cli/commands/check.ts';
import { MigrateError } from '../../src/errors.ts';
import {
  buildPlan,
  escapeData,
  escapeProperty,
  estimateMigration,
  parseFormat,
  recipeSteps,
  renderGithub,
  renderJson,
  renderMarkdown,
  renderText,
  useColour,
  type MigrationFiles,
  type Report,
} from '../../src/report/index.ts';
import { verdict } from '../helpers/verdicts.ts';

/** Report formats on hand-made verdicts: no database involved. */

const drop: Finding = {
  rule: 'BC102',
  severity: 'error',
  message: 'Drops column users.age, 100% sure: it breaks\nthe old code, really.',
  table: 'users',
  column: 'age',
  statement: 'ALTER TABLE users DROP COLUMN age',
  safeAlternative: '1. Remove every use of users.age and deploy. 2. Drop the column in a post-deploy migration.',
};
const acked: Finding = {
  rule: 'BC104',
  severity: 'error',
  message: 'Renames column users.name to full_name.',
  table: 'users',
  column: 'full_name',
  statement: 'ALTER TABLE users RENAME COLUMN name TO full_name',
  safeAlternative: '1. a. 2. b.',
  acknowledged: { reason: 'nothing reads name since v41' },
};
const info: Finding = { rule: 'MY202', severity: 'info', message: 'INSTANT.' };

const files = new Map<string, MigrationFiles>([
  [
    '0002_drop_age',
    {
      id: '0002_drop_age',
      format: 'sql',
      upPath: '/repo/migrations/0002_drop_age.up.sql',
      downPath: '/repo/migrations/0002_drop_age.down.sql',
      upStatements: [
        { sql: 'SET lock_timeout = 1', line: 2, noTransaction: false },
        { sql: 'ALTER TABLE users DROP COLUMN age', line: 5, noTransaction: false },
      ],
      downStatements: [{ sql: 'ALTER TABLE users ADD COLUMN age INT', line: 1, noTransaction: false }],
    },
  ],
  [
    '0003_rename',
    {
      id: '0003_rename',
      format: 'sql',
      upPath: '/repo/migrations/0003_rename.up.sql',
      upStatements: [{ sql: 'ALTER TABLE users RENAME COLUMN name TO full_name', line: 3, noTransaction: false }],
    },
  ],
]);

function report(verdicts: MigrationVerdict[]): Report {
  return { command: 'check', dialect: 'mysql', verdicts, gate: evaluateGate(verdicts), files, baseDir: '/repo' };
}

const failing = report([
  verdict('0002_drop_age', { backwardCompatible: false, dataLoss: true, findings: [drop, info] }),
  verdict('0003_rename', { findings: [acked] }),
]);

describe('json', () => {
  it('has exactly the fields of the issue, in order, with extras after them', () => {
    const data = JSON.parse(renderJson(failing)) as { migrations: Record<string, unknown>[]; gate: { pass: boolean } };
    expect(Object.keys(data.migrations[0]!).slice(0, 9)).toEqual([
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
    const f = (data.migrations[0]!['findings'] as Record<string, unknown>[])[0]!;
    expect(Object.keys(f).slice(0, 5)).toEqual(['rule', 'severity', 'message', 'table', 'statement']);
    expect(f).toMatchObject({ rule: 'BC102', severity: 'error', file: 'migrations/0002_drop_age.up.sql', line: 5 });
    const ack = (data.migrations[1]!['findings'] as Record<string, unknown>[])[0]!;
    expect(ack['acknowledged']).toEqual({ reason: 'nothing reads name since v41' });
    expect(data.gate.pass).toBe(false);
    const noTable = JSON.parse(renderJson(report([verdict('0003_rename', { findings: [{ rule: 'RV101', severity: 'error', message: 'no down' }] })]))) as {
      migrations: { findings: Record<string, unknown>[] }[];
    };
    expect('table' in noTable.migrations[0]!.findings[0]!).toBe(false);
    expect('statement' in noTable.migrations[0]!.findings[0]!).toBe(false);
  });
});

describe('github', () => {
  it('escapes data and properties as the runner requires', () => {
    expect(escapeData('100% a\r\nb')).toBe('100%25 a%0D%0Ab');
    expect(escapeProperty('dir,x/a:b%.sql')).toBe('dir%2Cx/a%3Ab%25.sql');
  });

  it('annotates the migration file at the line of the statement; acknowledged findings become notices; info is left out', () => {
    const lines = renderGithub(failing).split('\n');
    expect(lines[0]).toBe(
      '::error file=migrations/0002_drop_age.up.sql,line=5,title=BC102::0002_drop_age: Drops column users.age, 100%25 sure: it breaks%0Athe old code, really.%0ASafe alternative:%0A1. Remove every use of users.age and deploy.%0A2. Drop the column in a post-deploy migration.',
    );
    expect(lines[1]).toBe(
      '::notice file=migrations/0003_rename.up.sql,line=3,title=BC104::0003_rename: Renames column users.name to full_name.%0AAcknowledged (error): nothing reads name since v41',
    );
    expect(lines.some((l) => l.includes('MY202'))).toBe(false);
    expect(lines.at(-3)).toMatch(/^migrate check: FAILED/);
    expect(lines.filter((l) => !l.startsWith('::'))).toHaveLength(3);
  });

  it('points reversibility findings at the down file', () => {
    const rv: Finding = { rule: 'RV102', severity: 'error', message: 'down differs', safeAlternative: 'fix it' };
    expect(renderGithub(report([verdict('0002_drop_age', { reversible: false, findings: [rv] })]))).toMatch(
      /^::error file=migrations\/0002_drop_age\.down\.sql,line=1,title=RV102::/,
    );
  });
});

describe('markdown', () => {
  it('has a pass/fail summary, a table per migration, recipes in collapsible blocks and acknowledged findings marked', () => {
    const md = renderMarkdown(failing);
    expect(md.split('\n')[0]).toBe('### ❌ migrate check: FAILED (1 of 2 migrations fails the gate)');
    expect(md).toMatch(/#### `0002_drop_age` — pre-deploy, in-place · `migrations\/0002_drop_age.up.sql`/);
    expect(md).toMatch(/\| backward compatible \| reversible \| data loss \| blocking \|/);
    expect(md).toMatch(/- 🛑 \*\*BC102\*\* \(error\) \(`migrations\/0002_drop_age\.up\.sql:5`\): Drops column users\.age/);
    expect(md).toMatch(
      /<details><summary>Safe alternative<\/summary>\n\n {2}1\. Remove every use of users\.age and deploy\.\n {2}2\. Drop the column in a post-deploy migration\./,
    );
    expect(md).toMatch(/✔️ \*\*BC104\*\* acknowledged \(error\): _nothing reads name since v41_/);
    expect(md).toMatch(/<details><summary>1 informational finding<\/summary>/);
    expect(renderMarkdown(report([verdict('0003_rename')])).split('\n')[0]).toBe('### ✅ migrate check: passed (1 migration)');
  });
});

describe('text', () => {
  it('is a table with the findings and their steps; colour only when asked', () => {
    const plain = renderText(failing, { colour: false });
    expect(plain).not.toMatch(/\u001b\[/);
    expect(plain).toMatch(/^ID +PHASE +COMPATIBLE +REVERSIBLE +DATA LOSS +BLOCKING +REPLICA-FIRST +STRATEGY$/m);
    expect(plain).toMatch(/^0002_drop_age +pre-deploy +no +yes +yes +no +yes +in-place$/m);
    expect(plain).toMatch(/error BC102 migrations\/0002_drop_age\.up\.sql:5/);
    expect(plain).toMatch(/1\. Remove every use of users\.age and deploy\.\n +2\. Drop the column/);
    expect(plain).toMatch(/acknowledged BC104 \(was error\)[\s\S]*acknowledged: nothing reads name since v41/);
    expect(renderText(failing, { colour: true })).toMatch(/\u001b\[31m/);
  });

  it('colours a TTY unless NO_COLOR is set', () => {
    expect(useColour({ isTTY: true }, {})).toBe(true);
    expect(useColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColour({ isTTY: false }, {})).toBe(false);
    expect(useColour({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
  });
});

describe('helpers', () => {
  it('splits numbered recipes into steps', () => {
    expect(recipeSteps('1. Add x. 2. Deploy code that writes x (DECIMAL(10,2)). 3. Drop y.')).toEqual([
      'Add x.',
      'Deploy code that writes x (DECIMAL(10,2)).',
      'Drop y.',
    ]);
    expect(recipeSteps('Use CONCURRENTLY.')).toEqual(['Use CONCURRENTLY.']);
  });

  it('parses formats and --ack values strictly', () => {
    expect(parseFormat('github')).toBe('github');
    expect(() => parseFormat('html')).toThrow(MigrateError);
    const ids = new Set(['0007_drop_age']);
    expect(parseAck('bc102:0007_drop_age: unused: since v41 ', ids)).toEqual({ rule: 'BC102', migration: '0007_drop_age', reason: 'unused: since v41' });
    expect(parseAck('BC1*:0007_drop_age:all compat findings reviewed', ids).rule).toBe('BC1*');
    for (const bad of ['BC102', 'BC102:0007_drop_age:', 'ZZ100:0007_drop_age:x', 'BC102:0008:x']) {
      expect(() => parseAck(bad, ids)).toThrow(MigrateError);
    }
  });
});

describe('plan', () => {
  it('orders pre-deploy steps, the hand-off, then post-deploy ones, and estimates blocking and replica-first steps', () => {
    const copy = verdict('0002_bigint', {
      blocking: true,
      strategy: 'replica-first',
      findings: [{ rule: 'MY101', severity: 'warning', message: 'copy', table: 'orders', statement: 'ALTER TABLE orders MODIFY id BIGINT' }],
    });
    const pgIndex = verdict('0003_index', {
      blocking: true,
      strategy: 'refused',
      findings: [{ rule: 'PG101', severity: 'error', message: 'index', table: 'orders' }],
    });
    const contract = verdict('0001_drop', { phase: 'post-deploy' });
    const plan = buildPlan({
      dialect: 'mysql',
      target: 'app@db:3306/app',
      applied: 10,
      verdicts: [contract, copy, pgIndex],
      sizes: { '0002_bigint': [{ table: 'orders', rows: 1_000_000, bytes: null }], '0003_index': [{ table: 'orders', rows: 2_000_000, bytes: null }] },
      nodes: 3,
    });
    expect(plan.steps.map((s) => `${s.kind}:${s.migration ?? ''}`)).toEqual([
      'pre-deploy:0002_bigint',
      'pre-deploy:0003_index',
      'deploy:',
      'post-deploy:0001_drop',
    ]);
    // 1M rows copied at 250k rows/s on each of 3 nodes; writes wait only for the switchover.
    expect(plan.estimates['0002_bigint']).toMatchObject({ seconds: 12, blockedSeconds: 0 });
    expect(plan.estimates['0002_bigint']!.basis).toMatch(/1\.0M rows at 250k rows\/s\), once on each of 3 nodes/);
    expect(plan.estimates['0003_index']).toMatchObject({ seconds: 2, blockedSeconds: 2 });
    expect(plan.estimates['0001_drop']).toBeUndefined();
    expect(plan.warnings[0]).toMatch(/0002_bigint, 0003_index \(pre-deploy\) sort after 0001_drop \(post-deploy\)/);
    expect(estimateMigration(verdict('x'), [], 2)).toBeUndefined();
  });
});
