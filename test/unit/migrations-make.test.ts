import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import { discoverMigrations } from '../../src/migrations/discover.ts';
import { makeMigration, nextMigrationNumber, sanitizeMigrationName } from '../../src/migrations/make.ts';

describe('nextMigrationNumber', () => {
  test.each([
    [[], '0001'],
    [['0001_a', '0002_b'], '0003'],
    [['0009_x', '0010_y'], '0011'],
    [['0001_a', '0007_gap'], '0008'],
    [['0002_b', '0001_a'], '0003'],
    [['9999_last'], '10000'],
    [['00012_five_wide'], '00013'],
    [['20240101120000_knex_style', '0003_x'], '20240101120001'],
    [['readme', 'init_schema'], '0001'],
  ])('%j -> %s', (ids, next) => {
    expect(nextMigrationNumber(ids)).toBe(next);
  });
});

describe('sanitizeMigrationName', () => {
  test.each([
    ['add_users_email', 'add_users_email'],
    ['Add Users Email', 'add_users_email'],
    ['addUsersEmail', 'add_users_email'],
    ['  drop--legacy  table!! ', 'drop_legacy_table'],
    ['héllo wörld', 'hello_world'],
    ['v2.index', 'v2_index'],
  ])('%j -> %s', (raw, clean) => {
    expect(sanitizeMigrationName(raw)).toBe(clean);
  });

  test.each(['../evil', 'a/b', 'a\\b', '/etc/passwd', '..', 'x..y'])('refuses the path-like name %j', (raw) => {
    const e = (() => {
      try {
        sanitizeMigrationName(raw);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(MigrateError);
    expect((e as MigrateError).kind).toBe('usage');
    expect((e as MigrateError).problem).toContain('looks like a path');
  });

  test.each(['', '!!!', '___'])('refuses the empty name %j', (raw) => {
    expect(() => sanitizeMigrationName(raw)).toThrow(/no letters or digits/);
  });
});

describe('makeMigration', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'migrate-make-'));
    dirs.push(d);
    return d;
  };

  test('continues the highest number across TS files and SQL pairs, and creates the directory', () => {
    const root = tmp();
    const dir = join(root, 'migrations');
    expect(makeMigration(dir, 'create users').map((p) => p.slice(dir.length + 1))).toEqual(['0001_create_users.ts']);
    writeFileSync(join(dir, '0004_add_email.up.sql'), 'SELECT 1;');
    writeFileSync(join(dir, '0004_add_email.down.sql'), 'SELECT 1;');
    writeFileSync(join(dir, 'README.md'), 'not a migration 9999');
    const sql = makeMigration(dir, 'Backfill Email', { sql: true });
    expect(sql.map((p) => p.slice(dir.length + 1))).toEqual(['0005_backfill_email.up.sql', '0005_backfill_email.down.sql']);
    expect(readFileSync(sql[0] ?? '', 'utf8')).toContain('-- migrate:phase pre-deploy');
    expect(readFileSync(sql[1] ?? '', 'utf8')).toContain('undo 0005_backfill_email.up.sql');
    expect(readdirSync(dir).sort()).toEqual([
      '0001_create_users.ts',
      '0004_add_email.down.sql',
      '0004_add_email.up.sql',
      '0005_backfill_email.down.sql',
      '0005_backfill_email.up.sql',
      'README.md',
    ]);
  });

  test('the TypeScript template loads as a migration with up, down and a phase', async () => {
    const dir = join(tmp(), 'm');
    makeMigration(dir, 'first');
    const d = await discoverMigrations(dir, 'mysql');
    expect(d.issues).toEqual([]);
    expect(d.migrations[0]).toMatchObject({ id: '0001_first', format: 'ts', phase: 'pre-deploy' });
    expect(typeof d.migrations[0]?.down).toBe('function');
  });

  test('refuses path-like names without writing anything', () => {
    const dir = join(tmp(), 'm');
    expect(() => makeMigration(dir, '../../outside')).toThrow(MigrateError);
    expect(existsSync(dir)).toBe(false);
  });
});
