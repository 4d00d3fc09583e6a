import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import type { CliRun } from './cli.ts';

/**
 * What a user sees when `bin/migrate` refuses bad input: the exit code, one `error: ` paragraph
 * naming the problem, then one `fix: ` line ending stderr, and no stack trace. Shared by the
 * errors-*.test.ts suites, which add their own "nothing changed" checks.
 */
export function expectRefusal(r: CliRun, code: number, problem: RegExp, fix: RegExp): { problem: string; fix: string } {
  const show = `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  expect(r.code, show).toBe(code);
  expect(r.stderr, show).not.toMatch(/^\s+at\s|node:internal|node_modules\//m);
  expect(r.stderr.match(/^error: /gm) ?? [], show).toHaveLength(1);
  const m = /^error: ([\s\S]*?)\nfix: (.*)\n?$/m.exec(r.stderr);
  expect(m, show).not.toBeNull();
  const [, p = '', f = ''] = m ?? [];
  // The fix ends the output: nothing printed after it could be mistaken for another error.
  expect(r.stderr.trimEnd().endsWith(`fix: ${f}`), show).toBe(true);
  expect(p, show).toMatch(problem);
  expect(f, show).toMatch(fix);
  return { problem: p, fix: f };
}

/** The caller's environment without DATABASE_URL and MIGRATE_* (but the run's shadow base), plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && !(k.startsWith('MIGRATE_') && k !== 'MIGRATE_SHADOW_DIR')),
  );
  return { ...env, ...extra };
}

/**
 * Every path under `dir`, relative and sorted, a file's with a hash of its content: compared before
 * and after to show nothing was written, not even into a file that was already there.
 */
export function treeOf(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
      out.push(st.isFile() ? `${relative(dir, p)} ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}` : relative(dir, p));
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}
