/**
 * `migrate rollback` of a held master-master change whose hold recorded no down statements, on a
 * real cluster: the down file on disk is used only while the up on disk is what the hold applied
 * (an up edited since the hold would pair with a down written for a different change), and the
 * output names the down file used. The pure decision, TypeScript migrations included, is in
 * test/unit/hold-rollback-down.test.ts; the other hold refusals are in errors-execution.test.ts.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, show } from '../faults/harness.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

describe('rollback of a hold without down statements uses the down file only for the held up', () => {
  let sb: RunningSandbox;
  let migDir: string;
  let holdFile: string;

  beforeAll(async () => {
    migDir = mkdtempSync(join(tmpdir(), 'mig-holddown-'));
    writeFileSync(join(migDir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL);\n');
    writeFileSync(join(migDir, '0001_create_t.down.sql'), 'DROP TABLE t;\n');
    // No down file at the hold: it records none, so rollback reads the down from disk.
    writeFileSync(join(migDir, '0002_widen_n.up.sql'), 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n');
    sb = await startSandbox({ topology: 'master-master', proxy: true, migrationsDir: migDir });
    holdFile = join(sb.dir, '.migrate', 'hold-sandbox.json');
  }, 240_000);
  afterAll(async () => {
    await sb?.stop();
    rmSync(migDir, { recursive: true, force: true });
  });

  /** What a change would show: each node's read_only and column type, the ledger, the hold. */
  async function state(): Promise<string> {
    const out: string[] = [];
    for (const n of sb.nodes) {
      const c = await sb.mysql(n.name);
      const [r] = (await c.query(
        "SELECT @@read_only AS ro, (SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='t' AND COLUMN_NAME='n') AS n",
      )) as unknown as [Record<string, unknown>[]];
      const [ledger] = (await c.query('SELECT id FROM app.migrate_ledger ORDER BY id')) as unknown as [Record<string, unknown>[]];
      await c.end();
      out.push(`${n.name}: ro=${r[0]?.['ro']} n=${r[0]?.['n']} ledger=${ledger.map((x) => x['id']).join(',')}`);
    }
    out.push(`hold: ${existsSync(holdFile) ? readFileSync(holdFile, 'utf8') : 'none'}`);
    return out.join('\n');
  }

  it('refuses while the up differs from the held statements, then rolls back with the down file and names it', async () => {
    const held = await cli(['--config', sb.configPath, 'apply', '--strategy', 'replica-first', '--hold']);
    expect(held.code, show(held)).toBe(0);
    const { heldNode, alteredNode, downStatements } = JSON.parse(readFileSync(holdFile, 'utf8')) as Record<string, unknown>;
    expect(downStatements).toEqual([]);
    const before = await state();
    expect(before).toContain(`${alteredNode}: ro=0 n=bigint(20)`);

    // The up edited after the hold, with a down written for the edited up.
    const up = join(migDir, '0002_widen_n.up.sql');
    writeFileSync(up, 'ALTER TABLE t MODIFY n DECIMAL(20,2) NOT NULL;\n');
    writeFileSync(join(migDir, '0002_widen_n.down.sql'), 'ALTER TABLE t MODIFY n INT NOT NULL;\n');
    const edited = await cli(['--config', sb.configPath, 'rollback']);
    expect(edited.code, show(edited)).toBe(1);
    expect(edited.error, show(edited)).toBe(
      `${up} is not what the hold applied on ${alteredNode}: statement 1 differs, so its down file may undo a different change.`,
    );
    expect(edited.fix, show(edited)).toBe(
      `Restore ${up} to the statements the hold applied ("statements" in ${holdFile}), with a down file that undoes them, then run \`migrate rollback\` again. Nothing was changed.`,
    );
    expect(edited.stderr).not.toMatch(/unexpected failure|\n\s+at /);
    expect(await state()).toBe(before);

    // The fix: the up as the hold applied it.
    writeFileSync(up, 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n');
    const r = await cli(['--config', sb.configPath, 'rollback']);
    expect(r.code, show(r)).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toContain(
      `0002_widen_n: the hold recorded no down statements; undoing with ${join(migDir, '0002_widen_n.down.sql')} as it is now (1 statement)`,
    );
    const after = await state();
    expect(after).toContain(`${heldNode}: ro=0 n=int(11) ledger=0001_create_t\n`);
    expect(after).toContain(`${alteredNode}: ro=1 n=int(11) ledger=0001_create_t\n`);
    expect(after).toContain('hold: none');
  });
});
