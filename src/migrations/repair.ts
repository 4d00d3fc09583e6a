import { basename } from 'node:path';
import { MigrateError, usageError } from '../errors.ts';
import { checkEffect, isRepeatable } from './effect.ts';
import { statementExcerpt } from './excerpt.ts';
import { executeMigration, type ExecContext } from './execute.ts';
import { repairChoices, summary, uncertainText, type Assessment } from './partial.ts';
import { runStatements } from './sql-exec.ts';
import type { MigrationStatus } from './status.ts';
import type { MigrationIssue, MigrationSource, SqlStatement } from './types.ts';

export type RepairMode = 'continue' | 'revert' | 'mark-applied' | 'forget';

export const REPAIR_MODES: readonly RepairMode[] = ['continue', 'revert', 'mark-applied', 'forget'];

export interface RepairArgs {
  ctx: ExecContext;
  status: MigrationStatus;
  /** The interrupted run of it, if any (read under the lock, so it is not running). */
  assessment: Assessment | undefined;
  mode: RepairMode;
  /** Creates the ledger tables if needed: called once the repair is known to write. */
  prepare: () => Promise<void>;
  /** --continue --from N: where to go on when the server could not tell whether statement N ran. */
  from?: number;
  issues: readonly MigrationIssue[];
}

export interface RepairResult {
  id: string;
  mode: RepairMode;
  /** What the ledger records now, in words. */
  recorded: string;
  /** 1-based statements of the file that ran during the repair. */
  ran: number[];
  /** Revert: statements skipped because their effect was already in place, with the evidence. */
  skipped: string[];
}

function nothingToRepair(s: MigrationStatus, mode: RepairMode): MigrateError {
  const state = s.state === 'pending' ? 'pending' : s.state === 'missing-file' ? 'applied (its file is gone)' : s.state;
  const next = s.state === 'pending' ? '"migrate up" runs it' : '"migrate down" reverts it';
  return usageError(
    `${s.id} has no interrupted run to ${mode === 'continue' ? 'continue' : 'revert'}: it is ${state}.`,
    `Nothing to repair: ${next}. "migrate status" shows which migrations are partially applied.`,
  );
}

function requireSource(s: MigrationStatus): MigrationSource {
  if (s.source) return s.source;
  throw new MigrateError(
    'work',
    `${s.id} has no file any more, so its statements cannot run.`,
    `Restore the file of ${s.id} from version control, or record a fix made by hand with "migrate repair ${s.id} --mark-applied" / "--forget".`,
  );
}

/** Carries out one of the four ways on after a partially applied migration. */
export async function repairMigration(r: RepairArgs): Promise<RepairResult> {
  switch (r.mode) {
    case 'continue':
      return continueRun(r);
    case 'revert':
      return revertRun(r);
    case 'mark-applied':
      return markApplied(r);
    case 'forget':
      return forget(r);
  }
}

function refuseScript(a: Assessment, mode: RepairMode): void {
  if (a.row.format !== 'ts') return;
  throw new MigrateError(
    'work',
    `${a.row.id} is a TypeScript migration: migrate records which of its statements ran only for SQL files, so it cannot --${mode} it. It is ${summary(a)}.`,
    repairChoices(a),
  );
}

function refuseChanged(a: Assessment, mode: RepairMode): void {
  if (!a.changedSinceRun) return;
  throw new MigrateError(
    'work',
    `${a.row.id}: statements 1-${a.row.done} of ${a.file ? basename(a.file) : 'its file'} changed since they ran, so --${mode} cannot tell which statements of the file ran.`,
    repairChoices(a),
  );
}

function refuseBlocking(m: MigrationSource, issues: readonly MigrationIssue[]): void {
  const own = issues.filter((i) => i.id === m.id && i.blocks === 'all');
  if (own[0]) throw new MigrateError('work', `${m.id} cannot run: ${own[0].problem}`, own[0].fix);
}

async function takeOver(r: RepairArgs): Promise<void> {
  await r.prepare();
  await r.ctx.writer.takeOverRun(r.status.id, { session: r.ctx.control.session, host: r.ctx.host, pid: process.pid, runBy: r.ctx.who });
}

async function continueRun(r: RepairArgs): Promise<RepairResult> {
  const a = r.assessment;
  if (!a) throw nothingToRepair(r.status, 'continue');
  if (a.row.format === 'ts') return rerunScript(r, a);
  refuseChanged(a, 'continue');
  const m = requireSource(r.status);
  refuseBlocking(m, r.issues);
  const total = (a.row.direction === 'up' ? m.upStatements : m.downStatements)?.length ?? 0;
  let from = a.ran + 1;
  if (r.from !== undefined) {
    const u = a.uncertain;
    const allowed = u && a.stays === 'unknown' ? [u.index, u.index + 1] : [from];
    if (!allowed.includes(r.from)) {
      throw usageError(
        `--from ${r.from} does not fit ${m.id}: ${summary(a)}${u ? `; ${uncertainText(a)}` : ''}.`,
        allowed.length > 1
          ? `Use --from ${allowed[0]} (statement ${allowed[0]} did not run) or --from ${allowed[1]} (it did).`
          : `Leave --from out: the ledger says statement ${from} is next.`,
      );
    }
    from = r.from;
  } else if (a.stays === 'unknown') {
    throw new MigrateError('work', `${m.id}: ${uncertainText(a)}, so --continue does not know where to start.`, repairChoices(a));
  }
  await takeOver(r);
  await executeMigration(r.ctx, m, a.row.direction, { from, byNote: '(repair --continue)' });
  const ran = Array.from({ length: Math.max(0, total - from + 1) }, (_, k) => from + k);
  const recorded = a.row.direction === 'up' ? `${m.id} is applied` : `${m.id} is reverted`;
  r.ctx.logger.info(
    `${recorded}: ran ${ran.length ? `statement${ran.length === 1 ? '' : 's'} ${ran.join(', ')}` : 'no statement (all had run)'} of ${basename((a.row.direction === 'up' ? m.upPath : m.downPath) ?? m.upPath)}`,
  );
  return { id: m.id, mode: 'continue', recorded, ran, skipped: [] };
}

/**
 * TypeScript: migrate cannot tell which of its queries ran, so "continue" runs the function again
 * from the start, as its author made it safe to (the refusal said so before this was allowed).
 */
async function rerunScript(r: RepairArgs, a: Assessment): Promise<RepairResult> {
  if (r.from !== undefined)
    throw usageError(
      '--from applies to SQL migrations only: a TypeScript migration runs again from the start.',
      `Leave --from out: "migrate repair ${a.row.id} --continue".`,
    );
  const m = requireSource(r.status);
  refuseBlocking(m, r.issues);
  await takeOver(r);
  await executeMigration(r.ctx, m, a.row.direction, { byNote: '(repair --continue)' });
  const recorded = a.row.direction === 'up' ? `${m.id} is applied` : `${m.id} is reverted`;
  r.ctx.logger.info(`${recorded}: ran ${a.row.direction}() of ${basename(m.upPath)} again from the start`);
  return { id: m.id, mode: 'continue', recorded, ran: [], skipped: [] };
}

/**
 * Undoes what ran of an interrupted up (with the down statements) or down (with the up
 * statements). How it decides which statements to run: a statement whose effect migrate can
 * check (DROP TABLE x, ADD COLUMN k, ...) runs only where that effect is missing, so the parts of
 * the migration that never ran are skipped; one with IF [NOT] EXISTS / OR REPLACE runs as
 * written (repeating it is harmless); any other statement (UPDATE, DELETE, CALL ...) is allowed
 * only when every statement of the interrupted direction had run, since only then does the whole
 * opposite file apply. Re-running --revert after it failed is safe for the same reason.
 */
async function revertRun(r: RepairArgs): Promise<RepairResult> {
  const a = r.assessment;
  if (!a) throw nothingToRepair(r.status, 'revert');
  refuseScript(a, 'revert');
  refuseChanged(a, 'revert');
  const m = requireSource(r.status);
  if (a.stays === 'unknown') throw new MigrateError('work', `${m.id}: ${uncertainText(a)}, so --revert cannot tell what to undo.`, repairChoices(a));
  const opposite = a.row.direction === 'up' ? m.downStatements : m.upStatements;
  const oppositeFile = a.row.direction === 'up' ? m.downPath : m.upPath;
  if (!opposite || !oppositeFile)
    throw new MigrateError(
      'work',
      `${m.id} has no down file, so --revert has nothing to undo statements 1-${a.ran} with.`,
      `Create ${m.upPath.replace(/\.up\.sql$/, '.down.sql')}, or undo them by hand and run "migrate repair ${m.id} --forget".`,
    );
  const total = a.row.total ?? 0;
  const everything = a.ran >= total;
  const plan: Array<{ index: number; st: SqlStatement; run: boolean; why: string }> = [];
  const unknown: string[] = [];
  for (const [k, st] of opposite.entries()) {
    const c = await checkEffect(r.ctx.session.db, r.ctx.dialect, st.sql);
    if (c.ran === true) plan.push({ index: k, st, run: false, why: c.evidence });
    else if (c.ran === false || isRepeatable(st.sql) || everything) plan.push({ index: k, st, run: true, why: c.evidence });
    else unknown.push(`statement ${k + 1} (line ${st.line}) "${statementExcerpt(st.sql)}": ${c.evidence}`);
  }
  if (unknown.length) {
    throw new MigrateError(
      'work',
      `${m.id} is ${summary(a)}. Its ${basename(oppositeFile)} has statements migrate cannot check against what ran, so it cannot tell whether they undo statements that never ran: ${unknown.join('; ')}. Nothing was run.`,
      `Undo statements 1-${a.ran} by hand (${basename(oppositeFile)} shows how), then record it with "migrate repair ${m.id} --${a.row.direction === 'up' ? 'forget' : 'mark-applied'}"; or finish it instead with "migrate repair ${m.id} --continue".`,
    );
  }
  await takeOver(r);
  const db = r.ctx.session.db;
  const ran: number[] = [];
  for (const p of plan.filter((x) => x.run)) {
    r.ctx.control.checkpoint();
    r.ctx.control.running({ kind: 'statement', migration: m.id, index: p.index, total: opposite.length, line: p.st.line, sql: p.st.sql, since: Date.now() });
    try {
      await runStatements(db, r.ctx.dialect, [p.st], { offset: p.index });
    } catch (e) {
      await r.ctx.writer
        .endRun(
          m.id,
          'failed',
          `repair --revert: ${basename(oppositeFile)} statement ${p.index + 1} failed${ran.length ? ` after statements ${ran.join(', ')} ran` : ''}`,
          undefined,
        )
        .catch(() => undefined);
      const msg = e instanceof Error ? e.message : String(e);
      throw new MigrateError(
        'work',
        `repair --revert of ${m.id} failed at ${basename(oppositeFile)} line ${p.st.line} (statement ${p.index + 1}): ${msg}${ran.length ? ` Statements ${ran.join(', ')} of it had run.` : ''} ${m.id} stays ${summary(a)}.`,
        `Fix the statement, then run "migrate repair ${m.id} --revert" again: it skips what is already undone.`,
        { cause: e },
      );
    } finally {
      r.ctx.control.idle();
    }
    ran.push(p.index + 1);
    await r.ctx.writer
      .endRun(m.id, 'interrupted', `repair --revert in progress: ${basename(oppositeFile)} statements ${ran.join(', ')} ran`, undefined)
      .catch(() => undefined);
  }
  // The migration is back where it was before the interrupted run: the ledger row stays as it was
  // (none for an interrupted up, the applied row for an interrupted down).
  await r.ctx.writer.clearRun(m.id);
  const skipped = plan.filter((x) => !x.run).map((x) => `statement ${x.index + 1} (${x.why})`);
  const recorded = a.row.direction === 'up' ? `${m.id} is pending again` : `${m.id} is applied again`;
  r.ctx.logger.info(
    `${recorded}: ran ${ran.length ? `statement${ran.length === 1 ? '' : 's'} ${ran.join(', ')}` : 'no statement'} of ${basename(oppositeFile)}${skipped.length ? `; skipped ${skipped.join(', ')}: already so` : ''}`,
  );
  return { id: m.id, mode: 'revert', recorded, ran, skipped };
}

async function markApplied(r: RepairArgs): Promise<RepairResult> {
  const s = r.status;
  const a = r.assessment;
  const db = r.ctx.session.db;
  const inLedger = s.entry !== undefined;
  if (!a && inLedger)
    throw usageError(`${s.id} is already applied; there is nothing to mark.`, '"migrate status" shows which migrations are partially applied.');
  const m = requireSource(s);
  await r.prepare();
  await db.transaction(async (trx) => {
    await r.ctx.writer.recordIfAbsent(
      {
        id: m.id,
        checksum: m.checksum,
        phase: m.phase ?? null,
        appliedAt: new Date(),
        appliedBy: `${r.ctx.who} (repair --mark-applied)`,
        host: r.ctx.host,
        executionMs: null,
      },
      trx,
    );
    await r.ctx.writer.clearRun(s.id, trx);
  });
  const recorded = `${s.id} is recorded as applied`;
  r.ctx.logger.info(`${recorded}${a ? ` (was ${summary(a)})` : ' (it was pending)'}; no statement ran`);
  return { id: s.id, mode: 'mark-applied', recorded, ran: [], skipped: [] };
}

async function forget(r: RepairArgs): Promise<RepairResult> {
  const s = r.status;
  const a = r.assessment;
  const db = r.ctx.session.db;
  const inLedger = s.entry !== undefined;
  if (!a && !inLedger) throw usageError(`${s.id} is pending; there is nothing to forget.`, '"migrate status" shows which migrations are partially applied.');
  await r.prepare();
  await db.transaction(async (trx) => {
    await r.ctx.writer.forgetIfPresent(s.id, trx);
    await r.ctx.writer.clearRun(s.id, trx);
  });
  const recorded = `${s.id} is recorded as not applied`;
  r.ctx.logger.info(`${recorded}${a ? ` (was ${summary(a)})` : ' (it was applied)'}; no statement ran`);
  return { id: s.id, mode: 'forget', recorded, ran: [], skipped: [] };
}
