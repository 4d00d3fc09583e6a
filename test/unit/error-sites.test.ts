import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MigrateError } from '../../src/errors.ts';
import { display, type ErrorSite, extractSites, isPassThrough, matchErrors, type SourceText, toRegex } from '../error-sites.ts';
import { injectRecorder, isErrorsModule, maskSecrets } from '../setup/record-errors.mjs';

const ERRORS = `export class MigrateError extends Error { constructor(kind, problem, fix) { super(problem); } }
export const workError = (problem: string, fix: string) => new MigrateError('work', problem, fix);
export const configError = (problem: string, fix: string) => new MigrateError('config', problem, fix);`;

const sitesOf = (files: Record<string, string>): ErrorSite[] =>
  extractSites([{ file: 'src/errors.ts', text: ERRORS }, ...Object.entries(files).map(([file, text]) => ({ file, text }))]);
const one = (text: string): ErrorSite => {
  const s = sitesOf({ 'src/a.ts': `import { MigrateError, workError, configError } from './errors.ts';\n${text}` });
  expect(s).toHaveLength(1);
  return s[0]!;
};

describe('extractSites: where src/ creates a typed error', () => {
  it('a helper call: its kind, the enclosing function, literal texts exactly', () => {
    const s = one(`export function load() { throw configError('The file is missing.', 'Create it.'); }`);
    expect(s).toMatchObject({ file: 'src/a.ts', line: 2, fn: 'load', kind: 'config' });
    expect(toRegex(s.problem).test('The file is missing.')).toBe(true);
    expect(toRegex(s.problem).test('The file is missing. Also more.')).toBe(false);
    expect(s.id).toBe('src/a.ts load config: The file is missing.');
  });

  it('a template: literal parts exact, each placeholder a wildcard; a condition gives alternatives', () => {
    const s = one(`const f = (n: string, ok: boolean) => workError(\`Node \${n} is down\${ok ? "" : " for good"}.\`, \`Start \${n}.\`);`);
    expect(s.fn).toBe('f');
    expect(display(s.problem)).toBe('Node … is down(| for good).');
    const p = toRegex(s.problem);
    expect(p.test('Node db-1 is down.')).toBe(true);
    expect(p.test('Node db-1 is down for good.')).toBe(true);
    expect(p.test('Node db-1 is up.')).toBe(false);
  });

  it('new MigrateError: the kind when literal, any kind when not; concatenation and a wildcard for a call', () => {
    const s = one(`class R { run(k: any, e: Error) { return new MigrateError(k, 'Failed: ' + e.message, String(e)); } }`);
    expect(s.fn).toBe('R.run');
    expect(s.kind).toBeUndefined();
    expect(display(s.problem)).toBe('Failed: …');
    expect(display(s.fix)).toBe('…');
  });

  it('a constant, imported or local, is resolved by scope: a parameter of the same name stays a wildcard', () => {
    const sites = sitesOf({
      'src/hint.ts': `export const HINT = 'Install the servers.';`,
      'src/a.ts': `import { workError } from './errors.ts';\nimport { HINT } from './hint.ts';\nexport const a = () => workError('No server.', HINT);\nexport const b = (HINT: string) => workError('No server here.', HINT);`,
    });
    expect(sites.map((s) => display(s.fix))).toEqual(['Install the servers.', '…']);
  });

  it('a subclass: each `new` of it is a site with the texts its constructor passes to super(); the super call is none', () => {
    const sites = sitesOf({
      'src/fork.ts': `import { MigrateError } from './errors.ts';\nexport class ForkError extends MigrateError { constructor(n: string) { super('work', \`FORK on \${n}.\`, 'Recover it.'); } }\nexport class Sub extends ForkError {}`,
      'src/use.ts': `import { ForkError } from './fork.ts';\nexport function check(n: string) { throw new ForkError(n); }`,
    });
    expect(sites).toHaveLength(1);
    expect(sites[0]).toMatchObject({ file: 'src/use.ts', fn: 'check', kind: 'work' });
    expect(display(sites[0]!.problem)).toBe('FORK on ….');
  });

  it('an error passed through (problem and fix both dynamic) is a pass-through site; a repeat in one function gets #2', () => {
    const sites = sitesOf({
      'src/a.ts': `import { workError } from './errors.ts';\nexport function again(e: any) { if (e) throw workError(e.problem, e.fix); throw workError(\`\${e}\`, 'x'); throw workError(\`\${e}\`, 'y'); }`,
    });
    expect(sites.map(isPassThrough)).toEqual([true, false, false]);
    expect(sites.map((s) => s.id)).toEqual(['src/a.ts again work: …', 'src/a.ts again work: … #2', 'src/a.ts again work: … #3']);
  });

  it('the real src/: hundreds of sites, the subclasses among them, few pass-through', () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const walk = (d: string): SourceText[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? walk(join(d, e.name))
          : e.name.endsWith('.ts')
            ? [{ file: relative(root, join(d, e.name)), text: readFileSync(join(d, e.name), 'utf8') }]
            : [],
      );
    const sites = extractSites(walk(join(root, 'src')));
    expect(sites.length).toBeGreaterThan(250);
    expect(sites.filter(isPassThrough).length).toBeLessThan(10);
    expect(sites.some((s) => display(s.problem).startsWith('FORK: the old primary …'))).toBe(true);
    expect(new Set(sites.map((s) => s.id)).size).toBe(sites.length);
  });
});

describe('matchErrors: which sites a run reached', () => {
  const sites = sitesOf({
    'src/a.ts': `import { MigrateError, workError, configError } from './errors.ts';
export const specific = (n: string) => workError(\`Node \${n} is down.\`, 'Start it.');
export const loose = (p: string) => workError(p, 'Start it.');
export const other = (n: string) => configError(\`Node \${n} is down.\`, 'Start it.');
export const through = (e: any) => new MigrateError(e.kind, e.problem, e.fix);`,
  });
  const id = (fn: string) => sites.find((s) => s.fn === fn)!.id;

  it('an error is credited to the most specific matching site of its kind only', () => {
    const m = matchErrors(sites, [{ kind: 'work', problem: 'Node db-1 is down.', fix: 'Start it.' }]);
    expect([...m.raised]).toEqual([[id('specific'), 1]]);
  });

  it('the loose site when only it matches; the kind decides between equal texts', () => {
    const m = matchErrors(sites, [
      { kind: 'work', problem: 'Disk full.', fix: 'Start it.' },
      { kind: 'config', problem: 'Node x is down.', fix: 'Start it.' },
    ]);
    expect(new Set(m.raised.keys())).toEqual(new Set([id('loose'), id('other')]));
  });

  it('an error no site explains is unmatched; a pass-through site is never credited', () => {
    const e = { kind: 'work', problem: 'Node x is down.', fix: 'Reboot.' };
    const m = matchErrors(sites, [e, e]);
    expect(m.unmatched).toEqual([e, e]);
    expect(m.raised.has(id('through'))).toBe(false);
  });
});

describe('the recorder (test/setup/record-errors.mjs)', () => {
  it('is injected into MigrateError in this worker by the Vite plugin: a new error reaches it', () => {
    const key = Symbol.for('migrate-test.recordError');
    const g = globalThis as Record<symbol, unknown>;
    const before = g[key];
    const seen: MigrateError[] = [];
    g[key] = (e: MigrateError) => seen.push(e);
    try {
      new MigrateError('work', 'The problem.', 'The fix.');
    } finally {
      g[key] = before;
    }
    expect(seen.map((e) => [e.kind, e.problem, e.fix])).toEqual([['work', 'The problem.', 'The fix.']]);
  });

  it('finds its anchor in src/errors.ts and fails loudly when the constructor changed', () => {
    const src = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'errors.ts'), 'utf8');
    expect(injectRecorder(src, 'src/errors.ts')).toContain("Symbol.for('migrate-test.recordError')");
    expect(() => injectRecorder('export class MigrateError {}', 'x')).toThrow(/no longer ends as expected/);
    expect([isErrorsModule('file:///r/dist/errors.js'), isErrorsModule('/r/src/errors.ts?v=1'), isErrorsModule('/r/src/errors-x.ts')]).toEqual([
      true,
      true,
      false,
    ]);
  });

  it('masks URL passwords', () => {
    expect(maskSecrets('cannot reach mysql://app:s3cret@db:3306/x')).toBe('cannot reach mysql://app:***@db:3306/x');
  });
});
