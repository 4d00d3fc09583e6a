import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { usageError } from '../errors.ts';
import { compareIds, idOfFileName } from './discover.ts';

const MAX_NAME = 100;

/**
 * The name part of a new migration, as [a-z0-9_]. Names that look like paths are refused rather
 * than flattened: "../x" is more likely a mistake than a wish for a migration called "x".
 */
export function sanitizeMigrationName(name: string): string {
  if (/[\\/]/.test(name) || name.includes('..') || isAbsolute(name) || name.includes('\0')) {
    throw usageError(
      `The migration name "${name}" looks like a path; migrations are always created in the migrations directory.`,
      'Give a plain name such as add_users_email (letters, digits, underscores).',
    );
  }
  const clean = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  if (!clean) throw usageError(`The migration name "${name}" has no letters or digits.`, 'Give a descriptive name such as add_users_email.');
  if (clean.length > MAX_NAME)
    throw usageError(`The migration name is longer than ${MAX_NAME} characters.`, 'Use a shorter name; the details belong in the file.');
  return clean;
}

/**
 * The number of the next migration: the highest numeric prefix among the existing ids plus one,
 * zero-padded to 4 digits (or to the width the existing numbers use, e.g. knex timestamps).
 */
export function nextMigrationNumber(ids: readonly string[]): string {
  let best: bigint | undefined;
  let width = 4;
  for (const id of ids) {
    const m = /^(\d+)/.exec(id);
    if (!m?.[1]) continue;
    const v = BigInt(m[1]);
    if (best === undefined || v > best) {
      best = v;
      width = Math.max(4, m[1].length);
    }
  }
  return ((best ?? 0n) + 1n).toString().padStart(width, '0');
}

function template(name: string): string {
  return readFileSync(new URL(`./templates/${name}`, import.meta.url), 'utf8');
}

/** Writes a new migration from the templates; returns the paths written. */
export function makeMigration(dir: string, name: string, opts: { sql?: boolean } = {}): string[] {
  const clean = sanitizeMigrationName(name);
  mkdirSync(dir, { recursive: true });
  const ids = readdirSync(dir)
    .map((f) => idOfFileName(f))
    .filter((x): x is string => x !== undefined)
    .sort(compareIds);
  const id = `${nextMigrationNumber(ids)}_${clean}`;
  const files: Array<[string, string]> = opts.sql
    ? [
        [`${id}.up.sql`, template('migration.up.sql.tmpl')],
        [`${id}.down.sql`, template('migration.down.sql.tmpl')],
      ]
    : [[`${id}.ts`, template('migration.ts.tmpl')]];
  const root = resolve(dir);
  const out: string[] = [];
  for (const [file, body] of files) {
    const path = join(root, file);
    const rel = relative(root, path);
    if (rel.startsWith('..') || rel.includes(sep)) throw usageError(`Refusing to write ${path}: it is outside ${root}.`, 'Give a plain migration name.');
    if (existsSync(path)) throw usageError(`${path} already exists.`, 'Run "migrate make" again; it picks the next free number.');
    writeFileSync(path, body.replaceAll('{{id}}', id), { flag: 'wx' });
    out.push(path);
  }
  return out;
}
