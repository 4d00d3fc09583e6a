import type { Finding } from '../types.ts';
import { hasRealDefault, workloadClears } from './bc-constraints.ts';
import { finding, type ChangeOf, type RuleScope } from './context.ts';

/** BC107: a NOT NULL column without a default, which every INSERT of the running release omits. */
export function columnAdded(c: ChangeOf<'column_added'>, { db, st }: RuleScope): Finding[] {
  const col = c.column;
  if (col.nullable || col.default !== null || col.autoFilled || col.generated) return [];
  return [
    finding('BC107', {
      message: `Adds column ${c.table}.${col.name} as NOT NULL without a default while the previous release is still running. That release does not know ${col.name}: every INSERT of the running release omits ${col.name} and fails (${db.missingValueOutcome(col.name)}). Safe: add it nullable or with a default, backfill, and require it after the deploy.`,
      table: c.table,
      column: col.name,
      statement: st(c.table, col.name),
      safeAlternative: `1. Pre-deploy migration: add ${col.name} as NULL, or NOT NULL with a DEFAULT. 2. Deploy code that always writes ${col.name}. 3. Backfill existing rows in batches. 4. Post-deploy migration: make ${col.name} NOT NULL${db.lockFreeNotNull(col.name)} and drop the default if it is not wanted.`,
    }),
  ];
}

/** A check the server enforces on every row that says `column IS NOT NULL`, in the forms both servers print. */
function notNullCheck(expression: string, column: string): boolean {
  const e = expression
    .toLowerCase()
    .replace(/^\s*check\b/, '')
    .replace(/\bnot\s+valid\s*$/, '')
    .replace(/[`"()\s]/g, '');
  return e === `${column.toLowerCase()}isnotnull`;
}

/**
 * BC108: a column made NOT NULL (not one added by this migration). An explicit NULL fails whatever
 * the default, so it is an error; info when a validated CHECK (col IS NOT NULL) already refused
 * NULLs (nothing the old code could write changes; a warning when that check is NOT VALID, since old
 * rows may hold NULL), a warning when the workload never writes it.
 */
export function nullabilityChanged(c: ChangeOf<'column_nullability_changed'>, { ctx, st, addedColumns }: RuleScope): Finding[] {
  if (c.nullable) return [];
  if (addedColumns.has(`${c.table}.${c.column}`)) return [];
  const hasDefault = hasRealDefault(c.to);
  const message = `Makes ${c.table}.${c.column} NOT NULL. Writes of the running release that put NULL into ${c.column}${hasDefault ? '' : ' or omit it (there is no default)'} fail after this; the ALTER itself fails if NULLs exist.`;
  // A NOT VALID check skipped the rows already there but checked every write since: the old code's writes are the same.
  const implied = (ctx.before.tables[c.table]?.checks ?? []).find((x) => notNullCheck(x.expression, c.column));
  if (implied) {
    const unchecked = implied.validated === false;
    return [
      finding('BC108', {
        message: `Makes ${c.table}.${c.column} NOT NULL, which check ${implied.name} (${implied.expression}) already enforced on every write: no write of the running release that succeeded before fails after this.${unchecked ? ' The check is NOT VALID, so rows older than it may still hold NULL and make the ALTER fail: VALIDATE CONSTRAINT first.' : ''}`,
        table: c.table,
        column: c.column,
        statement: st(c.table, c.column),
        severity: unchecked ? 'warning' : 'info',
      }),
    ];
  }
  const cleared = workloadClears(ctx, { table: c.table, columns: [c.column], omitViolates: !hasDefault });
  return [
    finding('BC108', {
      message: cleared ? `${message} ${cleared}` : message,
      table: c.table,
      column: c.column,
      statement: st(c.table, c.column),
      severity: cleared ? 'warning' : 'error',
    }),
  ];
}

/** BC115: the default of a NOT NULL column removed. */
export function defaultChanged(c: ChangeOf<'column_default_changed'>, { st, db }: RuleScope): Finding[] {
  if (c.to !== null || c.after.nullable || c.after.autoFilled) return [];
  if (c.from === null) return [];
  const at = { table: c.table, column: c.column, statement: st(c.table, c.column) };
  // MariaDB stores an omitted NOT NULL ENUM's first value instead of refusing the INSERT, whatever
  // the sql_mode (corpus m32): the old INSERTs still run; they only store another value when the
  // old default was not the first one.
  const first = db.omittedEnumTakesFirstValue ? c.after.enumValues?.[0] : undefined;
  if (first !== undefined) {
    const same = stringLiteral(c.from) === first;
    return [
      finding('BC115', {
        ...at,
        severity: same ? 'info' : 'warning',
        message: same
          ? `Removes the default of NOT NULL ENUM column ${c.table}.${c.column}. INSERTs of the running release that omit ${c.column} still run: the server stores the column's first value, '${first}', which was the default.`
          : `Removes the default of NOT NULL ENUM column ${c.table}.${c.column}. INSERTs of the running release that omit ${c.column} still run, but the server now stores the column's first value, '${first}', instead of the default (${c.from}).`,
      }),
    ];
  }
  return [
    finding('BC115', {
      ...at,
      message: `Removes the default of NOT NULL column ${c.table}.${c.column}. INSERTs of the running release that omit ${c.column} relied on the default (${c.from}) and fail after this.`,
    }),
  ];
}

/** The value of a default as the server prints it: `'new'` (quotes doubled inside) or a bare `new`. */
function stringLiteral(expr: string): string {
  const m = /^'((?:[^']|'')*)'$/.exec(expr.trim());
  return m ? m[1]!.replace(/''/g, "'") : expr.trim();
}
