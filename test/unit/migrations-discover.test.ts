import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import { checksumOf } from '../../src/migrations/checksum.ts';
import { discoverMigrations, loadMigrations } from '../../src/migrations/discover.ts';

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function dirWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'migrate-disc-'));
  roots.push(root);
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  for (const [n, body] of Object.entries(files)) writeFileSync(join(dir, n), body);
  return dir;
}

const TS_OK = `import type { Knex } from 'knex';
export const phase = 'post-deploy';
export const acknowledge = [{ rule: 'BC101', reason: 'nothing reads it any more' }];
export async function up(knex: Knex): Promise<void> { await knex.raw('select 1'); }
export async function down(knex: Knex): Promise<void> { await knex.raw('select 1'); }
`;

describe('discoverMigrations', () => {
  test('orders TS and SQL migrations by id; reads phase and acknowledgements from both formats', async () => {
    const dir = dirWith({
      '0002_sql.up.sql': '-- migrate:phase post-deploy\n-- migrate:ack DL101 the table was empty in every environment\nDROP TABLE old_t;\n',
      '0002_sql.down.sql': '-- migrate:ack BC102 recreated empty\nCREATE TABLE old_t (id int);\n',
      '0001_ts.ts': TS_OK,
      '0003_knex_style.cjs':
        'exports.up = function (knex) { return knex.raw("select 1"); };\nexports.down = function (knex) { return knex.raw("select 1"); };\nexports.config = { transaction: false };\n',
      'README.md': '# notes',
      'types.d.ts': 'export type X = 1;',
      '.hidden.ts': 'syntax error here (',
    });
    const d = await discoverMigrations(dir, 'postgres');
    expect(d.issues).toEqual([]);
    expect(d.migrations.map((m) => [m.id, m.format])).toEqual([
      ['0001_ts', 'ts'],
      ['0002_sql', 'sql'],
      ['0003_knex_style', 'ts'],
    ]);
    const [ts, sql, knexStyle] = d.migrations;
    expect(ts).toMatchObject({ phase: 'post-deploy', acknowledgements: [{ rule: 'BC101', reason: 'nothing reads it any more' }], transactional: true });
    expect(sql).toMatchObject({
      phase: 'post-deploy',
      acknowledgements: [
        { rule: 'DL101', reason: 'the table was empty in every environment' },
        { rule: 'BC102', reason: 'recreated empty' },
      ],
      upSql: ['DROP TABLE old_t'],
      downSql: ['CREATE TABLE old_t (id int)'],
      upStatements: [{ sql: 'DROP TABLE old_t', line: 3, noTransaction: false }],
      downPath: join(dir, '0002_sql.down.sql'),
    });
    expect(knexStyle?.transactional).toBe(false);
    expect(typeof knexStyle?.down).toBe('function');
  });

  test('checksums: sha256 of the file, both files of a SQL pair, line endings ignored', async () => {
    const up = 'CREATE TABLE t (id int);\n';
    const dir = dirWith({ '0001_a.up.sql': up, '0001_a.down.sql': 'DROP TABLE t;\n', '0002_b.ts': TS_OK });
    const crlf = dirWith({ '0001_a.up.sql': up.replace(/\n/g, '\r\n'), '0001_a.down.sql': 'DROP TABLE t;\r\n', '0002_b.ts': TS_OK });
    const a = await discoverMigrations(dir, 'mysql');
    const b = await discoverMigrations(crlf, 'mysql');
    expect(a.migrations.map((m) => m.checksum)).toEqual(b.migrations.map((m) => m.checksum));
    expect(a.migrations[0]?.checksum).toBe(checksumOf([up, 'DROP TABLE t;\n']));
    expect(a.migrations[0]?.checksum).not.toBe(checksumOf([up]));
    expect(a.migrations[1]?.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  test('names what does not fit: stray .sql, orphan down, duplicate id, missing down, bad directives, DELIMITER', async () => {
    const dir = dirWith({
      '0001_plain.sql': 'SELECT 1;',
      '0002_orphan.down.sql': 'SELECT 1;',
      '0003_dup.ts': TS_OK,
      '0003_dup.up.sql': 'SELECT 1;',
      '0004_no_down.up.sql': 'SELECT 1;',
      '0005_bad_phase.up.sql': '-- migrate:phase mid-deploy\nSELECT 1;',
      '0005_bad_phase.down.sql': 'SELECT 1;',
      '0006_ack_no_reason.up.sql': '-- migrate:ack DS001\n-- migrate:nonsense x\nSELECT 1;',
      '0006_ack_no_reason.down.sql': 'SELECT 1;',
      '0007_delim.up.sql': 'DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\n',
      '0007_delim.down.sql': 'DROP PROCEDURE p;',
      '0008_empty.up.sql': '-- nothing yet\n',
      '0008_empty.down.sql': '',
      '0009_ack_typo.up.sql': '-- migrate:ack BC1O2 the column is unused\nSELECT 1;',
      '0009_ack_typo.down.sql': 'SELECT 1;',
      '0010_ts_ack_typo.ts': TS_OK.replace("rule: 'BC101'", "rule: 'DS001'"),
    });
    const d = await discoverMigrations(dir, 'mysql');
    const problems = d.issues.map((i) => `${i.blocks}: ${i.problem}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^all: 0001_plain\.sql is neither an \.up\.sql nor a \.down\.sql/),
        expect.stringMatching(/^all: 0002_orphan\.down\.sql has no matching 0002_orphan\.up\.sql/),
        expect.stringMatching(/^all: Migration id 0003_dup exists twice/),
        expect.stringMatching(/^down: Migration 0004_no_down has no down file: 0004_no_down\.down\.sql does not exist/),
        expect.stringMatching(/^all: 0005_bad_phase\.up\.sql line 1 declares phase "mid-deploy"/),
        expect.stringMatching(/^all: 0006_ack_no_reason\.up\.sql line 1 has "-- migrate:ack" without a rule and a reason/),
        expect.stringMatching(/^all: 0006_ack_no_reason\.up\.sql line 2 has an unknown directive "migrate:nonsense"/),
        expect.stringMatching(/^all: 0007_delim\.up\.sql line 1 uses DELIMITER/),
        expect.stringMatching(/^all: 0008_empty\.up\.sql holds no SQL statement/),
        // A code that is not a rule would acknowledge nothing, silently: refused like --ack refuses it.
        expect.stringMatching(/^all: 0009_ack_typo\.up\.sql line 1 acknowledges "BC1O2", which is not a rule code/),
        expect.stringMatching(/^all: 0010_ts_ack_typo\.ts acknowledges "DS001", not a rule code/),
      ]),
    );
    const noDown = d.issues.find((i) => i.id === '0004_no_down');
    expect(noDown?.fix).toBe(`Create ${join(dir, '0004_no_down.down.sql')} with the statements that undo 0004_no_down.up.sql.`);
    await expect(loadMigrations(dir, 'mysql')).rejects.toThrow(MigrateError);
  });

  test('a TypeScript file that does not compile is named with the compiler line', async () => {
    const dir = dirWith({ '0001_typo.ts': "export async function up(knex) {\n  await knex.raw('x'\n}\nexport async function down() {}\n" });
    const d = await discoverMigrations(dir, 'mysql');
    expect(d.issues).toHaveLength(1);
    expect(d.issues[0]?.problem).toMatch(/^Cannot load migration 0001_typo\.ts: .*0001_typo\.ts:3:\d+: ERROR: /);
    await expect(d.migrations[0]?.up({} as never)).rejects.toThrow(/Cannot load migration 0001_typo\.ts/);
  });

  test('a missing directory is a config error', async () => {
    await expect(discoverMigrations('/nonexistent/migrations', 'mysql')).rejects.toMatchObject({ kind: 'config' });
  });
});
