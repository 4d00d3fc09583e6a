import type { Algorithm, Change, Finding } from '../types.ts';
import { finding, statementFor, type RuleContext } from './context.ts';
import { wholeTableDmlFindings } from './whole-table-dml.ts';

/**
 * MY: blocking on MySQL/MariaDB, from what the server answered when the shadow tried each ALTER
 * with ALGORITHM=INSTANT / NOCOPY / INPLACE+LOCK=NONE (probe/mysql.ts). Tables created by the same
 * migration carry no traffic, so their ALTERs never block anything.
 */
const RANK: Record<Algorithm, number> = { INSTANT: 0, NOCOPY: 1, INPLACE: 2, UNKNOWN: 3, COPY: 4 };

export function worstAlgorithm(algs: Algorithm[]): Algorithm | undefined {
  return algs.reduce<Algorithm | undefined>((w, a) => (w === undefined || RANK[a] > RANK[w] ? a : w), undefined);
}

/** Changes made inside an existing table's definition: what an ALTER (and its algorithm) would do. */
const IN_TABLE: ReadonlySet<Change['kind']> = new Set<Change['kind']>([
  'table_rewritten',
  'column_added',
  'column_dropped',
  'column_renamed',
  'column_moved',
  'column_type_changed',
  'column_nullability_changed',
  'column_default_changed',
  'column_enum_changed',
  'index_added',
  'index_dropped',
  'primary_key_changed',
  'foreign_key_added',
  'foreign_key_dropped',
  'check_added',
  'check_dropped',
]);

/**
 * Existing tables the snapshots show altered although no probed statement altered them: the DDL
 * came from somewhere the probe cannot see (a CALLed procedure, a trigger or event, SQL built in
 * a way the probe does not follow). Blocking is decided for every table that changed, however the
 * DDL got there, so these are assumed to block (MY102) rather than counted as nothing.
 */
export function unprobedTables(ctx: RuleContext): string[] {
  const probed = new Set(effectiveProbes(ctx).map((p) => p.table.toLowerCase()));
  // A probed ALTER also accounts for the table it renames to. One with bind values was not probed (probe.ts).
  for (const s of ctx.statements)
    if ((s.kind === 'alter_table' || s.kind === 'create_index' || s.kind === 'drop_index') && !s.sql.includes('/* bindings:'))
      for (const t of s.tables) probed.add(t.toLowerCase());
  const out = new Set<string>();
  for (const c of ctx.changes) {
    if (!IN_TABLE.has(c.kind) || !('table' in c)) continue;
    const t = c.table;
    if (ctx.createdTables.has(t) || !ctx.before.tables[t] || probed.has(t.toLowerCase())) continue;
    out.add(t);
  }
  return [...out];
}

/** Tables with a change inside their definition (lower case). */
function alteredTables(ctx: RuleContext): Set<string> {
  return new Set(ctx.changes.flatMap((c) => (IN_TABLE.has(c.kind) && 'table' in c ? [c.table.toLowerCase()] : [])));
}

/** The probes that describe what ran: a procedure's ALTER probed ahead of its CALL counts only if its table changed. */
function effectiveProbes(ctx: RuleContext): RuleContext['probes'] {
  if (!ctx.probes.some((p) => p.conditional)) return ctx.probes;
  const altered = alteredTables(ctx);
  return ctx.probes.filter((p) => !p.conditional || altered.has(p.table.toLowerCase()));
}

export function blockingMysqlRules(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  for (const t of unprobedTables(ctx)) {
    out.push(
      finding('MY102', {
        message: `Table ${t} changed (${describeChanges(ctx, t)}) but no statement the analysis could probe made the change: it ran inside a CALLed procedure, a trigger, or SQL built at run time. Its ALTER algorithm is unknown, so it is assumed to copy the table and block writes.`,
        table: t,
        statement: statementFor(ctx.statements, t) ?? ctx.statements.find((s) => /^\s*call\b/i.test(s.sql))?.sql,
        safeAlternative: `Write the ALTER on ${t} as a plain statement in the migration (with ALGORITHM=INSTANT or LOCK=NONE so the server refuses it if it would block), so the analysis can probe it; or run the migration replica-first.`,
      }),
    );
  }
  for (const p of effectiveProbes(ctx)) {
    if (ctx.createdTables.has(p.table)) continue;
    switch (p.algorithm) {
      case 'COPY':
        out.push(
          finding('MY101', {
            message: p.note?.startsWith('the server needs a lock')
              ? `The server refuses to run this ALTER on ${p.table} without a lock that blocks writes (${p.note.replace(/^the server needs a lock that blocks writes: /, '')}): writes to ${p.table} wait for the whole operation, and every replica then lags by as long.`
              : `The server accepts this ALTER on ${p.table} only with ALGORITHM=COPY${p.declared ? ' (declared in the statement)' : ' (INSTANT, NOCOPY and INPLACE with LOCK=NONE were refused)'}: writes to ${p.table} stop for the whole table copy, hours on a large table, and every replica then lags by as long.`,
            table: p.table,
            statement: p.statement,
          }),
        );
        break;
      case 'UNKNOWN':
        out.push(
          finding('MY102', {
            message: `Could not probe the algorithm of this ALTER on ${p.table}${p.note ? `: ${p.note}` : ''}; assuming it blocks writes.`,
            table: p.table,
            statement: p.statement,
          }),
        );
        break;
      case 'INPLACE':
        out.push(
          finding('MY201', {
            message: `This ALTER on ${p.table} runs with ALGORITHM=INPLACE, LOCK=NONE: writes continue, but the table is rebuilt and the ALTER replicates as one statement, so replicas stop applying changes for its whole duration.`,
            table: p.table,
            statement: p.statement,
          }),
        );
        break;
      default:
        out.push(
          finding('MY202', {
            message: `This ALTER on ${p.table} is ALGORITHM=${p.algorithm}: metadata only, no table copy.`,
            table: p.table,
            statement: p.statement,
          }),
        );
    }
  }
  out.push(
    ...wholeTableDmlFindings(
      ctx,
      'MY301',
      '; INSERTs wait too (REPEATABLE READ also locks the gaps between rows), and replicas apply it as one transaction and lag by its duration',
    ),
  );
  return out;
}

/** The slowest algorithm used on a table that existed before the migration (UNKNOWN for a table altered out of the probe's sight). */
export function migrationAlgorithm(ctx: RuleContext): Algorithm | undefined {
  const unprobed: Algorithm[] = unprobedTables(ctx).map(() => 'UNKNOWN');
  return worstAlgorithm([
    ...effectiveProbes(ctx)
      .filter((p) => !ctx.createdTables.has(p.table))
      .map((p) => p.algorithm),
    ...unprobed,
  ]);
}

function describeChanges(ctx: RuleContext, table: string): string {
  const kinds = [...new Set(ctx.changes.filter((c) => 'table' in c && c.table === table && IN_TABLE.has(c.kind)).map((c) => c.kind.replace(/_/g, ' ')))];
  return kinds.join(', ');
}
