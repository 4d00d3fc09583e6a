import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../corpus/load.ts';
import { CASES } from '../corpus/replica-first/cases.ts';

/** The README's counts of the corpus suites are the corpus as the suites load it, not figures typed once (issue 18). */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8').replace(/\s+/g, ' ');

describe("the README's corpus counts", () => {
  it('test/corpus: as many MariaDB and PostgreSQL gate cases as loadCorpus finds', () => {
    const mysql = loadCorpus(join(root, 'test', 'corpus', 'mysql'), 'mysql').length;
    const postgres = loadCorpus(join(root, 'test', 'corpus', 'postgres'), 'postgres').length;
    expect(mysql).toBeGreaterThan(0);
    expect(postgres).toBeGreaterThan(0);
    const said = /`test\/corpus` \((\d+) MariaDB and (\d+) PostgreSQL gate cases/.exec(readme);
    expect(said, "the README's Tests section no longer says how many corpus cases there are").not.toBeNull();
    expect({ mysql: Number(said![1]), postgres: Number(said![2]) }).toEqual({ mysql, postgres });
  });

  it('replica-first-truth: as many schema changes as test/corpus/replica-first/cases.ts holds', () => {
    const said = /`test\/integration\/replica-first-truth\.test\.ts` \((\d+) schema changes/.exec(readme);
    expect(said, "the README's Tests section no longer says how many replica-first cases there are").not.toBeNull();
    expect(Number(said![1])).toBe(CASES.length);
  });
});
