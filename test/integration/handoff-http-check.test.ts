/**
 * The hand-off's HTTP verify against a real HTTP server the test starts: healthy, unhealthy,
 * coming up within its retries, flapping inside the healthy window, no server at all, and a URL
 * with a password (sent as basic auth, never printed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { httpCheck, type HttpCheck } from '../../src/execution/handoff/index.ts';
import { registerSecret } from '../../src/log/index.ts';
import { healthServer, type HealthServer } from '../helpers/health-server.ts';

const fast = (url: string, o: Partial<HttpCheck> = {}): HttpCheck => ({ url, status: 200, retries: 5, intervalMs: 50, windowMs: 600, timeoutMs: 1000, ...o });

describe('HTTP verify (handoff/http-check.ts) against a real server', () => {
  let server: HealthServer | undefined;
  const logs: string[] = [];
  const log = (m: string): void => void logs.push(m);
  afterEach(async () => {
    await server?.close();
    server = undefined;
    logs.length = 0;
  });

  it('healthy: answers 200 at once and through the whole window', async () => {
    server = await healthServer(() => 200);
    const t0 = Date.now();
    const out = await httpCheck(fast(server.url), log);
    expect(out).toMatchObject({ ok: true });
    // It polled through the window rather than trusting the first answer.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    // Polls 50 ms apart; a busy machine stretches them, so a few is what proves it kept polling.
    expect(server.requests).toBeGreaterThanOrEqual(4);
  });

  it('comes up after 3 failing tries: healthy within its retries', async () => {
    server = await healthServer((n) => (n <= 3 ? 503 : 200));
    const out = await httpCheck(fast(server.url), log);
    expect(out).toMatchObject({ ok: true, detail: expect.stringContaining('after 4 tries') });
  });

  it('unhealthy: every try answers 503; fails after exactly `retries` tries, naming the last answer', async () => {
    server = await healthServer(() => 503);
    const out = await httpCheck(fast(server.url, { retries: 4 }), log);
    expect(out).toEqual({ ok: false, why: `${server.url} did not answer 200 in 4 tries (last: status 503)` });
    expect(server.requests).toBe(4);
  });

  it('flapping: healthy at first, then one 500 inside the window fails the check', async () => {
    // Healthy for 4 requests, then every third request fails.
    server = await healthServer((n) => (n > 4 && n % 3 === 0 ? 500 : 200));
    const out = await httpCheck(fast(server.url, { windowMs: 2000 }), log);
    expect(out.ok).toBe(false);
    expect(out.ok ? '' : out.why).toMatch(/answered 200 after 1 try, then status 500 .* into the 2 s window \(poll \d+\)/);
    // It stopped at the first bad poll, well before the window's end (2000 ms / 50 ms = 40 polls).
    expect(server.requests).toBeLessThan(10);
  });

  it('no server: the connection error is named', async () => {
    server = await healthServer(() => 200);
    const { url } = server;
    await server.close();
    server = undefined;
    const out = await httpCheck(fast(url, { retries: 2 }), log);
    expect(out).toEqual({ ok: false, why: `${url} did not answer 200 in 2 tries (last: no answer (ECONNREFUSED))` });
  });

  it('a password in the URL goes as basic auth and is never printed', async () => {
    server = await healthServer(() => 200);
    const password = 's3cret-pw';
    registerSecret(password);
    const url = `http://ops:${password}@127.0.0.1:${server.port}/health`;
    const out = await httpCheck(fast(url, { windowMs: 0 }), log);
    expect(out.ok).toBe(true);
    expect(server.lastAuth).toBe(`Basic ${Buffer.from(`ops:${password}`).toString('base64')}`);
    const printed = [...logs, out.ok ? (out.detail ?? '') : out.why].join('\n');
    expect(printed).toContain('http://ops:***@127.0.0.1');
    expect(printed).not.toContain(password);
  });
});
