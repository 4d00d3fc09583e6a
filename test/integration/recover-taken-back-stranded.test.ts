/**
 * Recovery after a switchover whose promotion was taken back (its endpoint did not move), on a
 * real MariaDB primary and replica behind HAProxy with faultCluster's root load: the old primary is
 * the writer again, and `migrate resume` elects it. Root passes read_only, so a root client on the
 * candidate can still commit there afterwards; electing the old primary would then leave that
 * write stranded on a replica. resume compares what each node holds of the candidate's own writes
 * (the candidate goes on replicating the old primary's newer ones) and refuses, naming them, with nothing changed;
 * without such a write (switchover-errors.test.ts, switchover-endpoint-undo.test.ts) it finishes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultCluster, type FaultCluster, rows } from '../faults/cluster.ts';
import { cli, lastJournal, show } from '../faults/harness.ts';
import { readInvariants } from '../faults/invariants.ts';

describe('resume after a taken-back promotion', () => {
  let fc: FaultCluster;
  beforeAll(async () => {
    fc = await faultCluster(1);
  }, 180_000);
  afterAll(async () => {
    await fc?.stop();
  });

  const node = <T>(name: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => fc.onNode(name, fn);

  it('the candidate took a root write after the take-back: resume refuses, naming it, and changes nothing', async () => {
    const { primary, candidate } = await fc.roles();
    fc.mig.next();
    // A writer command that refuses: the endpoint never moves, so the promotion is taken back.
    const config = JSON.parse(readFileSync(fc.sb.configPath, 'utf8')) as { clusters: { writer: unknown }[] };
    for (const c of config.clusters) c.writer = { type: 'command', command: "echo 'endpoint API: 503' >&2; exit 1" };
    const refusing = join(fc.sb.dir, 'migrate.refusing.json');
    writeFileSync(refusing, JSON.stringify(config, null, 2));
    const r = await cli(['--config', refusing, 'apply', '--strategy', 'replica-first', '--max-write-block', '10000']);
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(/The switchover was undone/);
    const position = String(
      lastJournal(fc.sb)
        .filter((e) => e.step === 'position' && e.phase === 'end')
        .at(-1)?.data?.['position'],
    );

    // Read-only, but root passes it: a write of the candidate's own.
    const gtid = await node(candidate, async (c) => {
      await c.query("INSERT INTO app.items (id, c) VALUES (900999, 'root on the read-only candidate')");
      return String((await rows<{ g: string }>(c, 'SELECT @@last_gtid AS g'))[0]?.g);
    });
    const before = await readInvariants(fc.sb);
    expect(before.writable).toEqual([primary]);

    const res = await fc.migrate(['resume']);
    expect(res.code, show(res)).toBe(1);
    expect(res.error).toContain(`${candidate}'s promotion was taken back, but it holds transactions of its own that ${primary} does not have (${gtid}).`);
    // That write came after the position recorded under the lock, which the run journaled.
    expect(position).toMatch(/^\d+-\d+-\d+/);
    expect(res.fix).toMatch(/^Compare the two nodes' data/);
    expect(res.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
    // Nothing changed: the old primary the only writable node, the candidate read-only, still
    // replicating from it, and holding its write.
    const after = await readInvariants(fc.sb);
    expect(after.writable).toEqual([primary]);
    expect(await node(candidate, async (c) => Number((await rows<{ ro: number }>(c, 'SELECT @@read_only AS ro'))[0]?.ro))).toBe(1);
    expect(await node(candidate, (c) => rows(c, 'SELECT id FROM app.items WHERE id = 900999'))).toHaveLength(1);
    expect(await node(candidate, async (c) => (await rows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS'))[0]?.['Master_Port'])).toBe(
      fc.sb.node(primary).port,
    );
  }, 300_000);
});
