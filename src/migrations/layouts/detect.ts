import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Dialect } from '../../config/index.ts';
import { scanSql } from '../sql-split.ts';
import type { DirFile } from './find.ts';
import { TEST_MODULE } from './find.ts';
import { compareVersions, type Layout } from './version.ts';

export interface Detected {
  layout: Layout;
  reason: string;
}

const GOOSE_UP = /^\s*--\s*\+goose\s+up\b/im;
const DBMATE_UP = /^\s*--\s*migrate:up\b/im;
const FLYWAY = /^(?:[VU]\d+(?:[._]\d+)*__.+|R__.+)\.sql$/s;
// A fizz file, or a file for one dialect: only pop (soda) writes these.
const POP_ONLY = /^\d+_[^.]+(?:\.[a-z0-9]+\.(?:up|down)\.(?:sql|fizz)|\.(?:up|down)\.fizz)$/s;
const NUMBERED_PAIR = /^(\d+)_.*\.(up|down)\.sql$/s;
const SCRIPT = /\.(?:ts|mts|cts|js|mjs|cjs)$/;
const DECLARATION = /\.d\.[cm]?ts$/;
const KNEXFILES = ['knexfile.js', 'knexfile.ts', 'knexfile.cjs', 'knexfile.mjs'];

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // An unreadable file is reported by the loader; here it just gives no hint.
    return '';
  }
}

/**
 * Why a directory of numbered `.up.sql`/`.down.sql` files can only be a golang-migrate history,
 * or undefined when the native layout reads it the same way (every file paired by its full name,
 * equal-width versions, no empty up): then it stays native, exactly as before layouts existed.
 */
function golangSignature(pairs: readonly DirFile[], dialect: Dialect): string | undefined {
  const stems = new Set(pairs.map((f) => f.name.replace(/\.(up|down)\.sql$/, '')));
  const upVersions = new Set(pairs.filter((f) => f.name.endsWith('.up.sql')).map((f) => BigInt(NUMBERED_PAIR.exec(f.name)?.[1] ?? '0').toString()));
  for (const f of pairs) {
    if (!f.name.endsWith('.down.sql')) continue;
    const stem = f.name.slice(0, -'.down.sql'.length);
    if (stems.has(stem) && pairs.some((p) => p.name === `${stem}.up.sql`)) continue;
    const v = BigInt(NUMBERED_PAIR.exec(f.name)?.[1] ?? '0').toString();
    return upVersions.has(v) ? `${f.name} pairs with an up file of version ${v} under another title` : `${f.name} has no up file`;
  }
  const versions = pairs.map((f) => NUMBERED_PAIR.exec(f.name)?.[1] ?? '');
  const byText = [...versions].sort();
  const byNumber = [...versions].sort((a, b) => compareVersions(BigInt(a).toString(), BigInt(b).toString()));
  if (byText.some((v, i) => v !== byNumber[i])) return 'its versions are not zero-padded (numeric order differs from text order)';
  const empty = pairs.find((f) => f.name.endsWith('.up.sql') && scanSql(read(f.path), dialect).statements.length === 0);
  if (empty) return `${empty.name} is a comment-only placeholder`;
  return undefined;
}

/** The layout a directory's files are written in (the `auto` choice). */
export function detectLayout(dir: string, entries: readonly DirFile[], dialect: Dialect): Detected {
  const sql = entries.filter((f) => f.name.endsWith('.sql'));
  const flyway = sql.find((f) => FLYWAY.test(f.name));
  if (flyway) return { layout: 'flyway', reason: `${flyway.name} is named like a Flyway migration` };
  const pop = entries.find((f) => POP_ONLY.test(f.name));
  if (pop)
    return {
      layout: 'pop',
      reason: `${pop.name} is ${pop.name.endsWith('.fizz') ? 'a fizz migration' : 'written for one database'}, as pop (soda) names them`,
    };
  const single = sql.filter((f) => !/\.(up|down)\.sql$/.test(f.name));
  for (const f of single) {
    const text = read(f.path);
    if (GOOSE_UP.test(text)) return { layout: 'goose', reason: `${f.name} has a "-- +goose Up" annotation` };
    if (DBMATE_UP.test(text)) return { layout: 'dbmate', reason: `${f.name} has a "-- migrate:up" section` };
  }
  const pairs = sql.filter((f) => /\.(up|down)\.sql$/.test(f.name));
  const scripts = entries.filter((f) => SCRIPT.test(f.name) && !DECLARATION.test(f.name));
  if (pairs.length && !scripts.length && pairs.every((f) => NUMBERED_PAIR.test(f.name))) {
    const why = golangSignature(pairs, dialect);
    if (why) return { layout: 'golang-migrate', reason: `${why}, as golang-migrate allows` };
  }
  if (!sql.length && scripts.length) {
    const test = scripts.find((f) => TEST_MODULE.test(f.name));
    if (test) return { layout: 'knex', reason: `${test.name} is a test module beside JS/TS migrations` };
    const unnumbered = scripts.find((f) => !/^\d/.test(f.name));
    if (unnumbered) return { layout: 'knex', reason: `${unnumbered.name} is not numbered like a migration (a helper module beside JS/TS migrations)` };
    const knexfile = [dir, dirname(dir)].flatMap((d) => KNEXFILES.map((k) => join(d, k))).find((p) => existsSync(p));
    if (knexfile) return { layout: 'knex', reason: `${knexfile} configures knex for this project` };
  }
  return { layout: 'native', reason: 'the files are <id>.up.sql / <id>.down.sql pairs or JS/TS migration modules' };
}
