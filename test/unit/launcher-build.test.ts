import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ESM module of the launcher, without type declarations
import { buildIsFresh, sourceState, writeState } from '../../bin/source-state.mjs';

const fresh = buildIsFresh as (root?: string) => boolean;
const state = sourceState as (root?: string) => string;
const stampBuild = writeState as (root?: string) => void;

// bin/migrate runs dist/ only when it was built from exactly the sources in src/: an edited
// checkout must never run stale compiled code.
describe('the launcher runs the compiled build only when it matches src/', () => {
  const root = mkdtempSync(join(tmpdir(), 'launcher-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('fresh after a build; stale after an edit, a new file or a deleted one; stale without a build', () => {
    mkdirSync(join(root, 'src', 'cli'), { recursive: true });
    writeFileSync(join(root, 'src', 'cli', 'main.ts'), 'export const a = 1;');
    expect(fresh(root)).toBe(false);
    mkdirSync(join(root, 'dist'));
    const stamp = (): void => writeFileSync(join(root, 'dist', '.source-state'), `${state(root)}\n`);
    stamp();
    expect(fresh(root)).toBe(true);
    writeFileSync(join(root, 'src', 'cli', 'main.ts'), 'export const a = 2;');
    expect(fresh(root)).toBe(false);
    stamp();
    writeFileSync(join(root, 'src', 'extra.ts'), '');
    expect(fresh(root)).toBe(false);
    stamp();
    expect(fresh(root)).toBe(true);
    rmSync(join(root, 'src', 'extra.ts'));
    expect(fresh(root)).toBe(false);
  });

  // The stamp `npm run build` writes also lists the files' inodes, sizes and change times, so a
  // start reads no source when none changed; an edit of the same size must still be seen.
  it('the build stamp: fresh without reading sources; an edit of the same size, a new or a deleted file is still seen', async () => {
    const r = mkdtempSync(join(tmpdir(), 'launcher-stamp-'));
    try {
      mkdirSync(join(r, 'src', 'cli'), { recursive: true });
      mkdirSync(join(r, 'dist'));
      writeFileSync(join(r, 'src', 'cli', 'main.ts'), 'export const a = 1;');
      writeFileSync(join(r, 'src', 'other.ts'), 'export const b = 1;');
      // Files changed within the last second are not listed (coarse file clock): let them settle.
      await new Promise((done) => setTimeout(done, 1100));
      stampBuild(r);
      expect(readFileSync(join(r, 'dist', '.source-state'), 'utf8').split('\n')[1]).toContain('main.ts');
      expect(fresh(r)).toBe(true);
      writeFileSync(join(r, 'src', 'cli', 'main.ts'), 'export const a = 2;');
      expect(fresh(r)).toBe(false);
      writeFileSync(join(r, 'src', 'cli', 'main.ts'), 'export const a = 1;');
      // Same bytes as stamped, new change time: the contents decide, as with a stamp without the list.
      expect(fresh(r)).toBe(true);
      writeFileSync(join(r, 'src', 'new.ts'), '');
      expect(fresh(r)).toBe(false);
      rmSync(join(r, 'src', 'new.ts'));
      rmSync(join(r, 'src', 'other.ts'));
      expect(fresh(r)).toBe(false);
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('both ways of running give the same CLI', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['bin/migrate', 'make', '--help'], {
        cwd: join(import.meta.dirname, '..', '..'),
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
    const source = run({ MIGRATE_FROM_SOURCE: '1' });
    const built = run({});
    expect(source.status).toBe(0);
    expect(built.status).toBe(0);
    expect(built.stdout).toBe(source.stdout);
    expect(source.stdout).toContain('migration');
  });
});
