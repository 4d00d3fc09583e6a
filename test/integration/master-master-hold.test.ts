/**
 * Master-master with --hold: the passive side is altered and promoted, the old active keeps the
 * old schema as a hot rollback target; `rollback` switches back and undoes, `finalize` completes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { ProjectConfig } from '../../src/config/types.ts';
import { apply } from '../../src/execution/apply.ts';
import { finalize, loadHold, rollback } from '../../src/execution/hold.ts';
import { parseServersState, runtimeCommand } from '../../src/sandbox/haproxy.ts';
import type { Logger } from '../../src/log/logger.ts';
import { withRecordedRoles } from '../../src/topology/roles-state.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const quiet: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined, out: () => undefined };
const shadow = { host: '127.0.0.1', port: 3306, user: 'root', database: '' };

describe('master-master hold, rollback and finalize', () => {
  let sb: RunningSandbox;
  let config: ProjectConfig;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-hold-'));
    writeFileSync(join(dir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL);\n');
    writeFileSync(join(dir, '0001_create_t.down.sql'), 'DROP TABLE t;\n');
    writeFileSync(join(dir, '0002_widen_n.up.sql'), 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n');
    writeFileSync(join(dir, '0002_widen_n.down.sql'), 'ALTER TABLE t MODIFY n INT NOT NULL;\n');
    sb = await startSandbox({ topology: 'master-master', proxy: true, migrationsDir: dir });
    config = await loadConfig({ configPath: sb.configPath });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  async function columnType(node: string): Promise<string> {
    const c = await sb.mysql(node);
    const [rows] = await c.query("SELECT DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='t' AND COLUMN_NAME='n'");
    await c.end();
    return String((rows as { t: string }[])[0]?.t);
  }

  async function writable(): Promise<string[]> {
    const out: string[] = [];
    for (const n of sb.nodes) {
      const c = await sb.mysql(n.name);
      const [rows] = await c.query('SELECT @@read_only AS ro');
      await c.end();
      if (Number((rows as { ro: number }[])[0]?.ro) === 0) out.push(n.name);
    }
    return out;
  }

  /** The sandbox HAProxy's read pool (backend readers), as its runtime API shows it. */
  async function readers(): Promise<Record<string, string>> {
    if (sb.writer.type !== 'haproxy') throw new Error('expected haproxy');
    const text = await runtimeCommand(sb.writer.socket, 'show servers state readers');
    return Object.fromEntries(parseServersState(text).map((x) => [x.name, x.state]));
  }

  const run = (hold: boolean) =>
    apply({
      config,
      cluster: withRecordedRoles(config)[0]!,
      shadow,
      dryRun: false,
      maxWriteBlockMs: 2000,
      catchUpTimeoutMs: 60_000,
      phases: 'all',
      hold,
      logger: quiet,
      strategy: 'replica-first',
    });

  it('holds the old active on the old schema, then rolls back to it', async () => {
    const active = withRecordedRoles(config)[0]!.nodes.find((n) => n.role === 'active')!.name;
    const passive = withRecordedRoles(config)[0]!.nodes.find((n) => n.role === 'passive')!.name;
    const r = await run(true);
    expect(r.steps.find((s) => s.id === '0002_widen_n')?.newPrimary).toBe(passive);
    expect(await writable()).toEqual([passive]);
    expect(await columnType(passive)).toBe('bigint');
    expect(await columnType(active)).toBe('int');
    expect(loadHold(config, 'sandbox')?.heldNode).toBe(active);
    // The read pool followed: the promoted passive left it, the held old active (caught up) joined.
    expect(await readers()).toEqual({ [active]: 'ready', [passive]: 'maint' });
    // The new schema's rows keep flowing to the held node during the hold.
    const w = await sb.mysqlWriter();
    await w.query('INSERT INTO t VALUES (1, 42)');
    await w.end();
    await rollback(config, withRecordedRoles(config)[0]!, { maxWriteBlockMs: 2000 }, () => undefined);
    expect(await writable()).toEqual([active]);
    expect(await columnType(active)).toBe('int');
    expect(await columnType(passive)).toBe('int');
    expect(loadHold(config, 'sandbox')).toBeUndefined();
    expect(await readers()).toEqual({ [active]: 'maint', [passive]: 'ready' });
    const a = await sb.mysql(active);
    const [rows] = await a.query('SELECT n FROM app.t WHERE id = 1');
    const [ledger] = await a.query("SELECT id FROM app.migrate_ledger WHERE id = '0002_widen_n'");
    await a.end();
    expect((rows as { n: number }[])[0]?.n).toBe(42);
    expect(ledger).toEqual([]);
  });

  it('holds again, then finalize brings both sides to the new schema', async () => {
    await run(true);
    const cluster = withRecordedRoles(config)[0]!;
    await finalize(config, cluster, () => undefined);
    for (const n of sb.nodes) expect(await columnType(n.name)).toBe('bigint');
    expect((await writable()).length).toBe(1);
    expect(loadHold(config, 'sandbox')).toBeUndefined();
  });
});
