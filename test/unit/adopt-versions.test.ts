import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.ts';
import { MigrateError } from '../../src/errors.ts';
import { mapToolLedger } from '../../src/migrations/adopt/history.ts';
import { emptyToolLedger, type ToolLedger } from '../../src/migrations/adopt/tool-ledger.ts';
import { compareVersions, versionKey, versionOfId } from '../../src/migrations/adopt/versions.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';

describe('versionOfId: the version each tool records for a file stem', () => {
  it('golang-migrate and goose read the leading digits as a number', () => {
    for (const tool of ['golang-migrate', 'goose'] as const) {
      expect(versionOfId('0002_add_users', tool)).toBe('2');
      expect(versionOfId('2_add_users', tool)).toBe('2');
      expect(versionOfId('20230101120000_create_users', tool)).toBe('20230101120000');
      expect(versionOfId('000_init', tool)).toBe('0');
      expect(versionOfId('add_users', tool)).toBeUndefined();
    }
  });

  it('dbmate keeps the digits as written', () => {
    expect(versionOfId('0002_add_users', 'dbmate')).toBe('0002');
    expect(versionOfId('20230101120000_create_users', 'dbmate')).toBe('20230101120000');
    expect(versionOfId('readme', 'dbmate')).toBeUndefined();
  });

  it('Flyway reads V files only, "_" as ".", segments as numbers', () => {
    expect(versionOfId('V2__add_users', 'flyway')).toBe('2');
    expect(versionOfId('V1_1__split', 'flyway')).toBe('1.1');
    expect(versionOfId('V1.01__dotted', 'flyway')).toBe('1.1');
    expect(versionOfId('V010__padded', 'flyway')).toBe('10');
    expect(versionOfId('R__views', 'flyway')).toBeUndefined();
    expect(versionOfId('U2__add_users', 'flyway')).toBeUndefined();
    expect(versionOfId('V2_missing_separator', 'flyway')).toBeUndefined();
  });
});

describe('versionKey and compareVersions: equality and order as the tool sees them', () => {
  it('0002 and 2 are one version for golang-migrate and goose, two for dbmate', () => {
    expect(versionKey('0002', 'golang-migrate')).toBe(versionKey('2', 'golang-migrate'));
    expect(versionKey('0002', 'goose')).toBe('2');
    expect(versionKey('0002', 'dbmate')).not.toBe(versionKey('2', 'dbmate'));
    expect(versionKey('-1', 'golang-migrate')).toBe('-1');
    expect(versionKey('x1', 'goose')).toBeUndefined();
  });

  it('Flyway: 1.0 is 1, 1.10 comes after 1.9', () => {
    expect(versionKey('1.0', 'flyway')).toBe('1');
    expect(versionKey('1_0_0', 'flyway')).toBe('1');
    expect(compareVersions('1.10', '1.9', 'flyway')).toBe(1);
    expect(compareVersions('1.1', '1.1.0', 'flyway')).toBe(0);
    expect(compareVersions('2', '10', 'flyway')).toBe(-1);
  });

  it('numbers, not text: 2 before 100', () => {
    expect(compareVersions('2', '100', 'golang-migrate')).toBe(-1);
    expect(compareVersions('100', '0002', 'goose')).toBe(1);
    expect(compareVersions('0099', '100', 'dbmate')).toBe(-1);
  });
});

function mig(id: string): MigrationSource {
  return { id, format: 'sql', upPath: `/m/${id}.up.sql`, checksum: `sum-${id}`, acknowledgements: [], up: async () => undefined };
}

function ledger(part: Partial<ToolLedger>): ToolLedger {
  return { ...emptyToolLedger(), ...part };
}

describe('mapToolLedger: the old history onto the files', () => {
  const files = ['0001_create_users', '0002_add_email', '0003_add_orders', '0004_index_orders'].map(mig);

  it('golang-migrate: every file up to the recorded version is applied, the rest pending', () => {
    const h = mapToolLedger(
      { tool: 'golang-migrate', table: 'schema_migrations' },
      ledger({ upTo: { version: '2', name: '2', appliedAt: null, named: true } }),
      files,
      '/m',
    );
    expect(h.entries.map((e) => e.id)).toEqual(['0001_create_users', '0002_add_email']);
    expect(h.entries[0]).toMatchObject({ checksum: 'sum-0001_create_users', appliedBy: 'golang-migrate (schema_migrations)', source: 'golang-migrate' });
    expect(h.unfinished).toEqual([]);
    expect(h.problems).toEqual([]);
  });

  it('golang-migrate dirty: the recorded version is unfinished, neither applied nor pending, with the repair commands', () => {
    const h = mapToolLedger(
      { tool: 'golang-migrate', table: 'schema_migrations' },
      ledger({
        upTo: { version: '3', name: '3', appliedAt: null, named: true },
        unfinished: [{ version: '3', name: '3', appliedAt: null, what: 'golang-migrate marked version 3 dirty' }],
      }),
      files,
      '/m',
    );
    expect(h.entries.map((e) => e.id)).toEqual(['0001_create_users', '0002_add_email']);
    expect(h.unfinished).toEqual([expect.objectContaining({ id: '0003_add_orders', hasFile: true, what: 'golang-migrate marked version 3 dirty' })]);
    expect(h.unfinished[0]?.fix).toContain('migrate repair 0003_add_orders --mark-applied');
    expect(h.unfinished[0]?.fix).toContain('migrate repair 0003_add_orders --forget');
  });

  it('a recorded version with no file is a named missing-file row and a warning, not dropped', () => {
    const h = mapToolLedger(
      { tool: 'goose', table: 'goose_db_version' },
      ledger({
        applied: [
          { version: '1', name: '1', appliedAt: new Date('2024-01-01T00:00:00Z') },
          { version: '7', name: '7', appliedAt: null },
        ],
      }),
      files,
      '/m',
    );
    expect(h.entries.map((e) => [e.id, e.checksum])).toEqual([
      ['0001_create_users', 'sum-0001_create_users'],
      ['7', ''],
    ]);
    expect(h.entries[0]?.appliedAt?.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(h.problems).toEqual(['goose_db_version (goose) records version 7 as applied, but no file in /m has it: shown as missing-file 7.']);
  });

  it('dbmate matches the digit string exactly: "1" is not the version of 0001_create_users', () => {
    const h = mapToolLedger(
      { tool: 'dbmate', table: 'schema_migrations' },
      ledger({
        applied: [
          { version: '0002', name: '0002', appliedAt: null },
          { version: '1', name: '1', appliedAt: null },
        ],
      }),
      files,
      '/m',
    );
    expect(h.entries.map((e) => e.id)).toEqual(['0002_add_email', '1']);
    expect(h.problems[0]).toContain('records version 1 as applied, but no file');
  });

  it('Flyway: a baseline covers the versions under it without a warning of its own; repeatables match by script', () => {
    const fw = ['V1__init', 'V1_1__users', 'V2__orders', 'V3__invoices', 'R__views'].map(mig);
    const h = mapToolLedger(
      { tool: 'flyway', table: 'flyway_schema_history' },
      ledger({
        upTo: { version: '1.1', name: 'V1.1', appliedAt: null, named: false },
        applied: [
          { version: '2', name: 'V2__orders', appliedAt: null },
          { id: 'R__views', name: 'R__views', appliedAt: null },
        ],
      }),
      fw,
      '/m',
    );
    expect(h.entries.map((e) => e.id).sort()).toEqual(['R__views', 'V1_1__users', 'V1__init', 'V2__orders']);
    expect(h.problems).toEqual([]);
  });

  it('two files of one version are both taken, with a warning naming them', () => {
    const h = mapToolLedger(
      { tool: 'goose', table: 'goose_db_version' },
      ledger({ applied: [{ version: '2', name: '2', appliedAt: null }] }),
      [mig('0002_a'), mig('2_b')],
      '/m',
    );
    expect(h.entries.map((e) => e.id)).toEqual(['0002_a', '2_b']);
    expect(h.problems[0]).toContain('version 2 is the version of 2 files (0002_a.up.sql, 2_b.up.sql)');
  });
});

describe('config "adopt"', () => {
  const base = { dialect: 'postgres', connection: { host: 'h', port: 5432, user: 'u', database: 'd' } };

  it("takes each tool's default table, or the one given", () => {
    expect(validateConfig({ ...base, adopt: { tool: 'golang-migrate' } }, 'c.json', '/p').adopt).toEqual({
      tool: 'golang-migrate',
      table: 'schema_migrations',
    });
    expect(validateConfig({ ...base, adopt: { tool: 'goose' } }, 'c.json', '/p').adopt).toEqual({ tool: 'goose', table: 'goose_db_version' });
    expect(validateConfig({ ...base, adopt: { tool: 'flyway', table: 'fw_history' } }, 'c.json', '/p').adopt).toEqual({ tool: 'flyway', table: 'fw_history' });
    expect(validateConfig({ ...base, adoptKnex: true }, 'c.json', '/p').adopt).toEqual({ tool: 'knex', table: 'knex_migrations' });
  });

  function configError(input: unknown): MigrateError {
    try {
      validateConfig(input, 'c.json', '/p');
    } catch (e) {
      if (e instanceof MigrateError) return e;
      throw e;
    }
    throw new Error('expected a config error');
  }

  it('refuses an unknown tool, a table name that is not plain, and both keys at once, saying what to write', () => {
    const tool = configError({ ...base, adopt: { tool: 'liquibase' } });
    expect(tool.exitCode).toBe(2);
    expect(`${tool.problem} ${tool.fix}`).toContain('"golang-migrate"');
    const table = configError({ ...base, adopt: { tool: 'dbmate', table: 'x; drop table y' } });
    expect(table.problem).toContain('not a plain table name');
    const both = configError({ ...base, adoptKnex: true, adopt: { tool: 'goose' } });
    expect(both.problem).toContain('both "adoptKnex" and "adopt"');
    expect(both.fix).toContain('"adopt": {"tool": "knex", "table": "knex_migrations"}');
  });
});
