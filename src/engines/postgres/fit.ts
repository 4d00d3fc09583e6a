import type { FitEngine } from '../fit-contract.ts';
import { typeArgs } from '../type-args.ts';
import type { ColumnSnapshot } from '../schema.ts';

const ident = (v: string): string => `"${v.replace(/"/g, '""')}"`;
const literal = (v: string): string => `'${v.replace(/'/g, "''")}'`;
const INT_RANGE: Record<string, [bigint, bigint]> = {
  smallint: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** PostgreSQL: which stored values the new type cannot hold unchanged. */
export const postgresFit: FitEngine = {
  ident,
  // An enum column is copied as text: a copy of the enum type would depend on it, and an up that
  // recreates the type (rename, create, move the columns, DROP TYPE old) would fail on the shadow.
  // The enum checks compare the text (misfit below), so the count is the same.
  copySql: (copy, table, columns) => {
    const list = columns?.length ? columns.map((c) => (c.enumValues ? `${ident(c.name)}::text AS ${ident(c.name)}` : ident(c.name))).join(', ') : '*';
    return `CREATE TEMPORARY TABLE ${ident(copy)} AS SELECT ${list} FROM ${ident(table)}`;
  },
  primaryKeySql: (table) =>
    `SELECT a.attname AS k FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indisprimary AND i.indrelid = to_regclass(${literal(ident(table))}) ORDER BY array_position(i.indkey::int2[], a.attnum)`,
  dropCopySql: (copy) => `DROP TABLE IF EXISTS pg_temp.${ident(copy)}`,
  // A plain SELECT takes ACCESS SHARE, which no writer waits for; SET LOCAL ends with the transaction.
  bounded: (query, budgetMs) => ({
    setup: [
      'SET TRANSACTION READ ONLY',
      `SET LOCAL statement_timeout = ${Math.max(1, Math.round(budgetMs))}`,
      `SET LOCAL lock_timeout = ${Math.max(1, Math.min(1000, Math.round(budgetMs)))}`,
    ],
    query,
  }),
  // Its planner picks a sort or a hash aggregate by the statistics already.
  manyGroups: '',
  misfit(c, from: ColumnSnapshot, to: ColumnSnapshot) {
    if (to.enumValues) {
      const kept = to.enumValues;
      if (!from.enumValues)
        return { sql: `${c}::text NOT IN (${kept.map(literal).join(', ')})`, what: `hold a value other than ${kept.map(literal).join(', ')}` };
      const gone = from.enumValues.filter((v) => !kept.includes(v));
      return gone.length ? { sql: `${c}::text IN (${gone.map(literal).join(', ')})`, what: `hold ${gone.map(literal).join(' or ')}` } : undefined;
    }
    const m = /^([a-z ]+?)\s*(?:\(([^)]*)\))?$/i.exec(to.type.trim());
    if (!m) return undefined;
    const base = m[1]!.toLowerCase();
    const args = typeArgs(m[2]);
    if ((base === 'character varying' || base === 'character' || base === 'varchar' || base === 'char') && args[0] !== undefined)
      return { sql: `char_length(${c}::text) > ${args[0]}`, what: `exceed ${args[0]} characters` };
    const range = INT_RANGE[base];
    if (range)
      return { sql: `(${c} < ${range[0]} OR ${c} > ${range[1]} OR ${c} <> round(${c}))`, what: `are outside ${base}'s range ${range[0]}..${range[1]}` };
    if (base === 'numeric' && args.length) {
      const [p, s = 0] = args as [number, number?];
      return {
        sql: `(${c} <> round(${c}, ${s}) OR abs(round(${c}, ${s})) >= power(10::numeric, ${p - s}))`,
        what: `use more than ${s} decimal place${s === 1 ? '' : 's'} or ${p - s} integer digits`,
      };
    }
    return undefined;
  },
};
