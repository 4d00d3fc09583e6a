import { execFile } from 'node:child_process';
import type { DumpTarget } from '../contract.ts';
import { mergePgDumps, partialPgDump } from './dump-text.ts';

/** pg_dump --schema-only; undefined when pg_dump is missing or fails (the caller replays instead). */
export function dumpPostgres(target: DumpTarget): Promise<string[] | undefined> {
  const server = target.server;
  return new Promise((resolve) => {
    execFile(
      'pg_dump',
      ['--schema-only', '--no-owner', '--no-privileges', '--no-comments', '-h', server.host, '-p', String(server.port), '-U', server.user, '-d', target.name],
      { env: { ...process.env, ...(server.password ? { PGPASSWORD: server.password } : {}) }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout) => {
        if (err) return resolve(undefined);
        // psql meta-commands (\restrict in newer pg_dump) are not SQL.
        resolve([
          stdout
            .split('\n')
            .filter((l) => !l.startsWith('\\'))
            .join('\n'),
        ]);
      },
    );
  });
}

export async function restorePostgres(target: DumpTarget, statements: string[]): Promise<void> {
  await target.runQuiet(statements.join('\n'));
  // pg_dump empties search_path for its own session; migrations expect the default.
  await target.runQuiet('RESET search_path');
}

/** One pg_dump text: cut along its object headers (views or unknown objects: no partial restore). */
export function partialPostgresDump(dump: string[], tables: string[], hasViews: boolean): string[] | undefined {
  if (dump.length !== 1 || hasViews) return undefined;
  const cut = partialPgDump(dump[0]!, new Set(tables));
  return cut === undefined ? undefined : [cut];
}

export function mergePostgresDumps(full: string[], fresh: string[], restoredTables: string[]): string[] {
  const merged = mergePgDumps(full[0] ?? '', fresh[0] ?? '', new Set(restoredTables));
  if (merged === undefined) throw new Error('cannot merge the schema dumps');
  return [merged];
}
