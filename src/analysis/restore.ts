import { execFile } from 'node:child_process';
import type { ConnectionConfig } from '../config/types.ts';
import type { ShadowDatabase } from './shadow.ts';

/**
 * Schema dumps that rebuild a shadow database in one batch, so a cached prefix of 200 migrations
 * costs one round of CREATE statements instead of 200 migrations. Best effort: when a dump cannot
 * be taken (no pg_dump), the caller replays the migrations instead.
 */
export async function dumpSchema(shadow: ShadowDatabase): Promise<string[] | undefined> {
  return shadow.dialect === 'mysql' ? dumpMysql(shadow) : dumpPostgres(shadow, shadow.server);
}

export async function restoreSchema(shadow: ShadowDatabase, statements: string[]): Promise<void> {
  if (shadow.dialect === 'postgres') {
    await shadow.runQuiet(statements.join('\n'));
    // pg_dump empties search_path for its own session; migrations expect the default.
    await shadow.runQuiet('RESET search_path');
    return;
  }
  const tables = statements.filter((s) => /^create\s+table/i.test(s));
  let views = statements.filter((s) => !/^create\s+table/i.test(s));
  if (tables.length) await shadow.runQuiet(['SET FOREIGN_KEY_CHECKS = 0', ...tables, 'SET FOREIGN_KEY_CHECKS = 1'].join(';\n'));
  // Views may depend on views: create what can be created until nothing is left (or nothing moves).
  while (views.length) {
    const failed: string[] = [];
    for (const v of views) await shadow.runQuiet(v).catch(() => failed.push(v));
    if (failed.length === views.length) throw new Error(`cannot restore views: ${failed[0]}`);
    views = failed;
  }
}

async function dumpMysql(shadow: ShadowDatabase): Promise<string[]> {
  const [rows] = (await shadow.db.raw('SELECT TABLE_NAME AS t, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [shadow.name])) as [{ t: string; k: string }[]];
  if (!rows.length) return [];
  const q = (n: string): string => `\`${n.replace(/`/g, '``')}\``;
  const sql = rows.map((r) => (r.k === 'VIEW' ? `SHOW CREATE VIEW ${q(r.t)}` : `SHOW CREATE TABLE ${q(r.t)}`)).join(';\n');
  const [results] = (await shadow.db.raw(sql)) as [unknown];
  const sets = (rows.length === 1 ? [results] : results) as Record<string, string>[][];
  const dbRef = new RegExp(`${q(shadow.name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`, 'g');
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

function dumpPostgres(shadow: ShadowDatabase, server: ConnectionConfig): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    execFile(
      'pg_dump',
      ['--schema-only', '--no-owner', '--no-privileges', '--no-comments', '-h', server.host, '-p', String(server.port), '-U', server.user, '-d', shadow.name],
      { env: { ...process.env, ...(server.password ? { PGPASSWORD: server.password } : {}) }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => {
        if (err) return resolve(undefined);
        // psql meta-commands (\restrict in newer pg_dump) are not SQL.
        resolve([stdout.split('\n').filter((l) => !l.startsWith('\\')).join('\n')]);
      },
    );
  });
}
