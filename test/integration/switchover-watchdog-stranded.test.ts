/**
 * The write-block watchdog after the coordinator died past the promotion with the candidate
 * read-only again, on a real MariaDB primary and replica behind HAProxy: the coordinator's
 * take-back (switchover.ts closeUnwrittenCandidate) sets read_only=ON on the candidate after its
 * first look, and a write that committed on the candidate between that look and read_only=ON is
 * found only by the second look, which a SIGKILL can cut off. Before, the watchdog saw a read-only
 * candidate and made the old primary writable: that write stayed on a node that goes on as its
 * replica (a fork). Now the coordinator sends the position just before the promotion and the
 * watchdog opens the old primary only if the candidate holds nothing beyond it.
 *
 * The state is made by hand at the pause before the endpoint move (the candidate promoted): a
 * root write on the candidate, then read_only=ON there, then the coordinator SIGKILLed.
 */
import { existsSync, readFileSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultCluster, type FaultCluster, rows } from '../faults/cluster.ts';
import { lastJournal, lastJournalPath, show, sleep, startCli } from '../faults/harness.ts';

describe('the watchdog after a coordinator killed with the promoted candidate read-only again', () => {
  let fc: FaultCluster;
  beforeAll(async () => {
    fc = await faultCluster(1);
  }, 180_000);
  afterAll(async () => {
    await fc?.stop();
  });

  const node = <T>(name: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> => fc.onNode(name, fn);
  const readOnly = (name: string) => node(name, async (c) => Number((await rows<{ ro: number }>(c, 'SELECT @@read_only AS ro'))[0]?.ro));

  it('a write of its own on the candidate: the old primary is not made writable, the write is kept on the candidate', async () => {
    const { primary, candidate } = await fc.roles();
    fc.mig.next();
    const run = startCli(
      ['--config', fc.sb.configPath, 'apply', '--strategy', 'replica-first', '--max-write-block', '10000'],
      fc.pause.env('move-endpoint:begin'),
    );
    await fc.pause.reached(run);
    const gtid = await node(candidate, async (c) => {
      await c.query("INSERT INTO app.items (id, c) VALUES (900777, 'written on the promoted candidate')");
      const g = String((await rows<{ g: string }>(c, 'SELECT @@last_gtid AS g'))[0]?.g);
      await c.query('SET GLOBAL read_only=ON');
      return g;
    });
    process.kill(run.pid, 'SIGKILL');
    const r = await run.done;
    expect(r.signal, show(r)).toBe('SIGKILL');

    const notePath = `${lastJournalPath(fc.sb)}.watchdog`;
    const until = Date.now() + 40_000;
    while (!(existsSync(notePath) && readFileSync(notePath, 'utf8').includes('coordinator died')) && Date.now() < until) await sleep(100);
    const note = existsSync(notePath) ? readFileSync(notePath, 'utf8') : '(no watchdog note)';
    const position = String(lastJournal(fc.sb).find((e) => e.step === 'position' && e.phase === 'end')?.data?.['position']);
    expect(note).toContain(
      `after promoting ${candidate}, now read-only: it holds writes of its own (${gtid} beyond ${position}), so ${primary} was not made writable`,
    );
    expect(await readOnly(primary), 'the old primary stays read-only').toBe(1);
    expect(await readOnly(candidate)).toBe(1);
    expect(await node(primary, (c) => rows(c, 'SELECT id FROM app.items WHERE id = 900777'))).toHaveLength(0);

    expect(await node(candidate, (c) => rows(c, 'SELECT id FROM app.items WHERE id = 900777'))).toHaveLength(1);
    // No resume here: root's writes through the endpoint (faultCluster's root load, read_only does
    // not stop them) committed on the old primary once the watchdog released its lock, so both
    // nodes hold writes the other lacks, a fork no automatic step resolves (as in
    // switchover-endpoint-undo.test.ts's last case). This case ends the file.
  }, 300_000);
});
