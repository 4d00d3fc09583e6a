import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import { MigrateError } from '../errors.ts';
import { consoleLogger, type Logger } from '../log/index.ts';
import { currentMigration, type MigrationRunContext } from './context.ts';
import { withLockRetry } from '../engines/index.ts';
import { DEFAULT_LOCK_SAFETY, formatMs, type LockSafety } from '../config/index.ts';
import { num, str } from '../engines/index.ts';

/** Where an interrupted backfill remembers how far it got; rows are removed once the migration is recorded. */
export const BACKFILL_STATE_TABLE = 'migrate_backfill_state';

export interface BackfillProgress {
  table: string;
  /** The state key within the migration (the table, unless `name` was given). */
  step: string;
  /** Batches done in this run. */
  batch: number;
  rowsThisBatch: number;
  /** Rows updated so far, earlier interrupted runs included. */
  rowsUpdated: number;
  /** The last key of the range just done (as text). */
  lastKey: string;
  /** The largest key when this run started: the backfill stops there. */
  maxKey: string;
  /** 0..1 by key position, when the keys are numbers. */
  fraction: number | null;
  elapsedMs: number;
  /** The key an interrupted earlier run had reached, when this run resumed from it. */
  resumedFrom: string | null;
}

export interface BackfillOptions {
  /** The table to update (may be schema-qualified: "app.accounts"). */
  table: string;
  /** The SET clause, in SQL: "email_lower = lower(email)". Written by the migration's author, sent as is. */
  set: string;
  /** Only rows matching this SQL condition are updated, e.g. "email_lower IS NULL". */
  where?: string;
  /** The primary-key column the ranges are taken on (unique, indexed, orderable). Default "id". */
  key?: string;
  /** Rows per range (and so per transaction). Default 1000. */
  batchSize?: number;
  /** Pause between batches, so replicas and other sessions keep up. Default 100 ms. */
  pauseMs?: number;
  /** Called after every batch (after it committed); throwing stops the backfill, resumable. */
  onProgress?: (p: BackfillProgress) => void | Promise<void>;
  /** Progress lines to the log at most this often (and at the end); 0 turns them off. Default 5 s. */
  logEveryMs?: number;
  /** The state key; default: the id of the migration running it. Without either, the backfill is not resumable. */
  id?: string;
  /** Distinguishes two backfills of the same table in one migration. Default: the table. */
  name?: string;
  logger?: Logger;
}

export interface BackfillResult {
  rowsUpdated: number;
  batches: number;
  /** The key an interrupted run had reached, or null for a fresh start. */
  resumedFrom: string | null;
  /** true when a previous run had already finished it (nothing was done now). */
  alreadyDone: boolean;
  elapsedMs: number;
}

interface StateRow {
  lastKey: string | null;
  rowsDone: number;
  done: boolean;
  signature: string;
}

/** A string literal for SQL we print for people to paste: an id with a quote must not break out of it. */
function sqlText(v: string, dialect: Dialect): string {
  // MySQL reads backslash escapes in literals; PostgreSQL (standard_conforming_strings) does not.
  const s = engineFor(dialect).syntax.backslashEscapes ? v.replace(/\\/g, '\\\\') : v;
  return `'${s.replace(/'/g, "''")}'`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** knex treats "?" as a placeholder; SQL fragments given by the author are sent as written. */
function literal(sql: string): string {
  return sql.replace(/\?/g, '\\?');
}

function isTransaction(knex: Knex): boolean {
  return (knex as Knex & { isTransaction?: boolean }).isTransaction === true;
}

function dialectOf(knex: Knex): 'postgres' | 'mysql' {
  const c = String((knex.client as { config?: { client?: unknown } }).config?.client ?? '');
  return /pg|postgres/i.test(c) ? 'postgres' : 'mysql';
}

function affected(res: unknown): number {
  if (Array.isArray(res)) return num((res[0] as { affectedRows?: unknown } | undefined)?.affectedRows) ?? 0;
  return num((res as { rowCount?: unknown } | null)?.rowCount) ?? 0;
}

async function ensureStateTable(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable(BACKFILL_STATE_TABLE)) return;
  await knex.schema.createTable(BACKFILL_STATE_TABLE, (t) => {
    t.string('migration_id', 255).notNullable();
    t.string('step', 255).notNullable();
    t.string('table_name', 255).notNullable();
    t.string('signature', 64).notNullable();
    t.string('last_key', 255).nullable();
    t.bigInteger('rows_done').notNullable().defaultTo(0);
    t.boolean('done').notNullable().defaultTo(false);
    t.datetime('updated_at', { precision: 3 }).notNullable();
    t.primary(['migration_id', 'step']);
  });
}

async function readState(knex: Knex, id: string, step: string): Promise<StateRow | undefined> {
  const r = (await knex(BACKFILL_STATE_TABLE).where({ migration_id: id, step }).first()) as Record<string, unknown> | undefined;
  if (!r) return undefined;
  const done = r['done'];
  return {
    lastKey: str(r['last_key']),
    rowsDone: num(r['rows_done']) ?? 0,
    done: done === true || done === 1 || done === '1',
    signature: str(r['signature']) ?? '',
  };
}

/**
 * Deletes the saved state of a migration's backfills; the runner calls it when it records (or
 * removes) the migration in the ledger, so a migration applied again later starts afresh.
 */
export async function clearBackfillState(knex: Knex, migrationId: string): Promise<void> {
  if (!(await knex.schema.hasTable(BACKFILL_STATE_TABLE))) return;
  await knex(BACKFILL_STATE_TABLE).where({ migration_id: migrationId }).delete();
}

/**
 * Updates a table in primary-key ranges, one short transaction per range, with a pause between
 * batches and progress reports: the "backfill" step of expand -> backfill -> contract.
 *
 * Each batch commits its UPDATE together with the key it reached (in migrate_backfill_state),
 * so after a crash or a kill the next `migrate up` continues after the last committed range and
 * every row is updated exactly once, even by a non-idempotent SET. Rows inserted after the run
 * started (keys above the maximum it saw) are left alone: the new code writes them.
 *
 * Run it from a migration with `export const transaction = false` (its batches must commit on
 * their own). On PostgreSQL each batch runs under the run's lock_timeout and is retried after a
 * lock timeout or a deadlock; on MySQL/MariaDB after a lock wait timeout or a deadlock.
 */
export async function backfill(knex: Knex, opts: BackfillOptions): Promise<BackfillResult> {
  const run = settleRun(knex, opts);
  const bounds = await keyBounds(run);
  const state = await openState(run);
  if (state?.done) {
    run.logger.info(`${run.label}: already finished by an earlier run (${state.rowsDone} rows); nothing to do`);
    return { rowsUpdated: state.rowsDone, batches: 0, resumedFrom: state.lastKey, alreadyDone: true, elapsedMs: 0 };
  }
  const resumedFrom = state?.lastKey ?? null;
  const { rowsDone, batches } = await runBatches(run, bounds, resumedFrom, state?.rowsDone ?? 0);
  await closeState(run);
  const elapsedMs = Date.now() - run.started;
  if (run.logEveryMs > 0) {
    run.logger.info(
      `${run.label}: done, ${rowsDone} rows updated in ${batches} batch${batches === 1 ? '' : 'es'}${resumedFrom !== null ? ' (resumed)' : ''}, ${formatMs(elapsedMs)}`,
    );
  }
  return { rowsUpdated: rowsDone, batches, resumedFrom, alreadyDone: false, elapsedMs };
}

/** One backfill() call: its options with the defaults applied and what the running migration tells it. */
interface BackfillRun {
  knex: Knex;
  opts: BackfillOptions;
  ctx: MigrationRunContext | undefined;
  logger: Logger;
  key: string;
  batchSize: number;
  pauseMs: number;
  logEveryMs: number;
  /** The state key within the migration. */
  step: string;
  /** The state's migration id; without one the backfill keeps no state and cannot resume. */
  id: string | undefined;
  /** How log lines and errors name this backfill. */
  label: string;
  dialect: Dialect;
  safety: LockSafety;
  /** What decides which rows change and how: a resumed run must match the interrupted one. */
  signature: string;
  started: number;
}

/** Applies the defaults and refuses what cannot work, before any query is sent. */
function settleRun(knex: Knex, opts: BackfillOptions): BackfillRun {
  const ctx = currentMigration();
  const key = opts.key ?? 'id';
  const batchSize = opts.batchSize ?? 1000;
  const id = opts.id ?? ctx?.id;
  const label = `${id ?? 'backfill'}: backfill ${opts.table}${opts.name ? ` (${opts.name})` : ''}`;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new MigrateError('usage', `${label}: batchSize must be a whole number of at least 1 (got ${batchSize}).`, 'Pass e.g. batchSize: 1000.');
  if (isTransaction(knex)) {
    throw new MigrateError(
      'work',
      `${label}: backfill() was called inside a transaction, where its batches could not commit one by one (nor resume after a crash) and every updated row would stay locked until the end.`,
      'Put the backfill in a migration of its own with `export const transaction = false` (the runner then runs it outside a transaction).',
    );
  }
  return {
    knex,
    opts,
    ctx,
    logger: opts.logger ?? ctx?.logger ?? consoleLogger,
    key,
    batchSize,
    pauseMs: opts.pauseMs ?? 100,
    logEveryMs: opts.logEveryMs ?? 5000,
    step: opts.name ?? opts.table,
    id,
    label,
    dialect: ctx?.dialect ?? dialectOf(knex),
    safety: ctx?.lockSafety ?? { ...DEFAULT_LOCK_SAFETY, lockTimeoutMs: 0 },
    signature: createHash('sha256')
      .update(JSON.stringify([opts.table, opts.set, opts.where ?? '', key]))
      .digest('hex'),
    started: Date.now(),
  };
}

/** The keys the run covers: up to the largest key now, as rows added later belong to the new code. */
interface KeyBounds {
  maxKey: string | null;
  /** The smallest and largest key as numbers, for the progress fraction (null when not numeric). */
  minNum: number | null;
  maxNum: number | null;
}

async function keyBounds(run: BackfillRun): Promise<KeyBounds> {
  const bounds = (await run.knex(run.opts.table).min({ lo: run.key }).max({ hi: run.key }).first()) as { lo: unknown; hi: unknown } | undefined;
  return { maxKey: str(bounds?.hi), minNum: num(bounds?.lo), maxNum: num(bounds?.hi) };
}

/**
 * The saved position of an interrupted earlier run, or undefined for a fresh start (whose state
 * row is created now). A backfill without a migration id keeps no state: it warns instead.
 */
async function openState(run: BackfillRun): Promise<StateRow | undefined> {
  const { knex, id, step, label } = run;
  if (id === undefined) {
    run.logger.warn(`${label}: no migration id (not run by migrate, and no \`id\` option), so this backfill cannot resume after a crash.`);
    return undefined;
  }
  await ensureStateTable(knex);
  const state = await readState(knex, id, step);
  if (state && state.signature !== run.signature) {
    throw new MigrateError(
      'work',
      `${label}: an interrupted earlier run of this backfill (at key ${state.lastKey ?? '(start)'}, ${state.rowsDone} rows done) used a different table, SET, WHERE or key, so continuing from its position could leave rows updated two different ways.`,
      `Restore the backfill as it was and run again; or, to start over, delete its state: DELETE FROM ${BACKFILL_STATE_TABLE} WHERE migration_id = ${sqlText(id, run.dialect)} AND step = ${sqlText(step, run.dialect)};`,
    );
  }
  if (!state) {
    await knex(BACKFILL_STATE_TABLE).insert({
      migration_id: id,
      step,
      table_name: run.opts.table,
      signature: run.signature,
      last_key: null,
      rows_done: 0,
      done: false,
      updated_at: new Date(),
    });
  }
  return state;
}

/** Updates range after range from `resumedFrom` up to the bounds' largest key; rowsDone counts the earlier runs' rows too. */
async function runBatches(run: BackfillRun, bounds: KeyBounds, resumedFrom: string | null, rowsBefore: number): Promise<{ rowsDone: number; batches: number }> {
  const { opts, logger } = run;
  const { maxKey } = bounds;
  let last = resumedFrom;
  let rowsDone = rowsBefore;
  let batches = 0;
  let lastLog = Date.now();
  if (resumedFrom !== null) logger.info(`${run.label}: resuming after key ${resumedFrom} (${rowsDone} rows were updated by an interrupted earlier run)`);
  else if (maxKey !== null)
    logger.info(`${run.label}: ${opts.set}${opts.where ? ` where ${opts.where}` : ''}, keys up to ${maxKey}, ${run.batchSize} per batch`);

  while (maxKey !== null) {
    const upper = await rangeEnd(run, maxKey, last);
    if (upper === null) break;
    const n = await updateRange(run, last, upper, rowsDone);
    last = upper;
    rowsDone += n;
    batches++;
    const p = progressAfter(run, bounds, { batch: batches, rowsThisBatch: n, rowsUpdated: rowsDone, lastKey: upper, maxKey, resumedFrom });
    if (run.logEveryMs > 0 && Date.now() - lastLog >= run.logEveryMs) {
      lastLog = Date.now();
      logger.info(
        `${run.label}: ${rowsDone} rows updated, key ${upper} of ${maxKey}${p.fraction !== null ? ` (${Math.floor(p.fraction * 100)} %)` : ''}, ${formatMs(p.elapsedMs)}`,
      );
    }
    await opts.onProgress?.(p);
    if (upper === maxKey) break;
    if (run.pauseMs > 0) await sleep(run.pauseMs);
  }
  return { rowsDone, batches };
}

/** The last key of the next range after `last` (at most batchSize keys, none above maxKey), or null when none is left. */
async function rangeEnd(run: BackfillRun, maxKey: string, last: string | null): Promise<string | null> {
  const { knex, key } = run;
  const range = knex(run.opts.table).where(key, '<=', maxKey);
  if (last !== null) range.andWhere(key, '>', last);
  let upperRow = (await range
    .clone()
    .select({ k: key })
    .orderBy(key)
    .limit(1)
    .offset(run.batchSize - 1)) as Array<{ k: unknown }>;
  if (upperRow.length === 0) upperRow = (await range.clone().max({ k: key })) as Array<{ k: unknown }>;
  return str(upperRow[0]?.k);
}

/**
 * Updates the keys in (from, upper] and records `upper` as reached, in one transaction, so a
 * crash leaves the state at a range boundary; returns the rows updated.
 */
function updateRange(run: BackfillRun, from: string | null, upper: string, rowsDone: number): Promise<number> {
  const { knex, opts, key, id, step, safety, logger, label } = run;
  const where = opts.where ? ` AND (${literal(opts.where)})` : '';
  const setSql = literal(opts.set);
  return withLockRetry({ settings: safety, logger, label, watch: run.ctx?.lockWatch }, () =>
    knex.transaction(async (trx) => {
      const lockTimeout = engineFor(run.dialect).migrations.transactionLockTimeout(safety.lockTimeoutMs);
      if (lockTimeout) await trx.raw(lockTimeout.sql, lockTimeout.bindings);
      const lower = from !== null ? ' AND ?? > ?' : '';
      const bindings: Knex.Value[] = [opts.table, key, upper, ...(from !== null ? [key, from] : [])];
      const res: unknown = await trx.raw(`UPDATE ?? SET ${setSql} WHERE ?? <= ?${lower}${where}`, bindings);
      const count = affected(res);
      if (id !== undefined) {
        await trx(BACKFILL_STATE_TABLE)
          .where({ migration_id: id, step })
          .update({ last_key: upper, rows_done: rowsDone + count, updated_at: new Date() });
      }
      return count;
    }),
  );
}

function progressAfter(run: BackfillRun, bounds: KeyBounds, batch: Omit<BackfillProgress, 'table' | 'step' | 'fraction' | 'elapsedMs'>): BackfillProgress {
  const { minNum, maxNum } = bounds;
  const lastNum = num(batch.lastKey);
  const fraction =
    minNum !== null && maxNum !== null && lastNum !== null ? (maxNum === minNum ? 1 : Math.min(1, Math.max(0, (lastNum - minNum) / (maxNum - minNum)))) : null;
  const { batch: n, rowsThisBatch, rowsUpdated, lastKey, maxKey, resumedFrom } = batch;
  // Fields in the order onProgress has always received them.
  return {
    table: run.opts.table,
    step: run.step,
    batch: n,
    rowsThisBatch,
    rowsUpdated,
    lastKey,
    maxKey,
    fraction,
    elapsedMs: Date.now() - run.started,
    resumedFrom,
  };
}

/** Marks the run's state finished, or clears it when no runner will record the migration. */
async function closeState(run: BackfillRun): Promise<void> {
  const { knex, id, step } = run;
  if (id === undefined) return;
  // Under the runner the row stays (done) until the migration is recorded, so a crash between
  // here and the ledger write does not run the backfill twice; on its own it is cleared now.
  if (run.ctx?.id === id) await knex(BACKFILL_STATE_TABLE).where({ migration_id: id, step }).update({ done: true, updated_at: new Date() });
  else await knex(BACKFILL_STATE_TABLE).where({ migration_id: id, step }).delete();
}
