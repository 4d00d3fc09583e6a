import { basename, join } from 'node:path';
import type { Dialect } from '../../config/index.ts';
import type { MigrationFiles } from '../load.ts';
import type { LoadNote, MigrationIssue } from '../types.ts';
import { note, refusal } from './notes.ts';
import { compareVersions, type Layout, versionOfId } from './version.ts';

/** A regular, non-hidden file of the migrations directory. */
export interface DirFile {
  name: string;
  path: string;
}

export interface Found {
  files: MigrationFiles[];
  issues: MigrationIssue[];
  notes: LoadNote[];
}

// Dot-all: a line break in a name must reach idIssues (a refusal), not pass as a stray file.
const GOLANG = /^(\d+)_(.*)\.(up|down)\.sql$/s;
const TOOL_SQL = /^(\d+)_(.*)\.sql$/s;
const FLYWAY = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/s;
const FLYWAY_REPEATABLE = /^R__(.+)\.sql$/s;
const POP = /^(\d+)_([^.]+)(?:\.([a-z0-9]+))?\.(up|down)\.(sql|fizz)$/s;
/** pop's names for each dialect (its synonyms included); a file for any other one is not run here. */
const POP_DIALECTS: Record<Dialect, readonly string[]> = { mysql: ['mysql', 'mariadb'], postgres: ['postgres', 'postgresql', 'pg', 'pgx'] };
const POP_KNOWN = ['cockroach', 'cockroachdb', 'crdb', 'sqlite3', 'sqlite', 'ydb', ...POP_DIALECTS.mysql, ...POP_DIALECTS.postgres];

/**
 * A warning when the versions sort differently as text than as numbers (unpadded `2_` and
 * `100_`): the tools run them by number, and so does this loader; the note names the order used.
 */
function orderNote(files: readonly MigrationFiles[], dir: string, tool: string): LoadNote[] {
  const byText = [...files].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const k = files.findIndex((f, i) => byText[i]?.id !== f.id);
  if (k < 0) return [];
  const shown = files.slice(0, 12).map((f) => f.version ?? f.id);
  return [
    note('version-order', 'warning', {
      file: dir,
      problem: `The versions in ${dir} are not zero-padded, so their text order differs from their numeric order (${byText[k]?.id} sorts before ${files[k]?.id} as text). They run in numeric version order, as ${tool} runs them: ${shown.join(', ')}${files.length > shown.length ? ', ...' : ''}.`,
      fix: 'Nothing to do if that is the order they ran in; the ids stay the file names.',
    }),
  ];
}

function duplicate(version: string, a: string, b: string, tool: string): MigrationIssue {
  return refusal({
    file: b,
    problem: `Version ${version} exists twice: ${basename(a)} and ${basename(b)}; ${tool} refuses this too, and which one ran cannot be told.`,
    fix: 'Keep one of the two, or give the other the next free version.',
  });
}

function stray(f: DirFile, tool: string, shape: string): LoadNote {
  return note('skipped-file', 'warning', {
    file: f.path,
    problem: `${f.name} does not match ${tool}'s file name pattern (${shape}), so it is not a migration and never runs (${tool} skips it too).`,
    fix: `Rename it to ${shape} if it is a migration, or move it out of the directory.`,
  });
}

/** golang-migrate: `{version}_{title}.up.sql` / `.down.sql`, paired by version, in numeric order. */
export function findGolangMigrate(dir: string, entries: readonly DirFile[]): Found {
  const out: Found = { files: [], issues: [], notes: [] };
  const ups = new Map<string, DirFile>();
  const downs = new Map<string, DirFile>();
  for (const f of entries) {
    const m = GOLANG.exec(f.name);
    if (!m) {
      if (f.name.endsWith('.sql')) out.notes.push(stray(f, 'golang-migrate', '{version}_{title}.up.sql / .down.sql'));
      continue;
    }
    const version = BigInt(m[1] ?? '0').toString();
    const into = m[3] === 'up' ? ups : downs;
    const other = into.get(version);
    if (other) out.issues.push(duplicate(version, other.path, f.path, 'golang-migrate'));
    else into.set(version, f);
  }
  for (const [version, up] of ups) {
    const down = downs.get(version);
    const id = up.name.slice(0, -'.up.sql'.length);
    out.files.push({ id, format: 'sql', upPath: up.path, ...(down ? { downPath: down.path } : {}), layout: 'golang-migrate', version });
  }
  for (const [version, down] of downs) {
    if (ups.has(version)) continue;
    out.notes.push(
      note('orphan-down', 'warning', {
        file: down.path,
        problem: `${down.name} has no up file of version ${version}: it is never run (golang-migrate ignores it too).`,
        fix: `Delete it if version ${version} is gone for good, or restore its .up.sql.`,
      }),
    );
  }
  out.files.sort((a, b) => compareVersions(a.version ?? '0', b.version ?? '0'));
  out.notes.push(...orderNote(out.files, dir, 'golang-migrate'));
  return out;
}

/** goose and dbmate: `{version}_{name}.sql`, both directions in the file, numeric version order. */
export function findSectioned(dir: string, entries: readonly DirFile[], layout: 'goose' | 'dbmate'): Found {
  const out: Found = { files: [], issues: [], notes: [] };
  const seen = new Map<string, DirFile>();
  for (const f of entries) {
    const m = TOOL_SQL.exec(f.name);
    if (!m) {
      if (f.name.endsWith('.sql')) out.notes.push(stray(f, layout, '{version}_{name}.sql'));
      else if (layout === 'goose' && /^\d+_.*\.go$/.test(f.name))
        out.notes.push(
          note('skipped-file', 'warning', {
            file: f.path,
            problem: `${f.name} is a goose Go migration: this tool runs SQL migrations only, so it is not run here.`,
            fix: 'Rewrite it as a .sql migration with the same version, or keep running it with goose.',
          }),
        );
      continue;
    }
    const id = f.name.slice(0, -'.sql'.length);
    const version = versionOfId(id, layout) ?? '0';
    // dbmate keeps versions as strings, but two files of one number are still one version to a reader.
    const key = BigInt(version).toString();
    const other = seen.get(key);
    if (other) {
      out.issues.push(duplicate(version, other.path, f.path, layout));
      continue;
    }
    seen.set(key, f);
    out.files.push({ id, format: 'sql', upPath: f.path, layout, version, sections: layout });
  }
  out.files.sort((a, b) => compareVersions(BigInt(a.version ?? '0').toString(), BigInt(b.version ?? '0').toString()));
  out.notes.push(...orderNote(out.files, dir, layout));
  return out;
}

/** Flyway: `V{n}__{desc}.sql` in version order, `U{n}__` undo paired by version, then `R__` repeatables by description. */
export function findFlyway(dir: string, entries: readonly DirFile[]): Found {
  const out: Found = { files: [], issues: [], notes: [] };
  const versioned = new Map<string, DirFile>();
  const undo = new Map<string, DirFile>();
  const repeatable: MigrationFiles[] = [];
  for (const f of entries) {
    const m = FLYWAY.exec(f.name);
    const r = FLYWAY_REPEATABLE.exec(f.name);
    if (r) {
      const id = f.name.slice(0, -'.sql'.length);
      repeatable.push({ id, format: 'sql', upPath: f.path, layout: 'flyway', repeatable: true });
      out.notes.push(
        note('repeatable', 'info', {
          id,
          file: f.path,
          problem: `${f.name} is a Flyway repeatable migration: it runs once, after the versioned ones. Flyway re-runs it whenever its checksum changes; this tool does not: a changed ${f.name} shows as drift and stops "up" until "migrate ack-drift ${id}".`,
          fix: 'To apply a change to it, add a versioned migration with the new definition.',
        }),
      );
      continue;
    }
    if (!m) {
      if (f.name.endsWith('.sql')) out.notes.push(stray(f, 'Flyway', 'V{version}__{description}.sql'));
      continue;
    }
    const version = (m[2] ?? '').replace(/_/g, '.');
    const into = m[1] === 'V' ? versioned : undo;
    const key = version
      .split('.')
      .map((x) => BigInt(x).toString())
      .join('.');
    const other = into.get(key);
    if (other) out.issues.push(duplicate(version, other.path, f.path, 'Flyway'));
    else into.set(key, f);
  }
  for (const [key, v] of versioned) {
    const u = undo.get(key);
    const id = v.name.slice(0, -'.sql'.length);
    out.files.push({ id, format: 'sql', upPath: v.path, ...(u ? { downPath: u.path } : {}), layout: 'flyway', version: versionOfId(id, 'flyway') ?? key });
  }
  for (const [key, u] of undo) {
    if (versioned.has(key)) continue;
    out.notes.push(
      note('orphan-down', 'warning', {
        file: u.path,
        problem: `${u.name} undoes version ${key}, which has no V file: it is never run.`,
        fix: `Delete it if version ${key} is gone for good, or restore its V${key}__ file.`,
      }),
    );
  }
  out.files.sort((a, b) => compareVersions(a.version ?? '0', b.version ?? '0'));
  out.notes.push(...orderNote(out.files, dir, 'Flyway'));
  repeatable.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  out.files.push(...repeatable);
  return out;
}

interface PopSlot {
  name: string;
  /** Per direction: the file for every dialect, and the one for this dialect (it wins, as in pop). */
  up: { all?: DirFile; own?: DirFile; fizz?: DirFile };
  down: { all?: DirFile; own?: DirFile; fizz?: DirFile };
}

/**
 * pop (soda): `{version}_{name}[.{dialect}].up.sql` / `.down.sql`, paired by version. A file for
 * this dialect replaces the dialect-less one of its version (pop runs the dialect's file and then
 * finds the version applied); files for other dialects never run here; fizz files (pop's own DSL)
 * cannot be run by this tool and are named in a warning.
 */
export function findPop(dir: string, entries: readonly DirFile[], dialect: Dialect): Found {
  const out: Found = { files: [], issues: [], notes: [] };
  const slots = new Map<string, PopSlot>();
  const otherDialects: string[] = [];
  for (const f of entries) {
    const m = POP.exec(f.name);
    if (!m) {
      if (/\.(sql|fizz)$/.test(f.name)) out.notes.push(stray(f, 'pop', '{version}_{name}[.{dialect}].up.sql / .down.sql'));
      continue;
    }
    const [, version = '', name = '', db, direction, kind] = m;
    if (db && !POP_DIALECTS[dialect].includes(db)) {
      if (POP_KNOWN.includes(db)) otherDialects.push(f.name);
      else out.notes.push(stray(f, 'pop', `{version}_{name}.{${POP_KNOWN.join('|')}}.up.sql`));
      continue;
    }
    const slot = slots.get(version) ?? { name, up: {}, down: {} };
    if (slot.name !== name) {
      out.issues.push(duplicate(version, join(dir, `${version}_${slot.name}`), f.path, 'pop'));
      continue;
    }
    slots.set(version, slot);
    const side = direction === 'up' ? slot.up : slot.down;
    const which = kind === 'fizz' ? 'fizz' : db ? 'own' : 'all';
    const other = side[which];
    if (other) out.issues.push(duplicate(version, other.path, f.path, 'pop'));
    else side[which] = f;
  }
  for (const [version, slot] of slots) {
    const up = slot.up.own ?? slot.up.all;
    const down = slot.down.own ?? slot.down.all;
    const fizz = [slot.up, slot.down].filter((s) => !s.own && !s.all && s.fizz).map((s) => s.fizz as DirFile);
    for (const f of fizz) out.notes.push(fizzNote(f, dialect));
    if (!up) {
      if (down && !slot.up.fizz)
        out.notes.push(
          note('orphan-down', 'warning', {
            file: down.path,
            problem: `${down.name} has no up file of version ${version}: it is never run (pop pairs them by version too).`,
            fix: `Delete it if version ${version} is gone for good, or restore its .up.sql.`,
          }),
        );
      continue;
    }
    out.files.push({ id: `${version}_${slot.name}`, format: 'sql', upPath: up.path, ...(down ? { downPath: down.path } : {}), layout: 'pop', version });
  }
  out.files.sort((a, b) => compareVersions(BigInt(a.version ?? '0').toString(), BigInt(b.version ?? '0').toString()));
  out.notes.push(...orderNote(out.files, dir, 'pop'));
  if (otherDialects.length)
    out.notes.push(
      note('skipped-file', 'info', {
        file: dir,
        problem: `${otherDialects.length} file(s) are for another database than ${dialect} (${otherDialects.slice(0, 3).join(', ')}${otherDialects.length > 3 ? ', ...' : ''}): pop does not run them here either.`,
        fix: 'Nothing to do.',
      }),
    );
  return out;
}

function fizzNote(f: DirFile, dialect: Dialect): LoadNote {
  return note('skipped-file', 'warning', {
    file: f.path,
    problem: `${f.name} is a fizz migration (pop's own language, translated to SQL by pop at run time): this tool runs SQL only, so it does not run it, and what it creates is missing for the migrations after it.`,
    fix: `Write the SQL pop generates for it into ${f.name.replace(/(\.[a-z0-9]+)?\.(up|down)\.fizz$/, `.${dialect}.$2.sql`)} (\`soda migrate\` on a scratch database, then a schema dump), or keep running it with pop.`,
  });
}

/** Test and spec modules beside knex migrations: never migrations. */
export const TEST_MODULE = /\.(test|spec)\.[cm]?[jt]s$/;
const SCRIPT = /^(.+)\.(ts|mts|cts|js|mjs|cjs)$/s;
const DECLARATION = /\.d\.[cm]?ts$/;

/** knex: every JS/TS module is a candidate (those without an up export are skipped when loaded); test modules are skipped here. */
export function findKnex(dir: string, entries: readonly DirFile[]): Found {
  const out: Found = { files: [], issues: [], notes: [] };
  for (const f of entries) {
    if (DECLARATION.test(f.name)) continue;
    const m = SCRIPT.exec(f.name);
    if (!m?.[1]) continue;
    if (TEST_MODULE.test(f.name)) {
      out.notes.push(
        note('skipped-file', 'info', {
          file: f.path,
          problem: `${f.name} is a test module, not a migration: skipped.`,
          fix: `Nothing to do; move it out of ${dir} to silence this note.`,
        }),
      );
      continue;
    }
    const twin = out.files.find((x) => x.id === m[1]);
    if (twin) {
      out.issues.push(
        refusal({
          id: m[1],
          file: f.path,
          problem: `Migration id ${m[1]} exists twice: ${basename(twin.upPath)} and ${f.name} (a compiled copy beside its source?).`,
          fix: `Keep one of the two in ${dir} (knex would run both).`,
        }),
      );
      continue;
    }
    out.files.push({ id: m[1], format: 'ts', upPath: f.path, layout: 'knex' });
  }
  // knex runs its migrations in file-name order.
  out.files.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

export function findForLayout(layout: Exclude<Layout, 'native'>, dir: string, entries: readonly DirFile[], dialect: Dialect): Found {
  switch (layout) {
    case 'golang-migrate':
      return findGolangMigrate(dir, entries);
    case 'goose':
    case 'dbmate':
      return findSectioned(dir, entries, layout);
    case 'flyway':
      return findFlyway(dir, entries);
    case 'pop':
      return findPop(dir, entries, dialect);
    case 'knex':
      return findKnex(dir, entries);
  }
}

export function dirFile(dir: string, name: string): DirFile {
  return { name, path: join(dir, name) };
}
