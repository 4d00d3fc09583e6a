import { beforeAll, describe, expect, it } from 'vitest';
import { assessUp, type RuleContext } from '../../src/analysis/rules/index.ts';
import { loadStatementParser } from '../../src/analysis/sql/parse.ts';
import { buildVerdict } from '../../src/analysis/verdict.ts';
import { col, table } from '../helpers/schema.ts';
import { ctx, snap } from '../helpers/rule-context.ts';

/**
 * Cases the tests did not cover until the mutation check (docs/mutation.md) showed that a wrong
 * operator in the rule went unnoticed: each names the mutant it kills.
 */
beforeAll(() => Promise.all([loadStatementParser('postgres'), loadStatementParser('mysql')]));

function verdict(c: RuleContext) {
  const a = assessUp(c);
  const { findings: _f, ...replicaFirst } = a.replicaFirst;
  return buildVerdict(
    { id: c.migrationId, dialect: c.dialect, findings: a.findings, replicaFirst, sql: c.statements.map((s) => s.sql), changes: c.changes },
    [],
  );
}

const users = table('users', [
  col('id', 1, 'int(11)', { nullable: false, default: null, autoFilled: true }),
  col('name', 2, 'varchar(50)'),
  col('email', 3, 'varchar(100)'),
]);
const withColumn = (name: string, type: string) =>
  table(
    'users',
    users.columns.map((c) => (c.name === name ? col(name, c.position, type) : c)),
  );
const rules = (v: { findings: { rule: string }[] }): string[] => v.findings.map((f) => f.rule).sort();
const stmt = (sql: string, verb: string, idents: string[]) => ({ sql, verb, idents: new Set(idents) });
const workload = (...statements: ReturnType<typeof stmt>[]): Partial<RuleContext> => ({ oldWorkload: { name: 'old.txt (n statements)', statements } });

describe('backward compatibility: cases the mutation check found untested', () => {
  // bc-columns.ts `a.family === 'decimal' && (...)` -> `||`: text into BIGINT was taken for a rounding decimal.
  it('text changed to an integer is an error the old code hits, not a rounding the server does for it', () => {
    const v = verdict(ctx(snap([users]), snap([withColumn('name', 'bigint(20)')]), ['ALTER TABLE users MODIFY name BIGINT']));
    const f = v.findings.find((x) => x.rule === 'BC106');
    expect(f).toMatchObject({ severity: 'error', message: expect.stringContaining('writes that do not convert fail') });
    expect(f!.message).not.toMatch(/rounds/);
    expect(v.backwardCompatible).toBe(false);
  });

  // bc-constraints.ts `q.verb === 'merge' || q.verb === 'with'` -> `&&`: a MERGE no longer counted as a writer.
  it('a new unique key stays an error when the old code MERGEs into the table without naming the column', () => {
    const uniqueEmail = table('users', users.columns, { indexes: [{ name: 'uq', unique: true, columns: ['email'] }] });
    const pg = (w: Partial<RuleContext>) =>
      verdict(ctx(snap([users], 'postgres'), snap([uniqueEmail], 'postgres'), ['CREATE UNIQUE INDEX uq ON users (email)'], w));
    const merge = stmt('MERGE INTO users u USING incoming s ON u.id = s.id WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.name, s.mail)', 'merge', [
      'users',
      'incoming',
      'id',
    ]);
    const reader = stmt('SELECT id FROM users WHERE email = $1', 'select', ['users', 'id', 'email']);
    expect(pg(workload(reader)).findings.find((x) => x.rule === 'BC109')!.severity).toBe('warning');
    expect(pg(workload(reader, merge)).findings.find((x) => x.rule === 'BC109')!.severity).toBe('error');
    expect(pg(workload(reader, merge)).backwardCompatible).toBe(false);
  });

  // bc-enums.ts `removed.length > 1` -> `>=`: one removed value was worded as several.
  it('a removed ENUM value is named in the singular, several in the plural', () => {
    const status = (values: string[]) =>
      table('users', [...users.columns, col('status', 4, `enum(${values.map((v) => `'${v}'`).join(',')})`, { dataType: 'enum', enumValues: values })]);
    const bc112 = (from: string[], to: string[]) =>
      verdict(ctx(snap([status(from)]), snap([status(to)]), [`ALTER TABLE users MODIFY status enum(${to.map((v) => `'${v}'`).join(',')})`])).findings.find(
        (f) => f.rule === 'BC112',
      )!.message;
    expect(bc112(['new', 'void'], ['new'])).toMatch(/^Removes value 'void' from users\.status\. The running release may still write it:/);
    expect(bc112(['new', 'void', 'old'], ['new'])).toMatch(/^Removes values 'void', 'old' from users\.status\. The running release may still write them:/);
  });

  // catalog.ts MY102 `blocking: true` -> `false`: a change the analysis could not probe ran in place, unchecked.
  it('a table changed by a CALLed procedure, so its ALTER was never probed, is assumed to block writes', () => {
    const after = table('users', [...users.columns, col('age', 4, 'int(11)')]);
    const v = verdict(ctx(snap([users]), snap([after]), ['CALL add_age_column()']));
    expect(v.findings.find((f) => f.rule === 'MY102')).toMatchObject({ table: 'users', statement: 'CALL add_age_column()' });
    expect(v.blocking).toBe(true);
    // No replica-first assessment in this context (no replication settings known): refused, naming the rule.
    expect(v.strategy).toBe('refused');
    expect(v.refusedReason).toContain('MY102');
  });

  // replica-first.ts `created || !before.tables[t]` -> `created && !before.tables[t]`: rows written to a
  // table that is neither in the schema nor created by it (a TEMPORARY table) counted as a data change.
  it('replica-first: filling a TEMPORARY table is not a data change that makes the nodes differ', () => {
    const after = table('users', [...users.columns, col('age', 4, 'int(11)')]);
    const sql = ['ALTER TABLE users ADD COLUMN age INT', 'CREATE TEMPORARY TABLE recent (id INT)', 'INSERT INTO recent SELECT id FROM users'];
    const v = verdict(ctx(snap([users]), snap([after]), sql));
    expect(v.findings.filter((f) => f.rule === 'RF116')).toEqual([]);
    expect(v.replicaFirstSafe).toBe(true);
    // The same INSERT into a real table is one.
    const real = verdict(ctx(snap([users, table('recent', [col('id', 1)])]), snap([after, table('recent', [col('id', 1)])]), [sql[0]!, sql[2]!]));
    expect(real.findings.find((f) => f.rule === 'RF116')).toMatchObject({ table: 'recent' });
  });

  // replica-first.ts `c.from.charset !== c.to.charset` -> `===`: the message dropped the character set the rows come from.
  it('replica-first: a character-set change names both sets, each on its side', () => {
    const email = (charset: string) => table('users', [...users.columns.slice(0, 2), col('email', 3, 'varchar(100)', { charset })]);
    const copy = { probes: [{ statement: 'x', table: 'users', algorithm: 'COPY' as const, declared: false }] };
    const v = verdict(ctx(snap([email('utf8mb3')]), snap([email('utf8mb4')]), ['ALTER TABLE users MODIFY email VARCHAR(100) CHARACTER SET utf8mb4'], copy));
    expect(v.findings.find((f) => f.rule === 'RF104')!.message).toContain(
      'users.email is varchar(100) utf8mb3 on the old primary -> varchar(100) utf8mb4 on the altered replica:',
    );
    expect(v.findings.find((f) => f.rule === 'RF206')!.message).toContain(
      'users.email is varchar(100) utf8mb4 on the new primary -> varchar(100) utf8mb3 on the old side (hold period):',
    );
  });

  // replica-first.ts `a.family === 'temporal'` -> `!==`: more fractional seconds was offered ALL_NON_LOSSY as a widening.
  it('replica-first: DATETIME gaining fractional seconds is refused (error 1030 under every setting), not offered a setting', () => {
    const at = (type: string) => table('users', [...users.columns, col('seen', 4, type)]);
    const copy = { probes: [{ statement: 'x', table: 'users', algorithm: 'COPY' as const, declared: false }] };
    const v = verdict(ctx(snap([at('datetime')]), snap([at('datetime(6)')]), ['ALTER TABLE users MODIFY seen DATETIME(6)'], copy));
    expect(v.findings.find((f) => f.rule === 'RF106')!.message).toContain('error 1030');
    expect(rules(v)).not.toContain('RF104');
    expect(v.replicaFirstSafe).toBe(false);
    expect(v.replicaFirstSettings?.forward).toBeUndefined();
    expect(v.strategy).toBe('refused');
  });

  // replica-first.ts enumBytes `b <= 4` -> `b < 4`: a SET of 25-32 members counted 8 bytes, so growing it to 33 changed no size.
  it('replica-first: a SET growing from 32 to 33 members changes storage from 4 to 8 bytes (RF104)', () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `m${i + 1}`);
    const tags = (n: number) =>
      table('users', [...users.columns, col('tags', 4, `set(${members(n).map((m) => `'${m}'`)})`, { dataType: 'set', enumValues: members(n) })]);
    const copy = { probes: [{ statement: 'x', table: 'users', algorithm: 'COPY' as const, declared: false }] };
    const v = verdict(ctx(snap([tags(32)]), snap([tags(33)]), ['ALTER TABLE users MODIFY tags SET(...)'], copy));
    expect(v.findings.find((f) => f.rule === 'RF104')!.message).toContain(
      'has 32 values on the old primary (4 bytes per row) and 33 on the altered replica (8 bytes)',
    );
    expect(v.replicaFirstSettings?.forward).toEqual({ slave_type_conversions: 'ALL_NON_LOSSY' });
  });

  // replica-first.ts sameBytes `b === 'utf8' || b === 'utf8mb4'` -> `&&`: ASCII into utf8/utf8mb4 was refused as a byte change.
  it('replica-first: ASCII text moved to utf8mb4 or utf8mb3 keeps its bytes, so ALL_NON_LOSSY makes it safe (no RF106)', () => {
    const email = (charset: string) => table('users', [...users.columns.slice(0, 2), col('email', 3, 'varchar(100)', { charset })]);
    const copy = { probes: [{ statement: 'x', table: 'users', algorithm: 'COPY' as const, declared: false }] };
    for (const to of ['utf8mb4', 'utf8mb3']) {
      const v = verdict(ctx(snap([email('ascii')]), snap([email(to)]), [`ALTER TABLE users MODIFY email VARCHAR(100) CHARACTER SET ${to}`], copy));
      expect(rules(v), to).toContain('RF104');
      expect(rules(v), to).not.toContain('RF106');
      expect(v.strategy, to).toBe('replica-first');
      expect(v.replicaFirstSettings?.forward, to).toEqual({ slave_type_conversions: 'ALL_NON_LOSSY' });
    }
  });
});
