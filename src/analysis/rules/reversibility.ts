import { describeChange } from '../diff.ts';
import { compareTypes } from '../sql/typecompat.ts';
import type { Finding } from '../types.ts';
import { finding, type ReversalOutcome } from './context.ts';

/**
 * RV: can the migration be rolled back? Decided by running down on the shadow right after up and
 * comparing the schema with the one before up, not by reading the down's source.
 */
export function reversibilityRules(migrationId: string, r: ReversalOutcome): Finding[] {
  const out: Finding[] = [];
  if (r.status === 'skipped') return out;
  if (r.status === 'missing') {
    out.push(
      finding('RV101', { message: `Migration ${migrationId} has no down: if the deploy must be rolled back, the tool cannot undo this schema change.` }),
    );
    return out;
  }
  if (r.status === 'failed') {
    out.push(
      finding('RV103', {
        message: `The down of ${migrationId} fails right after up on the shadow database: ${r.error ?? 'unknown error'}. A rollback would stop half way.`,
      }),
    );
    return out;
  }
  if (r.remaining.length) {
    const list = r.remaining.slice(0, 8).map(describeChange).join('; ');
    const more = r.remaining.length > 8 ? `; and ${r.remaining.length - 8} more` : '';
    out.push(
      finding('RV102', {
        message: `Up then down does not give back the schema before up: ${list}${more} (each item: schema before up -> after down).`,
        safeAlternative:
          'Make down undo exactly what up did, in reverse order: recreate what up dropped with its exact definition, drop what up added, restore types, defaults, nullability and column positions.',
      }),
    );
  }
  const upAddedTables = new Set(r.upChanges.flatMap((c) => (c.kind === 'table_added' ? [c.table] : [])));
  const upAddedColumns = new Set(r.upChanges.flatMap((c) => (c.kind === 'column_added' ? [`${c.table}.${c.column.name}`] : [])));
  for (const c of r.downChanges) {
    if (c.kind === 'table_dropped' && upAddedTables.has(c.table)) {
      out.push(
        finding('RV201', {
          message: `Rolling back drops table ${c.table}, which up created: rows the new release wrote there between deploy and rollback are lost.`,
          table: c.table,
        }),
      );
    } else if (c.kind === 'column_dropped' && upAddedColumns.has(`${c.table}.${c.column.name}`) && !c.column.generated) {
      // A generated column holds nothing the code wrote: dropping it loses nothing.
      out.push(
        finding('RV201', {
          message: `Rolling back drops column ${c.table}.${c.column.name}, which up added: values the new release wrote there are lost.`,
          table: c.table,
          column: c.column.name,
        }),
      );
    } else if (c.kind === 'column_type_changed') {
      const kind = compareTypes(c.from, c.to);
      if (kind === 'narrowing' || kind === 'incompatible' || kind === 'family-change') {
        out.push(
          finding('RV202', {
            message: `Rolling back converts ${c.table}.${c.column} from ${c.from.type} back to ${c.to.type}: values the new release wrote that do not fit are truncated or make the rollback fail.`,
            table: c.table,
            column: c.column,
          }),
        );
      }
    }
  }
  return out;
}
