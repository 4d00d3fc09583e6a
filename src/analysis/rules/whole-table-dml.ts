import type { StatementInfo } from '../sql/parse.ts';
import type { Finding } from '../types.ts';
import { finding, type RuleContext } from './context.ts';

/**
 * MY301 / PG301: an UPDATE or DELETE without WHERE on a table the migration did not create. It
 * takes every row's lock and keeps them until it commits (MariaDB/MySQL under REPEATABLE READ
 * also lock the gaps, so INSERTs wait as well), so a write to the table waits for the whole
 * statement: work that grows with the table, like a table copy. Corpus m29 / p60 measured it on
 * 300,000 (MariaDB) and 1,000,000 (PostgreSQL) rows: a concurrent write waited for all of it.
 *
 * `check` cannot tell how many rows production holds (the shadow has the schema and the history's
 * own inserts), and an existing table is assumed to carry rows, as the ALTER rules assume it; a
 * table the same migration created carries no traffic and is left alone.
 */
export function wholeTableDmlFindings(ctx: RuleContext, rule: 'MY301' | 'PG301', tail: string): Finding[] {
  const out: Finding[] = [];
  for (const s of ctx.statements) {
    if (s.kind !== 'dml' || !s.wholeTable || !s.table || s.otherDatabase || ctx.createdTables.has(s.table) || !ctx.before.tables[s.table]) continue;
    const verb = /^\s*(update|delete)\b/i.exec(s.sql)?.[1]?.toUpperCase();
    if (!verb) continue;
    out.push(
      finding(rule, {
        message: `${verb} without WHERE touches every row of ${s.table} in one transaction and holds each row's lock until it commits: writes to ${s.table} wait for the whole statement, longer the more rows the table has${tail}.`,
        table: s.table,
        statement: s.sql,
        safeAlternative: batchedRecipe(s, ctx.before.tables[s.table]!.primaryKey),
      }),
    );
  }
  return out;
}

/** The statement rewritten as key-range chunks, each committed on its own, so a write waits for one chunk at most. */
function batchedRecipe(s: StatementInfo, primaryKey: string[]): string {
  const table = s.table!;
  const key = primaryKey[0];
  if (!key) {
    return `${table} has no primary key to batch on: add one (or an index on a unique, not-null column) in an earlier migration, then run the ${table} change in chunks by that key, committing after each chunk, from a script or job outside the schema migration, or with backfill() in a TypeScript migration of its own (docs/postgres.md, Backfills).`;
  }
  // The WHERE goes before an ORDER BY or RETURNING clause, where the grammar wants it.
  const sql = s.sql.trim().replace(/;\s*$/, '');
  const tail = /\s(order\s+by|returning)\b/i.exec(sql);
  const where = ` WHERE ${key} > :from AND ${key} <= :from + 5000`;
  const chunk = tail ? `${sql.slice(0, tail.index)}${where}${sql.slice(tail.index)}` : `${sql}${where}`;
  return `Run it in chunks by primary key, outside the schema migration (a script or background job), committing after each chunk: \`${chunk}\` for :from = 0, 5000, 10000, ... up to MAX(${key}). Each chunk is a short transaction, so a write waits for one chunk at most and replicas apply small transactions; a chunk that fails can be retried alone. Or use backfill() in a TypeScript migration of its own with \`export const transaction = false\`: it batches by ${key}, commits each batch and resumes after a crash (docs/postgres.md, Backfills).`;
}
