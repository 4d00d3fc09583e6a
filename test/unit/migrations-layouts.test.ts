import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { discoverMigrations } from '../../src/migrations/discover.ts';
import { compareVersions, versionOfId } from '../../src/migrations/layouts/version.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const roots: string[] = [];
afterEach(() => roots.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function dirWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'migrate-layouts-'));
  roots.push(root);
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  for (const [n, body] of Object.entries(files)) writeFileSync(join(dir, n), body);
  return dir;
}

describe('versionOfId: the version each tool records for a file stem', () => {
  test('golang-migrate and goose: an integer; dbmate: the digit string; Flyway: dotted; none for the others', () => {
    expect(versionOfId('0002_add_x', 'golang-migrate')).toBe('2');
    expect(versionOfId('20230101120000_create_users', 'goose')).toBe('20230101120000');
    expect(versionOfId('00010_x', 'goose')).toBe('10');
    expect(versionOfId('0002_add_x', 'dbmate')).toBe('0002');
    expect(versionOfId('20240102000000_add_price', 'pop')).toBe('20240102000000');
    expect(versionOfId('V1_1__add_total', 'flyway')).toBe('1.1');
    expect(versionOfId('V2__add_users', 'flyway')).toBe('2');
    expect(versionOfId('V1.2.3__x', 'flyway')).toBe('1.2.3');
    expect(versionOfId('R__orders_view', 'flyway')).toBeUndefined();
    expect(versionOfId('add_x', 'golang-migrate')).toBeUndefined();
    expect(versionOfId('0001_x', 'native')).toBeUndefined();
    expect(versionOfId('20230101_x', 'knex')).toBeUndefined();
  });

  test('compareVersions orders segments as integers', () => {
    expect(['100', '2', '10', '1.10', '1.2', '1'].sort(compareVersions)).toEqual(['1', '1.2', '1.10', '2', '10', '100']);
    expect(compareVersions('1', '1.0')).toBe(0);
  });
});

describe('layout detection', () => {
  test.each([
    ['golang-migrate', /30_drop_magic\.down\.sql pairs with an up file of version 30 under another title/],
    ['goose', /has a "-- \+goose Up" annotation/],
    ['dbmate', /has a "-- migrate:up" section/],
    ['flyway', /is named like a Flyway migration/],
    ['pop', /20240102000000_add_price\.mysql\.up\.sql is written for one database, as pop \(soda\) names them/],
    ['knex', /run\.spec\.ts is a test module/],
  ])('the %s fixture is read as %s', async (tool, why) => {
    const d = await discoverMigrations(join(ROOT, 'test/fixtures/layouts', tool), 'mysql');
    expect(d.layout).toBe(tool);
    expect(d.layoutReason).toMatch(why);
    expect(d.issues).toEqual([]);
  });

  test("this tool's own directories stay native, and so do padded, regular numbered pairs", async () => {
    for (const fx of ['migrations-mysql', 'migrations-pg', 'check-pass-mysql']) {
      const d = await discoverMigrations(join(ROOT, 'test/fixtures', fx), 'mysql');
      expect(d.layout).toBe('native');
      expect(d.notes).toEqual([]);
    }
    const dir = dirWith({ '0001_a.up.sql': 'SELECT 1;', '0001_a.down.sql': 'SELECT 1;', '0002_b.up.sql': 'SELECT 2;' });
    expect((await discoverMigrations(dir, 'mysql')).layout).toBe('native');
  });

  test('unpadded versions or a comment-only up in numbered pairs mean golang-migrate', async () => {
    const unpadded = dirWith({ '1_a.up.sql': 'SELECT 1;', '10_b.up.sql': 'SELECT 1;', '9_c.up.sql': 'SELECT 1;' });
    const d = await discoverMigrations(unpadded, 'postgres');
    expect(d.layout).toBe('golang-migrate');
    expect(d.migrations.map((m) => m.id)).toEqual(['1_a', '9_c', '10_b']);
    const placeholder = dirWith({ '0001_a.up.sql': 'SELECT 1;', '0002_b.up.sql': '-- nothing\n' });
    expect((await discoverMigrations(placeholder, 'postgres')).layoutReason).toMatch(/0002_b\.up\.sql is a comment-only placeholder/);
  });
});

describe('layout detection: the project around the files', () => {
  test('numbered JS/TS modules beside a knexfile are a knex history; a stray .sql does not hide a golang-migrate one', async () => {
    const dir = dirWith({ '20230101_a.js': 'exports.up = async () => {};\nexports.down = async () => {};\n' });
    expect((await discoverMigrations(dir, 'mysql')).layout).toBe('native');
    writeFileSync(join(dir, '..', 'knexfile.js'), 'module.exports = {};\n');
    const d = await discoverMigrations(dir, 'mysql');
    expect(d.layout).toBe('knex');
    expect(d.layoutReason).toMatch(/knexfile\.js configures knex for this project$/);
    const gm = dirWith({ '9_a.up.sql': 'SELECT 1;', '10_b.up.sql': 'SELECT 1;', 'seed.sql': 'SELECT 1;' });
    const g = await discoverMigrations(gm, 'mysql');
    expect(g.layout).toBe('golang-migrate');
    expect(g.notes.map((n) => n.kind)).toEqual(['layout', 'skipped-file', 'version-order', 'missing-down', 'missing-down']);
  });
});

describe('golang-migrate', () => {
  test('two ups of one version (1_ and 01_) are refused: which one ran cannot be told', async () => {
    const dir = dirWith({ '1_a.up.sql': 'SELECT 1;', '01_b.up.sql': 'SELECT 2;' });
    const d = await discoverMigrations(dir, 'mysql', 'golang-migrate');
    expect(d.issues.map((i) => [i.blocks, i.problem])).toEqual([['all', expect.stringMatching(/^Version 1 exists twice: 01_b\.up\.sql and 1_a\.up\.sql/)]]);
  });

  test('a control character in a file name is still refused', async () => {
    const dir = dirWith({ '1_a\nb.up.sql': 'SELECT 1;' });
    const d = await discoverMigrations(dir, 'mysql', 'golang-migrate');
    expect(d.issues[0]?.problem).toMatch(/contains a control character/);
    expect(d.issues[0]?.blocks).toBe('all');
  });
});

describe('goose', () => {
  test('a StatementBegin/End block is one statement, whatever it holds; NO TRANSACTION runs every statement outside a transaction', async () => {
    const dir = dirWith({
      '00001_proc.sql': [
        '-- +goose Up',
        '-- +goose StatementBegin',
        '-- comment before the statement',
        'CREATE TABLE a (id int);',
        'INSERT INTO a VALUES (1);',
        '-- +goose StatementEnd',
        'CREATE TABLE b (id int);',
        '-- +goose Down',
        'DROP TABLE b; DROP TABLE a;',
      ].join('\n'),
      '00002_nt.sql': '-- +goose NO TRANSACTION\n-- +goose Up\nCREATE TABLE c (id int);\n-- +goose Down\nDROP TABLE c;\n',
    });
    const d = await discoverMigrations(dir, 'postgres');
    const [proc, nt] = d.migrations;
    expect(proc?.upStatements).toEqual([
      { sql: 'CREATE TABLE a (id int);\nINSERT INTO a VALUES (1)', line: 4, noTransaction: false },
      { sql: 'CREATE TABLE b (id int)', line: 7, noTransaction: false },
    ]);
    expect(proc?.downSql).toEqual(['DROP TABLE b', 'DROP TABLE a']);
    expect(proc?.downPath).toBe(proc?.upPath);
    expect(proc?.version).toBe('1');
    expect(nt?.transactional).toBe(false);
    expect(nt?.upStatements?.map((s) => s.noTransaction)).toEqual([true]);
    expect(nt?.downStatements?.map((s) => s.noTransaction)).toEqual([true]);
  });

  test('what goose itself refuses is refused: no Up annotation, an unclosed StatementBegin', async () => {
    const dir = dirWith({
      '00001_no_up.sql': '-- +goose Up\nSELECT 1;\n',
      '00002_missing.sql': 'CREATE TABLE x (id int);\n-- +goose Down\nDROP TABLE x;\n',
      '00003_open.sql': '-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n',
    });
    const d = await discoverMigrations(dir, 'mysql', 'goose');
    expect(d.issues.map((i) => `${i.blocks}: ${i.problem}`)).toEqual([
      'all: 00002_missing.sql has no "-- +goose Up" line, so nothing in it is the up migration.',
      'all: 00003_open.sql line 2: StatementBegin without a StatementEnd; goose refuses the file too.',
    ]);
  });
});

describe('acknowledgements in files of both directions', () => {
  test('-- migrate:ack above the first annotation or in the up section is read (goose, dbmate)', async () => {
    const goose = dirWith({ '00001_a.sql': '-- migrate:ack RV101 the table is dropped by hand on rollback\n-- +goose Up\nCREATE TABLE a (id int);\n' });
    const g = await discoverMigrations(goose, 'mysql');
    expect(g.issues).toEqual([]);
    expect(g.migrations[0]?.acknowledgements).toEqual([{ rule: 'RV101', reason: 'the table is dropped by hand on rollback' }]);
    const dbmate = dirWith({ '20240101000000_a.sql': '-- migrate:up\n-- migrate:ack RV101 no way back\nCREATE TABLE a (id int);\n' });
    const d = await discoverMigrations(dbmate, 'mysql');
    expect(d.issues).toEqual([]);
    expect(d.migrations[0]?.acknowledgements).toEqual([{ rule: 'RV101', reason: 'no way back' }]);
    const empty = dirWith({ '20240101000000_a.sql': '-- migrate:up\n-- migrate:down\n' });
    expect((await discoverMigrations(empty, 'mysql')).issues).toEqual([]);
  });
});

describe('dbmate', () => {
  test('transaction:false applies to its own section only; an unknown option is refused', async () => {
    const dir = dirWith({
      '20240101000000_a.sql': '-- migrate:up transaction:false\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n',
      '20240102000000_b.sql': '-- migrate:up transactions:false\nSELECT 1;\n',
    });
    const d = await discoverMigrations(dir, 'postgres');
    expect(d.layout).toBe('dbmate');
    expect(d.migrations[0]?.upStatements?.map((s) => [s.line, s.noTransaction])).toEqual([[2, true]]);
    expect(d.migrations[0]?.downStatements?.map((s) => [s.line, s.noTransaction])).toEqual([[4, false]]);
    expect(d.migrations[0]?.version).toBe('20240101000000');
    expect(d.issues.map((i) => i.problem)).toEqual([
      '20240102000000_b.sql line 1: unknown option "transactions:false" (dbmate knows transaction:false); dbmate refuses the file too.',
    ]);
  });
});

describe('Flyway', () => {
  test('V1.1 and V1_1 are one version: refused; repeatables run after every versioned migration', async () => {
    const dir = dirWith({ 'V1.1__a.sql': 'SELECT 1;', 'V1_1__b.sql': 'SELECT 1;', 'R__a_view.sql': 'SELECT 1;', 'V20__c.sql': 'SELECT 1;' });
    const d = await discoverMigrations(dir, 'mysql');
    expect(d.issues.map((i) => i.problem)).toEqual([expect.stringMatching(/^Version 1\.1 exists twice: V1\.1__a\.sql and V1_1__b\.sql/)]);
    expect(d.migrations.map((m) => [m.id, m.version])).toEqual([
      ['V1.1__a', '1.1'],
      ['V20__c', '20'],
      ['R__a_view', undefined],
    ]);
  });
});

describe('Flyway on MySQL: DELIMITER', () => {
  test('statements written under DELIMITER $$ end at $$, each one statement; the DELIMITER lines are not sent', async () => {
    const dir = dirWith({
      'V1__proc.sql': [
        'CREATE TABLE t (id int);',
        'DELIMITER $$',
        'CREATE PROCEDURE p()',
        'BEGIN',
        '  INSERT INTO t VALUES (1);',
        '  INSERT INTO t VALUES (2);',
        'END$$',
        'DELIMITER ;',
        'CALL p();',
      ].join('\n'),
    });
    const d = await discoverMigrations(dir, 'mysql');
    expect(d.issues).toEqual([]);
    expect(d.migrations[0]?.upStatements?.map((s) => [s.line, s.sql])).toEqual([
      [1, 'CREATE TABLE t (id int)'],
      [3, 'CREATE PROCEDURE p()\nBEGIN\n  INSERT INTO t VALUES (1);\n  INSERT INTO t VALUES (2);\nEND'],
      [9, 'CALL p()'],
    ]);
  });
});

describe('knex', () => {
  test('test modules and modules without up() are skipped with a note; a module without down() is not reversible', async () => {
    const dir = dirWith({
      '20230101_a.js': 'exports.up = async () => {};\n',
      'run.js': 'exports.run = () => 1;\n',
      'run.test.js': 'exports.x = 1;\n',
      'seed.js': 'throw new Error("needs the application around it");\n',
    });
    const d = await discoverMigrations(dir, 'mysql');
    expect(d.layout).toBe('knex');
    expect(d.issues).toEqual([]);
    expect(d.migrations.map((m) => [m.id, m.reversible])).toEqual([['20230101_a', false]]);
    expect(d.notes.map((n) => `${n.kind} ${n.severity} ${n.blocks}`)).toEqual([
      'layout info none',
      'skipped-file info none',
      'missing-down error down',
      'skipped-file info none',
      'skipped-file info none',
    ]);
    writeFileSync(join(dir, '20230101_a.ts'), 'export async function up() {}\n');
    const twice = await discoverMigrations(dir, 'mysql');
    expect(twice.issues.map((i) => [i.blocks, i.problem])).toEqual([
      ['all', 'Migration id 20230101_a exists twice: 20230101_a.js and 20230101_a.ts (a compiled copy beside its source?).'],
    ]);
    expect(d.notes[4]?.problem).toMatch(/^seed\.js cannot be imported \(.*needs the application around it.*\) and is not numbered like a migration/);
  });
});

describe('the layout in the config', () => {
  test('migrations.layout is read; a value that is not a layout names the choices', async () => {
    const dir = dirWith({});
    const cfg = join(dir, '..', 'migrate.config.json');
    const base = { dialect: 'mysql', connection: { host: '127.0.0.1', user: 'root', database: 'x' } };
    writeFileSync(cfg, JSON.stringify({ ...base, migrations: { layout: 'goose' } }));
    expect((await loadConfig({ configPath: cfg })).migrationsLayout).toBe('goose');
    writeFileSync(cfg, JSON.stringify({ ...base, migrations: { layout: 'sqitch' } }));
    await expect(loadConfig({ configPath: cfg })).rejects.toMatchObject({
      kind: 'config',
      fix: expect.stringContaining('"auto", "native", "golang-migrate", "goose", "dbmate", "flyway", "pop", "knex"'),
    });
  });
});
