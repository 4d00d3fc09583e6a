import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { analyse } from '../../src/analysis/analyse.ts';
import { MigrateError } from '../../src/errors.ts';
import { stepsFromVerdicts } from '../../src/execution/plan-steps.ts';
import type { Logger } from '../../src/log/logger.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { splitSql } from '../../src/migrations/sql-split.ts';
import type { MigrationVerdict } from '../../src/analysis/types.ts';
import type { Dialect } from '../../src/config/types.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * Verdicts on files shaped like real histories (issue 15, point 4): each case is a small migration
 * written for this test in the shape a real project's file had, analysed on the test's shadow server.
 */
async function verdictsOf(dialect: Dialect, migrations: MigrationSource[]): Promise<MigrationVerdict[]> {
  return analyse(migrations, { dialect, shadow: shadowServer(dialect) });
}

/** A SQL migration split as the loader splits a file (stored programs with BEGIN ... END bodies stay whole). */
function fileMigration(dialect: Dialect, id: string, up: string, down?: string): MigrationSource {
  const m = sqlMigration(dialect, id, '', down);
  m.upStatements = splitSql(up, dialect);
  m.upSql = m.upStatements.map((s) => s.sql);
  return m;
}

const rules = (v: MigrationVerdict): string[] => [...new Set(v.findings.map((f) => f.rule))].sort();

describe('B5: a column named locked is not a LOCK clause (MySQL)', () => {
  it('DROP COLUMN locked is INSTANT, with no MY102 and no refusal', async () => {
    const [, v] = await verdictsOf('mysql', [
      sqlMigration(
        'mysql',
        '0001_jobs',
        'CREATE TABLE jobs (id INT PRIMARY KEY, name VARCHAR(50), locked TINYINT(1) NOT NULL DEFAULT 0, locked_at DATETIME NULL);',
        '',
      ),
      sqlMigration(
        'mysql',
        '0002_drop_locked',
        'ALTER TABLE jobs DROP COLUMN locked, DROP COLUMN locked_at;',
        'ALTER TABLE jobs ADD COLUMN locked TINYINT(1) NOT NULL DEFAULT 0, ADD COLUMN locked_at DATETIME NULL;',
        {
          phase: 'post-deploy',
        },
      ),
    ]);
    expect(rules(v!)).not.toContain('MY102');
    expect(v!.algorithm).toBe('INSTANT');
    expect(v!.blocking).toBe(false);
    expect(v!.strategy).not.toBe('refused');
  });

  it('an ALTER that declares LOCK=NONE is still read as declared', async () => {
    const [, v] = await verdictsOf('mysql', [
      sqlMigration('mysql', '0001_jobs', 'CREATE TABLE jobs (id INT PRIMARY KEY, locked_at DATETIME NULL);', ''),
      sqlMigration(
        'mysql',
        '0002_index',
        'ALTER TABLE jobs ADD INDEX idx_locked_at (locked_at), ALGORITHM=INPLACE, LOCK=NONE;',
        'ALTER TABLE jobs DROP INDEX idx_locked_at;',
      ),
    ]);
    expect(v!.algorithm).toBe('INPLACE');
    expect(v!.findings.find((f) => f.rule === 'MY201')?.statement).toMatch(/LOCK=NONE/);
  });
});

describe('B2: PostgreSQL folds unquoted names to lower case', () => {
  it('CREATE INDEX ... ON Posts (originalid) is a blocking build on table posts, and later migrations see the index', async () => {
    const vs = await verdictsOf('postgres', [
      sqlMigration('postgres', '0001_posts', 'CREATE TABLE posts (id bigint PRIMARY KEY, originalid varchar(26), message text);', ''),
      sqlMigration('postgres', '0002_idx', 'CREATE INDEX idx_posts_originalid ON Posts (OriginalId);', 'DROP INDEX idx_posts_originalid;'),
      sqlMigration('postgres', '0003_col', 'ALTER TABLE POSTS ADD COLUMN editat bigint;', 'ALTER TABLE Posts DROP COLUMN EditAt;'),
      sqlMigration('postgres', '0004_other', 'CREATE TABLE channels (id bigint PRIMARY KEY);', 'DROP TABLE channels;'),
    ]);
    const [, idx, col, other] = vs;
    const pg101 = idx!.findings.find((f) => f.rule === 'PG101');
    expect(pg101?.table).toBe('posts');
    expect(idx!.blocking).toBe(true);
    expect(idx!.changes.map((c) => c.kind)).toContain('index_added');
    // The snapshot of posts was refreshed after 0002 and 0003: no migration after them reports
    // the index or the column as left behind by its down.
    for (const v of [col!, other!]) expect(rules(v), v.id).not.toContain('RV102');
    expect(col!.changes.map((c) => c.kind)).toEqual(['column_added']);
    expect(other!.changes.map((c) => c.kind)).toEqual(['table_added']);
  });
});

/** A runner on a fresh database over a temporary directory holding exactly `files`; its log lines are kept. */
async function runnerOn(dialect: Dialect, files: Record<string, string>): Promise<{ runner: Runner; db: Knex; lines: string[]; done(): Promise<void> }> {
  const fresh: FreshDatabase = await freshDatabase(dialect);
  const root = mkdtempSync(join(tmpdir(), 'migrate-defects-'));
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
  const lines: string[] = [];
  const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), error: (m) => lines.push(m), out: (m) => lines.push(m) };
  const db = fresh.knex();
  return {
    runner: new Runner({ config: fresh.projectConfig(dir), db, logger }),
    db,
    lines,
    done: async () => {
      await fresh.drop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function failureOf(p: Promise<unknown>): Promise<MigrateError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MigrateError) return e;
    throw e;
  }
  throw new Error('expected a MigrateError, but the call succeeded');
}

async function pgTables(db: Knex): Promise<string[]> {
  const rows = (await db('information_schema.tables').select({ t: 'table_name' }).where({ table_schema: 'public' })) as Array<{ t: string }>;
  return rows.map((r) => r.t).sort();
}

describe('B4: a PostgreSQL file with its own BEGIN/COMMIT', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it("a failure after the file's COMMIT rolls back all of it, as the message says", async () => {
    const r = await runnerOn('postgres', {
      '0001_wrapped.up.sql': [
        'BEGIN;',
        'CREATE TABLE teams (id bigint PRIMARY KEY, name text NOT NULL);',
        'COMMIT;',
        '',
        'BEGIN;',
        'CREATE TABLE members (id bigint PRIMARY KEY, team_id bigint REFERENCES teams (id));',
        'INSERT INTO members (id, team_id) VALUES (1, 42);',
        'COMMIT;',
        '',
      ].join('\n'),
      '0001_wrapped.down.sql': 'DROP TABLE members;\nDROP TABLE teams;\n',
    });
    cleanups.push(r.done);
    const e = await failureOf(r.runner.up());
    expect(e.problem).toMatch(/violates foreign key constraint/);
    expect(e.problem).toContain('line 7');
    expect(e.problem).toContain('Nothing of it was applied (rolled back)');
    // What the message says is what the database holds: neither table, no ledger entry.
    expect((await pgTables(r.db)).filter((t) => !t.startsWith('migrate_'))).toEqual([]);
    expect(r.lines.join('\n')).toMatch(/its own BEGIN \(line 1\), COMMIT \(line 3\), BEGIN \(line 5\), COMMIT \(line 8\) not sent/);
  });

  it('the same file without the failing row applies whole and is recorded', async () => {
    const r = await runnerOn('postgres', {
      '0001_wrapped.up.sql':
        'BEGIN;\nCREATE TABLE teams (id bigint PRIMARY KEY);\nCOMMIT;\nBEGIN TRANSACTION;\nCREATE TABLE members (id bigint PRIMARY KEY);\nEND;\n',
      '0001_wrapped.down.sql': 'BEGIN;\nDROP TABLE members;\nDROP TABLE teams;\nCOMMIT;\n',
    });
    cleanups.push(r.done);
    const res = await r.runner.up();
    expect(res.ids).toEqual(['0001_wrapped']);
    expect((await pgTables(r.db)).filter((t) => !t.startsWith('migrate_'))).toEqual(['members', 'teams']);
    const st = await r.runner.status();
    expect(st.migrations.map((m) => m.state)).toEqual(['applied']);
  });
});

describe('messages', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('a table dropped through dynamic SQL is attributed to the statement naming it, not to none (line 1)', async () => {
    const up = [
      'CREATE TABLE audits (id INT PRIMARY KEY);',
      "SET @exists = (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'legacy_sessions');",
      "SET @stmt = IF(@exists > 0, 'DROP TABLE legacy_sessions', 'SELECT 1');",
      'PREPARE st FROM @stmt;',
      'EXECUTE st;',
      'DEALLOCATE PREPARE st;',
    ].join('\n');
    const [, v] = await verdictsOf('mysql', [
      sqlMigration('mysql', '0001_sessions', 'CREATE TABLE legacy_sessions (id INT PRIMARY KEY, token VARCHAR(64));', ''),
      sqlMigration('mysql', '0002_drop_sessions', up, 'DROP TABLE audits;\nCREATE TABLE legacy_sessions (id INT PRIMARY KEY, token VARCHAR(64));', {
        phase: 'post-deploy',
      }),
    ]);
    const dl = v!.findings.find((f) => f.rule === 'DL101');
    expect(dl?.table).toBe('legacy_sessions');
    expect(dl?.statement).toBe("SET @stmt = IF(@exists > 0, 'DROP TABLE legacy_sessions', 'SELECT 1')");
  });

  for (const dialect of ['mysql', 'postgres'] as const) {
    it(`BC110 is not reported for a CHECK replaced by a wider one, and still is for a narrower one (${dialect})`, async () => {
      const setup =
        "CREATE TABLE jobs (id INT PRIMARY KEY, status VARCHAR(10) NOT NULL, tries INT NOT NULL, CONSTRAINT chk_status CHECK (status IN ('new','done')), CONSTRAINT chk_tries CHECK (tries <= 10));";
      const [, wider, narrower] = await verdictsOf(dialect, [
        sqlMigration(dialect, '0001_jobs', setup, ''),
        sqlMigration(
          dialect,
          '0002_widen',
          "ALTER TABLE jobs DROP CONSTRAINT chk_status, ADD CONSTRAINT chk_status CHECK (status IN ('new','done','failed')), DROP CONSTRAINT chk_tries, ADD CONSTRAINT chk_tries_max CHECK (tries <= 100);",
          "ALTER TABLE jobs DROP CONSTRAINT chk_status, ADD CONSTRAINT chk_status CHECK (status IN ('new','done')), DROP CONSTRAINT chk_tries_max, ADD CONSTRAINT chk_tries CHECK (tries <= 10);",
        ),
        sqlMigration(
          dialect,
          '0003_narrow',
          "ALTER TABLE jobs DROP CONSTRAINT chk_status, ADD CONSTRAINT chk_status CHECK (status IN ('new','failed'));",
          "ALTER TABLE jobs DROP CONSTRAINT chk_status, ADD CONSTRAINT chk_status CHECK (status IN ('new','done','failed'));",
        ),
      ]);
      expect(wider!.changes.filter((c) => c.kind === 'check_added')).toHaveLength(2);
      expect(rules(wider!)).not.toContain('BC110');
      expect(narrower!.findings.filter((f) => f.rule === 'BC110').map((f) => f.table)).toEqual(['jobs']);
    });
  }

  it('PG202 says the runner bounds the lock wait with its own lock_timeout, as information', async () => {
    const [, v] = await verdictsOf('postgres', [
      sqlMigration('postgres', '0001_users', 'CREATE TABLE users (id bigint PRIMARY KEY, nick text);', ''),
      sqlMigration('postgres', '0002_rename', 'ALTER TABLE users RENAME COLUMN nick TO handle;', 'ALTER TABLE users RENAME COLUMN handle TO nick;'),
    ]);
    const f = v!.findings.find((x) => x.rule === 'PG202');
    expect(f?.severity).toBe('info');
    expect(f?.message).toMatch(/migrate up and apply run it with their own lock_timeout/);
    expect(f?.safeAlternative).not.toMatch(/^SET lock_timeout/);
  });

  it('a MySQL script that failed on its first statement does not say its changes remain', async () => {
    const r = await runnerOn('mysql', {
      '0001_alter_missing.ts': `import type { Knex } from 'knex';
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE no_such_table ADD COLUMN note VARCHAR(20)');
}
export async function down(): Promise<void> {}
`,
    });
    cleanups.push(r.done);
    const e = await failureOf(r.runner.up());
    expect(e.problem).toMatch(/doesn't exist/);
    expect(e.problem).toContain('It had completed no statement before the one that failed, so none of its changes remain');
    expect(e.problem).not.toMatch(/remain \(it had completed no statement\)/);
  });
});

function tsMigration(id: string, up: (k: Knex) => Promise<void>, down?: (k: Knex) => Promise<void>): MigrationSource {
  const m: MigrationSource = { id, format: 'ts', upPath: `/virtual/${id}.ts`, checksum: id, acknowledgements: [], up };
  if (down) m.down = down;
  return m;
}

describe('B3: knex setNullable / dropNullable on MySQL', () => {
  it('are analysed like migrate up runs them: the ALTER they build is captured and probed, and the down reverses it', async () => {
    const t0 = performance.now();
    const [, v] = await verdictsOf('mysql', [
      tsMigration(
        '0001_users',
        (k) =>
          k.schema.createTable('users', (t) => {
            t.increments('id');
            t.string('nickname', 50);
          }),
        (k) => k.schema.dropTable('users'),
      ),
      tsMigration(
        '0002_nickname_required',
        (k) =>
          k.schema.alterTable('users', (t) => {
            t.dropNullable('nickname');
          }),
        (k) =>
          k.schema.alterTable('users', (t) => {
            t.setNullable('nickname');
          }),
      ),
    ]);
    expect(performance.now() - t0, 'no wait for a second connection').toBeLessThan(8000);
    expect(v!.changes).toEqual([expect.objectContaining({ kind: 'column_nullability_changed', table: 'users', column: 'nickname', nullable: false })]);
    expect(v!.sql.some((s) => /^alter table `users` modify\s+`nickname` varchar\(50\) not null/i.test(s))).toBe(true);
    expect(v!.algorithm).toBeDefined();
    expect(rules(v!)).toContain('BC108');
    expect(v!.reversible).toBe(true);
  });
});

describe('B1: DDL run as dynamic SQL or from a procedure is judged for blocking (MySQL)', () => {
  const users = 'CREATE TABLE Users (Id VARCHAR(26) PRIMARY KEY, Username VARCHAR(64), Timezone TEXT, Props TEXT);';

  it('PREPARE/EXECUTE of an ALTER guarded by an information_schema check is probed: a table copy is blocking', async () => {
    const up = [
      'SET @preparedStatement = (SELECT IF(',
      '    (',
      '        SELECT COUNT(*) FROM INFORMATION_SCHEMA.COLUMNS',
      "        WHERE table_name = 'Users' AND table_schema = DATABASE() AND column_name = 'Timezone' AND column_type != 'longtext'",
      '    ) > 0,',
      "    'ALTER TABLE Users MODIFY Timezone VARCHAR(256);',",
      "    'SELECT 1'",
      '));',
      '',
      'PREPARE alterIfExists FROM @preparedStatement;',
      'EXECUTE alterIfExists;',
      'DEALLOCATE PREPARE alterIfExists;',
    ].join('\n');
    const timezone = sqlMigration('mysql', '0002_timezone', up, 'ALTER TABLE Users MODIFY Timezone TEXT;');
    const [, v] = await verdictsOf('mysql', [sqlMigration('mysql', '0001_users', users, ''), timezone]);
    // apply does not run the table copy in place on the primary: replica-first, or refused.
    const plan = stepsFromVerdicts([timezone], [v!]);
    expect(plan.steps.filter((st) => st.strategy === 'in-place')).toEqual([]);
    expect(plan.steps.length + plan.refused.length).toBe(1);
    expect(v!.changes).toEqual([expect.objectContaining({ kind: 'column_type_changed', table: 'Users', column: 'Timezone' })]);
    expect(v!.algorithm).toBe('COPY');
    expect(v!.blocking).toBe(true);
    expect(v!.strategy).not.toBe('in-place');
    const my101 = v!.findings.find((f) => f.rule === 'MY101');
    expect(my101?.table).toBe('Users');
    expect(my101?.statement).toMatch(/^EXECUTE alterIfExists \/\* ALTER TABLE Users MODIFY Timezone VARCHAR\(256\);? \*\/$/);
  });

  it('a dynamic ALTER the server runs INSTANT is not blocking, and a guard that skips it changes nothing', async () => {
    const guarded = (column: string): string =>
      [
        `SET @s = (SELECT IF((SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'Users' AND column_name = '${column}') = 0,`,
        `  'ALTER TABLE Users ADD COLUMN ${column} VARCHAR(32) NULL', 'SELECT 1'));`,
        'PREPARE st FROM @s;',
        'EXECUTE st;',
        'DEALLOCATE PREPARE st;',
      ].join('\n');
    const [, added, again] = await verdictsOf('mysql', [
      sqlMigration('mysql', '0001_users', users, ''),
      sqlMigration('mysql', '0002_locale', guarded('Locale'), 'ALTER TABLE Users DROP COLUMN Locale;'),
      sqlMigration('mysql', '0003_locale_again', guarded('Locale'), ''),
    ]);
    expect(added!.algorithm).toBe('INSTANT');
    expect(added!.blocking).toBe(false);
    expect(added!.findings.find((f) => f.rule === 'MY202')?.table).toBe('Users');
    expect(again!.changes).toEqual([]);
    expect(again!.blocking).toBe(false);
  });

  const procedure = (name: string, condition: string, alter: string): string =>
    [`CREATE PROCEDURE ${name}()`, 'BEGIN', `  IF ${condition} THEN`, `    ${alter};`, '  END IF;', 'END;', `CALL ${name}();`, `DROP PROCEDURE ${name};`].join(
      '\n',
    );
  const propsIsText =
    "(SELECT data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'Users' AND column_name = 'Props') = 'text'";

  it('an ALTER inside a CALLed procedure gets the algorithm the same ALTER gets written out', async () => {
    for (const alter of ['ALTER TABLE Users MODIFY Props MEDIUMTEXT', 'ALTER TABLE Users ADD COLUMN Locale VARCHAR(5) NULL']) {
      const [, called] = await verdictsOf('mysql', [
        sqlMigration('mysql', '0001_users', users, ''),
        fileMigration('mysql', '0002_props', procedure('change_users', propsIsText, alter), ''),
      ]);
      const [, written] = await verdictsOf('mysql', [sqlMigration('mysql', '0001_users', users, ''), sqlMigration('mysql', '0002_props', `${alter};`, '')]);
      expect(called!.changes, alter).toEqual(written!.changes);
      expect(written!.algorithm, alter).toBeDefined();
      expect(called!.algorithm, alter).toBe(written!.algorithm);
      expect(called!.blocking, alter).toBe(written!.blocking);
      expect(called!.strategy, alter).toBe(written!.strategy);
      const blockingRule = (v: MigrationVerdict): string[] => rules(v).filter((r) => r.startsWith('MY'));
      expect(blockingRule(called!), alter).toEqual(blockingRule(written!));
      const f = called!.findings.find((x) => x.rule.startsWith('MY'));
      expect(f?.statement, alter).toBe(`CALL change_users() /* ${alter} */`);
    }
  });

  it('a procedure whose guard skips its ALTER changes nothing and blocks nothing', async () => {
    const [, v] = await verdictsOf('mysql', [
      sqlMigration('mysql', '0001_users', users, ''),
      fileMigration(
        'mysql',
        '0002_props',
        procedure('widen_props', propsIsText.replace("= 'text'", "= 'longtext'"), 'ALTER TABLE Users MODIFY Props MEDIUMTEXT'),
        '',
      ),
    ]);
    expect(v!.changes).toEqual([]);
    expect(v!.blocking).toBe(false);
    expect(v!.algorithm).toBeUndefined();
    expect(rules(v!).filter((r) => r.startsWith('MY'))).toEqual([]);
  });

  it("a table a procedure altered out of the probe's sight (dynamic SQL in its body) is assumed blocking, not counted as nothing", async () => {
    const body = "SET @s = 'ALTER TABLE Users MODIFY Props MEDIUMTEXT'; PREPARE st FROM @s; EXECUTE st; DEALLOCATE PREPARE st";
    const up = ['CREATE PROCEDURE widen_props()', 'BEGIN', `  ${body};`, 'END;', 'CALL widen_props();', 'DROP PROCEDURE widen_props;'].join('\n');
    const [, v] = await verdictsOf('mysql', [sqlMigration('mysql', '0001_users', users, ''), fileMigration('mysql', '0002_props', up, '')]);
    expect(v!.changes).toEqual([expect.objectContaining({ kind: 'column_type_changed', table: 'Users', column: 'Props' })]);
    const my102 = v!.findings.find((f) => f.rule === 'MY102');
    expect(my102?.table).toBe('Users');
    expect(my102?.message).toMatch(/CALLed procedure/);
    expect(v!.blocking).toBe(true);
    expect(v!.algorithm).toBe('UNKNOWN');
    expect(v!.strategy).not.toBe('in-place');
  });
});

describe('B1: knex DDL with bind values (MySQL)', () => {
  it('an ALTER knex sends with a bind value, which the probe does not rewrite, is assumed blocking rather than counted as nothing', async () => {
    const [, v] = await verdictsOf('mysql', [
      sqlMigration('mysql', '0001_users', 'CREATE TABLE users (id INT PRIMARY KEY, bio TEXT);', ''),
      tsMigration('0002_bio', async (k) => {
        await k.raw('ALTER TABLE users MODIFY bio VARCHAR(200) DEFAULT ?', ['none']);
      }),
    ]);
    expect(v!.changes).toContainEqual(expect.objectContaining({ kind: 'column_type_changed', table: 'users', column: 'bio' }));
    expect(v!.findings.find((f) => f.rule === 'MY102')?.table).toBe('users');
    expect(v!.blocking).toBe(true);
  });
});
