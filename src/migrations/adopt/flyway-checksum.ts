import { crc32 } from 'node:zlib';

/**
 * The checksum Flyway records for a SQL migration (flyway_schema_history.checksum): a CRC-32 over
 * the file's lines as Java's BufferedReader.readLine splits them (\n, \r or \r\n; the terminators
 * left out, so line endings do not count), the byte-order mark of the first line removed, each line
 * as UTF-8; the 32 bits read as a signed int, as Flyway stores them.
 */
export function flywayChecksum(text: string): number {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split(/\r\n|\r|\n/);
  // readLine returns no empty last line for a file that ends with a terminator (or is empty).
  if (lines.at(-1) === '') lines.pop();
  let crc = 0;
  for (const line of lines) crc = crc32(Buffer.from(line, 'utf8'), crc);
  return crc | 0;
}
