import { describe, expect, it } from 'vitest';
import { printable, statusText, type MigrationStatus } from '../../src/migrations/status.ts';

const row = (id: string, problems: string[], appliedBy: string | null = null): MigrationStatus => ({
  id,
  state: 'pending',
  checksum: null,
  ledgerChecksum: null,
  appliedAt: null,
  appliedBy,
  host: null,
  phase: null,
  executionMs: null,
  problems,
});

describe('status text', () => {
  it('cannot be given extra lines by a file name, a ledger value or a problem that quotes them', () => {
    const id = '0001_a\n0002_forged                 applied';
    const text = statusText([row(id, [`Migration ${id} has no down file.`], 'ci\r\nx')], '/m');
    const lines = text.split('\n');
    expect(lines.some((l) => l.startsWith('0002_forged'))).toBe(false);
    expect(text).toContain('0001_a\\u000a0002_forged');
    expect(text).toContain('! Migration 0001_a\\u000a0002_forged');
    expect(text).toContain('ci\\u000d\\u000ax');
  });

  it('writes line separators and bidirectional overrides as escapes too, and leaves other text alone', () => {
    expect(printable('a\u2028b\u202ec\u0085d')).toBe('a\\u2028b\\u202ec\\u0085d');
    expect(printable('0003_añadir_índice')).toBe('0003_añadir_índice');
  });
});
