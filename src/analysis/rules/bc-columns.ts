import { isLossless, parseType } from '../sql/typecompat.ts';
import type { ColumnSnapshot, Finding } from '../types.ts';
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

/** The expand/contract steps that replace a column rename: no release ever misses the name it uses. */
function columnRenameSteps(c: ChangeOf<'column_renamed'>): string {
  return `1. Pre-deploy migration: add ${c.column} to ${c.table} (same type, NULL or with a default). 2. Deploy code that writes both ${c.from} and ${c.column}, then backfill ${c.column} from ${c.from} in batches (UPDATE ${c.table} SET ${c.column} = ${c.from} WHERE id BETWEEN ...). 3. Deploy code that reads and writes only ${c.column}. 4. Post-deploy migration: drop ${c.from}.`;
}

/**
 * BC104 for the running release and BC204 for the new one: a rename breaks one of them in either
 * phase, and the verdict keeps the finding of the release the migration's phase exposes (BC104 is
 * info post-deploy, BC204 is left out pre-deploy). A column added back under the old name does not
 * keep the running release working: it is a new, empty column, so that release reads NULLs and its
 * writes never reach the renamed one (only the dual-write steps keep both names in step).
 */
export function columnRenamed(c: ChangeOf<'column_renamed'>, scope: RuleScope): Finding[] {
  const { ctx, db, st } = scope;
  const addedBack = ctx.after.tables[c.table]?.columns.some((x) => x.name === c.from) === true;
  const emptyBack = addedBack ? ` ${emptyColumnBack(c)}` : '';
  const old = finding('BC104', {
    message: `Renames column ${c.table}.${c.from} to ${c.column} while the previous release is still running. That release still reads and writes ${c.from}; ${addedBack ? 'it finds the column again, but not its data.' : `its queries fail with "${db.unknownColumnError(c.from)}" until every app server runs the new code, and the new code fails the same way on ${c.column} wherever it starts before the migration.`}${emptyBack} Safe: add the new column, move the code over in steps, drop the old one last.`,
    table: c.table,
    column: c.column,
    statement: st(c.table, c.from),
    safeAlternative: columnRenameSteps(c),
  });
  return [old, columnRenamedForNewRelease(c, scope, emptyBack)];
}

/** Why a column added back under the renamed column's old name is no compatibility column. */
function emptyColumnBack(c: ChangeOf<'column_renamed'>): string {
  return `The ${c.from} added back is a new, empty column: the previous release reads NULLs (or its default) from it, and what it writes there never reaches ${c.column}.`;
}

/** BC204: post-deploy, the new release runs from the deploy until this migration against the old name. */
function columnRenamedForNewRelease(c: ChangeOf<'column_renamed'>, { db, st }: RuleScope, emptyBack: string): Finding {
  return finding('BC204', {
    message: `Renames column ${c.table}.${c.from} to ${c.column} after the code deploy (post-deploy): from the deploy until this migration runs, the new release runs against ${c.from}, and every query of it that names ${c.column} fails with "${db.unknownColumnError(c.column)}". Before the deploy, it would break the previous release instead (BC104): no phase is safe for a plain rename.${emptyBack} Safe: add the new column, move the code over in steps, drop the old one last. --new-queries names each statement of the new release that needs the rename (WL203, an error).`,
    table: c.table,
    column: c.column,
    statement: st(c.table, c.from),
    safeAlternative: columnRenameSteps(c),
  });
}

/** Decimal digits every value of an integer type of this many bytes holds (INT: 9, since 2147483647 has 10). */
const INT_DIGITS: Record<number, number> = { 1: 2, 2: 4, 3: 6, 4: 9, 8: 18 };
const DATE_AND_TIME = new Set(['datetime', 'timestamp', 'timestamp tz']);

/**
 * How the server converts what the old code writes when it converts rather than refuses: a value
 * that is rounded or loses its time of day is stored, with a note, in strict mode too (measured in
 * the corpus: m30, m70, m71, p22, p50; p51 for PostgreSQL refusing '1.55' in an integer). Undefined when some value the old type holds is refused (out of range,
 * too long) or the conversion is not one of these.
 */
export function convertsWithoutRefusal(from: ColumnSnapshot, to: ColumnSnapshot, integerRoundsDecimalText: boolean): string | undefined {
  const a = parseType(from);
  const b = parseType(to);
  if (a.family === 'decimal' && (a.unsigned || !b.unsigned)) {
    const intDigits = (a.precision ?? 10) - (a.scale ?? 0);
    if (!Number.isFinite(intDigits)) return undefined;
    if (b.family === 'decimal') {
      const toDigits = (b.precision ?? 10) - (b.scale ?? 0);
      if (toDigits >= intDigits && (b.scale ?? 0) < (a.scale ?? 0))
        return `rounds each value the running release writes to ${b.scale} decimal place${b.scale === 1 ? '' : 's'}`;
    }
    if (integerRoundsDecimalText && b.family === 'int' && intDigits <= (INT_DIGITS[b.size ?? 4] ?? 0))
      return 'rounds each value the running release writes to a whole number';
  }
  if (a.family === 'temporal' && DATE_AND_TIME.has(a.base) && b.family === 'temporal' && b.base === 'date')
    return 'drops the time of day from each value the running release writes';
  return undefined;
}

/** BC105/BC106 as a warning: the change is visible to the old code, but none of its statements fails. */
function convertedTypeChange(c: ChangeOf<'column_type_changed'>, how: string, statement: string | undefined): Finding {
  return finding(c.change === 'family-change' ? 'BC106' : 'BC105', {
    message: `Changes ${c.table}.${c.column} from ${c.from.type} to ${c.to.type}. Every old statement still runs against it: the server ${how} instead of refusing it, so the running release reads back the converted value (check that it does not depend on the precision dropped).`,
    table: c.table,
    column: c.column,
    statement,
    severity: 'warning',
  });
}

/** BC106 for another type family, BC105 for a narrowing; widenings and cosmetic changes are fine. */
export function columnTypeChanged(c: ChangeOf<'column_type_changed'>, { st, db }: RuleScope): Finding[] {
  if (c.change === 'widening' || c.change === 'cosmetic') return [];
  const statement = st(c.table, c.column);
  const converted = convertsWithoutRefusal(c.from, c.to, db.integerRoundsDecimalText);
  if (converted) return [convertedTypeChange(c, converted, statement)];
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
