import { redact } from './redact.ts';

/** All human output goes through here so it is redacted; data output (JSON) goes to stdout. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Machine-readable result on stdout. */
  out(msg: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => process.stderr.write(redact(m) + '\n'),
  warn: (m) => process.stderr.write(redact('warning: ' + m) + '\n'),
  error: (m) => process.stderr.write(redact(m) + '\n'),
  out: (m) => process.stdout.write(redact(m) + '\n'),
};
