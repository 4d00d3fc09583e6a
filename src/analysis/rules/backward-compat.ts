import { isLossless } from '../sql/typecompat.ts';
import type { Finding } from '../types.ts';
import { finding, statementFor, type RuleContext, type RuleDialect } from './context.ts';

/**
 * BC: would code written for the schema before `up` (the release still running during the deploy)
 * break after it? Objects created by the same migration are never breaking: nothing uses them yet.
 */
export function backwardCompatRules(ctx: RuleContext, db: RuleDialect): Finding[] {
  const out: Finding[] = [];
  const st = (table?: string, column?: string): string | undefined => statementFor(ctx.statements, table, column);
  const addedColumns = new Set(ctx.changes.flatMap((c) => (c.kind === 'column_added' ? [`${c.table}.${c.column.name}`] : [])));

  for (const c of ctx.changes) {
    switch (c.kind) {
      case 'table_dropped': {
        if (ctx.after.views[c.table]) {
          out.push(finding('BC118', { message: `Table ${c.table} was replaced by a view of the same name, so queries of the running release still find it.`, table: c.table, statement: st(c.table) }));
          break;
        }
        out.push(
          finding('BC101', {
            message: `Drops table ${c.table}. App servers still running the previous release read or write ${c.table} until the deploy finishes; every such query fails with "table doesn't exist". Safe: stop using the table in a release first, then drop it after the deploy.`,
            table: c.table,
            statement: st(c.table),
            safeAlternative: `1. Deploy code that no longer uses ${c.table}. 2. Drop it in a post-deploy migration (SQL header "-- migrate:phase post-deploy", TS "export const phase = 'post-deploy'"). To keep the data, RENAME TABLE ${c.table} TO ${c.table}_old first and drop that later.`,
          }),
        );
        break;
      }
      case 'table_renamed': {
        if (ctx.after.views[c.from] || ctx.after.tables[c.from]) {
          out.push(finding('BC118', { message: `Table ${c.from} was renamed to ${c.table}, and a ${ctx.after.views[c.from] ? 'view' : 'table'} named ${c.from} was added back, so the running release keeps working.`, table: c.table, statement: st(c.from) }));
          break;
        }
        out.push(
          finding('BC103', {
            message: `Renames table ${c.from} to ${c.table}. The running release still queries ${c.from}, which no longer exists: its queries fail until every app server runs the new code. Safe: keep the old name alive as a view until the old release is gone.`,
            table: c.table,
            statement: st(c.from) ?? st(c.table),
            safeAlternative: `1. In this migration, after the rename, add CREATE VIEW ${c.from} AS SELECT * FROM ${c.table} (a simple view is updatable, so old reads and writes keep working). 2. Deploy code that uses ${c.table}. 3. Drop the view ${c.from} in a post-deploy migration.`,
          }),
        );
        break;
      }
      case 'column_dropped': {
        out.push(
          finding('BC102', {
            message: `Drops column ${c.table}.${c.column.name} while the previous release is still running. That release still selects, inserts or updates ${c.column.name}; those queries fail with "${db.unknownColumnError(c.column.name)}" until the last old app server is gone (ORMs that list every column break on any query of ${c.table}). Safe: stop using the column in a release first, then drop it after the deploy.`,
            table: c.table,
            column: c.column.name,
            statement: st(c.table, c.column.name),
            safeAlternative: `1. Remove every use of ${c.table}.${c.column.name} from the code: every SELECT, INSERT and UPDATE (Rails: self.ignored_columns += ["${c.column.name}"]; knex: drop it from selects and inserts), and deploy that release. 2. Drop the column in a post-deploy migration (SQL header "-- migrate:phase post-deploy", TS "export const phase = 'post-deploy'"), which runs once no old code is left.`,
          }),
        );
        break;
      }
      case 'column_renamed': {
        const t = ctx.after.tables[c.table];
        if (t?.columns.some((x) => x.name === c.from)) {
          out.push(finding('BC118', { message: `Column ${c.table}.${c.from} was renamed to ${c.column}, and a column named ${c.from} was added back, so the running release still finds it.`, table: c.table, column: c.column, statement: st(c.table, c.from) }));
          break;
        }
        out.push(
          finding('BC104', {
            message: `Renames column ${c.table}.${c.from} to ${c.column} while the previous release is still running. That release still reads and writes ${c.from}; its queries fail with "${db.unknownColumnError(c.from)}" until every app server runs the new code, and the new code fails the same way on ${c.column} wherever it starts before the migration. Safe: add the new column, move the code over in steps, drop the old one last.`,
            table: c.table,
            column: c.column,
            statement: st(c.table, c.from),
            safeAlternative: `1. Pre-deploy migration: add ${c.column} to ${c.table} (same type, NULL or with a default). 2. Deploy code that writes both ${c.from} and ${c.column}, then backfill ${c.column} from ${c.from} in batches (UPDATE ${c.table} SET ${c.column} = ${c.from} WHERE id BETWEEN ...). 3. Deploy code that reads and writes only ${c.column}. 4. Post-deploy migration: drop ${c.from}.`,
          }),
        );
        break;
      }
      case 'column_type_changed': {
        if (c.change === 'widening' || c.change === 'cosmetic') break;
        const statement = st(c.table, c.column);
        if (c.change === 'family-change') {
          out.push(
            finding('BC106', {
              message: `Changes ${c.table}.${c.column} from ${c.from.type} to ${c.to.type}, another type family. The running release sends and expects ${c.from.type} values; comparisons, sorting and ORM type mapping change, and writes that do not convert fail.`,
              table: c.table,
              column: c.column,
              statement,
              severity: isLossless(c.from, c.to) ? 'warning' : 'error',
            }),
          );
        } else {
          out.push(
            finding('BC105', {
              message: `Narrows ${c.table}.${c.column} from ${c.from.type}${c.from.charset ? ` ${c.from.charset}` : ''} to ${c.to.type}${c.to.charset ? ` ${c.to.charset}` : ''}. Values the running release writes that fit the old type may not fit the new one: they are rejected (strict mode, PostgreSQL) or silently truncated.`,
              table: c.table,
              column: c.column,
              statement,
            }),
          );
        }
        break;
      }
      case 'column_added': {
        const col = c.column;
        if (col.nullable || col.default !== null || col.autoFilled || col.generated) break;
        out.push(
          finding('BC107', {
            message: `Adds column ${c.table}.${col.name} as NOT NULL without a default while the previous release is still running. That release does not know ${col.name}: every INSERT of the running release omits ${col.name} and fails (${db.missingValueOutcome(col.name)}). Safe: add it nullable or with a default, backfill, and require it after the deploy.`,
            table: c.table,
            column: col.name,
            statement: st(c.table, col.name),
            safeAlternative: `1. Pre-deploy migration: add ${col.name} as NULL, or NOT NULL with a DEFAULT. 2. Deploy code that always writes ${col.name}. 3. Backfill existing rows in batches. 4. Post-deploy migration: make ${col.name} NOT NULL${db.lockFreeNotNull(col.name)} and drop the default if it is not wanted.`,
          }),
        );
        break;
      }
      case 'column_nullability_changed': {
        if (c.nullable) break;
        if (addedColumns.has(`${c.table}.${c.column}`)) break;
        const hasDefault = c.to.default !== null && c.to.default !== 'NULL';
        out.push(
          finding('BC108', {
            message: `Makes ${c.table}.${c.column} NOT NULL. Writes of the running release that put NULL into ${c.column}${hasDefault ? '' : ' or omit it (there is no default)'} fail after this; the ALTER itself fails if NULLs exist.`,
            table: c.table,
            column: c.column,
            statement: st(c.table, c.column),
            severity: hasDefault ? 'warning' : 'error',
          }),
        );
        break;
      }
      case 'column_default_changed': {
        if (c.to !== null || c.after.nullable || c.after.autoFilled) break;
        if (c.from === null) break;
        out.push(
          finding('BC115', {
            message: `Removes the default of NOT NULL column ${c.table}.${c.column}. INSERTs of the running release that omit ${c.column} relied on the default (${c.from}) and fail after this.`,
            table: c.table,
            column: c.column,
            statement: st(c.table, c.column),
          }),
        );
        break;
      }
      case 'index_added': {
        if (!c.index.unique) break;
        out.push(
          finding('BC109', {
            message: `Adds unique index ${c.index.name} on ${c.table}(${c.index.columns.join(', ')}). The change fails if existing rows hold duplicates, and writes of the running release that create duplicates start failing.`,
            table: c.table,
            statement: st(c.table, c.index.name),
          }),
        );
        break;
      }
      case 'check_added': {
        const t = ctx.after.tables[c.table];
        // MariaDB adds json_valid() checks to JSON columns, and a check on columns added here constrains no old write.
        const onNewColumnsOnly = t ? t.columns.filter((x) => c.check.expression.includes(x.name)).every((x) => addedColumns.has(`${c.table}.${x.name}`)) : false;
        if (onNewColumnsOnly) break;
        out.push(
          finding('BC110', {
            message: `Adds check ${c.check.name} (${c.check.expression}) on ${c.table}. Existing rows that violate it make the change fail, and writes of the running release that violate it start failing.`,
            table: c.table,
            statement: st(c.table, c.check.name),
          }),
        );
        break;
      }
      case 'foreign_key_added': {
        const fk = c.foreignKey;
        if (fk.columns.every((col) => addedColumns.has(`${c.table}.${col}`))) {
          // A key on a column added in this migration: the running release never writes that column.
          break;
        }
        out.push(
          finding('BC111', {
            message: `Adds foreign key ${fk.name} ${c.table}(${fk.columns.join(', ')}) -> ${fk.refTable}(${fk.refColumns.join(', ')}). Orphan rows make the change fail, and writes of the running release that leave orphans or delete referenced rows start failing.`,
            table: c.table,
            statement: st(c.table, fk.name),
          }),
        );
        break;
      }
      case 'column_enum_changed':
      case 'enum_type_changed': {
        const where = c.kind === 'column_enum_changed' ? `${c.table}.${c.column}` : `type ${c.enumType}`;
        const table = c.kind === 'column_enum_changed' ? c.table : undefined;
        const column = c.kind === 'column_enum_changed' ? c.column : undefined;
        if (c.enumChange.removed.length) {
          out.push(
            finding('BC112', {
              message: `Removes value${c.enumChange.removed.length > 1 ? 's' : ''} ${c.enumChange.removed.map((v) => `'${v}'`).join(', ')} from ${where}. The running release may still write ${c.enumChange.removed.length > 1 ? 'them' : 'it'}: rejected in strict mode, stored as '' otherwise.`,
              table,
              column,
              statement: table ? st(table, column) : undefined,
            }),
          );
        } else if (c.enumChange.shifted) {
          out.push(
            finding('BC113', {
              message: `Inserts or reorders values of ${where} (${c.from.join(', ')} -> ${c.to.join(', ')}). Stored values are kept, but ORDER BY and comparisons on ${where} change for the running release.`,
              table,
              column,
              statement: table ? st(table, column) : undefined,
            }),
          );
        }
        break;
      }
      case 'primary_key_changed': {
        const fromNone = c.from.length === 0;
        out.push(
          finding('BC114', {
            message: fromNone
              ? `Adds a primary key (${c.to.join(', ')}) to ${c.table}: the change fails on duplicates or NULLs, and writes of the running release that create duplicates start failing.`
              : `Changes the primary key of ${c.table} from (${c.from.join(', ')}) to (${c.to.join(', ') || 'none'}). Upserts (ON DUPLICATE KEY / ON CONFLICT), lookups and ORM identity of the running release use the old key.`,
            table: c.table,
            statement: st(c.table),
            severity: fromNone ? 'warning' : 'error',
          }),
        );
        break;
      }
      case 'view_dropped': {
        if (ctx.after.tables[c.view]) break;
        out.push(finding('BC116', { message: `Drops view ${c.view}. Queries of the running release that read it fail with "table doesn't exist".`, table: c.view, statement: st(c.view) }));
        break;
      }
      case 'view_changed': {
        out.push(finding('BC117', { message: `Redefines view ${c.view}. If columns were removed or changed, queries of the running release that read them break.`, table: c.view, statement: st(c.view) }));
        break;
      }
      default:
        break;
    }
  }
  return out;
}
