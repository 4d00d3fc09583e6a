import { createHash } from 'node:crypto';

/**
 * sha256 over the file contents, hex. Line endings are normalised first so a checkout with
 * core.autocrlf does not look like an edited migration.
 */
export function checksumOf(contents: readonly string[]): string {
  const h = createHash('sha256');
  contents.forEach((c, k) => {
    if (k > 0) h.update('\0');
    h.update(c.replace(/\r\n/g, '\n'));
  });
  return h.digest('hex');
}

/** The prefix shown in tables; long enough to be unique in practice, short enough to read. */
export function shortChecksum(checksum: string | null | undefined): string {
  return checksum ? checksum.slice(0, 12) : '-';
}
