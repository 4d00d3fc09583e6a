import { describeFit, type FitResult } from '../data/fit.ts';
import { splitTopLevel } from '../sql/parse.ts';
import { isLossless, parseType } from '../sql/typecompat.ts';
import type { Change, ColumnSnapshot, Finding } from '../types.ts';
import { finding, statementFor, type RuleContext, type RuleDialect } from './context.ts';

/**
 * DL: does `up` destroy or alter stored values? A rewrite that keeps every value (a widening, a
 * rename, an index) is not data loss, however heavy it is.
 */
export function dataLossRules(ctx: RuleContext, db: RuleDialect): Finding[] {
  const out: Finding[] = [];
  const st = (table?: string, column?: string): string | undefined => statementFor(ctx.statements, table, column);
  for (const c of ctx.changes) {
    switch (c.kind) {
      case 'table_dropped':
        out.push(
          finding('DL101', {
            message: `Drops table ${c.table} and every row in it; a down migration can recreate the table but not the rows.`,
            table: c.table,
            statement: st(c.table),
          }),
        );
        break;
      case 'column_dropped':
        out.push(
          finding('DL102', {
            message: `Drops column ${c.table}.${c.column.name} and its values; a down migration can re-add the column but not the values.`,
            table: c.table,
            column: c.column.name,
            statement: st(c.table, c.column.name),
          }),
        );
        break;
      case 'column_type_changed': {
        if (isLossless(c.from, c.to)) break;
        const what = `${c.from.type}${c.from.charset ? ` ${c.from.charset}` : ''} -> ${c.to.type}${c.to.charset ? ` ${c.to.charset}` : ''}`;
        // Within a family the loss is truncation or rounding (DECIMAL(10,2) -> (10,1) rounds); across families, a lossy cast.
        if (c.change !== 'family-change') {
          out.push(narrowingDecision(c, ctx.fits ?? [], db, st(c.table, c.column))!);
        } else {
          out.push(
            finding('DL104', {
              message: `Converts ${c.table}.${c.column} ${what}: the conversion is lossy, some stored values change (become 0, NULL, truncated, lose their sign or time part) or make the ALTER fail.`,
              table: c.table,
              column: c.column,
              statement: st(c.table, c.column),
            }),
          );
        }
        break;
      }
      case 'column_enum_changed': {
        if (!c.enumChange.removed.length) break;
        out.push(narrowingDecision(c, ctx.fits ?? [], db, st(c.table, c.column))!);
        break;
      }
      case 'enum_type_changed': {
        if (!c.enumChange.removed.length) break;
        // PostgreSQL removes a value by recreating the type and moving its columns over (ALTER COLUMN ...
        // TYPE ... USING col::text::new): each moved column is a column_enum_changed, decided on its rows above.
        if (ctx.changes.some((x) => x.kind === 'column_enum_changed' && sameValues(x.to, c.to))) break;
        out.push(
          finding('DL105', {
            message: `Removes ${c.enumChange.removed.map((v) => `'${v}'`).join(', ')} from type ${c.enumType}: rows holding ${c.enumChange.removed.length > 1 ? 'these values' : 'this value'} ${db.removedEnumValueOutcome}.`,
          }),
        );
        break;
      }
      default:
        break;
    }
  }
  for (const s of ctx.statements) {
    if (s.kind !== 'dml' || !s.wholeTable || !s.table || s.otherDatabase || ctx.createdTables.has(s.table)) continue;
    if (/^\s*update\b/i.test(s.sql)) out.push(...overwrites(ctx, s.table, s.sql));
    if (!/^\s*(truncate|delete)\b/i.test(s.sql)) continue;
    out.push(
      finding('DL106', { message: `Deletes every row of ${s.table} (${s.sql.split(/\s+/).slice(0, 3).join(' ')} ...).`, table: s.table, statement: s.sql }),
    );
  }
  return out;
}

const CONSTANT = /^(?:null|true|false|default|[-+]?\d+(?:\.\d+)?|'(?:[^']|'')*')$/i;

/** DL109: an UPDATE without WHERE that sets a column the table had before the migration to a constant. */
function overwrites(ctx: RuleContext, table: string, sql: string): Finding[] {
  // MySQL's LOW_PRIORITY / IGNORE come before the table.
  const set = /^\s*update\s+(?:(?:low_priority|ignore)\s+)*\S+\s+set\s+([\s\S]+?)\s*;?\s*$/i.exec(sql)?.[1];
  const before = ctx.before.tables[table];
  if (!set || !before) return [];
  const out: Finding[] = [];
  for (const part of splitTopLevel(set)) {
    const m = /^\s*[`"]?(\w+)[`"]?\s*=\s*([\s\S]+?)\s*$/.exec(part);
    const column = before.columns.find((c) => c.name.toLowerCase() === m?.[1]?.toLowerCase());
    if (!m || !column || !CONSTANT.test(m[2] ?? '')) continue;
    out.push(
      finding('DL109', {
        message: `Sets ${table}.${column.name} to ${m[2]} in every row: the values it held are gone, and no down can bring them back.`,
        table,
        column: column.name,
        statement: sql,
      }),
    );
  }
  return out;
}

function sameValues(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** A DECIMAL scale cut rounds every value using the dropped places, and neither server refuses it: loss without a failed ALTER. */
function silentRounding(from: ColumnSnapshot, to: ColumnSnapshot): boolean {
  const a = parseType(from);
  const b = parseType(to);
  return a.family === 'decimal' && b.family === 'decimal' && (b.scale ?? 0) < (a.scale ?? 0);
}

function fitOf(fits: FitResult[], table: string, column: string): FitResult | undefined {
  return fits.find((f) => f.table === table && f.column === column);
}

/**
 * DL103 when rows were measured and some do not fit; DL107 (not data loss) when every row fits, or
 * when nothing could be measured and the server would refuse the ALTER rather than change a value.
 */
function narrowingFinding(fits: FitResult[], db: RuleDialect, table: string, column: string, head: string, silent: boolean, statement?: string): Finding {
  const fit = fitOf(fits, table, column);
  const at = { table, column, statement };
  if (fit?.measured && fit.misfits > 0)
    return finding('DL103', {
      message: `${head}: ${describeFit(fit)} (${fit.where}); these values do not fit the new type and are truncated, rounded or clipped${db.narrowingFailure}.`,
      ...at,
    });
  if (fit?.measured)
    return finding('DL107', {
      severity: 'info',
      message: `${head}: ${describeFit(fit)} (${fit.where}): every stored value fits and is kept.`,
      ...at,
    });
  const why = fit && !fit.measured ? fit.reason : 'no rows were measured';
  if (silent)
    return finding('DL103', {
      message: `${head}: stored values using the dropped decimal places are rounded, and the server does not refuse it (not checked on data: ${why}).`,
      ...at,
    });
  return finding('DL107', {
    severity: 'warning',
    message: `${head}: not checked on data (${why}); by type, stored values that do not fit are truncated, rounded or clipped${db.narrowingFailure}. \`migrate plan\` counts them on the target.`,
    ...at,
  });
}

function enumFinding(fits: FitResult[], db: RuleDialect, table: string, column: string, removed: string, count: number, statement?: string): Finding {
  const fit = fitOf(fits, table, column);
  const head = `Removes ${removed} from ${table}.${column}`;
  const at = { table, column, statement };
  if (fit?.measured && fit.misfits > 0)
    return finding('DL105', {
      message: `${head}: ${describeFit(fit)} (${fit.where}); they ${db.removedEnumValueOutcome}.`,
      ...at,
    });
  if (fit?.measured) return finding('DL107', { severity: 'info', message: `${head}: ${describeFit(fit)} (${fit.where}): every stored value is kept.`, ...at });
  const why = fit && !fit.measured ? fit.reason : 'no rows were measured';
  return finding('DL107', {
    severity: 'warning',
    message: `${head}: not checked on data (${why}); rows holding ${count > 1 ? 'these values' : 'this value'} ${db.removedEnumValueOutcome}. \`migrate plan\` counts them on the target.`,
    ...at,
  });
}

/**
 * The data-loss finding of a narrowing change given what was measured (`fits`): on the shadow by
 * the rules, again on a target by `plan`. Undefined for a change that is not a narrowing.
 */
export function narrowingDecision(c: Change, fits: FitResult[], db: RuleDialect, statement?: string): Finding | undefined {
  if (c.kind === 'column_type_changed' && c.change !== 'family-change' && !isLossless(c.from, c.to)) {
    const what = `${c.from.type}${c.from.charset ? ` ${c.from.charset}` : ''} -> ${c.to.type}${c.to.charset ? ` ${c.to.charset}` : ''}`;
    return narrowingFinding(fits, db, c.table, c.column, `Converts ${c.table}.${c.column} ${what}`, silentRounding(c.from, c.to), statement);
  }
  if (c.kind === 'column_enum_changed' && c.enumChange.removed.length) {
    const removed = c.enumChange.removed.map((v) => `'${v}'`).join(', ');
    return enumFinding(fits, db, c.table, c.column, removed, c.enumChange.removed.length, statement);
  }
  return undefined;
}
