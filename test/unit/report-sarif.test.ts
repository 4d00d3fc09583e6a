import { describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/analysis/gate.ts';
import { CATALOG } from '../../src/analysis/rules/catalog.ts';
import type { Finding, MigrationVerdict } from '../../src/analysis/types.ts';
import {
  FINGERPRINT_KEY,
  FORMATS,
  parseFormat,
  render,
  renderSarif,
  SARIF_SCHEMA_URI,
  TOOL,
  type MigrationFiles,
  type Report,
  type SarifLog,
  type SarifResult,
} from '../../src/report/index.ts';
import { sarifErrors } from '../fixtures/schemas/validate.ts';
import { verdict } from '../helpers/verdicts.ts';

/** `--format sarif` on hand-made verdicts, validated against the official SARIF 2.1.0 schema. */

const drop: Finding = {
  rule: 'BC102',
  severity: 'error',
  message: 'Drops column users.age while the previous release is still running.',
  table: 'users',
  column: 'age',
  statement: 'ALTER TABLE users DROP COLUMN age',
  safeAlternative: '1. Remove every use of users.age and deploy. 2. Drop the column in a post-deploy migration.',
};
const dataLoss: Finding = {
  rule: 'DL102',
  severity: 'warning',
  message: 'Drops column users.age and its values.',
  table: 'users',
  column: 'age',
  statement: 'ALTER TABLE users DROP COLUMN age',
};
const instant: Finding = { rule: 'MY202', severity: 'info', message: 'INSTANT.', table: 'users' };
const renamed: Finding = {
  rule: 'BC104',
  severity: 'error',
  message: 'Renames column users.name to full_name.',
  table: 'users',
  column: 'full_name',
  statement: 'ALTER TABLE users RENAME COLUMN name TO full_name',
  acknowledged: { reason: 'nothing reads name since v41' },
};
const rollback: Finding = {
  rule: 'RV102',
  severity: 'error',
  message: 'down does not restore users.nick',
  table: 'users',
  statement: 'ALTER TABLE users DROP COLUMN nick',
};

function files(upLine = 5): Map<string, MigrationFiles> {
  return new Map<string, MigrationFiles>([
    [
      '0002_drop_age',
      {
        id: '0002_drop_age',
        format: 'sql',
        upPath: '/repo/db/migrations/0002_drop_age.up.sql',
        downPath: '/repo/db/migrations/0002_drop_age.down.sql',
        upStatements: [{ sql: 'ALTER TABLE users DROP COLUMN age', line: upLine, noTransaction: false }],
        downStatements: [{ sql: 'ALTER TABLE users ADD COLUMN age INT', line: 1, noTransaction: false }],
        acknowledgements: [],
      },
    ],
    [
      '0003_rename name',
      {
        id: '0003_rename name',
        format: 'sql',
        upPath: '/repo/db/migrations/0003_rename name.up.sql',
        upStatements: [{ sql: 'ALTER TABLE users RENAME COLUMN name TO full_name', line: 3, noTransaction: false }],
        acknowledgements: [{ rule: 'BC1*', reason: 'nothing reads name since v41' }],
      },
    ],
    [
      '0004_nick',
      {
        id: '0004_nick',
        format: 'sql',
        upPath: '/elsewhere/0004_nick.up.sql',
        downPath: '/elsewhere/0004_nick.down.sql',
        upStatements: [{ sql: 'ALTER TABLE users ADD COLUMN nick INT', line: 2, noTransaction: false }],
        downStatements: [{ sql: 'ALTER TABLE users DROP COLUMN nick', line: 7, noTransaction: false }],
      },
    ],
    [
      '0005_copy',
      {
        id: '0005_copy',
        format: 'sql',
        upPath: '/repo/db/migrations/0005_copy.up.sql',
        upStatements: [{ sql: 'ALTER TABLE orders MODIFY id BIGINT', line: 1, noTransaction: false }],
      },
    ],
  ]);
}

function report(verdicts: MigrationVerdict[], upLine = 5): Report {
  return {
    command: 'check',
    dialect: 'mysql',
    verdicts,
    gate: evaluateGate(verdicts),
    files: files(upLine),
    baseDir: '/repo',
    skipped: [{ text: 'SHOW TABLES', source: 'q.txt line 1', reason: 'not a query' }],
  };
}

const verdicts = (): MigrationVerdict[] => [
  verdict('0002_drop_age', { backwardCompatible: false, dataLoss: true, findings: [drop, dataLoss, instant] }),
  verdict('0003_rename name', { findings: [renamed] }),
  verdict('0004_nick', { reversible: false, findings: [{ ...rollback, acknowledged: { reason: 'nick was never written' } }] }),
  verdict('0005_copy', {
    blocking: true,
    strategy: 'refused',
    refusedReason: 'copies orders and replica-first is not safe',
    findings: [{ rule: 'MY101', severity: 'error', message: 'ALTER copies the table.', table: 'orders', statement: 'ALTER TABLE orders MODIFY id BIGINT' }],
  }),
];

function parse(r: Report): SarifLog {
  return JSON.parse(renderSarif(r)) as SarifLog;
}

function resultsOf(log: SarifLog, rule: string): SarifResult[] {
  return log.runs[0]!.results.filter((x) => x.ruleId === rule);
}

describe('sarif', () => {
  it('is valid SARIF 2.1.0 for the official schema', () => {
    const text = renderSarif(report(verdicts()));
    expect(sarifErrors(JSON.parse(text))).toEqual([]);
    const empty = renderSarif({ command: 'plan', dialect: 'postgres', verdicts: [], gate: { pass: true, reasons: [] }, files: new Map(), baseDir: '/' });
    expect(sarifErrors(JSON.parse(empty))).toEqual([]);
  });

  it('the schema check is real: a log with a wrong level, a negative line or a non-URI path is rejected', () => {
    const log = parse(report(verdicts()));
    const r = log.runs[0]!.results[0]!;
    expect(sarifErrors({ ...log, runs: [{ ...log.runs[0]!, results: [{ ...r, level: 'fatal' }] }] }).join('\n')).toMatch(
      /level must be equal to one of the allowed values/,
    );
    const badLine = { ...r, locations: [{ physicalLocation: { artifactLocation: { uri: 'a.sql' }, region: { startLine: 0 } } }] };
    expect(sarifErrors({ ...log, runs: [{ ...log.runs[0]!, results: [badLine] }] }).join('\n')).toMatch(/startLine must be >= 1/);
    const badUri = { ...r, locations: [{ physicalLocation: { artifactLocation: { uri: 'a b.sql' } } }] };
    expect(sarifErrors({ ...log, runs: [{ ...log.runs[0]!, results: [badUri] }] }).join('\n')).toMatch(/uri must match format "uri-reference"/);
  });

  it('names the tool and lists every catalog rule with its explanation, safe alternative and default level', () => {
    const log = parse(report(verdicts()));
    expect(log.$schema).toBe(SARIF_SCHEMA_URI);
    expect(log.version).toBe('2.1.0');
    const driver = log.runs[0]!.tool.driver;
    expect(driver).toMatchObject({ name: 'migrate', version: TOOL.version });
    expect(() => new URL(driver.informationUri)).not.toThrow();
    for (const d of CATALOG.values()) {
      const rule = driver.rules.find((x) => x.id === d.code);
      expect(rule, d.code).toBeDefined();
      expect(rule!.shortDescription.text).toBe(d.title);
      expect(rule!.fullDescription.text).toBe(d.explanation);
      expect(rule!.defaultConfiguration.level).toBe(d.severity === 'info' ? 'note' : d.severity);
      expect(rule!.help.text).toContain('Safe alternative:');
    }
    const bc102 = driver.rules.find((x) => x.id === 'BC102')!;
    expect(bc102.help.text).toMatch(/Safe alternative:\n1\. Stop using the column in code.*\n2\. Drop the column in a post-deploy migration\./);
    expect(bc102.help.text).toMatch(/--ack BC102:MIGRATION_ID:reason/);
    // Every result's ruleIndex points at its own rule.
    for (const r of log.runs[0]!.results) expect(driver.rules[r.ruleIndex]!.id).toBe(r.ruleId);
  });

  it('puts each finding on the migration file and line of its statement, relative to SRCROOT, with the level of its severity', () => {
    const log = parse(report(verdicts()));
    expect(log.runs[0]!.originalUriBaseIds).toEqual({ SRCROOT: { uri: 'file:///repo/' } });
    const [bc] = resultsOf(log, 'BC102');
    expect(bc).toMatchObject({
      level: 'error',
      locations: [{ physicalLocation: { artifactLocation: { uri: 'db/migrations/0002_drop_age.up.sql', uriBaseId: 'SRCROOT' }, region: { startLine: 5 } } }],
      properties: { migration: '0002_drop_age', table: 'users', column: 'age' },
    });
    expect(bc!.message.text).toMatch(
      /^0002_drop_age: Drops column users\.age.*\nSafe alternative:\n1\. Remove every use of users\.age and deploy\.\n2\. Drop the column in a post-deploy migration\./,
    );
    expect(resultsOf(log, 'DL102')[0]!.level).toBe('warning');
    expect(resultsOf(log, 'MY202')[0]!.level).toBe('note');
    // A space in a file name is percent-encoded; a file outside the base directory is an absolute file: URI.
    expect(resultsOf(log, 'BC104')[0]!.locations[0]!.physicalLocation.artifactLocation).toEqual({
      uri: 'db/migrations/0003_rename%20name.up.sql',
      uriBaseId: 'SRCROOT',
    });
    // Reversibility findings point at the down file.
    expect(resultsOf(log, 'RV102')[0]!.locations[0]!.physicalLocation).toEqual({
      artifactLocation: { uri: 'file:///elsewhere/0004_nick.down.sql' },
      region: { startLine: 7 },
    });
  });

  it('keeps acknowledged findings as suppressed notes with the reason, in source or from the command line', () => {
    const log = parse(report(verdicts()));
    expect(resultsOf(log, 'BC104')[0]!.suppressions).toEqual([{ kind: 'inSource', status: 'accepted', justification: 'nothing reads name since v41' }]);
    // An acknowledged error must not raise an error alert where suppressions are ignored (GitHub).
    expect(resultsOf(log, 'BC104')[0]).toMatchObject({ level: 'note', properties: { severity: 'error', acknowledged: 'nothing reads name since v41' } });
    expect(resultsOf(log, 'BC104')[0]!.message.text).toMatch(/Acknowledged \(error\): nothing reads name since v41/);
    // 0004 declares no acknowledgement itself, so the one it has came from --ack.
    expect(resultsOf(log, 'RV102')[0]!.suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: 'nick was never written' }]);
    expect(resultsOf(log, 'BC102')[0]!.suppressions).toBeUndefined();
  });

  it('reports a refused migration under a rule of its own and the gate in the invocation', () => {
    const log = parse(report(verdicts()));
    const [refused] = resultsOf(log, 'refused');
    expect(refused).toMatchObject({ level: 'error', message: { text: '0005_copy: copies orders and replica-first is not safe' } });
    expect(refused!.locations[0]!.physicalLocation.artifactLocation.uri).toBe('db/migrations/0005_copy.up.sql');
    expect(log.runs[0]!.invocations[0]).toMatchObject({
      executionSuccessful: true,
      exitCode: 1,
      exitCodeDescription: expect.stringMatching(/FAILED \(3 of 4 migrations fail the gate\)/),
    });
    expect(log.runs[0]!.invocations[0]!.toolExecutionNotifications).toEqual([
      { level: 'note', message: { text: 'Workload statement not prepared (q.txt line 1): not a query' } },
    ]);
  });

  it('fingerprints stay the same when the statement moves and differ per migration, rule and object', () => {
    const fp = (r: Report, rule: string): string => resultsOf(parse(r), rule)[0]!.partialFingerprints[FINGERPRINT_KEY]!;
    const moved = report(verdicts(), 12);
    expect(resultsOf(parse(moved), 'BC102')[0]!.locations[0]!.physicalLocation.region).toEqual({ startLine: 12 });
    expect(fp(moved, 'BC102')).toBe(fp(report(verdicts()), 'BC102'));
    expect(fp(report(verdicts()), 'BC102')).toMatch(/^[0-9a-f]{64}$/);
    expect(fp(report(verdicts()), 'BC102')).not.toBe(fp(report(verdicts()), 'DL102'));
    const other = report([verdict('0002_drop_age', { findings: [{ ...drop, column: 'nick', message: 'Drops column users.nick' }] })]);
    expect(fp(other, 'BC102')).not.toBe(fp(report(verdicts()), 'BC102'));
  });

  it('is a --format of check and plan', () => {
    expect(FORMATS).toContain('sarif');
    expect(parseFormat('sarif')).toBe('sarif');
    expect(render(report(verdicts()), 'sarif')).toBe(renderSarif(report(verdicts())));
  });
});
