import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/analysis/gate.ts';
import { assessUp, type RuleContext } from '../../src/analysis/rules/index.ts';
import { factsOf } from '../../src/analysis/rules/catalog.ts';
import { loadStatementParser, parseStatement } from '../../src/analysis/sql/parse.ts';
import type { Finding, SchemaSnapshot } from '../../src/analysis/types.ts';
import { buildVerdict, type MigrationFacts } from '../../src/analysis/verdict.ts';
import { deployWindowFindings } from '../../src/analysis/workload/check.ts';
import { parseWorkload } from '../../src/analysis/workload/parse.ts';
import { isKnownAckRule } from '../../src/migrations/ack-rules.ts';
import type { Phase } from '../../src/migrations/types.ts';
import { col, table } from '../helpers/schema.ts';
import { ctx, snap } from '../helpers/rule-context.ts';

/**
 * A rename breaks one of the two releases whichever phase it runs in: pre-deploy the running
 * release loses the old name (BC103/BC104, errors), post-deploy the new release runs against the
 * old name from the deploy until the contract (BC203/BC204 warnings; WL203 errors for the new
 * release's statements that need the rename). Before this, a post-deploy rename passed silently:
 * BC104 was made info and nothing else was said.
 */
beforeAll(() => Promise.all([loadStatementParser('mysql'), loadStatementParser('postgres')]));

const users = table('users', [col('id', 1, 'int(11)', { nullable: false, default: null }), col('email', 2, 'varchar(100)')]);
const renamed = table('users', [users.columns[0]!, { ...users.columns[1]!, name: 'mail' }]);

function verdict(c: RuleContext, phase?: Phase, more: Finding[] = []) {
  const a = assessUp(c);
  const { findings: _f, ...replicaFirst } = a.replicaFirst;
  const facts: MigrationFacts = {
    id: c.migrationId,
    dialect: c.dialect,
    findings: [...a.findings, ...more],
    replicaFirst,
    sql: c.statements.map((s) => s.sql),
    changes: c.changes,
  };
  if (phase) facts.declaredPhase = phase;
  return buildVerdict(facts, []);
}
const sev = (v: { findings: Finding[] }): string[] => v.findings.map((f) => `${f.rule}:${f.severity}`).sort();
const rule = (v: { findings: Finding[] }, code: string): Finding => v.findings.find((f) => f.rule === code)!;

describe('a column rename', () => {
  const c = () => ctx(snap([users]), snap([renamed]), ['ALTER TABLE users RENAME COLUMN email TO mail']);

  it('post-deploy (inferred): BC104 is info for the old release, BC204 warns that the new release runs against the old name', () => {
    const v = verdict(c());
    expect(v.phase).toBe('post-deploy');
    expect(sev(v).filter((r) => r.startsWith('BC'))).toEqual(['BC104:info', 'BC204:warning']);
    const f = rule(v, 'BC204');
    expect(f.message).toMatch(/^Renames column users\.email to mail after the code deploy \(post-deploy\)/);
    expect(f.message).toMatch(/the new release runs against email, and every query of it that names mail fails with "Unknown column 'mail'"/);
    expect(f.message).toMatch(/\(BC104\): no phase is safe for a plain rename/);
    expect(f.statement).toBe('ALTER TABLE users RENAME COLUMN email TO mail');
    // The catalog's safe alternative, with the names: add, dual-write and backfill, switch, drop.
    expect(f.safeAlternative!.split(/\s(?=\d\.\s)/)).toEqual([
      expect.stringMatching(/^1\. Pre-deploy migration: add mail to users/),
      expect.stringMatching(/^2\. Deploy code that writes both email and mail, then backfill mail from email in batches/),
      expect.stringMatching(/^3\. Deploy code that reads and writes only mail\./),
      expect.stringMatching(/^4\. Post-deploy migration: drop email\.$/),
    ]);
    // A warning: the gate does not fail on what it cannot know without the new release's statements.
    expect(evaluateGate([v]).pass).toBe(true);
  });

  it('PostgreSQL words the new release error as its server does', () => {
    const pg = (t: typeof users) => snap([t], 'postgres');
    const v = verdict(ctx(pg(users), pg(renamed), ['ALTER TABLE users RENAME COLUMN email TO mail']));
    expect(rule(v, 'BC204').message).toContain('fails with "column "mail" does not exist"');
  });

  it('pre-deploy (declared): BC104 is the error, and BC204 is left out (the new release starts after it)', () => {
    const v = verdict(c(), 'pre-deploy');
    expect(sev(v).filter((r) => r.startsWith('BC'))).toEqual(['BC104:error']);
    expect(evaluateGate([v]).pass).toBe(false);
  });

  it('with an empty column added back under the old name it is still BC104/BC204: the old release would read NULLs and write past the renamed column', () => {
    const back = table('users', [...renamed.columns, col('email', 3, 'varchar(100)')]);
    const cc = ctx(snap([users]), snap([back]), ['ALTER TABLE users RENAME COLUMN email TO mail', 'ALTER TABLE users ADD COLUMN email VARCHAR(100)']);
    const v = verdict(cc);
    expect(v.phase).toBe('post-deploy');
    expect(sev(v).filter((r) => r.startsWith('BC'))).toEqual(['BC104:info', 'BC204:warning']);
    const f = rule(v, 'BC204');
    expect(f.message).toMatch(
      /\(BC104\): no phase is safe for a plain rename\. The email added back is a new, empty column: the previous release reads NULLs .* never reaches mail\./,
    );
    expect(f.message).not.toMatch(/run it pre-deploy/);
    expect(f.safeAlternative).toMatch(/^1\. Pre-deploy migration: add mail to users.* 2\. Deploy code that writes both email and mail/);
    const pre = verdict(cc, 'pre-deploy');
    expect(sev(pre).filter((r) => r.startsWith('BC'))).toEqual(['BC104:error']);
    expect(rule(pre, 'BC104').message).toMatch(/it finds the column again, but not its data\. The email added back is a new, empty column/);
    expect(evaluateGate([pre]).pass).toBe(false);
  });
});

describe('a table rename', () => {
  const people = { ...users, name: 'people' };

  it('post-deploy (inferred): BC103 is info, BC203 warns and gives the view recipe', () => {
    const v = verdict(ctx(snap([users]), snap([people]), ['RENAME TABLE users TO people']));
    expect(v.phase).toBe('post-deploy');
    expect(sev(v).filter((r) => r.startsWith('BC'))).toEqual(['BC103:info', 'BC203:warning']);
    const f = rule(v, 'BC203');
    expect(f.message).toMatch(/^Renames table users to people after the code deploy \(post-deploy\)/);
    expect(f.message).toMatch(/the new release runs against users, and every query of it that names people fails/);
    expect(f.safeAlternative).toMatch(
      /^1\. In this migration, after the rename, add CREATE VIEW users AS SELECT \* FROM people .*run it pre-deploy\. 2\. Deploy code that uses people\. 3\. Drop the view users in a post-deploy migration\.$/,
    );
    expect(evaluateGate([v]).pass).toBe(true);
  });

  it('BC203 quotes the error each server gives for the missing table (MySQL qualifies it, PostgreSQL says relation)', () => {
    const my = rule(verdict(ctx(snap([users]), snap([people]), ['RENAME TABLE users TO people'])), 'BC203');
    expect(my.message).toContain(`every query of it that names people fails with "Table '<database>.people' doesn't exist"`);
    const pg = (t: typeof users) => snap([t], 'postgres');
    const v = verdict(ctx(pg(users), pg(people), ['ALTER TABLE users RENAME TO people']));
    expect(rule(v, 'BC203').message).toContain('every query of it that names people fails with "relation "people" does not exist"');
  });

  it('BC101 and BC116 quote the same missing-table error as BC203', () => {
    const pg = (t: (typeof users)[], views: SchemaSnapshot['views'] = {}): SchemaSnapshot => ({ ...snap(t, 'postgres'), views });
    const dropped = verdict(ctx(pg([users, people]), pg([people]), ['DROP TABLE users']));
    expect(rule(dropped, 'BC101').message).toContain('every such query fails with "relation "users" does not exist"');
    const v = { active: { name: 'active', definition: 'select * from users' } };
    const viewGone = verdict(ctx(pg([users], v), pg([users]), ['DROP VIEW active']));
    expect(rule(viewGone, 'BC116').message).toContain('fail with "relation "active" does not exist"');
  });

  it('with an empty table added back under the old name it is still BC103/BC203 with the view recipe', () => {
    const back = table('users', [users.columns[0]!]);
    const cc = ctx(snap([users]), snap([people, back]), ['RENAME TABLE users TO people', 'CREATE TABLE users (id INT NOT NULL)']);
    const v = verdict(cc);
    expect(v.phase).toBe('post-deploy');
    expect(sev(v).filter((r) => r.startsWith('BC'))).toEqual(['BC103:info', 'BC203:warning']);
    const f = rule(v, 'BC203');
    expect(f.message).toMatch(
      /\(BC103\): no phase is safe for a plain rename\. The users added back is a new, empty table, not a view: the previous release reads no rows .* never reaches people\./,
    );
    expect(f.message).not.toMatch(/run it pre-deploy/);
    expect(f.safeAlternative).toMatch(/^1\. In this migration, after the rename, add CREATE VIEW users AS SELECT \* FROM people/);
    const pre = verdict(cc, 'pre-deploy');
    expect(sev(pre).filter((r) => r.startsWith('BC'))).toEqual(['BC103:error']);
    expect(rule(pre, 'BC103').message).toMatch(/still queries users, which it finds again, but not its rows\./);
    expect(evaluateGate([pre]).pass).toBe(false);
  });

  it('with a view under the old name it is pre-deploy and nothing is said about the new release', () => {
    const after: SchemaSnapshot = { ...snap([people]), views: { users: { name: 'users', definition: 'select * from people' } } };
    const cc = ctx(snap([users]), after, ['RENAME TABLE users TO people', 'CREATE VIEW users AS SELECT * FROM people']);
    const v = verdict(cc);
    expect(v.phase).toBe('pre-deploy');
    expect(sev(v).filter((r) => r.startsWith('BC'))).toEqual(['BC118:info']);
    // Declared post-deploy, the new release waits for it: BC203 says it need not.
    const late = rule(verdict(cc, 'post-deploy'), 'BC203');
    expect(late.message).toMatch(/A view named users is added back, so the previous release keeps working before the deploy: run it pre-deploy/);
  });
});

describe('WL203: a statement of the new release that needs a post-deploy migration', () => {
  const w = parseWorkload('SELECT id, mail FROM users WHERE id = ?\nSELECT id FROM users\nSELECT nope FROM users\n', '/w/new.txt', 'mysql').queries;
  const found = () =>
    deployWindowFindings({
      queries: w,
      // Refused before the up, prepares after it; prepares in both; refused in both.
      before: new Map([
        [w[0]!.n, "Unknown column 'mail' in 'SELECT'"],
        [w[1]!.n, null],
        [w[2]!.n, "Unknown column 'nope' in 'SELECT'"],
      ]),
      after: new Map([
        [w[0]!.n, null],
        [w[1]!.n, null],
        [w[2]!.n, "Unknown column 'nope' in 'SELECT'"],
      ]),
      changes: [{ kind: 'column_renamed', table: 'users', column: 'mail', from: 'email' }],
      statements: [parseStatement('ALTER TABLE users RENAME COLUMN email TO mail', 'mysql')],
    });

  it('is the statement refused before the up and prepared after it, with the error and the up statement', () => {
    const fs = found();
    expect(fs).toHaveLength(1);
    expect(fs[0]).toMatchObject({
      rule: 'WL203',
      severity: 'error',
      table: 'users',
      statement: 'ALTER TABLE users RENAME COLUMN email TO mail',
      query: { text: 'SELECT id, mail FROM users WHERE id = ?', source: 'new.txt line 1', error: "Unknown column 'mail' in 'SELECT'" },
    });
    expect(fs[0]!.message).toMatch(
      /^The new release runs `SELECT id, mail FROM users WHERE id = \?` \(new\.txt line 1\)\. It prepares against the schema after this migration but not before it: "Unknown column 'mail' in 'SELECT'"\. This migration is post-deploy, so it runs after the code deploy: from the deploy until it has run, every call of the new release fails\.$/,
    );
    expect(fs[0]!.safeAlternative).toMatch(/pre-deploy migration that keeps the running release working too/);
  });

  it('fails the gate in a post-deploy migration and is left out of a pre-deploy one', () => {
    const c = ctx(snap([users]), snap([renamed]), ['ALTER TABLE users RENAME COLUMN email TO mail']);
    const post = verdict(c, undefined, found());
    expect(post.phase).toBe('post-deploy');
    expect(sev(post)).toContain('WL203:error');
    expect(evaluateGate([post]).reasons).toContainEqual(expect.objectContaining({ rule: 'WL203' }));
    const pre = verdict(c, 'pre-deploy', found());
    expect(sev(pre).some((r) => r.startsWith('WL203') || r.startsWith('BC204'))).toBe(false);
  });

  it('acknowledged by its code, it no longer fails the gate', () => {
    const c = ctx(snap([users]), snap([renamed]), ['ALTER TABLE users RENAME COLUMN email TO mail']);
    const a = assessUp(c);
    const { findings: _f, ...replicaFirst } = a.replicaFirst;
    const v = buildVerdict({ id: '0002_x', dialect: 'mysql', findings: [...a.findings, ...found()], replicaFirst, sql: [], changes: c.changes }, [
      { rule: 'WL203', reason: 'the new release reads mail behind a flag switched on after the contract' },
    ]);
    expect(rule(v, 'WL203').acknowledged).toBeDefined();
    expect(evaluateGate([v]).pass).toBe(true);
  });
});

describe('the catalog', () => {
  it('holds BC203, BC204 and WL203 as new-release facts that no phase forces and acknowledgements accept', () => {
    for (const code of ['BC203', 'BC204', 'WL203']) {
      expect(factsOf(code), code).toMatchObject({ newCodeBeforeUp: true });
      expect(factsOf(code)!.forcesPhase, code).toBeUndefined();
      expect(factsOf(code)!.oldCode, code).toBeUndefined();
      expect(isKnownAckRule(code), code).toBe(true);
    }
    expect([factsOf('BC203')!.severity, factsOf('BC204')!.severity, factsOf('WL203')!.severity]).toEqual(['warning', 'warning', 'error']);
  });
});
