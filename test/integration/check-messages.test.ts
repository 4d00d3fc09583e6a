import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import { evaluateGate } from '../../src/analysis/gate.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import type { Finding } from '../../src/analysis/types.ts';
import type { Dialect } from '../../src/config/types.ts';
import { renderMarkdown, renderText, type Report } from '../../src/report/index.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * Issue 3: "A rename, a drop and a NOT NULL-without-default each produce a message a reviewer
 * understands without reading the docs, with the safe multi-step alternative." Run on the real
 * servers, then read as a reviewer would: the message says what breaks and why, and the rendered
 * report lists the safe steps in order.
 */
const setup: Record<Dialect, string> = {
  mysql: 'CREATE TABLE users (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL, age INT)',
  postgres: 'CREATE TABLE users (id serial PRIMARY KEY, name varchar(50) NOT NULL, age int)',
};

const cases: { name: string; rule: string; up: Record<Dialect, string>; down: string; message: RegExp[]; steps: RegExp[] }[] = [
  {
    name: 'rename column',
    rule: 'BC104',
    up: { mysql: 'ALTER TABLE users RENAME COLUMN name TO full_name', postgres: 'ALTER TABLE users RENAME COLUMN name TO full_name' },
    down: 'ALTER TABLE users RENAME COLUMN full_name TO name',
    message: [
      /Renames column users\.name to full_name while the previous release is still running/,
      /still reads and writes name/,
      /(Unknown column 'name'|column "name" does not exist)/,
    ],
    steps: [
      /add full_name to users/,
      /writes both name and full_name.*backfill full_name from name in batches/,
      /reads and writes only full_name/,
      /Post-deploy migration: drop name/,
    ],
  },
  {
    name: 'drop column',
    rule: 'BC102',
    up: { mysql: 'ALTER TABLE users DROP COLUMN age', postgres: 'ALTER TABLE users DROP COLUMN age' },
    down: 'ALTER TABLE users ADD COLUMN age INT',
    message: [
      /Drops column users\.age while the previous release is still running/,
      /selects, inserts or updates age/,
      /(Unknown column 'age'|column "age" does not exist)/,
    ],
    steps: [/Remove every use of users\.age from the code.*deploy that release/, /Drop the column in a post-deploy migration/],
  },
  {
    name: 'NOT NULL without default',
    rule: 'BC107',
    up: { mysql: 'ALTER TABLE users ADD COLUMN tenant INT NOT NULL', postgres: 'ALTER TABLE users ADD COLUMN tenant int NOT NULL' },
    down: 'ALTER TABLE users DROP COLUMN tenant',
    message: [
      /Adds column users\.tenant as NOT NULL without a default while the previous release is still running/,
      /every INSERT of the running release omits tenant and fails/,
    ],
    steps: [
      /add tenant as NULL, or NOT NULL with a DEFAULT/,
      /Deploy code that always writes tenant/,
      /Backfill existing rows in batches/,
      /Post-deploy migration: make tenant NOT NULL/,
    ],
  },
];

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`reviewer-readable messages (${dialect})`, () => {
    it('rename, drop and NOT NULL without default: what breaks, and the safe steps in order', async () => {
      const ms = [sqlMigration(dialect, '0001_users', setup[dialect], 'DROP TABLE users')];
      cases.forEach((c, i) => ms.push(sqlMigration(dialect, `000${i + 2}_${c.rule}`, c.up[dialect], c.down, { phase: 'pre-deploy' })));
      // One migration per case, each on the table as the setup left it: run them as separate chains.
      const verdicts = await Promise.all(cases.map((_, i) => analyse([ms[0]!, ms[i + 1]!], { dialect, shadow: shadowServer(dialect) })));
      cases.forEach((c, i) => {
        const v = verdicts[i]![1]!;
        const f = v.findings.find((x) => x.rule === c.rule) as Finding;
        expect(f, `${c.name}: ${v.findings.map((x) => x.rule).join(' ')}`).toBeDefined();
        expect(f.severity).toBe('error');
        for (const re of c.message) expect(f.message, c.name).toMatch(re);
        // The safe alternative is numbered steps, in this order.
        const steps = f.safeAlternative!.split(/\s(?=\d\.\s)/);
        expect(steps.length, c.name).toBe(c.steps.length);
        c.steps.forEach((re, k) => expect(steps[k], `${c.name} step ${k + 1}`).toMatch(new RegExp(`^${k + 1}\\. .*${re.source}`)));

        // ... and that is what a reviewer sees in the PR comment and at the terminal.
        const report: Report = { command: 'check', dialect, verdicts: [v], gate: evaluateGate([v]), files: new Map(), baseDir: '/' };
        const md = renderMarkdown(report);
        const text = renderText(report, { colour: false });
        expect(md).toContain(f.message);
        expect(md).toMatch(/<summary>Safe alternative<\/summary>/);
        c.steps.forEach((re, k) => {
          expect(md, `${c.name} markdown step ${k + 1}`).toMatch(new RegExp(`^  ${k + 1}\\. .*${re.source}`, 'm'));
          expect(text.replace(/\n {8,}(?!\d\.)/g, ' '), `${c.name} text step ${k + 1}`).toMatch(new RegExp(`^ {8}${k + 1}\\. .*${re.source}`, 'm'));
        });
      });
    });
  });
}

afterAll(async () => {
  for (const dialect of ['mysql', 'postgres'] as const) expect(await listShadowDatabases(dialect, shadowServer(dialect), [process.pid])).toEqual([]);
});
