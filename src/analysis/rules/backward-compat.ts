import type { Change, Finding } from '../types.ts';
import { checkAdded, foreignKeyAdded, indexAdded } from './bc-constraints.ts';
import { columnDropped, columnRenamed, columnTypeChanged } from './bc-columns.ts';
import { enumChanged } from './bc-enums.ts';
import { columnAdded, defaultChanged, nullabilityChanged } from './bc-required.ts';
import { primaryKeyReplaced, tableDropped, tableRenamed, viewChanged, viewDropped } from './bc-tables.ts';
import { ruleScope, type RuleContext, type RuleDialect, type RuleScope } from './context.ts';

/**
 * BC: would code written for the schema before `up` (the release still running during the deploy)
 * break after it? Objects created by the same migration are never breaking: nothing uses them yet.
 * One function per change kind, in the bc-*.ts files by what the change is about.
 */
export function backwardCompatRules(ctx: RuleContext, db: RuleDialect): Finding[] {
  const scope = ruleScope(ctx, db);
  return ctx.changes.flatMap((c) => changeFindings(c, scope));
}

function changeFindings(c: Change, scope: RuleScope): Finding[] {
  switch (c.kind) {
    case 'table_dropped':
      return tableDropped(c, scope);
    case 'table_renamed':
      return tableRenamed(c, scope);
    case 'column_dropped':
      return columnDropped(c, scope);
    case 'column_renamed':
      return columnRenamed(c, scope);
    case 'column_type_changed':
      return columnTypeChanged(c, scope);
    case 'column_added':
      return columnAdded(c, scope);
    case 'column_nullability_changed':
      return nullabilityChanged(c, scope);
    case 'column_default_changed':
      return defaultChanged(c, scope);
    case 'index_added':
      return indexAdded(c, scope);
    case 'check_added':
      return checkAdded(c, scope);
    case 'foreign_key_added':
      return foreignKeyAdded(c, scope);
    case 'column_enum_changed':
    case 'enum_type_changed':
      return enumChanged(c, scope);
    case 'primary_key_changed':
      return primaryKeyReplaced(c, scope);
    case 'view_dropped':
      return viewDropped(c, scope);
    case 'view_changed':
      return viewChanged(c, scope);
    default:
      return [];
  }
}
