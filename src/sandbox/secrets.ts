import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MigrateError } from '../errors.ts';
import { registerSecret } from '../log/index.ts';

export const SECRETS_DIR = 'secrets';

/**
 * A random password. base64url keeps it free of quotes, backslashes and `@:/`, so it survives SQL
 * literals, URLs and config files unescaped; 24 characters are plenty for a local sandbox.
 */
export function newPassword(): string {
  const pw = randomBytes(18).toString('base64url');
  registerSecret(pw);
  return pw;
}

/** `<dir>/secrets/<name>.password`, absolute. */
export function secretPath(dir: string, name: string): string {
  return join(dir, SECRETS_DIR, `${name}.password`);
}

/** Writes a password file readable by its owner only and returns its path. */
export function writeSecret(dir: string, name: string, password: string): string {
  const secrets = join(dir, SECRETS_DIR);
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  chmodSync(secrets, 0o700);
  const file = secretPath(dir, name);
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file; make sure it is 0600 in every case.
  chmodSync(file, 0o600);
  registerSecret(password);
  return file;
}

/** Reads a password file written by writeSecret() and registers the value for redaction. */
export function readSecret(file: string): string {
  if (!existsSync(file)) {
    throw new MigrateError(
      'sandbox',
      `The password file ${file} is missing.`,
      'The sandbox directory was changed by hand; run `migrate sandbox down` and `migrate sandbox up` again.',
    );
  }
  const pw = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  registerSecret(pw);
  return pw;
}
