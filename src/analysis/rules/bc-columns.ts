import { isLossless } from '../sql/typecompat.ts';
import type { Finding } from '../types.ts';
import { finding, type ChangeOf, type RuleScope } from './context.ts';

/** BC102. */
export function columnDropped(c: ChangeOf<'column_dropped'>, { db, st }: RuleScope): Finding[] {
  return [
    finding('BC102', {
      message: `Drops column ${c.table}.${c.column.name} while the previous release is still running. That release still selects, inserts or updates ${c.column.name}; those queries fail with "${db.unknownColumnError(c.column.name)}" until the last old app server is gone (ORMs that list every column break on any query of ${c.table}). Safe: stop using the column in a release first, then drop it after the deploy.`,
      table: c.table,
      column: c.column.name,
      statement: st(c.table, c.column.name),
      safeAlternative: `1. Remove every use of ${c.table}.${c.column.name} from the code: every SELECT, INSERT and UPDATE (Rails: self.ignored_columns += ["${c.column.name}"]; knex: drop it from selects and inserts), and deploy that release. 2. Drop the column in a post-deploy migration (SQL header "-- migrate:phase post-deploy", TS "export const phase = 'post-deploy'"), which runs once no old code is left.`,
    }),
  ];
}

/** BC104 (or BC118 when a column with the old name is added back). */
export function columnRenamed(c: ChangeOf<'column_renamed'>, { ctx, db, st }: RuleScope): Finding[] {
  const t = ctx.after.tables[c.table];
  if (t?.columns.some((x) => x.name === c.from)) {
    return [
      finding('BC118', {
        message: `Column ${c.table}.${c.from} was renamed to ${c.column}, and a column named ${c.from} was added back, so the running release still finds it.`,
        table: c.table,
        column: c.column,
        statement: st(c.table, c.from),
      }),
    ];
  }
  return [
    finding('BC104', {
      message: `Renames column ${c.table}.${c.from} to ${c.column} while the previous release is still running. That release still reads and writes ${c.from}; its queries fail with "${db.unknownColumnError(c.from)}" until every app server runs the new code, and the new code fails the same way on ${c.column} wherever it starts before the migration. Safe: add the new column, move the code over in steps, drop the old one last.`,
      table: c.table,
      column: c.column,
      statement: st(c.table, c.from),
      safeAlternative: `1. Pre-deploy migration: add ${c.column} to ${c.table} (same type, NULL or with a default). 2. Deploy code that writes both ${c.from} and ${c.column}, then backfill ${c.column} from ${c.from} in batches (UPDATE ${c.table} SET ${c.column} = ${c.from} WHERE id BETWEEN ...). 3. Deploy code that reads and writes only ${c.column}. 4. Post-deploy migration: drop ${c.from}.`,
    }),
  ];
}

/** BC106 for another type family, BC105 for a narrowing; widenings and cosmetic changes are fine. */
export function columnTypeChanged(c: ChangeOf<'column_type_changed'>, { st }: RuleScope): Finding[] {
  if (c.change === 'widening' || c.change === 'cosmetic') return [];
  const statement = st(c.table, c.column);
  if (c.change === 'family-change') {
    return [
      finding('BC106', {
        message: `Changes ${c.table}.${c.column} from ${c.from.type} to ${c.to.type}, another type family. The running release sends and expects ${c.from.type} values; comparisons, sorting and ORM type mapping change, and writes that do not convert fail.`,
        table: c.table,
        column: c.column,
        statement,
        severity: isLossless(c.from, c.to) ? 'warning' : 'error',
      }),
    ];
  }
  return [
    finding('BC105', {
      message: `Narrows ${c.table}.${c.column} from ${c.from.type}${c.from.charset ? ` ${c.from.charset}` : ''} to ${c.to.type}${c.to.charset ? ` ${c.to.charset}` : ''}. Values the running release writes that fit the old type may not fit the new one: they are rejected (strict mode, PostgreSQL) or silently truncated.`,
      table: c.table,
      column: c.column,
      statement,
    }),
  ];
}
