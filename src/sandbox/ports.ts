import { createServer, type Server } from 'node:net';
import { MigrateError } from '../errors.ts';

/** Ports that belong to the machine's own servers: never handed out, whatever the kernel says. */
const RESERVED = new Set([3306, 5432, 33060]);

/**
 * Finds `count` distinct free TCP ports on 127.0.0.1. The kernel picks them (port 0), which keeps
 * two sandboxes started at the same moment (parallel test files) from racing for the same
 * port the way a scan from a fixed base would. All listeners stay open until every port is
 * chosen so the kernel cannot hand the same port out twice.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const srv = createServer();
      servers.push(srv);
      const port = await new Promise<number>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ port: 0, host, exclusive: true }, () => {
          const addr = srv.address();
          resolve(typeof addr === 'object' && addr ? addr.port : 0);
        });
      });
      if (port > 0 && !RESERVED.has(port)) ports.push(port);
    }
  } catch (e) {
    throw new MigrateError(
      'sandbox',
      `Could not find free TCP ports on ${host}: ${(e as Error).message}.`,
      'Check that the loopback interface is up, that the process may open listening sockets, and that the ephemeral port range (net.ipv4.ip_local_port_range) is not used up.',
      { cause: e },
    );
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  return ports;
}

/** True if nothing listens on host:port right now (a bind succeeds). */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const srv = createServer();
  return new Promise<boolean>((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
