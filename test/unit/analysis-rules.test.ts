import { beforeAll, describe, expect, it } from 'vitest';
import { diffSnapshots } from '../../src/analysis/diff.ts';
import { assessUp, CATALOG, catalogMarkdown, reversibilityRules, type RuleContext } from '../../src/analysis/rules/index.ts';
import { loadStatementParser } from '../../src/analysis/sql/parse.ts';
import type { ColumnSnapshot, SchemaSnapshot, TableSnapshot } from '../../src/analysis/types.ts';
import { col, table } from '../helpers/schema.ts';
import { ctx, snap } from '../helpers/rule-context.ts';
import { buildVerdict, type MigrationFacts } from '../../src/analysis/verdict.ts';
import { evaluateGate } from '../../src/analysis/gate.ts';
import { checkWidens, updatedColumns } from '../../src/analysis/rules/bc-constraints.ts';

// Statements are described by each engine's parser (PostgreSQL's own, node-sql-parser for MySQL), loaded once (as the analysis does).
beforeAll(() => Promise.all([loadStatementParser('postgres'), loadStatementParser('mysql')]));

const users = table('users', [
  col('id', 1, 'int(11)', { nullable: false, default: null, autoFilled: true }),
  col('name', 2, 'varchar(50)'),
  col('email', 3, 'varchar(100)'),
]);

function verdict(c: RuleContext, extra: Partial<MigrationFacts> = {}) {
  const a = assessUp(c);
  const { findings: _f, ...replicaFirst } = a.replicaFirst;
  return buildVerdict(
    {
      id: c.migrationId,
      dialect: c.dialect,
      findings: a.findings,
      replicaFirst,
      sql: c.statements.map((s) => s.sql),
      changes: c.changes,
      ...(a.algorithm ? { algorithm: a.algorithm } : {}),
      ...extra,
    },
    [],
  );
}

const rules = (v: { findings: { rule: string }[] }): string[] => v.findings.map((f) => f.rule).sort();

describe('backward-compatibility rules', () => {
  it('a dropped column breaks the running release, names the column and gives the recipe', () => {
    const c = ctx(snap([users]), snap([table('users', users.columns.slice(0, 2))]), ['ALTER TABLE users DROP COLUMN email']);
    const v = verdict(c, { declaredPhase: 'pre-deploy' });
    const f = v.findings.find((x) => x.rule === 'BC102')!;
    expect(f.severity).toBe('error');
    expect(f.message).toContain('users.email');
    expect(f.safeAlternative).toMatch(/post-deploy/);
    expect(f.statement).toBe('ALTER TABLE users DROP COLUMN email');
    expect(v.backwardCompatible).toBe(false);
    expect(v.dataLoss).toBe(true);
  });

  it('infers post-deploy for a drop and then treats BC findings as info', () => {
    const v = verdict(ctx(snap([users]), snap([table('users', users.columns.slice(0, 2))]), ['ALTER TABLE users DROP COLUMN email']));
    expect(v.phase).toBe('post-deploy');
    expect(v.phaseSource).toBe('inferred');
    expect(v.findings.find((x) => x.rule === 'BC102')!.severity).toBe('info');
    expect(v.backwardCompatible).toBe(false);
  });

  it('a rename with the old name added back as a view is compatible', () => {
    const after: SchemaSnapshot = { ...snap([{ ...users, name: 'people' }]), views: { users: { name: 'users', definition: 'select * from people' } } };
    const v = verdict(ctx(snap([users]), after, ['RENAME TABLE users TO people', 'CREATE VIEW users AS SELECT * FROM people']));
    expect(rules(v)).toContain('BC118');
    expect(rules(v)).not.toContain('BC103');
    expect(v.backwardCompatible).toBe(true);
  });

  it('NOT NULL without default: message says why old INSERTs fail and the steps to do it safely', () => {
    const after = table('users', [...users.columns, col('tenant', 4, 'int(11)', { nullable: false, default: null })]);
    const v = verdict(ctx(snap([users]), snap([after]), ['ALTER TABLE users ADD COLUMN tenant INT NOT NULL']));
    const f = v.findings.find((x) => x.rule === 'BC107')!;
    expect(f.message).toMatch(/INSERT of the running release omits tenant/);
    expect(f.safeAlternative).toMatch(/DEFAULT.*backfill/is);
    expect(v.phase).toBe('pre-deploy');
    expect(v.backwardCompatible).toBe(false);
  });

  it('changes to tables created in the same migration are never breaking', () => {
    const created = table('orders', [
      col('id', 1, 'int(11)', { nullable: false, default: null }),
      col('total', 2, 'int(11)', { nullable: false, default: null }),
    ]);
    const v = verdict(ctx(snap([users]), snap([users, created]), ['CREATE TABLE orders (id int primary key, total int not null)']));
    expect(v.findings.filter((f) => f.rule.startsWith('BC'))).toEqual([]);
    expect(v.replicaFirstSafe).toBeNull();
  });

  it('acknowledgements are kept in the report and make the migration compatible', () => {
    const c = ctx(snap([users]), snap([table('users', users.columns.slice(0, 2))]), ['ALTER TABLE users DROP COLUMN email']);
    const a = assessUp(c);
    const { findings: _f, ...replicaFirst } = a.replicaFirst;
    const v = buildVerdict(
      { id: c.migrationId, dialect: 'mysql', findings: a.findings, replicaFirst, sql: [], changes: c.changes, declaredPhase: 'pre-deploy' },
      [{ rule: 'BC102', reason: 'unused since v41' }],
    );
    expect(v.findings.find((f) => f.rule === 'BC102')!.acknowledged).toEqual({ reason: 'unused since v41' });
    expect(v.backwardCompatible).toBe(true);
    expect(evaluateGate([v]).reasons.filter((r) => r.rule === 'BC102')).toEqual([]);
  });

  it('a wildcard acknowledgement covers warnings only: the dropped column and its data loss must be named', () => {
    const c = ctx(snap([users]), snap([table('users', users.columns.slice(0, 2))]), ['ALTER TABLE users DROP COLUMN email']);
    const a = assessUp(c);
    const { findings: _f, ...replicaFirst } = a.replicaFirst;
    const facts = {
      id: c.migrationId,
      dialect: 'mysql' as const,
      findings: [...a.findings, { rule: 'RV201', severity: 'warning' as const, message: 'down re-creates email empty' }],
      replicaFirst,
      sql: [],
      changes: c.changes,
      declaredPhase: 'pre-deploy' as const,
    };
    for (const rule of ['*', 'BC*', 'BC1*', 'DL*']) {
      const v = buildVerdict(facts, [], [{ rule, reason: 'reviewed', migration: c.migrationId }]);
      const errors = v.findings.filter((f) => f.severity === 'error');
      expect(errors.map((f) => f.rule).sort(), rule).toEqual(expect.arrayContaining(['BC102']));
      expect(
        errors.every((f) => !f.acknowledged),
        rule,
      ).toBe(true);
      expect(v.backwardCompatible, rule).toBe(false);
      expect(evaluateGate([v]).pass, rule).toBe(false);
    }
    // The same wildcard does cover a warning it matches.
    const w = buildVerdict(facts, [], [{ rule: 'RV2*', reason: 'empty is fine', migration: c.migrationId }]);
    expect(w.findings.find((f) => f.rule === 'RV201')?.acknowledged).toEqual({ reason: 'empty is fine' });
  });
});

describe('replica-first rules', () => {
  it('a widening under a COPY ALTER goes replica-first with ALL_NON_LOSSY and flags the reverse direction', () => {
    const after = table('users', [users.columns[0]!, users.columns[1]!, col('email', 3, 'varchar(200)')]);
    const c = ctx(snap([users]), snap([after]), ['ALTER TABLE users MODIFY email VARCHAR(200)'], {
      probes: [{ statement: 'ALTER TABLE users MODIFY email VARCHAR(200)', table: 'users', algorithm: 'COPY', declared: false }],
    });
    const v = verdict(c);
    expect(v.blocking).toBe(true);
    expect(v.replicaFirstSafe).toBe(false);
    expect(v.strategy).toBe('replica-first');
    expect(v.replicaSettings).toEqual({ slave_type_conversions: 'ALL_NON_LOSSY' });
    expect(rules(v)).toEqual(expect.arrayContaining(['MY101', 'RF104', 'RF205']));
    expect(v.findings.find((f) => f.rule === 'RF205')!.direction).toBe('new-to-old');
  });

  it('a middle column under a COPY ALTER is refused: silent corruption', () => {
    const after = table('users', [users.columns[0]!, col('age', 2), { ...users.columns[1]!, position: 3 }, { ...users.columns[2]!, position: 4 }]);
    const v = verdict(
      ctx(snap([users]), snap([after]), ['ALTER TABLE users ADD COLUMN age INT AFTER id'], {
        probes: [{ statement: 'x', table: 'users', algorithm: 'COPY', declared: false }],
      }),
    );
    expect(v.strategy).toBe('refused');
    expect(v.refusedReason).toMatch(/RF101/);
    expect(v.findings.find((f) => f.rule === 'RF101')!.severity).toBe('error');
  });

  it('a NOT NULL on the replica side is flagged as silent', () => {
    const after = table('users', [users.columns[0]!, users.columns[1]!, col('email', 3, 'varchar(100)', { nullable: false, default: null })]);
    const v = verdict(ctx(snap([users]), snap([after]), ['ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL']));
    expect(v.findings.find((f) => f.rule === 'RF108')!.message).toMatch(/silently/);
    expect(v.replicaFirstSafe).toBe(false);
  });

  // The cases real replication decides are in test/integration/replica-first-truth.test.ts; these
  // are the neighbours it does not run, which follow from the same byte-level facts.
  const copy = { probes: [{ statement: 'x', table: 'users', algorithm: 'COPY' as const, declared: false }] };
  const withEmail = (email: ColumnSnapshot): TableSnapshot => table('users', [users.columns[0]!, users.columns[1]!, email]);

  it('utf8mb3 -> utf8mb4 keeps the bytes: ALL_NON_LOSSY makes it safe; utf8mb4 -> utf8mb3 back has no setting', () => {
    const from = withEmail(col('email', 3, 'varchar(100)', { charset: 'utf8mb3' }));
    const to = withEmail(col('email', 3, 'varchar(100)', { charset: 'utf8mb4' }));
    const v = verdict(ctx(snap([from]), snap([to]), ['ALTER TABLE users MODIFY email VARCHAR(100) CHARACTER SET utf8mb4'], copy));
    expect(rules(v)).toEqual(expect.arrayContaining(['RF104', 'RF206']));
    expect(v.strategy).toBe('replica-first');
    expect(v.replicaFirstReverseSafe).toBe(false);
    expect(v.replicaFirstSettings).toEqual({ forward: { slave_type_conversions: 'ALL_NON_LOSSY' } });
  });

  it('a SET crossing 8 members changes storage size: RF104 forward; back, RF205 and the unknown member (RF207)', () => {
    const members = (n: number): string[] => Array.from({ length: n }, (_, i) => `m${i + 1}`);
    const setCol = (n: number): ColumnSnapshot =>
      col(
        'email',
        3,
        `set(${members(n)
          .map((m) => `'${m}'`)
          .join(',')})`,
        { dataType: 'set', enumValues: members(n) },
      );
    const v = verdict(ctx(snap([withEmail(setCol(8))]), snap([withEmail(setCol(9))]), ['ALTER TABLE users MODIFY email SET(...)'], copy));
    expect(rules(v)).toEqual(expect.arrayContaining(['RF104', 'RF205', 'RF207']));
    expect(v.replicaSettings).toEqual({ slave_type_conversions: 'ALL_NON_LOSSY' });
    // ALL_LOSSY back would store the 9th member as '': no reverse setting is offered.
    expect(v.replicaFirstSettings).toEqual({ forward: { slave_type_conversions: 'ALL_NON_LOSSY' } });
    expect(v.replicaFirstReverseSafe).toBe(false);
  });

  it('BIGINT -> BIGINT UNSIGNED is a silent reinterpretation, never a setting', () => {
    const v = verdict(
      ctx(
        snap([withEmail(col('email', 3, 'bigint(20)'))]),
        snap([withEmail(col('email', 3, 'bigint(20) unsigned'))]),
        ['ALTER TABLE users MODIFY email BIGINT UNSIGNED'],
        copy,
      ),
    );
    expect(rules(v)).toEqual(expect.arrayContaining(['RF114', 'RF214']));
    expect(rules(v)).not.toContain('RF104');
    expect(rules(v)).not.toContain('RF105');
    expect(v.strategy).toBe('refused');
    expect(v.replicaFirstSettings).toBeUndefined();
  });

  it('is null on PostgreSQL', () => {
    const pgUsers = table('users', [col('id', 1, 'integer', { nullable: false, default: null })]);
    const after = table('users', [...pgUsers.columns, col('x', 2, 'integer')]);
    expect(verdict(ctx(snap([pgUsers], 'postgres'), snap([after], 'postgres'), ['ALTER TABLE users ADD COLUMN x int'])).replicaFirstSafe).toBeNull();
  });
});

describe('PostgreSQL blocking rules', () => {
  const pgUsers = table('users', [col('id', 1, 'integer', { nullable: false, default: null }), col('email', 2, 'character varying(100)')]);
  it('CREATE INDEX without CONCURRENTLY blocks and the recipe is the concurrent form', () => {
    const after = table('users', pgUsers.columns, { indexes: [{ name: 'i', unique: false, columns: ['email'] }] });
    const v = verdict(ctx(snap([pgUsers], 'postgres'), snap([after], 'postgres'), ['CREATE INDEX i ON users (email)']));
    expect(v.blocking).toBe(true);
    expect(v.strategy).toBe('refused');
    expect(v.findings.find((f) => f.rule === 'PG101')!.safeAlternative).toMatch(/CREATE INDEX CONCURRENTLY i ON users/);
  });
  it('NOT VALID foreign keys do not block', () => {
    const after = table('users', pgUsers.columns, {
      foreignKeys: [{ name: 'fk', columns: ['id'], refTable: 'x', refColumns: ['id'], onDelete: 'NO ACTION', onUpdate: 'NO ACTION', validated: false }],
    });
    const v = verdict(
      ctx(snap([pgUsers], 'postgres'), snap([after], 'postgres'), [
        "SET lock_timeout = '1s'",
        'ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES x (id) NOT VALID',
      ]),
    );
    expect(v.blocking).toBe(false);
    expect(rules(v)).toEqual(['BC111']);
  });
  it('PG202 counts a lock_timeout set behind a comment or with SET LOCAL, not one put back to its default', () => {
    const after = table('users', pgUsers.columns, { indexes: [{ name: 'i', unique: false, columns: ['email'] }] });
    const pg202 = (first: string) =>
      rules(
        verdict(
          ctx(snap([pgUsers], 'postgres'), snap([after], 'postgres'), [
            first,
            'DROP INDEX IF EXISTS old_i',
            'ALTER TABLE users ALTER COLUMN email DROP NOT NULL',
          ]),
        ),
      ).includes('PG202');
    expect(pg202("-- bounded\nSET LOCAL lock_timeout = '2s'")).toBe(false);
    expect(pg202('SET lock_timeout TO DEFAULT')).toBe(true);
  });
});

describe('reversibility rules', () => {
  it('reports a missing down, a failing down and a down that does not restore', () => {
    expect(reversibilityRules('m', { status: 'missing', remaining: [], downChanges: [], upChanges: [], downSql: [] }).map((f) => f.rule)).toEqual(['RV101']);
    expect(reversibilityRules('m', { status: 'failed', error: 'boom', remaining: [], downChanges: [], upChanges: [], downSql: [] })[0]!.message).toContain(
      'boom',
    );
    const remaining = diffSnapshots(snap([users]), snap([table('users', users.columns.slice(0, 2))]));
    expect(reversibilityRules('m', { status: 'ran', remaining, downChanges: [], upChanges: [], downSql: [] })[0]!.message).toContain(
      'column users.email dropped',
    );
  });
});

describe('rule catalog', () => {
  it('documents every code with a title, explanation and recipe, and codes follow FAMILY+3 digits', () => {
    for (const [code, doc] of CATALOG) {
      expect(code).toMatch(/^(BC|DL|RV|MY|PG|RF|WL|SH)\d{3}$/);
      expect(doc.title && doc.explanation && doc.recipe).toBeTruthy();
    }
    for (let n = 1; n <= 12; n++) expect(CATALOG.has(`RF${200 + n}`), `RF${200 + n} mirrors RF${100 + n}`).toBe(CATALOG.has(`RF${100 + n}`));
    expect(catalogMarkdown()).toContain('### BC102: Column dropped');
  });
});

describe('data-dependent constraints and the old workload (issue 16)', () => {
  const stmt = (sql: string, verb: string, idents: string[], insert?: { table: string; columns: string[] | null }) => ({
    sql,
    verb,
    idents: new Set(idents),
    ...(insert ? { insert } : {}),
  });
  const workload = (...statements: ReturnType<typeof stmt>[]): Partial<RuleContext> => ({ oldWorkload: { name: 'old.txt (n statements)', statements } });
  const uniqueEmail = table('users', users.columns, { indexes: [{ name: 'uq', unique: true, columns: ['email'] }] });
  const bc109 = (extra: Partial<RuleContext>) => verdict(ctx(snap([users]), snap([uniqueEmail]), ['CREATE UNIQUE INDEX uq ON users (email)'], extra));

  it('an UPDATE counts as writing only the columns of its SET list, not those of its WHERE', () => {
    expect([...updatedColumns('UPDATE users u SET name = ?, u.`age`=COALESCE(?, 1) WHERE email = ?')!].sort()).toEqual(['age', 'name']);
    expect(updatedColumns("UPDATE t SET a = 'x, b = 1' WHERE c = 2")).toEqual(new Set(['a']));
    expect(updatedColumns('UPDATE t')).toBeUndefined();
  });

  it('a new unique key is an error, a warning when no old statement writes the column, an error again when one can', () => {
    expect(bc109({}).findings.find((f) => f.rule === 'BC109')!.severity).toBe('error');
    expect(bc109({}).backwardCompatible).toBe(false);
    const quiet = bc109(
      workload(
        stmt('INSERT INTO users (id, name) VALUES (?, ?)', 'insert', ['users', 'id', 'name'], { table: 'users', columns: ['id', 'name'] }),
        stmt('UPDATE users SET name = ? WHERE email = ?', 'update', ['users', 'name', 'email']),
        stmt('DELETE FROM users WHERE email = ?', 'delete', ['users', 'email']),
      ),
    );
    expect(quiet.findings.find((f) => f.rule === 'BC109')).toMatchObject({ severity: 'warning', message: expect.stringMatching(/old\.txt \(n statements\)/) });
    expect(quiet.backwardCompatible).toBe(true);
    for (const writer of [
      stmt('INSERT INTO users VALUES (?, ?, ?)', 'insert', ['users'], { table: 'users', columns: null }),
      stmt('UPDATE users SET email = ? WHERE id = ?', 'update', ['users', 'email', 'id']),
      stmt('REPLACE INTO users SET id = ?', 'replace', ['users', 'id']),
    ])
      expect(bc109(workload(writer)).backwardCompatible, writer.sql).toBe(false);
  });

  it('a foreign key is broken by deleting a referenced parent, not by updating its other columns', () => {
    const orders = table('orders', [col('id', 1, 'int(11)', { nullable: false, default: null }), col('user_id', 2)]);
    const withFk = table('orders', orders.columns, {
      foreignKeys: [{ name: 'fk', columns: ['user_id'], refTable: 'users', refColumns: ['id'], onDelete: 'RESTRICT', onUpdate: 'RESTRICT' }],
    });
    const v = (extra: Partial<RuleContext>) =>
      verdict(ctx(snap([users, orders]), snap([users, withFk]), ['ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)'], extra));
    expect(v(workload(stmt('UPDATE users SET name = ? WHERE id = ?', 'update', ['users', 'name', 'id']))).backwardCompatible).toBe(true);
    expect(v(workload(stmt('DELETE FROM users WHERE id = ?', 'delete', ['users', 'id']))).backwardCompatible).toBe(false);
    // Replica-first, row events violating the key stop replication: the verdict is not replica-first safe.
    expect(v({}).replicaFirstSafe).toBe(false);
    expect(rules(v({}))).toContain('RF115');
  });

  it('NOT NULL is an error even with a default (an explicit NULL fails), and compatible when a check (validated or not) already refused NULLs', () => {
    const withDefault = table('users', [...users.columns.slice(0, 2), col('email', 3, 'varchar(100)', { default: "'x'" })]);
    const notNull = table('users', [...users.columns.slice(0, 2), col('email', 3, 'varchar(100)', { default: "'x'", nullable: false })]);
    const plain = verdict(ctx(snap([withDefault]), snap([notNull]), ["ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL DEFAULT 'x'"]));
    expect(plain.findings.find((f) => f.rule === 'BC108')!.severity).toBe('error');
    const checked = (t: TableSnapshot, validated?: boolean) =>
      table(t.name, t.columns, { checks: [{ name: 'nn', expression: '`email` is not null', ...(validated === undefined ? {} : { validated }) }] });
    const implied = verdict(ctx(snap([checked(withDefault)]), snap([checked(notNull)]), ["ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL DEFAULT 'x'"]));
    expect(implied.findings.find((f) => f.rule === 'BC108')!.severity).toBe('info');
    expect(implied.backwardCompatible).toBe(true);
    const notValidated = verdict(
      ctx(snap([checked(withDefault, false)]), snap([checked(notNull, false)]), ["ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL DEFAULT 'x'"]),
    );
    // NOT VALID skipped the old rows, not the writes: compatible, a warning that old NULLs make the ALTER fail.
    expect(notValidated.backwardCompatible).toBe(true);
    expect(notValidated.findings.find((f) => f.rule === 'BC108')).toMatchObject({
      severity: 'warning',
      message: expect.stringMatching(/VALIDATE CONSTRAINT first/),
    });
  });
});

describe('a check no stricter than one the table had (issue 16)', () => {
  const withCheck = (...checks: { name: string; expression: string }[]) => table('users', users.columns, { checks });
  const bc110 = (before: TableSnapshot, after: TableSnapshot) =>
    verdict(ctx(snap([before]), snap([after]), ['ALTER TABLE users ADD CONSTRAINT c2 CHECK (x)'])).findings.find((f) => f.rule === 'BC110');
  it('is compatible whether the old check stays or goes; a stricter one is an error', () => {
    const old = { name: 'c1', expression: "`email` in ('a','b')" };
    expect(bc110(withCheck(old), withCheck(old, { name: 'c2', expression: "`email` in ('a','b','c')" }))).toBeUndefined();
    expect(bc110(withCheck(old), withCheck({ name: 'c2', expression: "`email` in ('a','b')" }))).toBeUndefined();
    expect(bc110(withCheck(old), withCheck(old, { name: 'c2', expression: "`email` in ('a')" }))!.severity).toBe('error');
  });
});

describe('checkWidens reads PostgreSQL NOT VALID checks', () => {
  it('a validated copy of a NOT VALID check rejects nothing new', () => {
    expect(checkWidens('CHECK ((age >= 0)) NOT VALID', 'CHECK ((age >= 0))')).toBe(true);
    expect(checkWidens('CHECK ((age >= 0)) NOT VALID', 'CHECK ((age >= 1))')).toBe(false);
  });
});

describe('VALIDATE CONSTRAINT of a NOT VALID check (issue 16)', () => {
  it('adds no BC110: the check refused the same writes before', () => {
    const t = (expression: string, validated: boolean) => table('users', users.columns, { checks: [{ name: 'users_age_chk', expression, validated }] });
    const v = verdict(
      ctx(snap([t('CHECK ((age >= 0)) NOT VALID', false)], 'postgres'), snap([t('CHECK ((age >= 0))', true)], 'postgres'), [
        'ALTER TABLE users VALIDATE CONSTRAINT users_age_chk',
      ]),
    );
    expect(v.changes.map((c) => c.kind)).toEqual(['check_dropped', 'check_added']);
    expect(rules(v)).not.toContain('BC110');
    expect(v.backwardCompatible).toBe(true);
  });
});

describe('DL109: a whole-table UPDATE to a constant overwrites values no down brings back', () => {
  const s = snap([users]);
  it('flags a constant for every row of an existing column, and counts as data loss', () => {
    const v = verdict(ctx(s, s, ["UPDATE users SET name = 'x', email = NULL"]));
    expect(v.findings.filter((f) => f.rule === 'DL109').map((f) => f.column)).toEqual(['name', 'email']);
    expect(v.dataLoss).toBe(true);
  });
  it('leaves a backfill derived from another column, an UPDATE with WHERE and a table created here alone', () => {
    expect(rules(verdict(ctx(s, s, ['UPDATE users SET email = name'])))).not.toContain('DL109');
    expect(rules(verdict(ctx(s, s, ["UPDATE users SET email = 'x' WHERE email IS NULL"])))).not.toContain('DL109');
    const fresh = table('notes', [col('id', 1, 'int(11)'), col('body', 2, 'text')]);
    const created = verdict(ctx(s, snap([users, fresh]), ['CREATE TABLE notes (id int, body text)', "UPDATE notes SET body = ''"]));
    expect(rules(created)).not.toContain('DL109');
  });
});

describe('MY301 / PG301: an UPDATE or DELETE without WHERE on an existing table blocks its writes (corpus m29, p60)', () => {
  const pgUsers = table('users', [col('id', 1, 'integer', { nullable: false, default: null }), col('email', 2, 'character varying(100)')]);
  const cases = [
    { rule: 'MY301', s: snap([users]) },
    { rule: 'PG301', s: snap([pgUsers], 'postgres') },
  ];
  for (const { rule, s } of cases) {
    it(`${rule}: blocking, refused in place, with a recipe that batches by the primary key`, () => {
      for (const sql of ["UPDATE users SET email = 'x'", 'DELETE FROM users']) {
        const v = verdict(ctx(s, s, [sql]));
        const f = v.findings.find((x) => x.rule === rule);
        expect(f, sql).toBeDefined();
        expect(v.blocking, sql).toBe(true);
        // Neither an UPDATE-only migration on MariaDB (replica-first not applicable) nor PostgreSQL can move the work off the primary.
        expect(v.strategy, sql).toBe('refused');
        expect(f!.safeAlternative).toContain(`${sql} WHERE id > :from AND id <= :from + 5000`);
        expect(f!.safeAlternative).toMatch(/committing after each chunk/);
      }
    });
    it(`${rule}: an UPDATE with WHERE, and a table the migration creates, are left alone`, () => {
      expect(rules(verdict(ctx(s, s, ["UPDATE users SET email = 'x' WHERE id < 10"])))).not.toContain(rule);
      const fresh = table('notes', [col('id', 1, 'integer'), col('body', 2, 'text')]);
      const v = verdict(ctx(s, snap([...Object.values(s.tables), fresh], s.dialect), ['CREATE TABLE notes (id int, body text)', "UPDATE notes SET body = ''"]));
      expect(rules(v)).not.toContain(rule);
      expect(v.blocking).toBe(false);
    });
  }
  it('MY301: LIMIT bounds the rows, a "where" inside a string does not, a table of another database is not ours (review)', () => {
    const s = snap([users]);
    for (const sql of ['DELETE FROM users LIMIT 10000', "UPDATE users SET email = 'x' ORDER BY id LIMIT 500", "UPDATE other_db.users SET email = 'x'"])
      expect(rules(verdict(ctx(s, s, [sql]))), sql).not.toContain('MY301');
    const where = verdict(ctx(s, s, ["UPDATE users SET email = 'where'"])).findings.find((x) => x.rule === 'MY301');
    expect(where).toBeDefined();
    // The chunk's WHERE goes before ORDER BY, where the grammar wants it.
    const ordered = verdict(ctx(s, s, ["UPDATE users SET email = 'x' ORDER BY id"])).findings.find((x) => x.rule === 'MY301');
    expect(ordered!.safeAlternative).toContain("UPDATE users SET email = 'x' WHERE id > :from AND id <= :from + 5000 ORDER BY id");
  });
  it('refused until every blocking finding is acknowledged by its rule; then in place, still reported blocking (review)', () => {
    for (const [rule, s] of [
      ['MY301', snap([users])],
      ['PG301', snap([table('users', [col('id', 1, 'integer', { nullable: false, default: null }), col('email', 2, 'text')])], 'postgres')],
    ] as const) {
      const c = ctx(s, s, ["UPDATE users SET email = 'x'"]);
      const a = assessUp(c);
      const { findings: _f, ...replicaFirst } = a.replicaFirst;
      const facts: MigrationFacts = { id: c.migrationId, dialect: c.dialect, findings: a.findings, replicaFirst, sql: [], changes: c.changes };
      const refused = buildVerdict(facts, []);
      expect(refused.strategy, rule).toBe('refused');
      expect(refused.refusedReason, rule).toContain(`acknowledge ${rule} with the reason the block is acceptable`);
      // A wildcard does not name the rule, so it does not lift the refusal.
      expect(buildVerdict(facts, [], [{ rule: '*', reason: 'r', migration: c.migrationId }]).strategy, rule).toBe('refused');
      const acked = buildVerdict(facts, [], [{ rule, reason: 'feature_flags has 5 rows', migration: c.migrationId }]);
      expect(acked.strategy, rule).toBe('in-place');
      expect(acked.blocking, rule).toBe(true);
    }
  });
  it('a table without a primary key gets a recipe that says what to batch on first', () => {
    const keyless = table('logs', [col('msg', 1, 'varchar(50)')], { primaryKey: [] });
    const s = snap([keyless]);
    const f = verdict(ctx(s, s, ['DELETE FROM logs'])).findings.find((x) => x.rule === 'MY301');
    expect(f!.safeAlternative).toMatch(/logs has no primary key to batch on/);
  });
});

describe('BC115 on a NOT NULL ENUM: MariaDB stores its first value when an INSERT omits it (corpus m32)', () => {
  const status = (dflt: string | null) =>
    col('status', 4, "enum('new','active','closed')", { nullable: false, default: dflt, dataType: 'enum', enumValues: ['new', 'active', 'closed'] });
  const withDefault = (dflt: string) => snap([table('users', [...users.columns, status(dflt)])]);
  const after = snap([table('users', [...users.columns, status(null)])]);
  const sql = ['ALTER TABLE users ALTER COLUMN status DROP DEFAULT'];
  const bc115 = (v: ReturnType<typeof verdict>) => v.findings.find((f) => f.rule === 'BC115')!;

  it('MariaDB, the old default was the first value: the old INSERTs run as before (info, compatible)', () => {
    const v = verdict(ctx(withDefault("'new'"), after, sql));
    expect(bc115(v).severity).toBe('info');
    expect(bc115(v).message).toContain("the column's first value, 'new', which was the default");
    expect(v.backwardCompatible).toBe(true);
  });
  it('MariaDB, another default: the old INSERTs run but store the first value instead (warning, compatible)', () => {
    const v = verdict(ctx(withDefault("'active'"), after, sql));
    expect(bc115(v).severity).toBe('warning');
    expect(bc115(v).message).toContain("'new', instead of the default ('active')");
    expect(v.backwardCompatible).toBe(true);
  });
  it('MySQL (strict by default) refuses the INSERT: still breaking', () => {
    const v = verdict(ctx(withDefault("'new'"), after, sql, { mariadb: false }));
    expect(bc115(v).severity).toBe('error');
    expect(v.backwardCompatible).toBe(false);
  });
  it('MariaDB, a column that is not an ENUM: still breaking', () => {
    const n = (dflt: string | null) => col('n', 4, 'int(11)', { nullable: false, default: dflt });
    const v = verdict(
      ctx(snap([table('users', [...users.columns, n('3')])]), snap([table('users', [...users.columns, n(null)])]), [
        'ALTER TABLE users ALTER COLUMN n DROP DEFAULT',
      ]),
    );
    expect(bc115(v).severity).toBe('error');
    expect(v.backwardCompatible).toBe(false);
  });
});

describe('removed ENUM values are worded for the database (DL105, BC112)', () => {
  const withStatus = (values: string[], dialect: 'mysql' | 'postgres') =>
    snap(
      [
        table('users', [
          ...users.columns,
          col('status', 4, dialect === 'mysql' ? `enum(${values.map((v) => `'${v}'`).join(',')})` : 'order_status', {
            dataType: dialect === 'mysql' ? 'enum' : 'order_status',
            enumValues: values,
          }),
        ]),
      ],
      dialect,
    );
  const removal = (dialect: 'mysql' | 'postgres') => {
    const c = ctx(withStatus(['new', 'void'], dialect), withStatus(['new'], dialect), ["ALTER TABLE users MODIFY status enum('new')"], {
      fits: [
        {
          table: 'users',
          column: 'status',
          measured: true,
          rows: 2,
          misfits: 1,
          examples: ['2'],
          keyColumns: ['id'],
          sampled: false,
          what: "hold 'void'",
          where: "checked on the shadow's rows before the change",
        },
      ],
    });
    return verdict(c).findings.filter((f) => f.rule === 'DL105' || f.rule === 'BC112');
  };
  it('PostgreSQL: no MySQL strict-mode wording; the cast fails or the USING mapping loses the value', () => {
    const fs = removal('postgres');
    expect(fs.map((f) => f.rule).sort()).toEqual(['BC112', 'DL105']);
    for (const f of fs) expect(f.message).not.toMatch(/strict|MySQL|''/);
    expect(fs.find((f) => f.rule === 'DL105')!.message).toMatch(/invalid input value for enum/);
  });
  it("MySQL/MariaDB: '' without strict mode, a failed ALTER in strict mode", () => {
    const fs = removal('mysql');
    expect(fs.find((f) => f.rule === 'DL105')!.message).toContain("lose it ('' without strict mode) or make the ALTER fail (strict mode)");
    expect(fs.find((f) => f.rule === 'BC112')!.message).toContain("rejected in strict mode, stored as '' otherwise");
  });
});

describe('RF116: a data change makes the migration replica-first unsafe', () => {
  const withScore = table('users', [...users.columns, col('score', 4, 'int(11)')]);
  const rf116 = (sql: string[], after = withScore) => verdict(ctx(snap([users]), snap([after]), sql)).findings.filter((f) => f.rule === 'RF116');
  it('UPDATE (with or without WHERE), DELETE and INSERT of an existing table next to a schema change', () => {
    for (const dml of [
      'UPDATE users SET score = 0',
      'UPDATE users SET score = 0 WHERE id < 10',
      'DELETE FROM users WHERE id = 1',
      'INSERT INTO users (name) VALUES (1)',
      // Emptied on each node at a different time: rows written in between survive on the replicas (review).
      'TRUNCATE TABLE users',
    ]) {
      const v = verdict(ctx(snap([users]), snap([withScore]), ['ALTER TABLE users ADD COLUMN score INT', dml]));
      expect(rules(v), dml).toContain('RF116');
      expect(v.replicaFirstSafe, dml).toBe(false);
    }
  });
  it('the blocking backfill is refused rather than moved to the replicas', () => {
    const v = verdict(ctx(snap([users]), snap([withScore]), ['ALTER TABLE users ADD COLUMN score INT', 'UPDATE users SET score = 0']));
    expect(v).toMatchObject({ blocking: true, strategy: 'refused' });
    expect(v.refusedReason).toMatch(/MY301.*RF116/);
  });
  it('a CALL next to a schema change: the procedure may change rows', () => {
    for (const call of ['CALL backfill_scores()', '-- fill the new column\nCALL app.backfill_scores(10)']) {
      const v = verdict(ctx(snap([users]), snap([withScore]), ['ALTER TABLE users ADD COLUMN score INT', call]));
      const f = v.findings.find((x) => x.rule === 'RF116');
      expect(f, call).toMatchObject({ statement: call, direction: 'old-to-new' });
      expect(f!.message).toContain('CALL backfill_scores runs a procedure');
      expect(v.replicaFirstSafe, call).toBe(false);
    }
    // A CALL alone, with no schema change, leaves replica-first out of the question.
    expect(rf116(['CALL backfill_scores()'], users)).toEqual([]);
  });
  it('a CALL of a procedure the migration creates: a data change only if its body changes rows', () => {
    const guardedAlter =
      "CREATE PROCEDURE add_score()\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE column_name = 'score') THEN\n    ALTER TABLE users ADD COLUMN score INT;\n  END IF;\nEND";
    expect(rf116([guardedAlter, 'CALL add_score()', 'DROP PROCEDURE add_score'])).toEqual([]);
    const withBackfill = guardedAlter.replace('END IF;', "END IF;\n  UPDATE users SET score = 0 WHERE name <> 'update';");
    expect(rf116([withBackfill, 'CALL add_score()'])).toHaveLength(1);
    // An FK's ON UPDATE is not an UPDATE statement; dynamic SQL may be anything.
    const fk = guardedAlter.replace('ADD COLUMN score INT', 'ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES p (id) ON UPDATE CASCADE');
    expect(rf116([fk, 'CALL add_score()'])).toEqual([]);
    expect(rf116([guardedAlter.replace('ALTER TABLE users ADD COLUMN score INT', 'PREPARE s FROM @sql; EXECUTE s'), 'CALL add_score()'])).toHaveLength(1);
  });
  it('not for a table the migration creates, nor for a schema change alone', () => {
    const notes = table('notes', [col('id', 1, 'int(11)')]);
    expect(
      verdict(ctx(snap([users]), snap([users, notes]), ['CREATE TABLE notes (id int)', 'INSERT INTO notes VALUES (1)'])).findings.map((f) => f.rule),
    ).not.toContain('RF116');
    expect(rf116(['ALTER TABLE users ADD COLUMN score INT'])).toEqual([]);
  });
});
