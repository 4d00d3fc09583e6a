import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { Dialect } from '../config/index.ts';
import { MigrateError } from '../errors.ts';
import { BACKFILL_STATE_TABLE } from './backfill.ts';
import { checkEffect, type EffectCheck } from './effect.ts';
import { statementExcerpt } from './excerpt.ts';
import { statementsHash, type ProgressRow } from './progress.ts';
import type { MigrationSource, SqlStatement } from './types.ts';

/**
 * What an interrupted or failed run left, read from its progress row and (for the one statement
 * whose completion was not recorded) from the server. Nothing here is inferred from how the run
 * ended: the row says which statements completed, the server says whether the uncertain one did.
 */
export interface Assessment {
  row: ProgressRow;
  /**
   * nothing: no statement of it took effect (a clean retry is safe); some: statements 1..ran did;
   * unknown: migrate cannot tell; resumable: a TypeScript migration whose backfill() recorded its
   * progress, so running it again continues where it stopped (what backfill() is for).
   */
  stays: 'nothing' | 'some' | 'unknown' | 'resumable';
  /** resumable: the backfill's record, e.g. "2 backfill steps, 1200 rows done". */
  backfill?: string;
  /** Statements 1..ran took effect (counting the uncertain one when the server showed it ran). */
  ran: number;
  /** The statement sent whose completion was not recorded, and what the server showed. */
  uncertain?: { index: number; sql: string; line: number; check: EffectCheck };
  /** The statements the run executed (the file's, when it still matches what ran). */
  statements?: SqlStatement[];
  file?: string;
  /** The statements recorded as done are no longer the file's first ones (it was edited since). */
  changedSinceRun: boolean;
}

export function statementsOf(m: MigrationSource | undefined, direction: 'up' | 'down'): SqlStatement[] | undefined {
  if (m?.format !== 'sql') return undefined;
  return direction === 'up' ? m.upStatements : m.downStatements;
}

export function fileOf(m: MigrationSource | undefined, direction: 'up' | 'down'): string | undefined {
  if (!m) return undefined;
  return direction === 'up' || m.format === 'ts' ? m.upPath : (m.downPath ?? m.upPath);
}

/** Reads what stays of an interrupted run: `db` must see the migration's database. */
export async function assess(db: Knex, dialect: Dialect, row: ProgressRow, m: MigrationSource | undefined): Promise<Assessment> {
  const statements = statementsOf(m, row.direction);
  const file = fileOf(m, row.direction);
  const changedSinceRun =
    statements !== undefined && row.done > 0 && row.doneHash !== null && statementsHash(statements.slice(0, row.done).map((s) => s.sql)) !== row.doneHash;
  const base = { row, ...(statements ? { statements } : {}), ...(file ? { file } : {}), changedSinceRun };
  if (row.format === 'ts') {
    // A transaction that never committed left nothing; the ledger row and this row's removal
    // would have committed with it.
    if (row.transactional) return { ...base, stays: 'nothing', ran: 0 };
    const backfill = await backfillRecord(db, row.id);
    return backfill ? { ...base, stays: 'resumable', ran: 0, backfill } : { ...base, stays: 'unknown', ran: 0 };
  }
  if (row.current === null) return { ...base, stays: row.done === 0 ? 'nothing' : 'some', ran: row.done };
  const st = statements?.[row.current - 1];
  if (!st || changedSinceRun) {
    return {
      ...base,
      stays: 'unknown',
      ran: row.done,
      uncertain: {
        index: row.current,
        sql: st?.sql ?? '',
        line: st?.line ?? 0,
        check: { ran: undefined, evidence: 'the file changed since the run, so migrate cannot tell which statement it was' },
      },
    };
  }
  const check = await checkEffect(db, dialect, st.sql);
  const uncertain = { index: row.current, sql: st.sql, line: st.line, check };
  if (check.ran === true) return { ...base, stays: 'some', ran: row.current, uncertain };
  // A statement that left nothing behind (or may be repeated) counts as not run: it runs again.
  if (check.ran === false || check.repeatSafe) return { ...base, stays: row.done === 0 ? 'nothing' : 'some', ran: row.done, uncertain };
  return { ...base, stays: 'unknown', ran: row.done, uncertain };
}

/** What backfill() recorded for the migration (it resumes from it), or undefined. */
async function backfillRecord(db: Knex, id: string): Promise<string | undefined> {
  if (!(await db.schema.hasTable(BACKFILL_STATE_TABLE))) return undefined;
  const rows = (await db(BACKFILL_STATE_TABLE).where({ migration_id: id }).select('rows_done')) as Array<{ rows_done: unknown }>;
  if (rows.length === 0) return undefined;
  const n = rows.reduce((sum, r) => sum + Number(r.rows_done ?? 0), 0);
  return `${rows.length} backfill step${rows.length === 1 ? '' : 's'}, ${n} rows done`;
}

function utc(d: Date | null): string {
  return d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : 'at an unknown time';
}

function lineRange(statements: readonly SqlStatement[] | undefined, n: number, file: string | undefined): string {
  if (!file) return '';
  const name = basename(file);
  if (!statements || n === 0) return ` (${name})`;
  const first = statements[0]?.line;
  const last = statements[n - 1]?.line;
  return ` (${name}:${first === last ? first : `${first}-${last}`})`;
}

/** "interrupted 2026-11-24 10:01:02Z on host h (pid 123)" and why, as the run recorded it. */
export function howItEnded(row: ProgressRow): string {
  const where = `on ${row.host} (pid ${row.pid})`;
  const when = utc(row.endedAt ?? row.updatedAt);
  switch (row.outcome) {
    case 'failed':
      return `failed ${when} ${where}${row.note ? `: ${row.note}` : ''}`;
    case 'interrupted':
      return `interrupted ${when} ${where}${row.note ? ` (${row.note})` : ''}`;
    case 'timeout':
      return `stopped by --migration-timeout ${when} ${where}${row.note ? ` (${row.note})` : ''}`;
    case 'connection-lost':
      return `interrupted ${when} ${where}: the connection to the server was lost${row.note ? ` (${row.note})` : ''}`;
    default:
      return `interrupted ${where}: its process stopped without recording why (killed?); last recorded ${when}`;
  }
}

/** "partially applied: 2 of 3 statements ran (0002_x.up.sql:1-4)" */
export function summary(a: Assessment): string {
  const r = a.row;
  const verb = r.direction === 'up' ? 'partially applied' : 'partially reverted';
  if (r.format === 'ts') {
    const ts = r.transactional ? 'its transaction did not commit, so nothing of it stays' : 'migrate records no per-query progress of TypeScript migrations';
    return `${r.direction === 'up' ? 'interrupted while up() ran' : 'interrupted while down() ran'}${a.file ? ` (${basename(a.file)})` : ''}: ${ts}`;
  }
  const what = r.direction === 'up' ? 'statements' : 'down statements';
  const total = r.total ?? a.statements?.length ?? 0;
  return `${verb}: ${a.ran} of ${total} ${what} ran${lineRange(a.statements, a.ran, a.file)}`;
}

/** The uncertain statement, as the server answered for it. */
export function uncertainText(a: Assessment): string | undefined {
  const u = a.uncertain;
  if (!u) return undefined;
  const where = `statement ${u.index}${u.line ? ` (${a.file ? `${basename(a.file)}:` : 'line '}${u.line})` : ''}${u.sql ? ` "${statementExcerpt(u.sql)}"` : ''}`;
  if (u.check.ran === true) return `${where} ran: ${u.check.evidence} (checked on the server)`;
  if (u.check.ran === false) return `${where} did not run: ${u.check.evidence} (checked on the server)`;
  if (u.check.repeatSafe) return `${where} was sent to the server and may or may not have run: ${u.check.evidence}; it counts as not run`;
  return `${where} was sent to the server and may or may not have run: ${u.check.evidence}`;
}

/** The one paragraph `status` shows under a partially applied migration. */
export function statusLine(a: Assessment): string {
  const parts = [`${summary(a)}, ${howItEnded(a.row)}`];
  const u = uncertainText(a);
  if (u) parts.push(u);
  if (a.changedSinceRun) parts.push('the file changed since those statements ran');
  return parts.join('; ');
}

/** The next commands for a partially applied migration. */
export function repairChoices(a: Assessment): string {
  const id = a.row.id;
  const total = a.row.total ?? a.statements?.length ?? 0;
  const byHand = `after fixing it by hand, record the result with "migrate repair ${id} --mark-applied" (all of it is in place${a.row.direction === 'down' ? ': keep it applied' : ''}) or "migrate repair ${id} --forget" (none of it is${a.row.direction === 'down' ? ': it is reverted' : ''})`;
  if (a.row.format === 'ts')
    return `Make ${a.row.direction}() in ${a.file ? basename(a.file) : 'the file'} safe to run again over what it already did, then "migrate repair ${id} --continue" runs it again from the start; or finish or undo it by hand (compare the schema with the file) and ${byHand.replace(/^after fixing it by hand, /, '')}.`;
  if (a.changedSinceRun)
    return `Restore the statements that ran (1-${a.row.done}) as they were, so "migrate repair ${id} --continue" / "--revert" can run; or ${byHand}.`;
  if (a.stays === 'unknown' && a.uncertain) {
    const k = a.uncertain.index;
    return `Check whether statement ${k} took effect (${a.uncertain.check.evidence}), then run "migrate repair ${id} --continue --from ${k}" if it did not or "--from ${k + 1}" if it did; or undo with "migrate repair ${id} --revert"; or ${byHand}.`;
  }
  const next = a.ran + 1;
  const cont =
    next > total
      ? `"migrate repair ${id} --continue" (every statement ran; it records the ${a.row.direction === 'up' ? 'migration as applied' : 'revert'})`
      : `"migrate repair ${id} --continue" (runs statement${next === total ? ` ${next}` : `s ${next}-${total}`}${a.row.outcome === 'failed' ? `; correct statement ${next} first` : ''})`;
  const rev =
    a.row.direction === 'up'
      ? `undo statements 1-${a.ran} with "migrate repair ${id} --revert" (runs the down statements that apply)`
      : `re-apply what was reverted with "migrate repair ${id} --revert"`;
  return `Finish it with ${cont}, or ${rev}; or ${byHand}.`;
}

/** up/down refuse to run past a partially applied migration. */
export function partialError(list: readonly Assessment[]): MigrateError {
  const first = list[0]!;
  const others = list
    .slice(1)
    .map((a) => ` Also ${a.row.id} is ${summary(a)}.`)
    .join('');
  const u = uncertainText(first);
  return new MigrateError(
    'work',
    `${first.row.id} is ${summary(first)}, ${howItEnded(first.row)}.${u ? ` ${u[0]?.toUpperCase()}${u.slice(1)}.` : ''}${others} Nothing was run: migrations must not run on top of a half-applied one.`,
    repairChoices(first),
  );
}
