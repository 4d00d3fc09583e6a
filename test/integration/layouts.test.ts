import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Dialect } from '../../src/config/types.ts';
import { type CliRun, runCli } from '../helpers/cli.ts';
import { copyFixture, freshDatabase, type FreshDatabase } from '../helpers/databases.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LAYOUTS = join(ROOT, 'test/fixtures/layouts');

interface StatusJson {
  problems: string[];
  notes: Array<{ severity: string; kind: string; message: string }>;
  migrations: Array<{ id: string; state: string; problems: string[]; notes: Array<{ severity: string; kind: string; message: string }> }>;
}

/** A fresh database, a private copy of the layout's fixture and a config file pointing at both. */
interface Project {
  fresh: FreshDatabase;
  db: Knex;
  cli(...args: string[]): Promise<CliRun>;
  status(...flags: string[]): Promise<StatusJson>;
  remove(): Promise<void>;
}

async function project(dialect: Dialect, tool: string, configLayout?: string): Promise<Project> {
  const fresh = await freshDatabase(dialect);
  const fx = copyFixture(join(LAYOUTS, tool));
  const cfg = join(fx.dir, '..', 'migrate.config.json');
  const c = fresh.connection;
  const migrations = { directory: 'migrations', ...(configLayout ? { layout: configLayout } : {}) };
  writeFileSync(cfg, JSON.stringify({ dialect, connection: { host: c.host, port: c.port, user: c.user, database: c.database }, migrations }));
  const cli = (...args: string[]): Promise<CliRun> => runCli(['--config', cfg, ...args], { cwd: dirname(cfg), env: { ...process.env }, timeoutMs: 120_000 });
  return {
    fresh,
    db: fresh.knex(),
    cli,
    status: async (...flags) => {
      const r = await cli(...flags, 'status', '--format', 'json');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as StatusJson;
    },
    remove: async () => {
      await fresh.drop();
      fx.remove();
    },
  };
}

async function ledger(db: Knex): Promise<string[]> {
  return ((await db('migrate_ledger').select('id')) as Array<{ id: string }>).map((r) => r.id).sort();
}

function noteOf(s: StatusJson, id: string, kind: string): string {
  const n = s.migrations.find((m) => m.id === id)?.notes.find((x) => x.kind === kind);
  return n ? `${n.severity}: ${n.message}` : '';
}

describe.each(['mysql', 'postgres'] as const)('histories of other tools, through the CLI on %s', (dialect) => {
  describe('golang-migrate', () => {
    let p: Project;
    beforeAll(async () => {
      p = await project(dialect, 'golang-migrate');
    });
    afterAll(async () => p?.remove());

    test('status before up: numeric order, pairing by version, and the notes', async () => {
      const s = await p.status();
      expect(s.migrations.map((m) => [m.id, m.state])).toEqual([
        ['1_create_users', 'pending'],
        ['2_placeholder', 'pending'],
        ['10_add_email', 'pending'],
        ['30_add_magic', 'pending'],
        ['100_add_posts', 'pending'],
      ]);
      expect(s.problems).toEqual([]);
      expect(noteOf(s, '2_placeholder', 'empty-migration')).toMatch(/^info: .*holds no SQL statement .*runs as a no-op/);
      expect(noteOf(s, '10_add_email', 'missing-down')).toMatch(/^error: 10_add_email has no down .*cannot be reverted/);
      // 30_add_magic.up.sql pairs with 30_drop_magic.down.sql: no missing-down note for it.
      expect(s.migrations.find((m) => m.id === '30_add_magic')?.notes).toEqual([]);
      expect(s.notes.map((n) => `${n.severity} ${n.kind}`)).toEqual(['info layout', 'warning orphan-down', 'warning version-order']);
      expect(s.notes[1]?.message).toMatch(/^40_removed\.down\.sql has no up file of version 40/);
      expect(s.notes[2]?.message).toMatch(/run in numeric version order, as golang-migrate runs them: 1, 2, 10, 30, 100\./);
    });

    test('up runs the history (the placeholder as a no-op, 100 after 10); status shows the notes; down refuses the one without a down', async () => {
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(await ledger(p.db)).toEqual(['100_add_posts', '10_add_email', '1_create_users', '2_placeholder', '30_add_magic']);
      // 100_add_posts copies gm_users.email, which 10_add_email adds: it only runs in numeric order.
      expect(await p.db.schema.hasColumn('gm_posts', 'author_email')).toBe(true);
      const text = await p.cli('status');
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/2_placeholder +applied[^\n]*\n +info: 2_placeholder: 2_placeholder\.up\.sql holds no SQL statement/);
      expect(text.stdout).toMatch(/\n +error: 10_add_email has no down/);
      expect(text.stdout).toMatch(/Notes on .*:\n {2}info: Read as a golang-migrate history: 30_drop_magic\.down\.sql pairs with an up file of version 30/);
      expect(text.stdout).toMatch(/5 applied, 0 pending/);
      const down = await p.cli('down', '--to', '10_add_email');
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/Cannot revert 100_add_posts, 30_add_magic, 10_add_email: 10_add_email has no down/);
      expect(await ledger(p.db)).toHaveLength(5);
      const back = await p.cli('down');
      expect(back.code, back.stderr).toBe(0);
      expect(await p.db.schema.hasTable('gm_posts')).toBe(false);
    });

    test('--layout native reads the same files as this tool always did: the orphan down refuses', async () => {
      const s = await p.cli('--layout', 'native', 'status');
      expect(s.stdout).toMatch(/! 30_drop_magic\.down\.sql has no matching 30_drop_magic\.up\.sql/);
      const bad = await p.cli('--layout', 'liquibase', 'status');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(
        /^error: --layout "liquibase" is not a layout\.\nfix: Use one of auto, native, golang-migrate, goose, dbmate, flyway, pop, knex/,
      );
    });
  });

  describe('goose', () => {
    let p: Project;
    beforeAll(async () => {
      p = await project(dialect, 'goose');
    });
    afterAll(async () => p?.remove());

    test('up runs both-direction files, StatementBegin blocks whole, NO TRANSACTION; status shows the notes', async () => {
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(await ledger(p.db)).toEqual([
        '20230101120000_create_accounts',
        '20230102120000_placeholder',
        '20230103120000_notes_block',
        '20230104120000_nickname_no_tx',
      ]);
      expect(await p.db('gs_notes').select('id', 'body')).toEqual([{ id: 1, body: 'first; with a semicolon' }]);
      expect(await p.db.schema.hasColumn('gs_accounts', 'nickname')).toBe(true);
      const s = await p.status();
      expect(s.migrations.every((m) => m.state === 'applied')).toBe(true);
      expect(noteOf(s, '20230102120000_placeholder', 'empty-migration')).toMatch(
        /^info: .*the up section of 20230102120000_placeholder\.sql holds no SQL statement/,
      );
      expect(noteOf(s, '20230104120000_nickname_no_tx', 'missing-down')).toMatch(/^error: .*has no down \(no down section\)/);
      const down = await p.cli('down', '--to', '20230103120000_notes_block');
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/20230104120000_nickname_no_tx has no down/);
      // Undone by hand and forgotten, the next down runs the Down section's StatementBegin block.
      await p.db.schema.alterTable('gs_accounts', (t) => t.dropColumn('nickname'));
      const forget = await p.cli('repair', '20230104120000_nickname_no_tx', '--forget');
      expect(forget.code, forget.stderr).toBe(0);
      const back = await p.cli('down');
      expect(back.code, back.stderr).toBe(0);
      expect(await p.db.schema.hasTable('gs_notes')).toBe(false);
      expect(await p.db.schema.hasTable('gs_accounts')).toBe(true);
    });
  });

  describe('goose ENVSUB', () => {
    let p: Project;
    const vars = { GS_ENVSUB_TABLE: 'gs_envsub_accounts', GS_ENVSUB_LABEL: 'h5-label-from-env' };
    beforeAll(async () => {
      p = await project(dialect, 'goose-envsub', 'goose');
      Object.assign(process.env, vars);
    });
    afterAll(async () => {
      for (const k of Object.keys(vars)) delete process.env[k];
      await p?.remove();
    });

    test('up and down run the lines between ENVSUB ON and OFF with the environment substituted; output names the variables, not the values', async () => {
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      const rows = (await p.db('gs_envsub_accounts').select('id', 'label').orderBy('id')) as { id: number; label: string }[];
      // Row 1 took the substituted DEFAULT; row 2 was written after ENVSUB OFF, so its ${...} stayed as written.
      expect(rows).toEqual([
        { id: 1, label: 'h5-label-from-env' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the reference goose leaves as written outside ENVSUB
        { id: 2, label: '${GS_ENVSUB_LABEL}' },
      ]);
      const s = await p.status();
      expect(noteOf(s, '20230201120000_envsub_accounts', 'layout')).toMatch(
        /^info: 20230201120000_envsub_accounts\.sql: ENVSUB substituted \$GS_ENVSUB_TABLE \(line 3\), \$GS_ENVSUB_LABEL \(line 5\) from the environment/,
      );
      const printed = `${up.stdout}${up.stderr}${JSON.stringify(s)}`;
      expect(printed).not.toContain('h5-label-from-env');
      const down = await p.cli('down');
      expect(down.code, down.stderr).toBe(0);
      expect(await p.db.schema.hasTable('gs_envsub_accounts')).toBe(false);
    });
  });

  describe('dbmate', () => {
    let p: Project;
    beforeAll(async () => {
      p = await project(dialect, 'dbmate');
    });
    afterAll(async () => p?.remove());

    test('up runs migrate:up sections (transaction:false included); down runs the migrate:down section', async () => {
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(await ledger(p.db)).toEqual([
        '20240101000000_create_items',
        '20240102000000_placeholder',
        '20240103000000_price_no_tx',
        '20240104000000_create_tags',
      ]);
      expect(await p.db.schema.hasColumn('dm_items', 'price')).toBe(true);
      expect(await p.db.schema.hasTable('dm_tags')).toBe(true);
      const s = await p.status();
      expect(noteOf(s, '20240104000000_create_tags', 'missing-down')).toMatch(/^error: 20240104000000_create_tags has no down \(no down section\)/);
      expect(noteOf(s, '20240102000000_placeholder', 'empty-migration')).toMatch(/^info: /);
      expect(s.notes.map((n) => n.kind)).toEqual(['layout']);
      const refused = await p.cli('down');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/Cannot revert 20240104000000_create_tags/);
      await p.db.schema.dropTable('dm_tags');
      const forget = await p.cli('repair', '20240104000000_create_tags', '--forget');
      expect(forget.code, forget.stderr).toBe(0);
      const back = await p.cli('down');
      expect(back.code, back.stderr).toBe(0);
      expect(await p.db.schema.hasColumn('dm_items', 'price')).toBe(false);
    });
  });

  describe('pop', () => {
    let p: Project;
    beforeAll(async () => {
      p = await project(dialect, 'pop');
    });
    afterAll(async () => p?.remove());

    test("the dialect's own file replaces the generic one; other dialects' files and fizz are not run, with notes", async () => {
      const s = await p.status();
      expect(s.migrations.map((m) => [m.id, m.state])).toEqual([
        ['20240101000000_create_items', 'pending'],
        ['20240102000000_add_price', 'pending'],
        ['20240105000000_add_sku', 'pending'],
      ]);
      expect(s.problems).toEqual([]);
      const messages = s.notes.map((n) => `${n.severity}: ${n.message}`);
      expect(messages[0]).toMatch(/^info: Read as a pop history: 20240102000000_add_price\.\w+\.up\.sql is written for one database/);
      expect(messages).toContainEqual(expect.stringMatching(/^warning: 20240103000000_create_labels\.(up|down)\.fizz is a fizz migration .*does not run it/));
      expect(messages).toContainEqual(
        expect.stringMatching(
          /^info: 2 file\(s\) are for another database than \w+ \(20240102000000_add_price\.\w+\.up\.sql, 20240104000000_hash_index\.cockroach\.up\.sql\)/,
        ),
      );
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(await ledger(p.db)).toEqual(['20240101000000_create_items', '20240102000000_add_price', '20240105000000_add_sku']);
      // The dialect's file ran (NOT NULL DEFAULT 0), not the generic NUMERIC column.
      const row = (await p
        .db('pop_items')
        .insert({ id: 1, name: 'a' })
        .then(() => p.db('pop_items').first('price'))) as { price: unknown };
      expect(Number(row.price)).toBe(0);
      expect(await p.db.schema.hasTable('pop_labels')).toBe(false);
      const down = await p.cli('down', '--step', '2');
      expect(down.code, down.stderr).toBe(0);
      expect(await p.db.schema.hasColumn('pop_items', 'price')).toBe(false);
      expect(await p.db.schema.hasColumn('pop_items', 'sku')).toBe(false);
    });
  });

  describe('Flyway', () => {
    let p: Project;
    beforeAll(async () => {
      p = await project(dialect, 'flyway', 'flyway');
    });
    afterAll(async () => p?.remove());

    test('V in numeric version order, then R__; U is the down; notes for the orphan undo and the repeatable', async () => {
      const before = await p.status();
      expect(before.migrations.map((m) => m.id)).toEqual(['V1__create_orders', 'V1_1__add_total', 'V2__reserved', 'V10__order_totals', 'R__orders_view']);
      expect(before.notes.map((n) => `${n.severity} ${n.kind}`)).toEqual(['info layout', 'warning orphan-down', 'warning version-order']);
      expect(before.notes[0]?.message).toMatch(/^Read as a flyway history: set to flyway/);
      expect(before.notes[1]?.message).toMatch(/^U3__gone\.sql undoes version 3, which has no V file/);
      expect(noteOf(before, 'R__orders_view', 'repeatable')).toMatch(
        /^info: .*runs once, after the versioned ones\. Flyway re-runs it whenever its checksum changes; this tool does not/,
      );
      expect(noteOf(before, 'V2__reserved', 'missing-down')).toBe('');
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(await ledger(p.db)).toEqual(['R__orders_view', 'V10__order_totals', 'V1_1__add_total', 'V1__create_orders', 'V2__reserved']);
      expect(await p.db.schema.hasColumn('fw_order_totals', 'total')).toBe(true);
      expect(await p.db.schema.hasTable('fw_orders_view')).toBe(true);
      const refused = await p.cli('down');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/R__orders_view\.sql is a repeatable migration: Flyway has no undo for it, so it cannot be reverted/);
      await p.db.raw('DROP VIEW fw_orders_view');
      const forget = await p.cli('repair', 'R__orders_view', '--forget');
      expect(forget.code, forget.stderr).toBe(0);
      // U10__order_totals.sql is V10's down.
      const back = await p.cli('down');
      expect(back.code, back.stderr).toBe(0);
      expect(await p.db.schema.hasTable('fw_order_totals')).toBe(false);
      expect(await ledger(p.db)).toEqual(['V1_1__add_total', 'V1__create_orders', 'V2__reserved']);
    });
  });

  describe('knex', () => {
    let p: Project;
    beforeAll(async () => {
      p = await project(dialect, 'knex');
    });
    afterAll(async () => p?.remove());

    test('only modules exporting up() are migrations; the helper and the test module are skipped with a note', async () => {
      const up = await p.cli('up');
      expect(up.code, up.stderr).toBe(0);
      expect(await ledger(p.db)).toEqual(['20230101000000_create_people', '20230102000000_add_age']);
      expect(await p.db.schema.hasColumn('kx_people', 'age')).toBe(true);
      const s = await p.status();
      expect(s.notes.map((n) => `${n.severity}: ${n.message}`)).toEqual([
        'info: Read as a knex history: run.spec.ts is a test module beside JS/TS migrations.',
        'info: run.spec.ts is a test module, not a migration: skipped.',
        'info: run.ts exports no up() function: a helper module beside the knex migrations, skipped.',
      ]);
      expect(noteOf(s, '20230102000000_add_age', 'missing-down')).toMatch(/^error: Migration 20230102000000_add_age has no down\(\)/);
    });
  });
});
