/**
 * A small real HTTP server for the hand-off's verify tests: GET /health answers whatever `answer`
 * returns for the request's number (1-based), and every request is counted. Listens on 127.0.0.1
 * on a free port; `close()` ends it.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthServer {
  url: string;
  port: number;
  /** Requests seen so far (every path). */
  requests: number;
  /** The Authorization header of the last request, if any. */
  lastAuth?: string;
  /** Changes the answers from now on (the count keeps going). */
  answer: (n: number) => number;
  close(): Promise<void>;
}

export async function healthServer(answer: (n: number) => number): Promise<HealthServer> {
  const state = { requests: 0, answer } as HealthServer;
  const server = createServer((req: IncomingMessage, res) => {
    state.requests++;
    state.lastAuth = req.headers.authorization;
    const status = state.answer(state.requests);
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    res.end(status === 200 ? 'ok\n' : 'unhealthy\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  state.port = port;
  state.url = `http://127.0.0.1:${port}/health`;
  state.close = () => new Promise<void>((r) => server.close(() => r()));
  return state;
}
