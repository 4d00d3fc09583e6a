import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Dialect } from '../../config/index.ts';
import { engineFor } from '../../engines/index.ts';
import { checksumOf } from '../checksum.ts';
import { delimiterIssues, type MigrationFiles, readDirectives } from '../load.ts';
import { runStatements } from '../sql-exec.ts';
import { delimiterBlocks, keepLines, type SqlScan, scanSql, scanSqlWithBlocks } from '../sql-split.ts';
import type { LoadNote, MigrationIssue, MigrationSource, SqlStatement } from '../types.ts';
import { type FileSubstitution, substituteFile } from './envsub.ts';
import { note, refusal } from './notes.ts';
import { dbmateSections, gooseSections, type Sections } from './sections.ts';

/** What the files of one migration hold, once split into the two directions. */
interface Directions {
  up: SqlScan;
  /** undefined: no down at all (no file, no section). */
  down?: SqlScan;
  downFile?: string;
  texts: string[];
  /** goose NO TRANSACTION, dbmate transaction:false: every statement of that direction runs outside a transaction. */
  noTransaction: { up: boolean; down: boolean };
  issues: MigrationIssue[];
  notes: LoadNote[];
}

function splitSections(f: MigrationFiles, dialect: Dialect, written: string): Directions {
  const lines = written.split(/\r?\n/);
  const s: Sections = f.sections === 'goose' ? gooseSections(lines) : dbmateSections(lines);
  // goose ENVSUB: the statements are the expanded ones; the checksum stays the file's as written.
  const sub = substituteFile(lines, s.envsub, process.env);
  const text = s.envsub.some(Boolean) ? sub.text : written;
  const tool = f.sections === 'goose' ? 'goose' : 'dbmate';
  const name = basename(f.upPath);
  const issues: MigrationIssue[] = s.problems.map((p) =>
    refusal({
      id: f.id,
      file: f.upPath,
      problem: `${name} line ${p.line}: ${p.text}; ${tool} refuses the file too.`,
      fix: `Correct the annotation in ${f.upPath}.`,
    }),
  );
  issues.push(...envsubIssues(f, name, sub));
  const notes: LoadNote[] = envsubNotes(f, name, sub);
  if (!s.hasUp) {
    const marker = tool === 'goose' ? '-- +goose Up' : '-- migrate:up';
    issues.push(
      refusal({
        id: f.id,
        file: f.upPath,
        problem: `${name} has no "${marker}" line, so nothing in it is the up migration.`,
        fix: `Add "${marker}" above its statements.`,
      }),
    );
  }
  const section = (dir: 'up' | 'down'): SqlScan => scanSqlWithBlocks(text, dialect, (n) => s.role[n - 1] === dir, s.blocks[dir]);
  const up = section('up');
  // Header comments above the first annotation (`-- migrate:ack RV101 ...`) belong to the up.
  const header = scanSql(
    keepLines(lines, (n) => n < s.firstAnnotation),
    dialect,
  ).comments;
  return {
    up: { statements: up.statements, comments: [...header, ...up.comments] },
    ...(s.hasDown ? { down: section('down'), downFile: f.upPath } : {}),
    texts: [written],
    noTransaction: s.noTransaction,
    issues,
    notes,
  };
}

/** Where goose would refuse the file: a `$` it cannot expand, a `${NAME?}` whose variable is unset. */
function envsubIssues(f: MigrationFiles, name: string, sub: FileSubstitution): MigrationIssue[] {
  return sub.errors.map((e) =>
    refusal({
      id: f.id,
      file: f.upPath,
      problem: `${name} line ${e.line}: ENVSUB cannot expand it: ${e.message}; goose refuses the file too.`,
      fix: 'Set the variable, write a literal $ as $$ or \\$, or put "-- +goose ENVSUB OFF" before the line.',
    }),
  );
}

/** Which variables ENVSUB read: names only, never values (a password is a typical one). */
function envsubNotes(f: MigrationFiles, name: string, sub: FileSubstitution): LoadNote[] {
  const notes: LoadNote[] = [];
  const set = sub.used.filter((u) => u.set);
  const unset = sub.used.filter((u) => !u.set);
  if (set.length)
    notes.push(
      note('layout', 'info', {
        id: f.id,
        file: f.upPath,
        problem: `${name}: ENVSUB substituted ${set.map((u) => `$${u.name} (line ${u.line})`).join(', ')} from the environment; printed statements show the references, not the values.`,
        fix: 'Nothing to do; the same environment must be set wherever this migration runs or is checked.',
      }),
    );
  if (unset.length)
    notes.push(
      note('layout', 'warning', {
        id: f.id,
        file: f.upPath,
        problem: `${name}: ENVSUB found ${unset.map((u) => `$${u.name} (line ${u.line})`).join(', ')} not set: ${unset.length > 1 ? 'they expand' : 'it expands'} to '' (or the \${NAME:-default}), as goose does.`,
        fix: `Set ${unset.map((u) => u.name).join(', ')} in the environment of migrate, or write \${NAME?message} so a missing value refuses the file.`,
      }),
    );
  return notes;
}

/** A whole file's statements; Flyway's files may change the delimiter as the mysql client does. */
function scanFile(f: MigrationFiles, text: string, dialect: Dialect): SqlScan {
  if (f.layout !== 'flyway' || !/^\s*DELIMITER\s/im.test(text)) return scanSql(text, dialect);
  const { blocks, skip } = delimiterBlocks(text.split(/\r?\n/));
  return scanSqlWithBlocks(text, dialect, (n) => !skip.has(n), blocks);
}

function readDirections(f: MigrationFiles, dialect: Dialect): Directions {
  const upText = readFileSync(f.upPath, 'utf8');
  if (f.sections) return splitSections(f, dialect, upText);
  const downText = f.downPath ? readFileSync(f.downPath, 'utf8') : undefined;
  return {
    up: scanFile(f, upText, dialect),
    ...(downText !== undefined && f.downPath ? { down: scanFile(f, downText, dialect), downFile: f.downPath } : {}),
    texts: downText !== undefined ? [upText, downText] : [upText],
    noTransaction: { up: false, down: false },
    issues: [],
    notes: [],
  };
}

/** Empty up (a no-op placeholder) and a missing or empty down, as notes. */
function shapeNotes(f: MigrationFiles, d: Directions): LoadNote[] {
  const notes: LoadNote[] = [];
  const name = basename(f.upPath);
  const upEmpty = d.up.statements.length === 0;
  if (upEmpty) {
    notes.push(
      note('empty-migration', 'info', {
        id: f.id,
        file: f.upPath,
        problem: `${f.id}: ${f.sections ? `the up section of ${name}` : name} holds no SQL statement (comments only); it runs as a no-op and is recorded as applied.`,
        fix: 'Nothing to do if it is a placeholder; otherwise write the change into it.',
      }),
    );
  }
  const downEmpty = d.down !== undefined && d.down.statements.length === 0;
  // A no-op up needs no down: there is nothing to undo.
  if (!upEmpty && (d.down === undefined || downEmpty)) {
    const what = f.repeatable
      ? `${name} is a repeatable migration: Flyway has no undo for it`
      : d.down === undefined
        ? `${f.id} has no down (${f.sections ? 'no down section' : f.layout === 'flyway' ? 'no U file of its version' : 'no .down.sql of its version'})`
        : `the down of ${f.id} holds no SQL statement`;
    notes.push(
      note(
        'missing-down',
        'error',
        {
          id: f.id,
          file: d.downFile ?? f.upPath,
          problem: `${what}, so it cannot be reverted: "migrate down" refuses it and the analysis reports it as not reversible.`,
          fix: 'Write the statements that undo it, or acknowledge that this migration is not reversible.',
        },
        'down',
      ),
    );
  }
  return notes;
}

/**
 * A SQL migration of another tool's layout. Unlike the native layout, irregularities the tool
 * itself runs (an empty placeholder, no down) are notes, not refusals: `up` runs such a history.
 */
export function loadLayoutSql(f: MigrationFiles, dialect: Dialect): MigrationSource {
  const d = readDirections(f, dialect);
  const upDir = readDirectives(d.up.comments, f.upPath, f.id, false);
  const downDir = d.down && d.downFile ? readDirectives(d.down.comments, d.downFile, f.id, true) : undefined;
  const issues: MigrationIssue[] = [...d.issues, ...upDir.issues, ...(downDir?.issues ?? [])];
  issues.push(...delimiterIssues(d.up.statements, f.upPath, f.id));
  if (d.down && d.downFile) issues.push(...delimiterIssues(d.down.statements, d.downFile, f.id));
  const notes = [...d.notes, ...shapeNotes(f, d)];
  const outside = (list: SqlStatement[], no: boolean): SqlStatement[] => (no ? list.map((s) => ({ ...s, noTransaction: true })) : list);
  const upStatements = outside(d.up.statements, d.noTransaction.up);
  const noOp = upStatements.length === 0;
  const usableDown = d.down && (d.down.statements.length > 0 || noOp) ? outside(d.down.statements, d.noTransaction.down) : noOp ? [] : undefined;
  const transactional = !d.noTransaction.up && (!engineFor(dialect).ddlIsTransactional || !upStatements.some((s) => s.noTransaction));
  const source: MigrationSource = {
    id: f.id,
    format: 'sql',
    upPath: f.upPath,
    ...(usableDown && d.downFile && d.down ? { downPath: d.downFile } : {}),
    checksum: checksumOf(d.texts),
    phase: upDir.phase,
    acknowledgements: [...upDir.acks, ...(downDir?.acks ?? [])],
    upSql: upStatements.map((s) => s.sql),
    upStatements,
    transactional,
    issues,
    notes,
    ...(f.layout ? { layout: f.layout } : {}),
    ...(f.version !== undefined ? { version: f.version } : {}),
    reversible: usableDown !== undefined,
    up: (knex) => runStatements(knex, dialect, upStatements),
  };
  if (usableDown) {
    source.downSql = usableDown.map((s) => s.sql);
    source.downStatements = usableDown;
    source.down = (knex) => runStatements(knex, dialect, usableDown);
  }
  return source;
}
