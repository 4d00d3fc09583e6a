import type { Knex } from 'knex';
import { readJournal } from './journal.ts';

export const JOURNAL_TABLE = 'migrate_journal';

/**
 * Copies the on-disk journal into a table on the current writer, so every node (through
 * replication) and every operator sees where a run stands without the coordinator's disk.
 * The file stays the durable record written before each step: during the write block the
 * primary is read-only, so the table catches up at the next safe point (between migrations,
 * and at the end of the run, failed or not).
 */
export async function syncJournalTable(db: Knex, path: string, run: string): Promise<void> {
  if (!(await db.schema.hasTable(JOURNAL_TABLE))) {
    await db.schema.createTable(JOURNAL_TABLE, (t) => {
      t.string('run', 64).notNullable();
      t.integer('seq').notNullable();
      t.string('ts', 32).notNullable();
      t.string('step', 191).notNullable();
      t.string('phase', 8).notNullable();
      t.text('data');
      t.primary(['run', 'seq']);
    });
  }
  const entries = readJournal(path);
  const row = (await db(JOURNAL_TABLE).where({ run }).count<{ n: number | string }[]>({ n: '*' }))[0];
  const have = Number(row?.n ?? 0);
  const rows = entries
    .slice(have)
    .map((e, i) => ({ run, seq: have + i, ts: e.ts, step: e.step.slice(0, 191), phase: e.phase, data: e.data ? JSON.stringify(e.data) : null }));
  if (rows.length) await db(JOURNAL_TABLE).insert(rows);
}
