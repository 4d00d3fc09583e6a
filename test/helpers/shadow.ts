import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionConfig, Dialect } from '../../src/config/types.ts';
import type { Acknowledgement, MigrationSource, Phase } from '../../src/migrations/types.ts';
import { splitStatements } from '../../src/analysis/sql/split.ts';
import { readSecret } from '../../src/sandbox/secrets.ts';
import { shadowDirName } from '../../src/sandbox/shadow-dir.ts';
import { readState } from '../../src/sandbox/state.ts';

/**
 * The shadow server for analysis tests: the run's throwaway `migrate shadow` server
 * (test/global-setup.ts, found through MIGRATE_SHADOW_DIR), else MIGRATE_TEST_MYSQL_URL /
 * MIGRATE_TEST_PG_URL or the machine's own server (same variables as test/helpers/databases.ts).
 */
export function shadowServer(dialect: Dialect): ConnectionConfig {
  const dir = process.env['MIGRATE_SHADOW_DIR'] ? join(process.env['MIGRATE_SHADOW_DIR'], shadowDirName(dialect)) : undefined;
  const node = dir && existsSync(dir) ? readState(dir)?.nodes[0] : undefined;
  if (node)
    return { host: node.host, port: node.port, user: node.user, password: readSecret(node.passwordFile), database: dialect === 'mysql' ? '' : 'postgres' };
  return machineServer(dialect);
}

/** The machine's own server (or MIGRATE_TEST_*_URL): a shared server holding other databases. */
export function machineServer(dialect: Dialect): ConnectionConfig {
  const env = dialect === 'mysql' ? 'MIGRATE_TEST_MYSQL_URL' : 'MIGRATE_TEST_PG_URL';
  const u = new URL(process.env[env] ?? (dialect === 'mysql' ? 'mysql://root@127.0.0.1:3306' : 'postgres://postgres@127.0.0.1:5432'));
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : dialect === 'mysql' ? 3306 : 5432,
    user: decodeURIComponent(u.username),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: dialect === 'mysql' ? '' : 'postgres',
  };
}

export interface SqlMigrationOptions {
  phase?: Phase;
  acknowledgements?: Acknowledgement[];
}

/** A SQL migration held in memory, shaped like what the loader produces for NNNN_name.up.sql / .down.sql. */
export function sqlMigration(dialect: Dialect, id: string, up: string, down?: string, opts: SqlMigrationOptions = {}): MigrationSource {
  const upSql = splitStatements(up, dialect);
  const downSql = down === undefined ? undefined : splitStatements(down, dialect);
  const m: MigrationSource = {
    id,
    format: 'sql',
    upPath: `/virtual/${id}.up.sql`,
    checksum: createHash('sha256')
      .update(up)
      .update('\0')
      .update(down ?? '')
      .digest('hex'),
    acknowledgements: opts.acknowledgements ?? [],
    upSql,
    up: async () => {
      throw new Error('SQL migrations run through upSql');
    },
  };
  if (down !== undefined) m.downPath = `/virtual/${id}.down.sql`;
  if (downSql) m.downSql = downSql;
  if (opts.phase) m.phase = opts.phase;
  return m;
}

/** A server as a URL for --shadow / a config's "url" (password included: tests pass it on, never print it). */
export function serverUrl(dialect: Dialect, s: ConnectionConfig = shadowServer(dialect), database = ''): string {
  const auth = s.password ? `${encodeURIComponent(s.user)}:${encodeURIComponent(s.password)}` : encodeURIComponent(s.user);
  return `${dialect}://${auth}@${s.host}:${s.port}${database ? `/${database}` : ''}`;
}
