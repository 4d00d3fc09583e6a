import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { configError } from '../errors.ts';
import { registerSecret } from '../log/index.ts';
import { lockSafetyFromConfig } from './lock-safety.ts';
import { resolveHandoff } from './handoff.ts';
import { firstCompilerLine } from './load-error.ts';
import { importModule } from './ts-import.ts';
import { ADOPT_DEFAULT_TABLE, DIALECT_CONFIG, type AdoptSource } from './dialects.ts';
import { parseRawConfig, type RawCluster, type RawConfig, type RawConnection } from './schema.ts';
import type { ClusterConfig, ConnectionConfig, Dialect, NodeConfig, ProjectConfig } from './types.ts';
import { parseDatabaseUrl } from './url.ts';

export const CONFIG_FILE_NAMES = ['migrate.config.ts', 'migrate.config.js', 'migrate.config.json'];

export interface LoadConfigOptions {
  /** --config path, if given. */
  configPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Finds and validates the configuration: --config, else migrate.config.{ts,js,json} in cwd,
 * else DATABASE_URL. Every error names the key at fault and how to fix it.
 */
export async function loadConfig(opts: LoadConfigOptions = {}): Promise<ProjectConfig> {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  let file: string | undefined;
  if (opts.configPath) {
    file = isAbsolute(opts.configPath) ? opts.configPath : resolve(cwd, opts.configPath);
    if (!existsSync(file)) {
      throw configError(`The config file ${opts.configPath} does not exist.`, 'Pass the path of an existing migrate.config.{ts,js,json} to --config.');
    }
  } else {
    file = CONFIG_FILE_NAMES.map((n) => resolve(cwd, n)).find((p) => existsSync(p));
  }
  if (!file) {
    const url = env['DATABASE_URL'];
    if (!url) {
      throw configError(
        `No configuration found: no --config, no ${CONFIG_FILE_NAMES.join(' / ')} in ${cwd}, and DATABASE_URL is not set.`,
        'Create migrate.config.json (see README "Configuration"), pass --config FILE, or set DATABASE_URL=mysql://user@host:3306/db.',
      );
    }
    return validateConfig({ url }, 'DATABASE_URL', cwd, env);
  }
  const raw = await readConfigFile(file);
  return validateConfig(raw, file, dirname(file), env);
}

async function readConfigFile(file: string): Promise<unknown> {
  if (file.endsWith('.json')) {
    const text = readFileSync(file, 'utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw configError(`The config file ${file} is not valid JSON (${(e as Error).message}).`, 'Fix the JSON syntax; the README shows a complete example.');
    }
  }
  try {
    // Through the same tsx loader as migrations: a .ts config must load whatever the project's
    // package.json says about module types.
    const mod = (await importModule(file, String(statSync(file).mtimeMs))) as { default?: unknown };
    let value: unknown = mod.default ?? mod;
    // A TS file loaded as CommonJS arrives wrapped once more ({ default: { default: config } }).
    if (value && typeof value === 'object' && 'default' in value && Object.keys(value).every((k) => k === 'default' || k === '__esModule')) {
      value = (value as { default: unknown }).default;
    }
    return typeof value === 'function' ? await (value as () => unknown)() : value;
  } catch (e) {
    throw configError(
      `The config file ${file} could not be loaded: ${firstCompilerLine(e)}`,
      'Fix the error in the file; it must `export default` a config object.',
    );
  }
}

/** Validates a raw config object. Exported for tests and for configs built in code. */
export function validateConfig(input: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): ProjectConfig {
  const raw = parseRawConfig(input, source);
  let connection: ConnectionConfig;
  let dialect: Dialect | undefined;
  if (raw.url !== undefined) {
    const parsed = parseDatabaseUrl(raw.url, source);
    connection = parsed.connection;
    dialect = parsed.dialect;
  } else if (raw.connection !== undefined) {
    connection = resolveConnection(raw.connection, source, baseDir, env);
  } else {
    throw configError(
      `${source} has neither "connection" nor "url".`,
      'Add "connection": {"host","port","user","database","passwordEnv"} or "url": "mysql://user@host:3306/db".',
    );
  }
  dialect = raw.dialect ?? dialect;
  if (!dialect) throw configError(`"dialect" is missing in ${source}.`, 'Add "dialect": "mysql" (MySQL and MariaDB) or "postgres".');
  if (!connection.port) connection = { ...connection, port: DIALECT_CONFIG[dialect].defaultPort };
  const databaseWhere =
    raw.url === undefined
      ? `"connection.database" in ${source}`
      : source === 'DATABASE_URL'
        ? 'The database named in DATABASE_URL'
        : `The database in "url" in ${source}`;
  databaseName(connection.database, dialect, databaseWhere);

  const migrationsDir = resolve(baseDir, raw.migrations?.directory ?? 'migrations');
  const ledgerTable = raw.migrations?.table === undefined ? 'migrate_ledger' : identifier(raw.migrations.table, 'migrations.table', source);
  const adoptKnexTable = raw.adoptKnex === undefined ? undefined : identifier(raw.adoptKnex === true ? 'knex_migrations' : raw.adoptKnex, 'adoptKnex', source);
  const adopt = adoptSourceOf(raw, adoptKnexTable, source);
  const clusters = (raw.clusters ?? []).map((c, i) => resolveCluster(c, i, source, baseDir, env));
  const lockSafety = raw.lockSafety === undefined ? undefined : lockSafetyFromConfig(raw.lockSafety, source);
  const layout = raw.migrations?.layout;
  const handoff = raw.handoff === undefined ? undefined : resolveHandoff(raw.handoff, source);
  return {
    dialect,
    connection,
    migrationsDir,
    ...(layout !== undefined ? { migrationsLayout: layout } : {}),
    ledgerTable,
    ...(adoptKnexTable ? { adoptKnexTable } : {}),
    ...(adopt ? { adopt } : {}),
    clusters,
    ...(lockSafety ? { lockSafety } : {}),
    ...(handoff ? { handoff } : {}),
    source,
  };
}

/** `"adopt"`, or `"adoptKnex"` (its older spelling for knex); both at once is ambiguous. */
function adoptSourceOf(raw: RawConfig, adoptKnexTable: string | undefined, source: string): AdoptSource | undefined {
  if (raw.adopt === undefined) return adoptKnexTable ? { tool: 'knex', table: adoptKnexTable } : undefined;
  if (adoptKnexTable !== undefined)
    throw configError(
      `${source} has both "adoptKnex" and "adopt": migrate adopts one history.`,
      `Keep one: "adopt": {"tool": "knex", "table": "${adoptKnexTable}"} replaces "adoptKnex".`,
    );
  const tool = raw.adopt.tool;
  return { tool, table: identifier(raw.adopt.table ?? ADOPT_DEFAULT_TABLE[tool], 'adopt.table', source) };
}

/**
 * The database name reaches SQL text in places we do not control (messages that suggest SQL, the
 * shadow and cluster tooling), so rather than trusting every one of them to quote it, only names
 * that need no quoting are accepted.
 */
const DATABASE_NAME = /^[\p{L}\p{N}_$-]+$/u;

function databaseName(v: string, dialect: Dialect, where: string): string {
  const max = DIALECT_CONFIG[dialect].maxIdentifierLength;
  if (!DATABASE_NAME.test(v) || Buffer.byteLength(v, 'utf8') > max) {
    throw configError(
      `${where} is ${JSON.stringify(v)}, which is not a plain database name.`,
      `Use letters, digits, "_", "$" and "-" only (no quotes, spaces or semicolons), at most ${max} bytes; if the database really has such a name, rename it or give migrate one without them.`,
    );
  }
  return v;
}

/** Node, cluster and HAProxy backend names end up in HAProxy runtime commands (";"-separated) and file names. */
const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function plainName(v: unknown, key: string, source: string): string {
  if (typeof v !== 'string' || !v) throw configError(`${key} in ${source} must be a non-empty string.`, `Write ${key} as a plain name, e.g. "db1".`);
  if (!PLAIN_NAME.test(v)) {
    throw configError(
      `${key} in ${source} is ${JSON.stringify(v)}, which is not a plain name.`,
      'Use letters, digits, "_", "." and "-" only (no spaces, quotes or semicolons), at most 64 characters.',
    );
  }
  return v;
}

function identifier(v: unknown, key: string, source: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(v)) {
    throw configError(
      `"${key}" in ${source} is ${JSON.stringify(v)}, which is not a plain table name.`,
      'Use letters, digits and underscores only (it is used as a table name), at most 64 characters.',
    );
  }
  return v;
}

interface PasswordSources {
  password?: unknown;
  passwordEnv?: string | undefined;
  passwordFile?: string | undefined;
}

function resolvePassword(obj: PasswordSources, where: string, source: string, baseDir: string, env: NodeJS.ProcessEnv): string | undefined {
  if (obj.password !== undefined) {
    throw configError(
      `${where}.password is set in ${source}: passwords are not kept in config files.`,
      `Replace it with "${where}.passwordEnv": "NAME_OF_ENV_VAR" or "${where}.passwordFile": "path/to/file".`,
    );
  }
  let password: string | undefined;
  if (obj.passwordEnv !== undefined) {
    const name = obj.passwordEnv;
    password = env[name];
    if (password === undefined)
      throw configError(`${where}.passwordEnv names ${name}, which is not set.`, `Export ${name} before running, or use passwordFile instead.`);
  } else if (obj.passwordFile !== undefined) {
    password = readPasswordFile(obj.passwordFile, `${where}.passwordFile`, baseDir);
  }
  registerSecret(password);
  return password;
}

/** The password file's content without its final line break; every way it can be unusable is named. */
function readPasswordFile(f: string, key: string, baseDir: string): string {
  const path = resolve(baseDir, f);
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw configError(`${key} ${f} does not exist.`, 'Create the file holding only the password, or fix the path (relative to the config file).');
    throw configError(`${key} ${f} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, `Make ${path} readable by the user running migrate.`);
  }
  if (st.isDirectory())
    throw configError(
      `${key} ${f} is a directory, not a file.`,
      `Point ${key} at the file holding only the password (e.g. ${join(f, 'db.password')}), relative to the config file.`,
    );
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw configError(
      `${key} ${f} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`,
      `Make ${path} readable by the user running migrate (chmod 600 and owned by that user).`,
    );
  }
}

function resolveConnection(v: RawConnection, source: string, baseDir: string, env: NodeJS.ProcessEnv): ConnectionConfig {
  const password = resolvePassword(v, 'connection', source, baseDir, env);
  return { host: v.host ?? '127.0.0.1', port: v.port ?? 0, user: v.user, password, database: v.database };
}

function resolveCluster(c: RawCluster, i: number, source: string, baseDir: string, env: NodeJS.ProcessEnv): ClusterConfig {
  const where = `clusters[${i}]`;
  const name = plainName(c.name, `${where}.name`, source);
  const nodes: NodeConfig[] = c.nodes.map((n, j) => {
    const nw = `${where}.nodes[${j}]`;
    return {
      name: plainName(n.name, `${nw}.name`, source),
      role: n.role,
      host: n.host,
      port: n.port,
      user: n.user,
      password: resolvePassword(n, nw, source, baseDir, env),
    };
  });
  const w = c.writer;
  const writer: ClusterConfig['writer'] = w
    ? {
        type: w.type,
        socket: w.socket === undefined ? undefined : resolve(baseDir, w.socket),
        backend: w.backend === undefined ? undefined : plainName(w.backend, `${where}.writer.backend`, source),
        host: w.host,
        port: w.port,
        command: w.command,
      }
    : undefined;
  const rp = c.readPool;
  const readPool: ClusterConfig['readPool'] = rp
    ? {
        ...rp,
        socket: rp.socket === undefined ? undefined : resolve(baseDir, rp.socket),
        backend: rp.backend === undefined ? undefined : plainName(rp.backend, `${where}.readPool.backend`, source),
      }
    : undefined;
  return { name, flavor: c.flavor, topology: c.topology, nodes, writer, ...(readPool ? { readPool } : {}) };
}
