import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Knex } from 'knex';
import { engineFor } from '../../engines/index.ts';
import { usageError } from '../../errors.ts';
import { registerSecret } from '../../log/index.ts';
import { checksumOf } from '../checksum.ts';
import { idOfFileName } from '../discover.ts';
import { str, type Row } from '../../engines/index.ts';
import { importModule, type AdoptSource } from '../../config/index.ts';
import { emptyToolLedger, requireColumns, type ToolLedger } from './tool-ledger.ts';

export interface KnexHistoryRow {
  /** knex's name, with extension ("20240101_x.js"). */
  name: string;
  /** Our id: the stem ("20240101_x"). */
  id: string;
  migrationTime: Date | null;
}

/** knex stores file names; our ids are stems, whatever the extension was. */
export function idOfKnexName(name: string): string {
  return idOfFileName(name) ?? name.replace(/\.[^.]*$/, '');
}

/** knex's history, or undefined when its table does not exist. */
export async function readKnexHistory(db: Knex, table: string): Promise<KnexHistoryRow[] | undefined> {
  if (!(await db.schema.hasTable(table))) return undefined;
  const rows = (await db(table).select('name', 'migration_time').orderBy('id')) as Row[];
  const seen = new Set<string>();
  const out: KnexHistoryRow[] = [];
  for (const r of rows) {
    const name = str(r['name']) ?? '';
    const id = idOfKnexName(name);
    // knex can hold a name twice after a botched rollback; one applied row is what it means.
    if (!name || seen.has(id)) continue;
    seen.add(id);
    const t = r['migration_time'];
    out.push({ name, id, migrationTime: t instanceof Date ? t : t ? new Date(String(t)) : null });
  }
  return out;
}

/** knex's history in the shape every adopted tool's reader gives: rows named by our ids. */
export async function readKnexLedger(db: Knex, source: AdoptSource): Promise<ToolLedger | undefined> {
  if (!(await db.schema.hasTable(source.table))) return undefined;
  await requireColumns(
    db,
    source,
    ['id', 'name', 'migration_time'],
    'knex\'s table is knex_migrations(id, name, batch, migration_time): check "adopt.table" / "adoptKnex".',
  );
  const rows = await readKnexHistory(db, source.table);
  if (!rows) return undefined;
  const out = emptyToolLedger();
  for (const r of rows) out.applied.push({ id: r.id, name: r.id, appliedAt: r.migrationTime });
  return out;
}

export interface KnexfileConversion {
  /** A migrate.config.json equivalent, without any secret. */
  config: Record<string, unknown>;
  /** What the user should know or do (printed to stderr). */
  notes: string[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const CLIENTS: Record<string, 'mysql' | 'postgres'> = {
  mysql: 'mysql',
  mysql2: 'mysql',
  pg: 'postgres',
  postgres: 'postgres',
  postgresql: 'postgres',
  pgnative: 'postgres',
};

/**
 * Reads a knexfile (JS or TS, one config or one per environment) and produces the equivalent
 * migrate.config.json. The password is never copied: the config names an environment variable
 * instead (one that already holds the password, when there is one).
 */
export async function convertKnexfile(knexfile: string, envName: string | undefined, cwd: string = process.cwd()): Promise<KnexfileConversion> {
  const path = isAbsolute(knexfile) ? knexfile : resolve(cwd, knexfile);
  const { cfg, chosenEnv } = await loadKnexfile(knexfile, path, envName);
  const client = str(cfg['client']) ?? '';
  const dialect = CLIENTS[client];
  if (!dialect) {
    throw usageError(
      `The knexfile uses the client "${client}", which migrate does not support.`,
      'migrate supports MySQL/MariaDB (mysql, mysql2) and PostgreSQL (pg).',
    );
  }
  const notes: string[] = [];
  const connection = await knexConnection(cfg, dialect, notes);
  const { directory, tableName } = knexMigrations(cfg, path, notes);
  const config: Obj = {
    dialect,
    connection,
    migrations: { directory, table: 'migrate_ledger' },
    adoptKnex: tableName === 'knex_migrations' ? true : tableName,
  };
  notes.unshift(
    `Converted ${chosenEnv ? `environment "${chosenEnv}" of ` : ''}${knexfile}. Save the JSON as migrate.config.json next to the knexfile (the directory is relative to it).`,
  );
  notes.push(
    `On its first run migrate copies the history of ${tableName} into migrate_ledger; from then on run "migrate up" instead of "knex migrate:latest".`,
  );
  return { config, notes };
}

/** The knexfile's config object: the one it exports, or its environment `envName` (default NODE_ENV, then development). */
async function loadKnexfile(knexfile: string, path: string, envName: string | undefined): Promise<{ cfg: Obj; chosenEnv?: string }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw usageError(`The knexfile ${knexfile} cannot be read.`, 'Pass the path of your knexfile.js / knexfile.ts to --knexfile.');
  }
  let mod: Obj;
  try {
    mod = await importModule(path, checksumOf([text]));
  } catch (e) {
    throw usageError(
      `The knexfile ${knexfile} could not be loaded: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`,
      'Fix the error in the knexfile (run it with node to see the full error).',
    );
  }
  let value: unknown = mod['default'] ?? mod;
  if (typeof value === 'function') value = await (value as () => unknown)();
  if (!isObj(value))
    throw usageError(
      `The knexfile ${knexfile} exports no configuration object.`,
      'It must export (module.exports or export default) a knex config, or one per environment.',
    );
  if ('client' in value || 'connection' in value) return { cfg: value };
  const chosenEnv = envName ?? (process.env['NODE_ENV'] || 'development');
  const envs = Object.keys(value).filter((k) => isObj(value[k]));
  const c = value[chosenEnv];
  if (!isObj(c)) {
    throw usageError(
      `The knexfile ${knexfile} has no environment "${chosenEnv}" (it has: ${envs.join(', ') || 'none'}).`,
      `Pass one of them with --env, e.g. --env ${envs[0] ?? 'production'}.`,
    );
  }
  return { cfg: c, chosenEnv };
}

/** Our config's connection from knex's (object or URL); the password only as the name of a variable holding it. */
async function knexConnection(cfg: Obj, dialect: 'mysql' | 'postgres', notes: string[]): Promise<Obj> {
  let conn: unknown = cfg['connection'];
  if (typeof conn === 'function') conn = await (conn as () => unknown)();
  let host = '127.0.0.1';
  let port: number | undefined;
  let user: string | undefined;
  let database: string | undefined;
  let password: string | undefined;
  const fromUrl = (u: string): void => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw usageError('The knexfile connection string is not a URL.', 'Write it as mysql://user@host:3306/db or postgres://user@host:5432/db.');
    }
    host = url.hostname || host;
    port = url.port ? Number(url.port) : undefined;
    user = url.username ? decodeURIComponent(url.username) : undefined;
    password = url.password ? decodeURIComponent(url.password) : undefined;
    database = decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined;
  };
  if (typeof conn === 'string') fromUrl(conn);
  else if (isObj(conn)) {
    if (typeof conn['connectionString'] === 'string') fromUrl(conn['connectionString']);
    host = str(conn['host']) ?? host;
    port = conn['port'] !== undefined ? Number(conn['port']) : port;
    user = str(conn['user']) ?? str(conn['username']) ?? user;
    database = str(conn['database']) ?? str(conn['db']) ?? database;
    password = str(conn['password']) ?? password;
    if (conn['socketPath'] !== undefined) notes.push('The knexfile connects through a socket (socketPath); migrate connects over TCP: check host and port.');
  } else {
    throw usageError('The knexfile has no usable "connection".', 'Give it a connection object {host, port, user, password, database} or a connection URL.');
  }
  registerSecret(password);
  const connection: Obj = { host, port: port ?? engineFor(dialect).defaultPort, user: user ?? '', database: database ?? '' };
  if (!user) notes.push('No user found in the knexfile connection: fill in "connection.user".');
  if (!database) notes.push('No database found in the knexfile connection: fill in "connection.database".');
  if (password !== undefined) {
    const envVar =
      Object.entries(process.env).find(([k, v]) => v === password && /pass|pwd|secret/i.test(k))?.[0] ??
      Object.entries(process.env).find(([, v]) => v === password)?.[0];
    const name = envVar ?? 'MIGRATE_DB_PASSWORD';
    connection['passwordEnv'] = name;
    notes.push(
      envVar
        ? `The password is read from the environment variable ${name}, which already holds the knexfile's password.`
        : `The knexfile holds a password; migrate does not keep passwords in config files. Export it as ${name} (or use "passwordFile").`,
    );
  }
  return connection;
}

/** knex's migration directory (relative to the knexfile) and history table. */
function knexMigrations(cfg: Obj, path: string, notes: string[]): { directory: string; tableName: string } {
  const mig = isObj(cfg['migrations']) ? cfg['migrations'] : {};
  let directory = './migrations';
  const dirValue = mig['directory'];
  if (typeof dirValue === 'string') directory = dirValue;
  else if (Array.isArray(dirValue) && typeof dirValue[0] === 'string') {
    directory = dirValue[0];
    if (dirValue.length > 1) notes.push(`The knexfile lists ${dirValue.length} migration directories; migrate reads one. Move the files into ${directory}.`);
  }
  // knex's CLI resolves the directory from the knexfile's folder; so does our config file placed beside it.
  if (isAbsolute(directory)) directory = relative(dirname(path), directory) || '.';
  const tableName = str(mig['tableName']) ?? 'knex_migrations';
  if (mig['schemaName'] !== undefined)
    notes.push(`The knex table lives in schema "${str(mig['schemaName'])}"; migrate reads the ledger from the connection's default schema.`);
  return { directory, tableName };
}
