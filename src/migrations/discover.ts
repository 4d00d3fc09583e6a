import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import { configError, MigrateError } from '../errors.ts';
import { loadSqlMigration, loadTsMigration, type MigrationFiles, type SkippedModule } from './load.ts';
import { detectLayout } from './layouts/detect.ts';
import { type DirFile, dirFile, type Found, findForLayout } from './layouts/find.ts';
import { note } from './layouts/notes.ts';
import { loadLayoutSql } from './layouts/sql-source.ts';
import type { Layout, LayoutChoice } from './layouts/version.ts';
import type { Discovery, LoadNote, MigrationIssue, MigrationSource } from './types.ts';

const SCRIPT = /^(.+)\.(ts|mts|cts|js|mjs|cjs)$/;
const DECLARATION = /\.d\.[cm]?ts$/;
const MAX_ID_LENGTH = 255;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Code-unit order, not locale order: the same on every machine. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The id a file name stands for (its stem), or undefined when it is not a migration file. */
export function idOfFileName(name: string): string | undefined {
  if (name.endsWith('.up.sql')) return name.slice(0, -'.up.sql'.length);
  if (name.endsWith('.down.sql')) return name.slice(0, -'.down.sql'.length);
  if (DECLARATION.test(name)) return undefined;
  const m = SCRIPT.exec(name);
  return m?.[1];
}

/** The directory's entries; an unreadable directory is a config error with the fix. */
function readDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw configError(
      `The migrations directory ${dir} cannot be read (${code}).`,
      `Give the user running migrate read and search permission on it (e.g. chmod u+rx ${dir}), or run migrate as its owner.`,
    );
  }
}

/** What makes a migration's id unusable: a control character, or more than MAX_ID_LENGTH characters. */
function idIssues(f: MigrationFiles, dir: string): MigrationIssue[] {
  const out: MigrationIssue[] = [];
  // A line break in an id would let a file name forge lines of our output (an "error:" or "fix:").
  if (CONTROL.test(f.id)) {
    out.push({
      id: f.id,
      file: f.upPath,
      blocks: 'all',
      severity: 'error',
      problem: `The migration file name ${JSON.stringify(basename(f.upPath))} contains a control character (a line break, tab or similar).`,
      fix: `Rename it in ${dir} to letters, digits, "_" and "-" (as "migrate make" names files).`,
    });
  }
  if (f.id.length > MAX_ID_LENGTH) {
    out.push({
      id: f.id,
      file: f.upPath,
      blocks: 'all',
      severity: 'error',
      problem: `The migration id ${f.id.slice(0, 40)}... is longer than ${MAX_ID_LENGTH} characters.`,
      fix: 'Shorten the file name.',
    });
  }
  return out;
}

/** Native pairing: scripts, and .up.sql with the .down.sql of the same stem; what does not pair is an issue. */
function pairNative(
  dir: string,
  scripts: Map<string, string>,
  duplicates: Set<string>,
  ups: Map<string, string>,
  downs: Map<string, string>,
  issues: MigrationIssue[],
): MigrationFiles[] {
  const files: MigrationFiles[] = [];
  for (const [id, path] of scripts) {
    if (duplicates.has(id)) continue;
    if (ups.has(id) || downs.has(id)) {
      issues.push({
        id,
        file: path,
        blocks: 'all',
        severity: 'error',
        problem: `Migration id ${id} exists twice: as a script and as SQL files.`,
        fix: 'Keep one of the two, or rename one with the next free number (see "migrate make").',
      });
      continue;
    }
    files.push({ id, format: 'ts', upPath: path });
  }
  for (const [id, up] of ups) files.push({ id, format: 'sql', upPath: up, downPath: downs.get(id) });
  for (const [id, down] of downs) {
    if (!ups.has(id)) {
      issues.push({
        id,
        file: down,
        blocks: 'all',
        severity: 'error',
        problem: `${id}.down.sql has no matching ${id}.up.sql.`,
        fix: `Create ${join(dir, `${id}.up.sql`)}, or delete the orphaned down file.`,
      });
    }
  }
  return files;
}

/** Groups the directory's files into migrations; names what does not fit. */
export function findMigrationFiles(dir: string): { files: MigrationFiles[]; issues: MigrationIssue[] } {
  const issues: MigrationIssue[] = [];
  const ups = new Map<string, string>();
  const downs = new Map<string, string>();
  const scripts = new Map<string, string>();
  const duplicates = new Set<string>();
  for (const name of readDir(dir).sort(compareIds)) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    if (name.endsWith('.up.sql')) ups.set(name.slice(0, -7), path);
    else if (name.endsWith('.down.sql')) downs.set(name.slice(0, -9), path);
    else if (name.endsWith('.sql')) {
      const stem = name.slice(0, -4);
      issues.push({
        file: path,
        blocks: 'all',
        severity: 'error',
        problem: `${name} is neither an .up.sql nor a .down.sql file, so it would never run.`,
        fix: `Rename it to ${stem}.up.sql (and add ${stem}.down.sql), or move it out of ${dir}.`,
      });
    } else if (idOfFileName(name) === undefined && idOfFileName(name.toLowerCase()) !== undefined && !DECLARATION.test(name.toLowerCase())) {
      // 0003_x.UP.SQL or 0004_y.TS: meant as a migration, but the extension is matched exactly.
      const lower = name.replace(/\.[^.]+(\.[^.]+)?$/, (ext) => ext.toLowerCase());
      issues.push({
        file: path,
        blocks: 'all',
        severity: 'error',
        problem: `${name} has an upper-case extension, so it is not read as a migration and would never run.`,
        fix: `Rename it to ${lower} (extensions are lower-case: .ts, .js, .up.sql, .down.sql).`,
      });
    } else {
      const id = idOfFileName(name);
      if (id === undefined) continue;
      const other = scripts.get(id);
      if (other !== undefined) {
        issues.push({
          id,
          file: path,
          blocks: 'all',
          severity: 'error',
          problem: `Migration id ${id} exists twice: ${basename(other)} and ${name}.`,
          fix: `Keep one of the two in ${dir}, or rename one with the next free number (see "migrate make").`,
        });
        duplicates.add(id);
      } else scripts.set(id, path);
    }
  }
  const files = pairNative(dir, scripts, duplicates, ups, downs, issues);
  for (const f of files) issues.push(...idIssues(f, dir));
  files.sort((a, b) => compareIds(a.id, b.id));
  return { files, issues };
}

/** The directory's regular, non-hidden files, in name order. */
function listFiles(dir: string): DirFile[] {
  return readDir(dir)
    .sort(compareIds)
    .filter((name) => !name.startsWith('.'))
    .map((name) => dirFile(dir, name))
    .filter((f) => statSync(f.path).isFile());
}

function checkDir(dir: string): void {
  if (!existsSync(dir)) {
    throw configError(
      `The migrations directory ${dir} does not exist.`,
      'Create it ("migrate make <name>" does), or set "migrations": {"directory": "..."} in the config.',
    );
  }
  if (!statSync(dir).isDirectory()) {
    throw configError(
      `The migrations path ${dir} is a file, not a directory.`,
      'Point "migrations": {"directory": "..."} in the config at the folder holding the migration files.',
    );
  }
}

/** Which layout to read `dir` in: the forced one, or the one its files show. */
function chooseLayout(dir: string, dialect: Dialect, choice: LayoutChoice): { layout: Layout; reason: string; entries?: DirFile[] } {
  if (choice !== 'auto') return { layout: choice, reason: `set to ${choice} (--layout or "migrations.layout")` };
  const entries = listFiles(dir);
  return { ...detectLayout(dir, entries, dialect), entries };
}

/** Loads one migration's files; a file that cannot be read is an issue like any broken file. */
async function loadOne(f: MigrationFiles, dialect: Dialect, issues: MigrationIssue[]): Promise<MigrationSource | SkippedModule | 'unreadable'> {
  try {
    if (f.format === 'ts') return await loadTsMigration(f);
    return f.layout === undefined || f.layout === 'native' ? loadSqlMigration(f, dialect) : loadLayoutSql(f, dialect);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!code) throw e;
    const file = (e as NodeJS.ErrnoException).path ?? f.upPath;
    issues.push({
      id: f.id,
      file,
      blocks: 'all',
      severity: 'error',
      problem: `${basename(file)} cannot be read (${code}).`,
      fix: `Make ${file} readable by the user running migrate.`,
    });
    return 'unreadable';
  }
}

function helperNote(f: MigrationFiles, dir: string, why: string): LoadNote {
  return note('skipped-file', 'info', { file: f.upPath, problem: why, fix: `Nothing to do; move it out of ${dir} to silence this note.` });
}

/**
 * Finds and loads every migration in `dir`, in the order its layout runs them. The layout is
 * detected from the files unless `layout` forces one (docs/adopting.md). TypeScript/JavaScript
 * modules are imported (their exports declare phase, acknowledgements and up/down); SQL files are
 * split into statements for the dialect. Problems do not throw: blocking ones are returned as
 * issues so `status` can show them (see loadMigrations for the strict form), the rest as notes.
 */
export async function discoverMigrations(dir: string, dialect: Dialect, layout: LayoutChoice = 'auto'): Promise<Discovery> {
  checkDir(dir);
  // SQL files are split by the server's grammar where the engine has one (PostgreSQL).
  await engineFor(dialect).sqlGrammar?.load();
  const chosen = chooseLayout(dir, dialect, layout);
  const found: Found =
    chosen.layout === 'native' ? { ...findMigrationFiles(dir), notes: [] } : findForLayout(chosen.layout, dir, chosen.entries ?? listFiles(dir), dialect);
  const issues = [...found.issues];
  const notes = [...found.notes];
  if (chosen.layout !== 'native') {
    notes.unshift(
      note('layout', 'info', {
        file: dir,
        problem: `Read as a ${chosen.layout} history: ${chosen.reason}.`,
        fix: 'To read it another way, set "migrations": {"layout": "..."} in the config or pass --layout.',
      }),
    );
  }
  if (chosen.layout !== 'native') for (const f of found.files) issues.push(...idIssues(f, dir));
  const migrations: MigrationSource[] = [];
  for (const f of found.files) {
    const m = await loadOne(f, dialect, issues);
    if (m === 'unreadable') continue;
    if ('skipped' in m) {
      notes.push(helperNote(f, dir, m.skipped));
      continue;
    }
    // Notes the finder made about this migration (a Flyway repeatable) belong on its row too.
    const own = found.notes.filter((n) => n.id === m.id);
    if (own.length) m.notes = [...own, ...(m.notes ?? [])];
    migrations.push(m);
    issues.push(...(m.issues ?? []));
    notes.push(...(m.notes ?? []).filter((n) => !own.includes(n)));
  }
  return { dir, layout: chosen.layout, layoutReason: chosen.reason, migrations, issues, notes };
}

/** The error for the blocking issues among `issues`, if any. */
export function blockingError(issues: readonly MigrationIssue[], blocks: 'all' | 'down' = 'all'): MigrateError | undefined {
  const relevant = issues.filter((i) => i.blocks === 'all' || (blocks === 'down' && i.blocks === 'down'));
  const first = relevant[0];
  if (!first) return undefined;
  if (relevant.length === 1) return new MigrateError('work', first.problem, first.fix);
  const more = relevant
    .slice(1)
    .map((i) => `  - ${i.problem}`)
    .join('\n');
  return new MigrateError('work', `${first.problem}\nAlso:\n${more}`, `${first.fix} Then fix the others the same way.`);
}

/** discoverMigrations, failing on any problem that makes a migration unusable. */
export async function loadMigrations(dir: string, dialect: Dialect, layout: LayoutChoice = 'auto'): Promise<MigrationSource[]> {
  const d = await discoverMigrations(dir, dialect, layout);
  const err = blockingError(d.issues);
  if (err) throw err;
  return d.migrations;
}
