import type { FitEngine, Misfit } from '../fit-contract.ts';
import { typeArgs } from '../type-args.ts';
import type { ColumnSnapshot } from '../schema.ts';
import { mysqlIdent, mysqlString } from './quote.ts';

const INT_BITS: Record<string, number> = { tinyint: 8, smallint: 16, mediumint: 24, int: 32, integer: 32, bigint: 64 };
/** Capacity in bytes of the TEXT types; VARCHAR/CHAR count characters. */
const TEXT_BYTES: Record<string, number> = { tinytext: 255, text: 65535, mediumtext: 16777215 };
const STRING_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext']);

function intRange(base: string, unsigned: boolean): [bigint, bigint] | undefined {
  const bits = INT_BITS[base];
  if (!bits) return undefined;
  return unsigned ? [0n, 2n ** BigInt(bits) - 1n] : [-(2n ** BigInt(bits - 1)), 2n ** BigInt(bits - 1) - 1n];
}

function stringMisfit(c: string, from: ColumnSnapshot, to: ColumnSnapshot, base: string, args: number[]): Misfit | undefined {
  const parts: Misfit[] = [];
  const toCs = to.charset ?? from.charset ?? 'utf8mb4';
  if (base === 'varchar' || base === 'char') {
    if (args[0] !== undefined) parts.push({ sql: `CHAR_LENGTH(${c}) > ${args[0]}`, what: `exceed ${args[0]} characters` });
  } else if (TEXT_BYTES[base] !== undefined) {
    parts.push({ sql: `OCTET_LENGTH(CONVERT(${c} USING ${toCs})) > ${TEXT_BYTES[base]}`, what: `exceed ${TEXT_BYTES[base]} bytes` });
  }
  // A character the new charset has no form for becomes '?': the round trip tells it, byte for byte.
  if (to.charset && from.charset && to.charset !== from.charset && !/^utf8mb4$/i.test(to.charset)) {
    parts.push({
      sql: `HEX(CONVERT(CONVERT(${c} USING ${to.charset}) USING utf8mb4)) <> HEX(CONVERT(${c} USING utf8mb4))`,
      what: `have no ${to.charset} form`,
    });
  }
  return parts.length ? { sql: `(${parts.map((p) => p.sql).join(' OR ')})`, what: parts.map((p) => p.what).join(' or ') } : undefined;
}

/** MariaDB / MySQL: which stored values the new type cannot hold unchanged. */
export const mysqlFit: FitEngine = {
  ident: mysqlIdent,
  copySql: (copy, table) => `CREATE TEMPORARY TABLE ${mysqlIdent(copy)} AS SELECT * FROM ${mysqlIdent(table)}`,
  primaryKeySql: (table) =>
    `SELECT COLUMN_NAME AS k FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${mysqlString(table)} AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
  dropCopySql: (copy) => `DROP TEMPORARY TABLE IF EXISTS ${mysqlIdent(copy)}`,
  bounded: (query, budgetMs, server) => ({
    setup: [],
    // A plain SELECT on InnoDB reads a snapshot and takes only a shared metadata lock, which writers do
    // not wait for; the bounds stop it waiting behind a DDL's lock or running past the budget.
    query: server.mariadb
      ? `SET STATEMENT max_statement_time=${(budgetMs / 1000).toFixed(3)}, lock_wait_timeout=1 FOR ${query}`
      : query.replace(/^SELECT\b/i, `SELECT /*+ MAX_EXECUTION_TIME(${Math.round(budgetMs)}) */`),
  }),
  manyGroups: 'SQL_BIG_RESULT ',
  misfit(c, from, to) {
    const m = /^(\w+)\s*(?:\(([^)]*)\))?\s*(unsigned)?/i.exec(to.type);
    if (!m) return undefined;
    const base = m[1]!.toLowerCase();
    const args = typeArgs(m[2]);
    if (base === 'enum' || base === 'set') {
      if (base === 'set' || !to.enumValues) return undefined;
      const kept = to.enumValues;
      if (!from.enumValues)
        return { sql: `${c} NOT IN (${kept.map(mysqlString).join(', ')})`, what: `hold a value other than ${kept.map(mysqlString).join(', ')}` };
      const gone = from.enumValues.filter((v) => !kept.includes(v));
      return gone.length ? { sql: `${c} IN (${gone.map(mysqlString).join(', ')})`, what: `hold ${gone.map(mysqlString).join(' or ')}` } : undefined;
    }
    if (STRING_TYPES.has(base)) return stringMisfit(c, from, to, base, args);
    const range = intRange(base, m[3] !== undefined);
    if (range)
      return { sql: `(${c} < ${range[0]} OR ${c} > ${range[1]} OR ${c} <> ROUND(${c}))`, what: `are outside ${to.type}'s range ${range[0]}..${range[1]}` };
    if (base === 'decimal' || base === 'numeric') {
      const [p = 10, s = 0] = args;
      return {
        sql: `(${c} <> ROUND(${c}, ${s}) OR ABS(ROUND(${c}, ${s})) >= POWER(10, ${p - s}))`,
        what: `use more than ${s} decimal place${s === 1 ? '' : 's'} or ${p - s} integer digits`,
      };
    }
    return undefined;
  },
};
