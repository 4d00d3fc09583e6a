import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENGINE_VERSION, engineFingerprint, sourceFingerprint } from '../../src/analysis/cache.ts';

// A cached verdict must stop matching when any code that decides verdicts changes, the engines'
// rules and type-fit checks included (they live in src/engines, not src/analysis).
describe('analysis cache fingerprint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('changes when a source file in any hashed directory changes, and ignores other files', () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    mkdirSync(a);
    mkdirSync(b);
    writeFileSync(join(a, 'rules.ts'), 'export const x = 1;');
    writeFileSync(join(b, 'fit.ts'), 'export const y = 1;');
    const before = sourceFingerprint('v', [a, b]);
    writeFileSync(join(b, 'notes.md'), 'not source');
    expect(sourceFingerprint('v', [a, b])).toBe(before);
    writeFileSync(join(b, 'fit.ts'), 'export const y = 2;');
    expect(sourceFingerprint('v', [a, b])).not.toBe(before);
    expect(sourceFingerprint('v', [a, join(dir, 'absent')])).toBe(sourceFingerprint('v', [a]));
  });

  it('hashes src/engines as well as src/analysis', () => {
    const src = join(import.meta.dirname, '..', '..', 'src');
    // Seeded with the installed libpg-query's version: PostgreSQL's parser decides verdicts too.
    const parser = JSON.parse(readFileSync(join(src, '..', 'node_modules', 'libpg-query', 'package.json'), 'utf8')) as { version: string };
    const seed = `${ENGINE_VERSION}\0${parser.version}`;
    const both = sourceFingerprint(seed, [join(src, 'analysis'), join(src, 'engines')]);
    expect(engineFingerprint()).toBe(both);
    expect(both).not.toBe(sourceFingerprint(seed, [join(src, 'analysis')]));
    expect(both).not.toBe(sourceFingerprint(ENGINE_VERSION, [join(src, 'analysis'), join(src, 'engines')]));
  });
});
