import type { Algorithm, Finding } from '../types.ts';
import { finding, type RuleContext } from './context.ts';

/**
 * MY: blocking on MySQL/MariaDB, from what the server answered when the shadow tried each ALTER
 * with ALGORITHM=INSTANT / NOCOPY / INPLACE+LOCK=NONE (probe/mysql.ts). Tables created by the same
 * migration carry no traffic, so their ALTERs never block anything.
 */
const RANK: Record<Algorithm, number> = { INSTANT: 0, NOCOPY: 1, INPLACE: 2, UNKNOWN: 3, COPY: 4 };

export function worstAlgorithm(algs: Algorithm[]): Algorithm | undefined {
  return algs.reduce<Algorithm | undefined>((w, a) => (w === undefined || RANK[a] > RANK[w] ? a : w), undefined);
}

export function blockingMysqlRules(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  for (const p of ctx.probes) {
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
  for (const s of ctx.statements) {
    if (s.kind !== 'dml' || !s.wholeTable || !s.table || ctx.createdTables.has(s.table)) continue;
    if (!/^\s*(update|delete)\b/i.test(s.sql)) continue;
    out.push(
      finding('MY301', {
        message: `${s.sql.split(/\s+/)[0]!.toUpperCase()} without WHERE touches every row of ${s.table} in one transaction: concurrent writes to those rows wait, and replicas lag by its duration.`,
        table: s.table,
        statement: s.sql,
      }),
    );
  }
  return out;
}

/** The slowest algorithm used on a table that existed before the migration. */
export function migrationAlgorithm(ctx: RuleContext): Algorithm | undefined {
  return worstAlgorithm(ctx.probes.filter((p) => !ctx.createdTables.has(p.table)).map((p) => p.algorithm));
}
