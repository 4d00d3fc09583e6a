/**
 * Schema snapshots and the rule context the analysis builds from them, for the unit tests of the
 * rules (test/unit/analysis-rules.test.ts, analysis-mutants.test.ts): renames are read from the
 * statements, as the analysis does.
 */
import { diffSnapshots } from '../../src/analysis/diff.ts';
import type { RuleContext } from '../../src/analysis/rules/index.ts';
import { parseStatement } from '../../src/analysis/sql/parse.ts';
import type { SchemaSnapshot, TableSnapshot } from '../../src/analysis/types.ts';

export const snap = (tables: TableSnapshot[], dialect: 'mysql' | 'postgres' = 'mysql'): SchemaSnapshot => ({
  dialect,
  tables: Object.fromEntries(tables.map((t) => [t.name, t])),
  views: {},
  enumTypes: {},
});

export function ctx(before: SchemaSnapshot, after: SchemaSnapshot, sql: string[], extra: Partial<RuleContext> = {}): RuleContext {
  const statements = sql.map((s) => parseStatement(s, before.dialect));
  const hints = { tables: statements.flatMap((s) => s.tableRenames), columns: statements.flatMap((s) => s.columnRenames) };
  const changes = diffSnapshots(before, after, hints);
  return {
    dialect: before.dialect,
    mariadb: true,
    migrationId: '0002_x',
    before,
    after,
    changes,
    reverseChanges: diffSnapshots(after, before, {
      tables: hints.tables.map((h) => ({ from: h.to, to: h.from })),
      columns: hints.columns.map((h) => ({ ...h, from: h.to, to: h.from })),
    }),
    statements,
    probes: [],
    createdTables: new Set(changes.flatMap((c) => (c.kind === 'table_added' ? [c.table] : []))),
    ...extra,
  };
}
