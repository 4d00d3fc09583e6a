/** Shards: the canary cluster first, then the rest; the first failure stops the rollout. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { ProjectConfig } from '../../src/config/types.ts';
import { rollout } from '../../src/execution/rollout.ts';
import type { Logger } from '../../src/log/logger.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, out: () => undefined };

describe('multi-cluster rollout', () => {
  const sbs: RunningSandbox[] = [];
  let config: ProjectConfig;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-shards-'));
    writeFileSync(join(dir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY);\n');
    writeFileSync(join(dir, '0001_create_t.down.sql'), 'DROP TABLE t;\n');
    for (let i = 0; i < 3; i++) sbs.push(await startSandbox({ topology: 'single', migrationsDir: dir }));
    const configs = await Promise.all(sbs.map((s) => loadConfig({ configPath: s.configPath })));
    const base = configs[0]!;
    // One application login for every shard, as real shards have.
    for (const s of sbs.slice(1)) {
      const c = await s.mysql(s.nodes[0]!.name);
      await c.query("ALTER USER 'app'@'127.0.0.1' IDENTIFIED BY ?", [base.connection.password]);
      await c.end();
    }
    config = { ...base, clusters: configs.map((c, i) => ({ ...c.clusters[0]!, name: `shard${i + 1}` })) };
  });
  afterAll(async () => {
    for (const s of sbs) await s.stop();
  });

  it('runs the canary, stops at the failing shard, and never starts the next', async () => {
    // shard2 already has a table t, so its migration fails.
    const c2 = await sbs[1]!.mysql(sbs[1]!.nodes[0]!.name);
    await c2.query('CREATE TABLE app.t (x INT)');
    await c2.end();
    const err = await rollout(config, config.clusters, {
      shadow: { host: '127.0.0.1', port: 3306, user: 'root', database: '' },
      dryRun: false,
      maxWriteBlockMs: 1000,
      catchUpTimeoutMs: 10_000,
      phases: 'all',
      hold: false,
      logger: quiet,
      canary: 'shard1',
      concurrency: 1,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'work', problem: expect.stringMatching(/cluster shard2 failed.*Done: shard1; not started: shard3/) });
    const tables = async (i: number) => {
      const c = await sbs[i]!.mysql(sbs[i]!.nodes[0]!.name);
      const [rows] = await c.query("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA='app' AND TABLE_NAME='migrate_ledger'");
      await c.end();
      return Number((rows as { n: number }[])[0]?.n);
    };
    expect(await tables(0), 'shard1 ran').toBe(1);
    expect(await tables(2), 'shard3 never started').toBe(0);
  });

  it("looks for the gate's shadow server only when something is pending", async () => {
    const shard1 = config.clusters.filter((c) => c.name === 'shard1');
    const opts = { dryRun: false, maxWriteBlockMs: 1000, catchUpTimeoutMs: 10_000, phases: 'all' as const, hold: false, logger: quiet, concurrency: 1 };
    await rollout(config, shard1, { ...opts, shadow: { host: '127.0.0.1', port: 3306, user: 'root', database: '' } });
    // Nothing pending now: a deploy host without any MySQL for a shadow must still be able to run apply.
    let lookups = 0;
    const unreachable = async (): Promise<never> => {
      lookups++;
      throw new Error('no shadow server here');
    };
    await expect(rollout(config, shard1, { ...opts, shadow: unreachable })).resolves.toBeDefined();
    expect(lookups).toBe(0);
  });
});
