import { describe, expect, it } from 'vitest';
import { flywayChecksum } from '../../src/migrations/adopt/flyway-checksum.ts';

// Expected values computed independently with Java 17's java.util.zip.CRC32 over
// BufferedReader.readLine() lines, the first line's byte-order mark removed: the algorithm of
// Flyway's ChecksumCalculator (the values Flyway writes to flyway_schema_history.checksum).
describe("Flyway's checksum of a SQL migration", () => {
  it.each([
    ['one line with a final newline', 'CREATE TABLE t (id int);\n', 92137680],
    ['CRLF line ends and non-ASCII text', 'CREATE TABLE t (id int);\r\n-- é ünïcode\r\n', -100810652],
    ['a byte-order mark, an empty line, no final newline', '\uFEFFSELECT 1;\n\nSELECT 2;', -1665099012],
    ['an empty file', '', 0],
    ['a lone CR as a line end, then an empty line', 'x\ry\n\n', -1880741735],
  ])('%s', (_what, text, expected) => {
    expect(flywayChecksum(text)).toBe(expected);
  });

  it('line endings do not change it, any other byte does', () => {
    expect(flywayChecksum('a;\nb;\n')).toBe(flywayChecksum('a;\r\nb;\r\n'));
    expect(flywayChecksum('a;\nb;\n')).not.toBe(flywayChecksum('a;\nb; \n'));
  });
});
