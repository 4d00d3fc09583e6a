import { configError, usageError } from '../errors.ts';
import { registerSecret } from '../log/index.ts';
import { parseDurationMs } from './lock-safety.ts';
import type { RawHandoff } from './schema.ts';
import type { HandoffConfig, VerifyConfig } from './types.ts';

/** What an HTTP verify uses for what neither the config nor a flag says (docs/handoff.md). */
export const HTTP_VERIFY_DEFAULTS = { status: 200, retries: 10, intervalMs: 500, windowMs: 5000, timeoutMs: 2000 } as const;

/**
 * The "handoff" key with its durations in ms and the HTTP defaults filled in. The URL must be
 * http(s); a password in it is registered as a secret so no log line or journal entry shows it.
 */
export function resolveHandoff(raw: RawHandoff, source: string): HandoffConfig {
  return {
    ...(raw.deploy !== undefined ? { deploy: raw.deploy } : {}),
    ...(raw.verify !== undefined ? { verify: resolveVerify(raw.verify, source) } : {}),
    ...(raw.rollback !== undefined ? { rollback: raw.rollback } : {}),
  };
}

function resolveVerify(v: NonNullable<RawHandoff['verify']>, source: string): VerifyConfig {
  if ('command' in v) return { kind: 'command', command: v.command };
  checkVerifyUrl(v.url, `"handoff.verify.url" in ${source}`, 'config');
  const ms = (key: 'interval' | 'window' | 'timeout', fallback: number): number => {
    const raw = v[key];
    if (raw === undefined) return fallback;
    const parsed = typeof raw === 'number' ? raw : parseDurationMs(raw);
    if (parsed === undefined || parsed < 0 || (key !== 'window' && parsed === 0))
      throw configError(
        `"handoff.verify.${key}" in ${source} is ${JSON.stringify(raw)}, which is not a duration${key === 'window' ? '' : ' above 0'}.`,
        `Write it as "${key}": "500ms" (or "2s", or a number of milliseconds).`,
      );
    return parsed;
  };
  const d = HTTP_VERIFY_DEFAULTS;
  return {
    kind: 'http',
    url: v.url,
    status: v.status ?? d.status,
    retries: v.retries ?? d.retries,
    intervalMs: ms('interval', d.intervalMs),
    windowMs: ms('window', d.windowMs),
    timeoutMs: ms('timeout', d.timeoutMs),
  };
}

/**
 * An http:// or https:// URL, or the error naming where it came from (never the URL itself: it
 * may hold a password). Its password becomes a registered secret.
 */
export function checkVerifyUrl(url: string, where: string, from: 'config' | 'flag'): void {
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    const problem = `${where} is not an http:// or https:// URL.`;
    const fix = 'Write it as http://127.0.0.1:8080/health (user:password@ before the host for basic auth).';
    throw from === 'flag' ? usageError(problem, fix) : configError(problem, fix);
  }
  if (u.password) registerSecret(decodeURIComponent(u.password));
}
