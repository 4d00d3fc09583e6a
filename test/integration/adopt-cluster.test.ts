/**
 * Adopting another tool's history on a cluster: a golang-migrate project (its schema_migrations
 * table written on the primary in golang-migrate's shape, the schema its two migrations made
 * created by hand) whose next migration runs replica-first through `migrate apply`. The
 * replica-first path writes its ledger row outside `migrate up`; the rows golang-migrate recorded
 * must be adopted before it, or from then on `status` would read every migration golang-migrate
 * ran as pending and the next `apply` would run them again.
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, show } from '../faults/harness.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const IDS = ['1_create_users', '2_add_email', '3_widen_name'];

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

describe('a golang-migrate history adopted by a replica-first apply', () => {
  let sb: RunningSandbox;
  const migDir = mkdtempSync(join(tmpdir(), 'mig-adopt-cluster-'));
  beforeAll(async () => {
    writeFileSync(join(migDir, '1_create_users.up.sql'), 'CREATE TABLE users (id INT PRIMARY KEY, name CHAR(50) NOT NULL);\n');
    writeFileSync(join(migDir, '1_create_users.down.sql'), 'DROP TABLE users;\n');
    writeFileSync(join(migDir, '2_add_email.up.sql'), 'ALTER TABLE users ADD COLUMN email VARCHAR(100) NULL;\n');
    writeFileSync(join(migDir, '2_add_email.down.sql'), 'ALTER TABLE users DROP COLUMN email;\n');
    // CHAR -> VARCHAR: a COPY ALTER, run replica-first.
    writeFileSync(join(migDir, '3_widen_name.up.sql'), 'ALTER TABLE users MODIFY name VARCHAR(200) NOT NULL;\n');
    writeFileSync(join(migDir, '3_widen_name.down.sql'), 'ALTER TABLE users MODIFY name CHAR(50) NOT NULL;\n');
    sb = await startSandbox({ topology: 'primary-replica', replicas: 1, proxy: true, migrationsDir: migDir });
    const config = JSON.parse(readFileSync(sb.configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(sb.configPath, JSON.stringify({ ...config, adopt: { tool: 'golang-migrate' } }, null, 2));
    // What golang-migrate left: the schema of versions 1 and 2, and its one-row table at version 2.
    const p = await sb.mysql(sb.nodes[0]!.name);
    try {
      await p.query(`USE \`${sb.app.database}\``);
      await p.query('CREATE TABLE users (id INT PRIMARY KEY, name CHAR(50) NOT NULL, email VARCHAR(100) NULL)');
      await p.query("INSERT INTO users VALUES (1, 'ada', 'ada@example.com')");
      await p.query('CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, dirty BOOLEAN NOT NULL)');
      await p.query('INSERT INTO schema_migrations VALUES (2, 0)');
    } finally {
      await p.end();
    }
  }, 180_000);
  afterAll(async () => {
    await sb?.stop();
    rmSync(migDir, { recursive: true, force: true });
  });

  const status = async (): Promise<Record<string, string>> => {
    const r = await cli(['--config', sb.configPath, 'status', '--format', 'json']);
    expect(r.code, show(r)).toBe(0);
    const report = JSON.parse(r.stdout) as { migrations: Array<{ id: string; state: string }> };
    return Object.fromEntries(report.migrations.map((m) => [m.id, m.state]));
  };

  it('records the adopted rows before its own, so nothing golang-migrate ran reads as pending afterwards', async () => {
    expect(await status()).toEqual({ [IDS[0]!]: 'applied', [IDS[1]!]: 'applied', [IDS[2]!]: 'pending' });
    const apply = await cli(['--config', sb.configPath, 'apply', '--strategy', 'replica-first']);
    expect(apply.code, show(apply)).toBe(0);
    expect(apply.stderr).toContain('replica1 is the new primary');
    expect(await status()).toEqual({ [IDS[0]!]: 'applied', [IDS[1]!]: 'applied', [IDS[2]!]: 'applied' });
    // On every node: the ledger holds all three, adopted first; the column is widened; the data is there.
    for (const n of sb.nodes) {
      const c = await sb.mysql(n.name);
      try {
        await c.query(`USE \`${sb.app.database}\``);
        const ledger = await rows<{ id: string; applied_by: string }>(c, 'SELECT id, applied_by FROM migrate_ledger ORDER BY id');
        expect(
          ledger.map((r) => r.id),
          n.name,
        ).toEqual(IDS);
        expect(ledger[0]?.applied_by, n.name).toContain('adopting schema_migrations');
        expect(ledger[2]?.applied_by, n.name).toContain('(replica-first)');
        const [col] = await rows<{ t: string }>(
          c,
          "SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME = 'name'",
        );
        expect(col?.t, n.name).toBe('varchar(200)');
        expect(await rows(c, 'SELECT id, name, email FROM users'), n.name).toEqual([{ id: 1, name: 'ada', email: 'ada@example.com' }]);
      } finally {
        await c.end();
      }
    }
    // A second apply finds nothing to do rather than running 1 and 2 again.
    const again = await cli(['--config', sb.configPath, 'apply']);
    expect(again.code, show(again)).toBe(0);
    expect(again.stderr).toContain('nothing to apply: no pending migrations');
  }, 240_000);
});
