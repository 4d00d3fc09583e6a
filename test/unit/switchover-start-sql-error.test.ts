/**
 * Before the switchover's steps run, only a lost connection is "the old primary failed before the
 * first step" (switchover.ts notStarted): an SQL error on the first statement (here the server
 * refuses CONNECTION_ID() with an access error) is not a node gone away, and saying so would send
 * the operator to check a node that answers. It goes on as the error it is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flavorFor } from '../../src/engines/index.ts';
import { Journal } from '../../src/execution/journal.ts';
import { switchover } from '../../src/execution/switchover.ts';
import { NoWriter } from '../../src/execution/writer/command.ts';

describe('a switchover whose first statement fails with an SQL error', () => {
  let server: ReturnType<typeof mysql.createServer>;
  let port = 0;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mig-swsql-'));
    server = mysql.createServer((conn) => {
      conn.serverHandshake({
        protocolVersion: 10,
        serverVersion: '10.11.6-MariaDB',
        connectionId: 7,
        statusFlags: 2,
        characterSet: 8,
        capabilityFlags: 0xffffff,
      });
      // The login succeeds; every statement is refused, the connection stays up.
      conn.on('query', () => conn.writeError({ message: 'Access denied; you need the PROCESS privilege', code: 1227 }));
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

  it('is not said to be the old primary failing before the first step', async () => {
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
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toMatch(/failed before the first step/);
    expect((err as Error).message).toMatch(/PROCESS privilege/);
  });
});
