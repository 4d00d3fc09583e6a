/**
 * MySQL/MariaDB in-place DDL behind a metadata lock: the ALTER gives up after lock_wait_timeout
 * and retries, so the application's writes queue behind it for at most that long, and the
 * migration completes once the lock holder is gone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log/logger.ts';
import { Runner } from '../../src/migrations/runner.ts';
import { freshDatabase, type FreshDatabase } from '../helpers/databases.ts';

describe('MySQL in-place DDL with lock_wait_timeout and retries', () => {
  let fdb: FreshDatabase;
  beforeAll(async () => {
    fdb = await freshDatabase('mysql');
  });
  afterAll(async () => {
    await fdb?.drop();
  });

  it('retries a metadata-lock wait without holding writes up for longer than the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-mdl-'));
    writeFileSync(join(dir, '0001_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, n INT NOT NULL DEFAULT 0);\n');
    writeFileSync(join(dir, '0001_t.down.sql'), 'DROP TABLE t;\n');
    const config = fdb.projectConfig(dir);
    const warnings: string[] = [];
    const logger: Logger = { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined, out: () => undefined };
    const lockSafety = { lockTimeoutMs: 1000, attempts: 20, retryBaseMs: 200, retryMaxMs: 400, statementTimeoutMs: 0 };
    const db = fdb.knex();
    await new Runner({ config, db, logger, lockSafety }).up();
    writeFileSync(join(dir, '0002_add.up.sql'), 'ALTER TABLE t ADD COLUMN note VARCHAR(20) NULL;\n');
    writeFileSync(join(dir, '0002_add.down.sql'), 'ALTER TABLE t DROP COLUMN note;\n');

    // A long transaction that read the table holds a shared metadata lock.
    const holder = fdb.knex();
    const trx = await holder.transaction();
    await trx.raw('SELECT * FROM t');
    // The application keeps inserting; record the slowest insert.
    const app = fdb.knex();
    let slowest = 0;
    let writes = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        const t = performance.now();
        await app.raw('INSERT INTO t (n) VALUES (1)');
        slowest = Math.max(slowest, performance.now() - t);
        writes++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const migrating = new Runner({ config, db, logger, lockSafety }).up();
    await new Promise((r) => setTimeout(r, 3500));
    await trx.commit();
    await migrating;
    running = false;
    await load;
    await holder.destroy();
    await app.destroy();
    const [cols] = (await db.raw("SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'")) as [
      { c: string }[],
    ];
    await db.destroy();
    console.log(`[mdl] ${warnings.length} retries; ${writes} application writes, slowest ${Math.round(slowest)} ms (lock_wait_timeout 1 s)`);
    expect(cols.map((r) => r.c)).toContain('note');
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toMatch(/lock_wait_timeout.*retrying/);
    expect(writes).toBeGreaterThan(5);
    // Writes wait behind the queued ALTER at most for its lock_wait_timeout (plus scheduling slack).
    expect(slowest).toBeLessThan(1000 + 600);
  });
});
