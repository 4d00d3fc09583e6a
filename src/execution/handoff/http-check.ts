import { formatMs, type VerifyConfig } from '../../config/index.ts';
import { redact } from '../../log/index.ts';
import type { Outcome } from './types.ts';

/** The HTTP verify as the config describes it (src/config/types.ts), without its tag. */
export type HttpCheck = Omit<Extract<VerifyConfig, { kind: 'http' }>, 'kind'>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * fetch() refuses a URL with credentials in it: they go in a basic-auth header instead. The URL
 * as shown (redacted) never carries the password.
 */
function request(raw: string): { url: string; headers: Record<string, string> } {
  const u = new URL(raw);
  if (!u.username && !u.password) return { url: raw, headers: {} };
  const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  return { url: u.toString(), headers: { authorization: `Basic ${auth}` } };
}

/** One request: undefined when it answered the expected status, else what it did instead. */
async function probe(target: { url: string; headers: Record<string, string> }, c: HttpCheck): Promise<string | undefined> {
  try {
    // redirect: manual, so a 302 to a login page is not taken for the health page's 200.
    const res = await fetch(target.url, { headers: target.headers, redirect: 'manual', signal: AbortSignal.timeout(c.timeoutMs) });
    await res.body?.cancel().catch(() => undefined);
    return res.status === c.status ? undefined : `status ${res.status}`;
  } catch (e) {
    if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return `no answer within ${formatMs(c.timeoutMs)}`;
    const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
    return `no answer (${cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e))})`;
  }
}

/**
 * The HTTP verify: up to `retries` polls, `intervalMs` apart, until the URL answers `status`;
 * from that answer on it must keep answering it at every poll for `windowMs` (a release that
 * comes up and falls over again, or flaps, fails here). One bad poll inside the window fails the
 * check: retries cover coming up, not going down again.
 */
export async function httpCheck(c: HttpCheck, log: (m: string) => void): Promise<Outcome> {
  const target = request(c.url);
  const shown = redact(c.url);
  log(
    `hand-off: checking ${shown} for status ${c.status} (up to ${c.retries} tries ${formatMs(c.intervalMs)} apart, then healthy for ${formatMs(c.windowMs)})`,
  );
  let last: string | undefined = 'not tried';
  let tries = 0;
  while (tries < c.retries) {
    tries++;
    last = await probe(target, c);
    if (last === undefined) break;
    if (tries < c.retries) await sleep(c.intervalMs);
  }
  if (last !== undefined) return { ok: false, why: `${shown} did not answer ${c.status} in ${tries} tries (last: ${last})` };
  const until = Date.now() + c.windowMs;
  let polls = 0;
  for (let left = c.windowMs; left > 0; left = until - Date.now()) {
    await sleep(Math.min(c.intervalMs, left));
    polls++;
    const bad = await probe(target, c);
    if (bad !== undefined)
      return {
        ok: false,
        why: `${shown} answered ${c.status} after ${tries} ${tries === 1 ? 'try' : 'tries'}, then ${bad} ${formatMs(c.windowMs - Math.max(0, until - Date.now()))} into the ${formatMs(c.windowMs)} window (poll ${polls})`,
      };
  }
  return {
    ok: true,
    detail: `${shown} answered ${c.status} after ${tries} ${tries === 1 ? 'try' : 'tries'} and stayed healthy for ${formatMs(c.windowMs)} (${polls} polls)`,
  };
}
