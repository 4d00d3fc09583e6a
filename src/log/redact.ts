/**
 * One process-wide registry of secret values. Everything that prints (logger, errors, journals,
 * JSON output) passes through redact(), so a password that reached memory can never reach output.
 */
const secrets = new Set<string>();
const MASK = '***';

export function registerSecret(value: string | undefined | null): void {
  // Very short values would mask unrelated text (a password "a" would eat every "a").
  if (value && value.length >= 3) secrets.add(value);
}

/** Whether `text` holds a registered secret: what holds one is never written to disk (the analysis cache). */
export function holdsSecret(text: string): boolean {
  for (const s of secrets) if (text.includes(s)) return true;
  return false;
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join(MASK);
    const enc = encodeURIComponent(s);
    if (enc !== s && out.includes(enc)) out = out.split(enc).join(MASK);
  }
  // Credentials embedded in URLs, even ones never registered.
  out = out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]+:)([^@\s/]+)(@)/gi, `$1${MASK}$3`);
  return out;
}

/** Deep-copies a value, replacing every string through redact() and every password-like key. */
export function redactValue<T>(value: T): T {
  return walk(value) as T;
}

const SECRET_KEY = /pass(word)?|secret|token/i;

function walk(v: unknown, key?: string): unknown {
  if (typeof v === 'string') return key && SECRET_KEY.test(key) && !/(env|file)$/i.test(key) ? MASK : redact(v);
  if (Array.isArray(v)) return v.map((x) => walk(x));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = walk(x, k);
    return out;
  }
  return v;
}
