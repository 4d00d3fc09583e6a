/**
 * apply's gate decides a narrowing on the target's rows, as `migrate plan` does (issue 16): run
 * through `bin/migrate apply` on a single-node MariaDB sandbox holding 200 rows. A narrowing
 * that would truncate 3 of them is refused before anything runs, with the counts and the ids; one
 * that every row fits runs (forced in place: the gate refuses any table copy on its own) and
 * leaves every value as it was. A foreign key that a stored row violates is refused the same way.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, show, type CliResult } from '../faults/harness.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

let work: string;
let migrations: string;
let sb: RunningSandbox;

const migrate = (args: string[]): Promise<CliResult> => cli(['--config', sb.configPath, ...args], {}, 240_000);
const write = (name: string, sql: string): void => writeFileSync(join(migrations, name), sql);

const expectExit = (r: CliResult, code: number): void => {
  expect(r.signal, show(r)).toBeNull();
  expect(r.code, show(r)).toBe(code);
  expect(r.stderr, show(r)).not.toMatch(/unexpected failure|^\s+at\s/m);
};

async function onPrimary<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await sb.mysql(sb.nodes[0]!.name, 'app');
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** What a refused run must leave alone: binlog position, column types, ledger, and every row. */
async function serverState(): Promise<{ pos: string; types: string; ledger: string; rows: string }> {
  return onPrimary(async (c) => {
    const q = async (sql: string): Promise<Record<string, unknown>[]> => (await c.query(sql))[0] as Record<string, unknown>[];
    const [pos] = await q('SELECT @@gtid_binlog_pos AS p');
    const types = await q(
      "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='t' ORDER BY ORDINAL_POSITION",
    );
    const ledger = await q('SELECT id FROM app.migrate_ledger ORDER BY id');
    const rows = await q('SELECT id, name, code, owner_id FROM app.t ORDER BY id');
    const digest = (x: unknown): string => createHash('sha256').update(JSON.stringify(x)).digest('hex');
    return { pos: String(pos?.['p']), types: JSON.stringify(types), ledger: JSON.stringify(ledger.map((r) => r['id'])), rows: digest(rows) };
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'apply-data-gate-'));
  migrations = join(work, 'migrations');
  mkdirSync(migrations);
  write(
    '0001_create_t.up.sql',
    'CREATE TABLE owners (id INT PRIMARY KEY);\nCREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, code VARCHAR(100) NOT NULL, owner_id INT NULL);\n',
  );
  write('0001_create_t.down.sql', 'DROP TABLE t;\nDROP TABLE owners;\n');
  sb = await startSandbox({ topology: 'single', migrationsDir: migrations });
  const first = await migrate(['apply']);
  if (first.code !== 0) throw new Error(`apply of 0001 failed: ${show(first)}`);
  // 200 rows: names of at most 4 characters; codes of 10, except ids 1-3 with 80; owners 1-10, except id 7 (99, none such).
  await onPrimary(async (c) => {
    await c.query('INSERT INTO app.owners SELECT seq FROM seq_1_to_10');
    await c.query("INSERT INTO app.t SELECT seq, CONCAT('n', seq), REPEAT('x', IF(seq <= 3, 80, 10)), IF(seq = 7, 99, seq % 10 + 1) FROM seq_1_to_200");
  });
}, 300_000);

afterAll(async () => {
  await sb?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("apply's gate decides narrowings on the target's rows", () => {
  test('a narrowing that truncates 3 of 200 rows is refused with the counts and the ids, and nothing changes on the server', async () => {
    write('0002_narrow_code.up.sql', 'ALTER TABLE t MODIFY code VARCHAR(50) NOT NULL;\n');
    write('0002_narrow_code.down.sql', 'ALTER TABLE t MODIFY code VARCHAR(100) NOT NULL;\n');
    try {
      const before = await serverState();
      const r = await migrate(['apply']);
      expectExit(r, 1);
      expect(r.error).toMatch(
        /^The gate refused 0002_narrow_code \(DL103: Converts t\.code varchar\(100\) utf8mb4 -> varchar\(50\) utf8mb4: 3 of 200 rows exceed 50 characters \(e\.g\. id 1, 2, 3\) \(checked on app@127\.0\.0\.1:\d+\/app at \d{4}-\d\d-\d\dT[\d:]+Z\)/,
      );
      expect(r.fix).toContain('Nothing was changed.');
      expect(await serverState()).toEqual(before);
    } finally {
      unlinkSync(join(migrations, '0002_narrow_code.up.sql'));
      unlinkSync(join(migrations, '0002_narrow_code.down.sql'));
    }
  });

  test('a narrowing that every row fits passes the gate and runs: the column is narrowed, every value kept', async () => {
    write('0002_narrow_name.up.sql', 'ALTER TABLE t MODIFY name VARCHAR(50) NOT NULL;\n');
    write('0002_narrow_name.down.sql', 'ALTER TABLE t MODIFY name VARCHAR(100) NOT NULL;\n');
    const before = await serverState();
    // A narrowing copies the table: the gate picks no strategy for it on its own, the operator forces in place.
    const r = await migrate(['apply', '--strategy', 'in-place', '--deploy-command', 'true']);
    expectExit(r, 0);
    expect(r.stdout).toMatch(/done\s+0002_narrow_name\s+post-deploy\s+in-place/);
    const after = await serverState();
    expect(after.rows).toBe(before.rows);
    expect(JSON.parse(after.types)).toContainEqual({ COLUMN_NAME: 'name', COLUMN_TYPE: 'varchar(50)' });
    expect(JSON.parse(after.ledger)).toEqual(['0001_create_t', '0002_narrow_name']);
  });

  test('a foreign key that a stored row violates is refused with the count and the row, on a table the applied history created', async () => {
    write('0003_fk_owner.up.sql', 'ALTER TABLE t ADD CONSTRAINT fk_owner FOREIGN KEY (owner_id) REFERENCES owners (id);\n');
    write('0003_fk_owner.down.sql', 'ALTER TABLE t DROP FOREIGN KEY fk_owner;\n');
    const before = await serverState();
    const r = await migrate(['apply']);
    expectExit(r, 1);
    expect(r.error).toMatch(
      /^The gate refused 0003_fk_owner \(DL108: New foreign key fk_owner on t\(owner_id\) -> owners: 1 of 200 rows of t have a owner_id with no row in owners \(e\.g\. id 7\) \(checked on app@127\.0\.0\.1:\d+\/app at [\dT:-]+Z\): the ALTER fails on them\./,
    );
    expect(r.fix).toContain('Nothing was changed.');
    expect(await serverState()).toEqual(before);
  });
});
