import type { Finding } from '../types.ts';
import { primaryKeyChanged } from './bc-constraints.ts';
import { finding, type ChangeOf, type RuleScope } from './context.ts';

/** BC101 (or BC118 when a view of the same name replaces the table). */
export function tableDropped(c: ChangeOf<'table_dropped'>, { ctx, db, st }: RuleScope): Finding[] {
  if (ctx.after.views[c.table]) {
    return [
      finding('BC118', {
        message: `Table ${c.table} was replaced by a view of the same name, so queries of the running release still find it.`,
        table: c.table,
        statement: st(c.table),
      }),
    ];
  }
  return [
    finding('BC101', {
      message: `Drops table ${c.table}. App servers still running the previous release read or write ${c.table} until the deploy finishes; every such query fails with "${db.unknownTableError(c.table)}". Safe: stop using the table in a release first, then drop it after the deploy.`,
      table: c.table,
      statement: st(c.table),
      safeAlternative: `1. Deploy code that no longer uses ${c.table}. 2. Drop it in a post-deploy migration (SQL header "-- migrate:phase post-deploy", TS "export const phase = 'post-deploy'"). To keep the data, RENAME TABLE ${c.table} TO ${c.table}_old first and drop that later.`,
    }),
  ];
}

/** The rename that both releases survive: the old name stays as a view while the old release runs. */
function tableRenameSteps(c: ChangeOf<'table_renamed'>): string {
  return `1. In this migration, after the rename, add CREATE VIEW ${c.from} AS SELECT * FROM ${c.table} (a simple view is updatable, so old reads and writes keep working), and run it pre-deploy. 2. Deploy code that uses ${c.table}. 3. Drop the view ${c.from} in a post-deploy migration.`;
}

/**
 * BC103 (or BC118 when a view under the old name stands for the renamed table) for the running
 * release, and BC203 for the new one: a rename breaks one of them in either phase (see
 * columnRenamed). Only a view keeps the running release working with the same rows: a table added
 * back under the old name is new and empty, so that release reads no rows and its writes never
 * reach the renamed table.
 */
export function tableRenamed(c: ChangeOf<'table_renamed'>, { ctx, db, st }: RuleScope): Finding[] {
  const statement = st(c.from) ?? st(c.table);
  const viewKept = ctx.after.views[c.from] !== undefined;
  const emptyBack = !viewKept && ctx.after.tables[c.from] ? ` ${emptyTableBack(c)}` : '';
  const old = viewKept
    ? finding('BC118', {
        message: `Table ${c.from} was renamed to ${c.table}, and a view named ${c.from} was added back, so the running release keeps working.`,
        table: c.table,
        statement: st(c.from),
      })
    : finding('BC103', {
        message: `Renames table ${c.from} to ${c.table}. The running release still queries ${c.from}, ${emptyBack ? 'which it finds again, but not its rows.' : 'which no longer exists: its queries fail until every app server runs the new code.'}${emptyBack} Safe: keep the old name alive as a view until the old release is gone.`,
        table: c.table,
        statement,
        safeAlternative: tableRenameSteps(c),
      });
  const forNew = finding('BC203', {
    message: `Renames table ${c.from} to ${c.table} after the code deploy (post-deploy): from the deploy until this migration runs, the new release runs against ${c.from}, and every query of it that names ${c.table} fails with "${db.unknownTableError(c.table)}". ${viewKept ? `A view named ${c.from} is added back, so the previous release keeps working before the deploy: run it pre-deploy.` : `Before the deploy, it would break the previous release instead (BC103): no phase is safe for a plain rename.${emptyBack} Safe: rename before the deploy and keep ${c.from} as a view until the old release is gone.`} --new-queries names each statement of the new release that needs the rename (WL203, an error).`,
    table: c.table,
    statement,
    safeAlternative: viewKept
      ? `A view named ${c.from} stays, so the previous release keeps working before this migration too: declare it pre-deploy (SQL header "-- migrate:phase pre-deploy", TS "export const phase = 'pre-deploy'") so that it runs before the new release, and drop ${c.from} in a post-deploy migration once no code uses it.`
      : tableRenameSteps(c),
  });
  return [old, forNew];
}

/** Why a table added back under the renamed table's old name is no compatibility object. */
function emptyTableBack(c: ChangeOf<'table_renamed'>): string {
  return `The ${c.from} added back is a new, empty table, not a view: the previous release reads no rows from it, and what it writes there never reaches ${c.table}.`;
}

/** BC116, unless a table of the same name replaces the view. */
export function viewDropped(c: ChangeOf<'view_dropped'>, { ctx, db, st }: RuleScope): Finding[] {
  if (ctx.after.tables[c.view]) return [];
  return [
    finding('BC116', {
      message: `Drops view ${c.view}. Queries of the running release that read it fail with "${db.unknownTableError(c.view)}".`,
      table: c.view,
      statement: st(c.view),
    }),
  ];
}

/** BC117. */
export function viewChanged(c: ChangeOf<'view_changed'>, { st }: RuleScope): Finding[] {
  return [
    finding('BC117', {
      message: `Redefines view ${c.view}. If columns were removed or changed, queries of the running release that read them break.`,
      table: c.view,
      statement: st(c.view),
    }),
  ];
}

/**
 * BC114 as a warning when the new primary key holds every column of the old one: uniqueness on
 * more columns is weaker, so every row the old code could write is still accepted and every old
 * statement still runs (measured: m31). Otherwise (a new key, a key on other columns) the error of
 * bc-constraints.ts stands. With --queries an old upsert on the table makes it an error again
 * (workload/settle.ts): its conflict target changed.
 */
export function primaryKeyReplaced(c: ChangeOf<'primary_key_changed'>, scope: RuleScope): Finding[] {
  const to = new Set(c.to.map((x) => x.toLowerCase()));
  if (!c.from.length || !c.to.length || !c.from.every((x) => to.has(x.toLowerCase()))) return primaryKeyChanged(c, scope);
  return [
    finding('BC114', {
      message: `Changes the primary key of ${c.table} from (${c.from.join(', ')}) to (${c.to.join(', ')}). The new key holds every column of the old one, so it accepts every row the running release can write and every old statement still runs; an upsert (ON DUPLICATE KEY / ON CONFLICT) or ORM that identifies rows by (${c.from.join(', ')}) now matches on a different key.`,
      table: c.table,
      statement: scope.st(c.table),
      severity: 'warning',
    }),
  ];
}
