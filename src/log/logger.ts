import { redact } from './redact.ts';

/** All human output goes through here so it is redacted; data output (JSON) goes to stdout. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Machine-readable result on stdout. */
  out(msg: string): void;
  /**
   * A structured event (e.g. the switchover's step timings) for machine-readable output; loggers
   * for people leave it out and say the same through info().
   */
  event?(name: string, data: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
  info: (m) => process.stderr.write(`${redact(m)}\n`),
  warn: (m) => process.stderr.write(`${redact(`warning: ${m}`)}\n`),
  error: (m) => process.stderr.write(`${redact(m)}\n`),
  out: (m) => process.stdout.write(`${redact(m)}\n`),
};

/**
 * JSON-lines events on stdout (`--format json` of the long-running commands): one object per
 * line, so a pipeline can follow a run as it happens.
 */
export const jsonLinesLogger: Logger = {
  info: (m) => process.stdout.write(`${redact(JSON.stringify({ ts: new Date().toISOString(), event: 'progress', message: m }))}\n`),
  warn: (m) => process.stdout.write(`${redact(JSON.stringify({ ts: new Date().toISOString(), event: 'warning', message: m }))}\n`),
  error: (m) => process.stdout.write(`${redact(JSON.stringify({ ts: new Date().toISOString(), event: 'error', message: m }))}\n`),
  out: (m) => process.stdout.write(`${redact(m)}\n`),
  event: (name, data) => process.stdout.write(`${redact(JSON.stringify({ ts: new Date().toISOString(), event: name, ...data }))}\n`),
};
