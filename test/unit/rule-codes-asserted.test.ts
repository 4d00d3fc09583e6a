import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../src/analysis/rules/catalog.ts';

/**
 * Every rule code of the catalog must be asserted to fire by a test that runs the real servers
 * (issue 18, point 5), or be listed with its reason in test/rules-not-yet-fired.txt, a list that
 * may only shrink. A static scan, so it runs with the unit tests; what counts as asserting a code:
 * - in a corpus case (test/corpus/<dialect>/*.sql), its `-- findings:` line, which
 *   analysis-corpus.test.ts compares with the verdict's exact set of findings;
 * - in test/integration/** and test/corpus/** TypeScript, the code quoted ('BC116', 'BC116:error')
 *   on a line that is no comment, no negated assertion (`.not.`) and no acknowledgement (`ack`),
 *   where a code is named without being expected to fire.
 * Unit tests do not count: they feed the rules hand-made schema diffs, not what a server did.
 */
const testDir = dirname(dirname(fileURLToPath(import.meta.url)));
const ratchet = join(testDir, 'rules-not-yet-fired.txt');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Codes each file asserts fire, by the rules above. */
function assertedCodes(): Map<string, string[]> {
  const where = new Map<string, string[]>();
  const add = (code: string, file: string) => where.set(code, [...(where.get(code) ?? []), file.slice(testDir.length + 1)]);
  for (const file of [...filesUnder(join(testDir, 'integration')), ...filesUnder(join(testDir, 'corpus'))]) {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (file.endsWith('.sql')) {
      for (const l of lines.filter((x) => x.startsWith('-- findings:'))) for (const m of l.matchAll(/\b([A-Z]{2}\d{3}):/g)) add(m[1]!, file);
    } else if (file.endsWith('.ts')) {
      for (const l of lines) {
        if (/^\s*(\/\/|\*|\/\*)/.test(l) || /\.not\.|ack/i.test(l)) continue;
        for (const m of l.matchAll(/['"`]([A-Z]{2}\d{3})(?::[a-z]+)?['"`]/g)) add(m[1]!, file);
      }
    }
  }
  return where;
}

function listed(): Map<string, string> {
  const lines = readFileSync(ratchet, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return new Map(lines.map((l) => [l.split(/\s+/)[0]!, l.slice(l.split(/\s+/)[0]!.length).trim()]));
}

describe('every rule code fires in a real-server test', () => {
  const asserted = assertedCodes();
  const debt = listed();
  const codes = [...CATALOG.keys()];

  it('the catalog has codes and the scan finds assertions (the scan itself works)', () => {
    expect(codes.length).toBeGreaterThan(50);
    expect(asserted.get('BC101')?.length ?? 0).toBeGreaterThan(0);
  });

  it('no code lacks a test unless test/rules-not-yet-fired.txt lists it', () => {
    const unasserted = codes.filter((c) => !asserted.has(c) && !debt.has(c));
    expect(unasserted, 'add a case to test/integration/rule-codes-fire.test.ts (or list the code with its reason in test/rules-not-yet-fired.txt)').toEqual([]);
  });

  it('the list only shrinks: a listed code is unasserted, in the catalog, and says why', () => {
    const nowAsserted = [...debt.keys()].filter((c) => asserted.has(c));
    expect(nowAsserted, `asserted now (${nowAsserted.map((c) => asserted.get(c)!.join(', ')).join('; ')}): remove from test/rules-not-yet-fired.txt`).toEqual(
      [],
    );
    expect(
      [...debt.keys()].filter((c) => !CATALOG.has(c)),
      'not in the catalog',
    ).toEqual([]);
    expect(
      [...debt.entries()].filter(([, why]) => !why).map(([c]) => c),
      'listed without a reason',
    ).toEqual([]);
  });
});
