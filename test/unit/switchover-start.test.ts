/**
 * A node whose connections die right after login (a server going away, a proxy cutting them):
 * the switchover's first statements fail before its steps run. The failure must still be a typed
 * error naming the node and the next step, as every later one is (switchover.ts failed()), not the
 * driver's error printed as an "unexpected failure"; `migrate rollback` relies on it too (hold.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flavorFor } from '../../src/engines/index.ts';
import { MigrateError } from '../../src/errors.ts';
import { Journal } from '../../src/execution/journal.ts';
import { RESUME_OR_ABORT, switchover } from '../../src/execution/switchover.ts';
import { NoWriter } from '../../src/execution/writer/command.ts';

describe('a switchover whose node drops the connection after login', () => {
  let server: ReturnType<typeof mysql.createServer>;
  let port = 0;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mig-swstart-'));
    server = mysql.createServer((conn) => {
      conn.serverHandshake({
        protocolVersion: 10,
        serverVersion: '10.11.6-MariaDB',
        connectionId: 7,
        statusFlags: 2,
        characterSet: 8,
        capabilityFlags: 0xffffff,
      });
      // The login succeeds; the first statement finds the connection gone.
      conn.on('query', () => conn.destroy());
      conn.on('error', () => undefined);
    });
    // mysql2's server wraps a net.Server its typings do not show: listen on a free port through it.
    const net = (server as unknown as { _server: Server })._server;
    await new Promise<void>((res) => net.listen(0, '127.0.0.1', () => res()));
    port = (net.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((res) => server.close(() => res()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a typed error naming the old primary and resume/abort, not the driver error', async () => {
    const node = (name: string) => ({ name, role: 'primary' as const, host: '127.0.0.1', port, user: 'root', password: '' });
    const journal = Journal.open(dir, 'sw');
    const err = await switchover({
      flavor: flavorFor('mariadb'),
      primary: node('a'),
      candidate: { ...node('b'), role: 'replica' },
      replicas: [],
      writer: new NoWriter(),
      replicationUser: { user: 'root', password: '' },
      maxWriteBlockMs: 2000,
      maxLagBeforeBlockMs: 1000,
      catchUpTimeoutMs: 5000,
      masterMaster: false,
      journal,
      log: () => undefined,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    journal.close();
    expect(err).toBeInstanceOf(MigrateError);
    const m = err as MigrateError;
    expect(m.problem).toMatch(
      /^The switchover could not start: the old primary a failed before the first step \(the server closed the connection: it went away\)\. Nothing was blocked\.$/,
    );
    expect(m.fix).toContain(RESUME_OR_ABORT);
    expect(m.exitCode).toBe(1);
  });
});
