/**
 * The switchover's first statements, before its steps run (switchover.ts notStarted), against a
 * MySQL-protocol server (mysql2's) that accepts the login and then misbehaves:
 * - it drops the connection (a server going away, a proxy cutting it): the failure must still be a
 *   typed error naming the node and the next step, as every later one is (switchover.ts failed()),
 *   not the driver's error printed as an "unexpected failure"; `migrate rollback` relies on it too;
 * - it refuses the statement with an SQL error: not a node gone away, and saying so would send the
 *   operator to check a node that answers, so it goes on as the error it is.
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

type Conn = Parameters<Parameters<typeof mysql.createServer>[0]>[0];

/** A server that logs anyone in and answers every statement with `onQuery`, for the file's tests. */
function fakeServer(onQuery: (conn: Conn) => void): { port: () => number; dir: () => string } {
  let server: ReturnType<typeof mysql.createServer>;
  let port = 0;
  let dir = '';
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
      conn.on('query', () => onQuery(conn));
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
  return { port: () => port, dir: () => dir };
}

/** A switchover from node a to b on that server; what it threw. */
async function switchoverError(port: number, dir: string): Promise<unknown> {
  const node = (name: string) => ({ name, role: 'primary' as const, host: '127.0.0.1', port, user: 'root', password: '' });
  const journal = Journal.open(dir, 'sw');
  try {
    return await switchover({
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
  } finally {
    journal.close();
  }
}

describe('a switchover whose node drops the connection after login', () => {
  const s = fakeServer((conn) => conn.destroy());
  it('is a typed error naming the old primary and resume/abort, not the driver error', async () => {
    const err = await switchoverError(s.port(), s.dir());
    expect(err).toBeInstanceOf(MigrateError);
    const m = err as MigrateError;
    expect(m.problem).toMatch(
      /^The switchover could not start: the old primary a failed before the first step \(the server closed the connection: it went away\)\. Nothing was blocked\.$/,
    );
    expect(m.fix).toContain(RESUME_OR_ABORT);
    expect(m.exitCode).toBe(1);
  });
});

describe('a switchover whose first statement fails with an SQL error', () => {
  const s = fakeServer((conn) => conn.writeError({ message: 'Access denied; you need the PROCESS privilege', code: 1227 }));
  it('is not said to be the old primary failing before the first step', async () => {
    const err = await switchoverError(s.port(), s.dir());
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toMatch(/failed before the first step/);
    expect((err as Error).message).toMatch(/PROCESS privilege/);
  });
});
