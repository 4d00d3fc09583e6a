/**
 * The MySQL 8 flavor's statements on a real MySQL 8 server, where a Docker engine exists
 * (testcontainers). Without one the suite is skipped with a message; the generated SQL is still
 * covered by test/unit/flavors.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDockerReachable } from '../../src/sandbox/docker.ts';
import { flavorFor, flavorNameFromVersion } from '../../src/engines/index.ts';
import { startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

const docker = await isDockerReachable();
if (!docker) console.info('MySQL 8 flavor tests skipped: no Docker engine is reachable (no DOCKER_HOST, no responding /var/run/docker.sock).');

describe.skipIf(!docker)('MySQL 8 flavor on a real server (testcontainers)', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await startSandbox({ topology: 'single', provider: 'docker' });
  }, 300_000);
  afterAll(async () => {
    await sb?.stop();
  });

  it('runs read_only, GTID position, GTID wait and replica-status statements as generated', async () => {
    const c = await sb.mysql(sb.nodes[0]!.name);
    try {
      const [v] = await c.query('SELECT VERSION() AS v');
      const flavor = flavorFor(flavorNameFromVersion(String((v as { v: string }[])[0]?.v)));
      expect(flavor.name).toMatch(/^mysql8/);
      for (const sql of flavor.setReadOnly(true)) await c.query(sql);
      const [ro] = await c.query('SELECT @@super_read_only AS s, @@read_only AS r');
      expect(ro).toEqual([{ s: 1, r: 1 }]);
      for (const sql of flavor.setReadOnly(false)) await c.query(sql);
      const [pos] = await c.query(flavor.gtidPositionQuery());
      const p = String((pos as { pos: string }[])[0]?.pos ?? '');
      const [w] = await c.query(flavor.waitForGtid(p, 1));
      expect(flavor.isWaitOk((w as { res: number }[])[0]?.res)).toBe(true);
      const [st] = await c.query(flavor.showReplicaStatus());
      expect(st).toEqual([]);
    } finally {
      await c.end();
    }
  });
});
