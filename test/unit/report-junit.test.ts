import { describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/analysis/gate.ts';
import type { Finding, MigrationVerdict } from '../../src/analysis/types.ts';
import { buildPlan, parseFormat, render, renderJunit, xmlAttr, xmlText, type MigrationFiles, type Report } from '../../src/report/index.ts';
import { junitErrors, xpath } from '../fixtures/schemas/validate.ts';
import { verdict } from '../helpers/verdicts.ts';

/** `--format junit` on hand-made verdicts, validated against the Jenkins JUnit XSD with xmllint. */

// Everything XML must escape, plus a control character XML 1.0 cannot carry at all.
const nasty = `users.<age> & "quotes" 'single' \u0007bell`;
const drop: Finding = {
  rule: 'BC102',
  severity: 'error',
  message: `Drops column ${nasty}.`,
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
  statement: 'ALTER TABLE users DROP COLUMN age',
  safeAlternative: 'Copy the values first.',
};
const acked: Finding = {
  rule: 'BC104',
  severity: 'error',
  message: 'Renames column users.name.',
  table: 'users',
  acknowledged: { reason: 'nothing reads name since v41' },
};
const info: Finding = { rule: 'MY202', severity: 'info', message: 'INSTANT.' };

const files = new Map<string, MigrationFiles>([
  [
    '0001_create',
    {
      id: '0001_create',
      format: 'sql',
      upPath: '/repo/db/migrations/0001_create.up.sql',
      upStatements: [{ sql: 'CREATE TABLE users (id INT)', line: 1, noTransaction: false }],
    },
  ],
  [
    '0002_drop_age',
    {
      id: '0002_drop_age',
      format: 'sql',
      upPath: '/repo/db/migrations/0002_drop_age.up.sql',
      upStatements: [{ sql: 'ALTER TABLE users DROP COLUMN age', line: 4, noTransaction: false }],
    },
  ],
  ['0003_rename', { id: '0003_rename', format: 'sql', upPath: '/repo/db/migrations/0003_rename.up.sql', upStatements: [] }],
]);

function report(verdicts: MigrationVerdict[], over: Partial<Report> = {}): Report {
  return {
    command: 'check',
    dialect: 'mysql',
    verdicts,
    gate: evaluateGate(verdicts),
    files,
    baseDir: '/repo',
    notes: ['analysed 3 migrations in 0.4 s'],
    ...over,
  };
}

const failing = report([
  verdict('0001_create', { findings: [info] }),
  verdict('0002_drop_age', { backwardCompatible: false, dataLoss: true, findings: [drop, dataLoss, info] }),
  verdict('0003_rename', { findings: [acked] }),
]);

describe('junit', () => {
  it('is valid for the JUnit XSD (and the check is real: a report missing required attributes is rejected)', () => {
    expect(junitErrors(renderJunit(failing))).toEqual([]);
    expect(junitErrors(renderJunit(report([])))).toEqual([]);
    expect(junitErrors('<testsuite name="x"><testcase classname="a"/></testsuite>').join('\n')).toMatch(
      /attribute 'tests' is required[\s\S]*attribute 'name' is required/,
    );
  });

  it('has one testsuite with one testcase per migration: classname dialect/dir, name the migration id', () => {
    const xml = renderJunit(failing);
    expect(xpath(xml, 'count(/testsuites/testsuite)')).toBe('1\n');
    expect(xpath(xml, 'string(/testsuites/testsuite/@tests)')).toBe('3\n');
    expect(xpath(xml, 'string(/testsuites/testsuite/@failures)')).toBe('1\n');
    const names = [1, 2, 3].map((i) => xpath(xml, `string(//testcase[${i}]/@name)`).trim());
    expect(names).toEqual(['0001_create', '0002_drop_age', '0003_rename']);
    expect(xpath(xml, 'string(//testcase[1]/@classname)')).toBe('mysql/db/migrations\n');
  });

  it('fails the migration the gate fails on, with the rule as type and the findings and safe alternative in the body', () => {
    const xml = renderJunit(failing);
    expect(xpath(xml, 'count(//testcase[@name="0002_drop_age"]/failure)')).toBe('1\n');
    expect(xpath(xml, 'string(//testcase[@name="0002_drop_age"]/failure/@type)')).toBe('BC102\n');
    // The parser gives back exactly the message: escaping round-trips; the bell becomes U+FFFD.
    const message = xpath(xml, 'string(//testcase[@name="0002_drop_age"]/failure/@message)');
    expect(message.startsWith(`BC102: Drops column users.<age> & "quotes" 'single' \uFFFDbell.; runs before the code deploy`)).toBe(true);
    const body = xpath(xml, 'string(//testcase[@name="0002_drop_age"]/failure)');
    expect(body).toMatch(/BC102 \(error\) at db\/migrations\/0002_drop_age\.up\.sql:4\n {2}Drops column users\.<age> & "quotes"/);
    expect(body).toMatch(
      /Statement: ALTER TABLE users DROP COLUMN age\n {2}Safe alternative:\n {4}1\. Remove every use of users\.age and deploy\.\n {4}2\. Drop the column in a post-deploy migration\./,
    );
    // The warning is not a reason to fail: it is in system-out.
    expect(body).not.toMatch(/DL102/);
    expect(xpath(xml, 'string(//testcase[@name="0002_drop_age"]/system-out)')).toMatch(
      /DL102 \(warning\) at db\/migrations\/0002_drop_age\.up\.sql:4\n {2}Drops column users\.age and its values\.[\s\S]*Copy the values first\.[\s\S]*1 informational finding: MY202/,
    );
  });

  it('passes the others; acknowledged findings show with their reason in system-out', () => {
    const xml = renderJunit(failing);
    for (const id of ['0001_create', '0003_rename']) expect(xpath(xml, `count(//testcase[@name="${id}"]/failure)`)).toBe('0\n');
    expect(xpath(xml, 'string(//testcase[@name="0003_rename"]/system-out)')).toMatch(
      /BC104 \(error, acknowledged\) at db\/migrations\/0003_rename\.up\.sql\n {2}Renames column users\.name\.\n {2}Acknowledged: nothing reads name since v41/,
    );
    expect(xpath(xml, 'string(//testsuite/system-out)')).toMatch(/^migrate check: FAILED \(1 of 3 migrations fails the gate\)\nanalysed 3 migrations/);
  });

  it('names a refused migration without a rule finding "refused", and lists the plan steps for migrate plan', () => {
    const refused = verdict('0002_drop_age', { blocking: true, strategy: 'refused', refusedReason: 'no safe strategy' });
    const plan = buildPlan({ dialect: 'mysql', target: 'app@db:3306/app', applied: 1, verdicts: [refused], sizes: {}, nodes: 2 });
    const xml = renderJunit(report([refused], { command: 'plan', plan }));
    expect(junitErrors(xml)).toEqual([]);
    expect(xpath(xml, 'string(//failure/@type)')).toBe('refused\n');
    expect(xpath(xml, 'string(//failure)')).toMatch(/Refused: no safe strategy/);
    expect(xpath(xml, 'string(//testsuite/@name)')).toBe('migrate plan (mysql)\n');
    expect(xpath(xml, 'string(//testsuite/system-out)')).toMatch(/Target app@db:3306\/app: 1 applied, 1 pending\.\n1\. pre-deploy 0002_drop_age/);
  });

  it('escapes text and attributes for XML 1.0', () => {
    expect(xmlText('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    expect(xmlAttr(`"x"\n'y'\t`)).toBe('&quot;x&quot;&#10;&apos;y&apos;&#9;');
    expect(xmlText('nul\u0000 esc\u001b lone\uD800 ok\u{1F600}')).toBe('nul\uFFFD esc\uFFFD lone\uFFFD ok\u{1F600}');
  });

  it('is a --format of check and plan', () => {
    expect(parseFormat('junit')).toBe('junit');
    expect(render(failing, 'junit')).toBe(renderJunit(failing));
  });
});
