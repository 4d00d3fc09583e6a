import type { DumpTarget } from '../contract.ts';

const q = (n: string): string => `\`${n.replace(/`/g, '``')}\``;

/** SHOW CREATE TABLE / VIEW of every object: tables first, then views (AUTO_INCREMENT and DEFINER left out). */
export async function dumpMysql(target: DumpTarget): Promise<string[]> {
  const [rows] = (await target.db.raw('SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [
    target.name,
  ])) as [{ t: string; k: string }[]];
  if (!rows.length) return [];
  const sql = rows.map((r) => (r.k === 'VIEW' ? `SHOW CREATE VIEW ${q(r.t)}` : `SHOW CREATE TABLE ${q(r.t)}`)).join(';\n');
  const [results] = (await target.db.raw(sql)) as [unknown];
  const sets = (rows.length === 1 ? [results] : results) as Record<string, string>[][];
  const dbRef = new RegExp(`${q(target.name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`, 'g');
  const tables: string[] = [];
  const views: string[] = [];
  for (const set of sets) {
    const row = set[0];
    if (!row) continue;
    if (row['Create View'] !== undefined) views.push(row['Create View'].replace(/\s+DEFINER=\S+/i, '').replace(dbRef, ''));
    else if (row['Create Table'] !== undefined) tables.push(row['Create Table'].replace(/\s+AUTO_INCREMENT=\d+/i, ''));
  }
  return [...tables, ...views];
}

export async function restoreMysql(target: DumpTarget, statements: string[]): Promise<void> {
  const tables = statements.filter((s) => /^create\s+table/i.test(s));
  let views = statements.filter((s) => !/^create\s+table/i.test(s));
  if (tables.length) await target.runQuiet(['SET FOREIGN_KEY_CHECKS = 0', ...tables, 'SET FOREIGN_KEY_CHECKS = 1'].join(';\n'));
  // Views may depend on views: create what can be created until nothing is left (or nothing moves).
  while (views.length) {
    const failed: string[] = [];
    for (const v of views) await target.runQuiet(v).catch(() => failed.push(v));
    if (failed.length === views.length) throw new Error(`cannot restore views: ${failed[0]}`);
    views = failed;
  }
}

export async function resetMysql(target: DumpTarget): Promise<void> {
  const [rows] = (await target.db.raw('SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [target.name])) as [
    { t: string; k: string }[],
  ];
  const views = rows.filter((r) => r.k === 'VIEW').map((r) => `\`${r.t}\``);
  const tables = rows.filter((r) => r.k !== 'VIEW').map((r) => `\`${r.t}\``);
  const sql = ['SET FOREIGN_KEY_CHECKS = 0'];
  if (views.length) sql.push(`DROP VIEW IF EXISTS ${views.join(', ')}`);
  if (tables.length) sql.push(`DROP TABLE IF EXISTS ${tables.join(', ')}`);
  sql.push('SET FOREIGN_KEY_CHECKS = 1');
  await target.db.raw(sql.join(';\n'));
}

const CREATE_TABLE_NAME = /^CREATE TABLE `((?:[^`]|``)+)`/;

/** The table a dump statement creates; undefined for a view. */
export function dumpTableName(stmt: string): string | undefined {
  return CREATE_TABLE_NAME.exec(stmt)?.[1]?.replace(/``/g, '`');
}

export function partialMysqlDump(dump: string[], tables: string[]): string[] {
  return dump.filter((d) => {
    const n = dumpTableName(d);
    return n !== undefined && tables.includes(n);
  });
}

export function mergeMysqlDumps(full: string[], fresh: string[], restoredTables: string[]): string[] {
  const restored = new Set(restoredTables);
  const kept = full.filter((d) => {
    const n = dumpTableName(d);
    return n === undefined || !restored.has(n);
  });
  const freshTables = fresh.filter((d) => dumpTableName(d) !== undefined);
  const keptTables = kept.filter((d) => dumpTableName(d) !== undefined);
  const keptViews = kept.filter((d) => dumpTableName(d) === undefined);
  return [...keptTables, ...freshTables, ...keptViews];
}
