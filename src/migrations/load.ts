import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { Dialect } from '../config/index.ts';
import { isKnownAckRule } from './ack-rules.ts';
import { engineFor } from '../engines/index.ts';
import { workError } from '../errors.ts';
import { checksumOf } from './checksum.ts';
import { runStatements } from './sql-exec.ts';
import { scanSql, type SqlComment } from './sql-split.ts';
import { firstCompilerLine, importModule } from '../config/index.ts';
import type { Layout } from './layouts/version.ts';
import { note } from './layouts/notes.ts';
import { PHASES, type Acknowledgement, type LoadNote, type MigrationIssue, type MigrationSource, type Phase, type SqlStatement } from './types.ts';

/** A migration's files, before they are read. */
export interface MigrationFiles {
  id: string;
  format: 'ts' | 'sql';
  upPath: string;
  downPath?: string;
  /** The layout it was found in (absent: native, read exactly as before layouts existed). */
  layout?: Layout;
  /** The version its tool records for it (versionOfId). */
  version?: string;
  /** goose / dbmate: up and down are annotated sections of upPath, not two files. */
  sections?: 'goose' | 'dbmate';
  /** Flyway `R__`: run after the versioned migrations. */
  repeatable?: boolean;
}

type MigrationFn = (knex: Knex) => Promise<void>;

function isPhase(v: unknown): v is Phase {
  return typeof v === 'string' && (PHASES as readonly string[]).includes(v);
}

/** Parses `-- migrate:phase post-deploy` and `-- migrate:ack RULE reason...` from a file's comments. */
export function readDirectives(
  comments: readonly SqlComment[],
  file: string,
  id: string,
  isDown: boolean,
): { phase?: Phase; acks: Acknowledgement[]; issues: MigrationIssue[] } {
  const acks: Acknowledgement[] = [];
  const issues: MigrationIssue[] = [];
  let phase: Phase | undefined;
  const where = (line: number): string => `${basename(file)} line ${line}`;
  for (const c of comments) {
    const m = /^migrate:([A-Za-z-]+)\s*(.*)$/s.exec(c.text);
    if (!m) continue;
    const directive = m[1] ?? '';
    const rest = (m[2] ?? '').trim();
    if (directive === 'phase') {
      if (isDown) {
        issues.push({
          id,
          file,
          blocks: 'all',
          severity: 'error',
          problem: `${where(c.line)} declares a phase, but the phase belongs to the migration's .up.sql.`,
          fix: `Move "-- migrate:phase ${rest}" to the .up.sql file.`,
        });
      } else if (!isPhase(rest)) {
        issues.push({
          id,
          file,
          blocks: 'all',
          severity: 'error',
          problem: `${where(c.line)} declares phase "${rest}", which is not a phase.`,
          fix: `Write "-- migrate:phase pre-deploy" or "-- migrate:phase post-deploy".`,
        });
      } else phase = rest;
    } else if (directive === 'ack') {
      const am = /^(\S+)\s+(\S.*)$/s.exec(rest);
      if (!am?.[1] || !am[2]) {
        issues.push({
          id,
          file,
          blocks: 'all',
          severity: 'error',
          problem: `${where(c.line)} has "-- migrate:ack" without a rule and a reason.`,
          fix: 'Write "-- migrate:ack RULE-CODE why this finding is safe here" (the reason is for reviewers).',
        });
      } else if (!isKnownAckRule(am[1])) {
        issues.push({
          id,
          file,
          blocks: 'all',
          severity: 'error',
          problem: `${where(c.line)} acknowledges "${am[1]}", which is not a rule code.`,
          fix: 'Use a code from the report (e.g. BC102), or a prefix ending in * for warnings; docs/rules.md lists them all.',
        });
      } else acks.push({ rule: am[1], reason: am[2].trim() });
    } else {
      issues.push({
        id,
        file,
        blocks: 'all',
        severity: 'error',
        problem: `${where(c.line)} has an unknown directive "migrate:${directive}".`,
        fix: 'The directives are "-- migrate:phase pre-deploy|post-deploy" and "-- migrate:ack RULE reason".',
      });
    }
  }
  return { phase, acks, issues };
}

export function delimiterIssues(statements: readonly SqlStatement[], file: string, id: string): MigrationIssue[] {
  const s = statements.find((x) => /^DELIMITER\b/i.test(x.sql));
  if (!s) return [];
  return [
    {
      id,
      file,
      blocks: 'all',
      severity: 'error',
      problem: `${basename(file)} line ${s.line} uses DELIMITER, which is a mysql client command, not SQL.`,
      fix: 'Remove the DELIMITER lines and end the statements with ";": BEGIN ... END bodies of procedures, functions, triggers and events are recognised without it.',
    },
  ];
}

export function loadSqlMigration(files: MigrationFiles, dialect: Dialect): MigrationSource {
  const { id, upPath, downPath } = files;
  const upText = readFileSync(upPath, 'utf8');
  const downText = downPath ? readFileSync(downPath, 'utf8') : undefined;
  const up = scanSql(upText, dialect);
  const down = downText !== undefined ? scanSql(downText, dialect) : undefined;
  const upDir = readDirectives(up.comments, upPath, id, false);
  const downDir = down && downPath ? readDirectives(down.comments, downPath, id, true) : undefined;
  const issues: MigrationIssue[] = [...upDir.issues, ...(downDir?.issues ?? [])];
  issues.push(...delimiterIssues(up.statements, upPath, id));
  if (down && downPath) issues.push(...delimiterIssues(down.statements, downPath, id));
  if (up.statements.length === 0) {
    issues.push({
      id,
      file: upPath,
      blocks: 'all',
      severity: 'error',
      problem: `${basename(upPath)} holds no SQL statement.`,
      fix: 'Write the change into the file, or delete the migration if it is not needed.',
    });
  }
  if (!downPath) {
    const expected = upPath.replace(/\.up\.sql$/, '.down.sql');
    issues.push({
      id,
      file: expected,
      blocks: 'down',
      severity: 'error',
      problem: `Migration ${id} has no down file: ${basename(expected)} does not exist, so it cannot be reverted.`,
      fix: `Create ${expected} with the statements that undo ${basename(upPath)}.`,
    });
  }
  const upStatements = up.statements;
  const downStatements = down?.statements;
  const source: MigrationSource = {
    id,
    format: 'sql',
    upPath,
    downPath,
    checksum: checksumOf(downText !== undefined ? [upText, downText] : [upText]),
    phase: upDir.phase,
    acknowledgements: [...upDir.acks, ...(downDir?.acks ?? [])],
    upSql: upStatements.map((s) => s.sql),
    downSql: downStatements?.map((s) => s.sql),
    upStatements,
    downStatements,
    transactional: !engineFor(dialect).ddlIsTransactional || !upStatements.some((s) => s.noTransaction),
    issues,
    reversible: downStatements !== undefined,
    up: (knex) => runStatements(knex, dialect, upStatements),
  };
  if (downStatements) source.down = (knex) => runStatements(knex, dialect, downStatements);
  return source;
}

/** Picks the module's exports, looking through `default` for CommonJS (knex-style) modules. */
function exportsOf(mod: Record<string, unknown>): Record<string, unknown> {
  const d = mod['default'];
  if (typeof mod['up'] !== 'function' && typeof d === 'object' && d !== null && typeof (d as Record<string, unknown>)['up'] === 'function') {
    return d as Record<string, unknown>;
  }
  return mod;
}

function asMigrationFn(v: unknown): MigrationFn | undefined {
  if (typeof v !== 'function') return undefined;
  // knex-style migrations may return a query builder (a thenable) instead of a promise.
  return async (knex) => {
    await (v as (k: Knex) => unknown)(knex);
  };
}

function parseAcknowledge(v: unknown): Acknowledgement[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: Acknowledgement[] = [];
  for (const a of v) {
    if (typeof a !== 'object' || a === null) return undefined;
    const r = a as Record<string, unknown>;
    if (typeof r['rule'] !== 'string' || !r['rule'] || typeof r['reason'] !== 'string' || !r['reason'].trim()) return undefined;
    out.push({ rule: r['rule'], reason: r['reason'].trim() });
  }
  return out;
}

/** A TypeScript migration's `acknowledge` export, checked against the rule codes; a problem is added to `issues`. */
function tsAcknowledgements(value: unknown, id: string, upPath: string, issues: MigrationIssue[]): Acknowledgement[] {
  const file = basename(upPath);
  let acknowledgements: Acknowledgement[] = [];
  if (value !== undefined) {
    const acks = parseAcknowledge(value);
    const unknown = acks?.filter((a) => !isKnownAckRule(a.rule)) ?? [];
    if (acks && unknown.length) {
      issues.push({
        id,
        file: upPath,
        blocks: 'all',
        severity: 'error',
        problem: `${file} acknowledges ${unknown.map((a) => `"${a.rule}"`).join(', ')}, not ${unknown.length > 1 ? 'rule codes' : 'a rule code'}.`,
        fix: 'Use a code from the report (e.g. BC102), or a prefix ending in * for warnings; docs/rules.md lists them all.',
      });
    } else if (acks) acknowledgements = acks;
    else
      issues.push({
        id,
        file: upPath,
        blocks: 'all',
        severity: 'error',
        problem: `${file} exports an acknowledge value that is not a list of {rule, reason}.`,
        fix: "Write `export const acknowledge = [{ rule: 'BC101', reason: 'why it is safe' }]` (both non-empty strings).",
      });
  }
  return acknowledgements;
}

/** Whether a TypeScript migration runs in a transaction; a value that is not a boolean is added to `issues`. */
function tsTransactional(mod: Record<string, unknown>, id: string, upPath: string, issues: MigrationIssue[]): boolean {
  const file = basename(upPath);
  // `export const transaction = false`, or knex's own `export const config = { transaction: false }`.
  let transactional = true;
  const knexConfig = mod['config'];
  const tx = mod['transaction'] ?? (typeof knexConfig === 'object' && knexConfig !== null ? (knexConfig as Record<string, unknown>)['transaction'] : undefined);
  if (tx !== undefined) {
    if (typeof tx === 'boolean') transactional = tx;
    else
      issues.push({
        id,
        file: upPath,
        blocks: 'all',
        severity: 'error',
        problem: `${file} exports transaction = ${JSON.stringify(tx)}, not a boolean.`,
        fix: 'Use `export const transaction = false` to run the migration outside a transaction, or remove it.',
      });
  }
  return transactional;
}

/** A module without down(): natively an issue that blocks reverting; in the knex layout a note (up runs, down refuses). */
function noDownTs(id: string, upPath: string, knex: boolean, issues: MigrationIssue[], notes: LoadNote[]): void {
  const noDown = {
    id,
    file: upPath,
    problem: `Migration ${id} has no down(): ${basename(upPath)} exports no down() function, so it cannot be reverted.`,
    fix: `Add \`export async function down(knex: Knex): Promise<void> { ... }\` to ${upPath}, undoing what up() does.`,
  };
  if (knex) notes.push(note('missing-down', 'error', noDown, 'down'));
  else issues.push({ ...noDown, blocks: 'down', severity: 'error' });
}

/** A module of the knex layout that is not a migration, and why (for the caller's note). */
export interface SkippedModule {
  skipped: string;
}

/**
 * A TypeScript/JavaScript migration module. In the knex layout a module with no up export is a
 * helper beside the migrations, not one, and so is an unnumbered module that cannot be imported
 * (a script needing the application around it): they are returned as skipped, for a note.
 */
export async function loadTsMigration(files: MigrationFiles): Promise<MigrationSource | SkippedModule> {
  const { id, upPath } = files;
  const file = basename(upPath);
  const checksum = checksumOf([readFileSync(upPath, 'utf8')]);
  const issues: MigrationIssue[] = [];
  const broken = (): never => {
    const first = issues.find((x) => x.blocks === 'all');
    throw workError(first?.problem ?? `Migration ${id} cannot be loaded.`, first?.fix ?? `Fix ${upPath}.`);
  };
  let mod: Record<string, unknown>;
  try {
    mod = exportsOf(await importModule(upPath, checksum));
  } catch (e) {
    if (files.layout === 'knex' && !/^\d/.test(file))
      return { skipped: `${file} cannot be imported (${firstCompilerLine(e)}) and is not numbered like a migration: taken for a helper module and skipped.` };
    issues.push({
      id,
      file: upPath,
      blocks: 'all',
      severity: 'error',
      problem: `Cannot load migration ${file}: ${firstCompilerLine(e)}`,
      fix: `Fix the error in ${upPath}; a migration module exports async functions up(knex) and down(knex).`,
      unloadable: true,
    });
    return { id, format: 'ts', upPath, checksum, acknowledgements: [], transactional: true, issues, up: async () => broken() };
  }
  const up = asMigrationFn(mod['up']);
  const down = asMigrationFn(mod['down']);
  const knex = files.layout === 'knex';
  if (!up && knex) return { skipped: `${file} exports no up() function: a helper module beside the knex migrations, skipped.` };
  if (!up) {
    issues.push({
      id,
      file: upPath,
      blocks: 'all',
      severity: 'error',
      problem: `${file} exports no up() function.`,
      fix: 'Add `export async function up(knex: Knex): Promise<void> { ... }`.',
    });
  }
  const notes: LoadNote[] = [];
  if (!down) noDownTs(id, upPath, knex, issues, notes);
  let phase: Phase | undefined;
  if (mod['phase'] !== undefined) {
    if (isPhase(mod['phase'])) phase = mod['phase'];
    else
      issues.push({
        id,
        file: upPath,
        blocks: 'all',
        severity: 'error',
        problem: `${file} exports phase = ${JSON.stringify(mod['phase'])}, which is not a phase.`,
        fix: "Use `export const phase = 'pre-deploy'` or `'post-deploy'`.",
      });
  }
  const acknowledgements = tsAcknowledgements(mod['acknowledge'], id, upPath, issues);
  const transactional = tsTransactional(mod, id, upPath, issues);
  const blocked = issues.some((x) => x.blocks === 'all');
  const source: MigrationSource = {
    id,
    format: 'ts',
    upPath,
    checksum,
    phase,
    acknowledgements,
    transactional,
    issues,
    ...(knex ? { notes, layout: 'knex' as const } : {}),
    reversible: down !== undefined,
    up: !blocked && up ? up : async () => broken(),
  };
  if (down && !blocked) source.down = down;
  return source;
}
