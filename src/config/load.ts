import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { configError } from '../errors.ts';
import { registerSecret } from '../log/redact.ts';
import { lockSafetyFromConfig } from '../migrations/pg/settings.ts';
import { firstCompilerLine, importModule } from '../migrations/ts-import.ts';
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
    throw configError(`The config file ${file} could not be loaded: ${firstCompilerLine(e)}`, 'Fix the error in the file; it must `export default` a config object.');
  }
}

type Raw = Record<string, unknown>;

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const TOP_KEYS = ['dialect', 'url', 'connection', 'migrations', 'adoptKnex', 'clusters', 'lockSafety', '$schema'];

/** Validates a raw config object. Exported for tests and for configs built in code. */
export function validateConfig(raw: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): ProjectConfig {
  if (!isObject(raw)) throw configError(`The config in ${source} is not an object.`, 'The config must be a JSON object (or `export default {...}`).');
  for (const k of Object.keys(raw)) {
    if (!TOP_KEYS.includes(k)) {
      throw configError(`Unknown key "${k}" in ${source}.`, `Remove it or correct the spelling; valid keys are: ${TOP_KEYS.filter((x) => x !== '$schema').join(', ')}.`);
    }
  }
  let connection: ConnectionConfig;
  let dialect: Dialect | undefined;
  if (raw['url'] !== undefined) {
    if (typeof raw['url'] !== 'string') throw configError(`"url" in ${source} must be a string.`, 'Write it as mysql://user@host:3306/db or postgres://user@host:5432/db.');
    const parsed = parseDatabaseUrl(raw['url'], source);
    connection = parsed.connection;
    dialect = parsed.dialect;
  } else if (raw['connection'] !== undefined) {
    connection = validateConnection(raw['connection'], source, baseDir, env);
  } else {
    throw configError(`${source} has neither "connection" nor "url".`, 'Add "connection": {"host","port","user","database","passwordEnv"} or "url": "mysql://user@host:3306/db".');
  }
  if (raw['dialect'] !== undefined) {
    if (raw['dialect'] !== 'mysql' && raw['dialect'] !== 'postgres') {
      throw configError(`"dialect" in ${source} is ${JSON.stringify(raw['dialect'])}, which is not supported.`, 'Use "mysql" (also for MariaDB) or "postgres".');
    }
    dialect = raw['dialect'];
  }
  if (!dialect) throw configError(`"dialect" is missing in ${source}.`, 'Add "dialect": "mysql" (MySQL and MariaDB) or "postgres".');
  if (!connection.port) connection = { ...connection, port: dialect === 'mysql' ? 3306 : 5432 };
  databaseName(connection.database, dialect, raw['url'] === undefined ? `"connection.database" in ${source}` : source === 'DATABASE_URL' ? 'The database named in DATABASE_URL' : `The database in "url" in ${source}`);

  let migrationsDir = resolve(baseDir, 'migrations');
  let ledgerTable = 'migrate_ledger';
  const m = raw['migrations'];
  if (m !== undefined) {
    if (!isObject(m)) throw configError(`"migrations" in ${source} must be an object.`, 'Write it as "migrations": {"directory": "migrations", "table": "migrate_ledger"}.');
    for (const k of Object.keys(m)) {
      if (k !== 'directory' && k !== 'table') throw configError(`Unknown key "migrations.${k}" in ${source}.`, 'Valid keys are migrations.directory and migrations.table.');
    }
    if (m['directory'] !== undefined) {
      if (typeof m['directory'] !== 'string' || !m['directory']) throw configError(`"migrations.directory" in ${source} must be a non-empty string.`, 'Give the path of the migrations folder, relative to the config file.');
      migrationsDir = resolve(baseDir, m['directory']);
    }
    if (m['table'] !== undefined) {
      ledgerTable = identifier(m['table'], 'migrations.table', source);
    }
  }
  let adoptKnexTable: string | undefined;
  if (raw['adoptKnex'] !== undefined) {
    adoptKnexTable = identifier(raw['adoptKnex'] === true ? 'knex_migrations' : raw['adoptKnex'], 'adoptKnex', source);
  }
  const clusters = raw['clusters'] === undefined ? [] : validateClusters(raw['clusters'], source, baseDir, env);
  const lockSafety = raw['lockSafety'] === undefined ? undefined : lockSafetyFromConfig(raw['lockSafety'], source);
  return { dialect, connection, migrationsDir, ledgerTable, adoptKnexTable, clusters, ...(lockSafety ? { lockSafety } : {}), source };
}

/**
 * The database name reaches SQL text in places we do not control (messages that suggest SQL, the
 * shadow and cluster tooling), so rather than trusting every one of them to quote it, only names
 * that need no quoting are accepted.
 */
const DATABASE_NAME = /^[\p{L}\p{N}_$-]+$/u;

function databaseName(v: string, dialect: Dialect, where: string): string {
  const max = dialect === 'mysql' ? 64 : 63;
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
    throw configError(`${key} in ${source} is ${JSON.stringify(v)}, which is not a plain name.`, 'Use letters, digits, "_", "." and "-" only (no spaces, quotes or semicolons), at most 64 characters.');
  }
  return v;
}

function identifier(v: unknown, key: string, source: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(v)) {
    throw configError(`"${key}" in ${source} is ${JSON.stringify(v)}, which is not a plain table name.`, 'Use letters, digits and underscores only (it is used as a table name), at most 64 characters.');
  }
  return v;
}

function resolvePassword(obj: Raw, where: string, source: string, baseDir: string, env: NodeJS.ProcessEnv): string | undefined {
  if (obj['password'] !== undefined) {
    throw configError(
      `${where}.password is set in ${source}: passwords are not kept in config files.`,
      `Replace it with "${where}.passwordEnv": "NAME_OF_ENV_VAR" or "${where}.passwordFile": "path/to/file".`,
    );
  }
  let password: string | undefined;
  if (obj['passwordEnv'] !== undefined) {
    const name = obj['passwordEnv'];
    if (typeof name !== 'string' || !name) throw configError(`${where}.passwordEnv in ${source} must be the name of an environment variable.`, 'Write it as "passwordEnv": "APP_DB_PASSWORD".');
    password = env[name];
    if (password === undefined) throw configError(`${where}.passwordEnv names ${name}, which is not set.`, `Export ${name} before running, or use passwordFile instead.`);
  } else if (obj['passwordFile'] !== undefined) {
    const f = obj['passwordFile'];
    if (typeof f !== 'string' || !f) throw configError(`${where}.passwordFile in ${source} must be a path.`, 'Write it as "passwordFile": "secrets/db-password".');
    const path = resolve(baseDir, f);
    if (!existsSync(path)) throw configError(`${where}.passwordFile ${f} does not exist.`, 'Create the file holding only the password, or fix the path (relative to the config file).');
    password = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  }
  registerSecret(password);
  return password;
}

const CONNECTION_KEYS = ['host', 'port', 'user', 'database', 'passwordEnv', 'passwordFile', 'password'];

function validateConnection(v: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv): ConnectionConfig {
  if (!isObject(v)) throw configError(`"connection" in ${source} must be an object.`, 'Write it as "connection": {"host": "127.0.0.1", "port": 3306, "user": "app", "database": "app"}.');
  for (const k of Object.keys(v)) {
    if (!CONNECTION_KEYS.includes(k)) throw configError(`Unknown key "connection.${k}" in ${source}.`, `Valid keys are ${CONNECTION_KEYS.filter((x) => x !== 'password').join(', ')}.`);
  }
  const host = v['host'] ?? '127.0.0.1';
  if (typeof host !== 'string' || !host) throw configError(`"connection.host" in ${source} must be a host name.`, 'Write it as "host": "127.0.0.1".');
  const port = v['port'];
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
    throw configError(`"connection.port" in ${source} is ${JSON.stringify(port)}, not a port number.`, 'Use a whole number from 1 to 65535, without quotes, e.g. "port": 3306.');
  }
  const user = v['user'];
  if (typeof user !== 'string' || !user) throw configError(`"connection.user" is missing in ${source}.`, 'Add "user": "the database user name".');
  const database = v['database'];
  if (typeof database !== 'string' || !database) throw configError(`"connection.database" is missing in ${source}.`, 'Add "database": "the database (schema) the migrations apply to".');
  const password = resolvePassword(v, 'connection', source, baseDir, env);
  return { host, port: (port as number | undefined) ?? 0, user, password, database };
}

function validateClusters(v: unknown, source: string, baseDir: string, env: NodeJS.ProcessEnv): ClusterConfig[] {
  if (!Array.isArray(v)) throw configError(`"clusters" in ${source} must be an array.`, 'Write it as "clusters": [{"name": "main", "flavor": "mariadb", "topology": "primary-replica", "nodes": [...]}].');
  return v.map((c, i) => {
    const where = `clusters[${i}]`;
    if (!isObject(c)) throw configError(`${where} in ${source} must be an object.`, 'Each cluster is {"name", "flavor", "topology", "nodes", "writer"?}.');
    if (typeof c['name'] !== 'string' || !c['name']) throw configError(`${where}.name is missing in ${source}.`, 'Give each cluster a name.');
    const name = plainName(c['name'], `${where}.name`, source);
    const flavor = c['flavor'];
    if (flavor !== 'mariadb' && flavor !== 'mysql' && flavor !== 'postgres') throw configError(`${where}.flavor is ${JSON.stringify(flavor)} in ${source}.`, 'Use "mariadb", "mysql" or "postgres".');
    const topology = c['topology'];
    if (topology !== 'primary-replica' && topology !== 'master-master' && topology !== 'single') throw configError(`${where}.topology is ${JSON.stringify(topology)} in ${source}.`, 'Use "primary-replica", "master-master" or "single".');
    const nodesRaw = c['nodes'];
    if (!Array.isArray(nodesRaw) || nodesRaw.length === 0) throw configError(`${where}.nodes is missing or empty in ${source}.`, 'List the nodes: [{"name", "role", "host", "port", "user", "passwordEnv"|"passwordFile"}].');
    const nodes: NodeConfig[] = nodesRaw.map((n, j) => {
      const nw = `${where}.nodes[${j}]`;
      if (!isObject(n)) throw configError(`${nw} in ${source} must be an object.`, 'Each node is {"name", "role", "host", "port", "user"}.');
      const role = n['role'];
      if (role !== 'primary' && role !== 'replica' && role !== 'active' && role !== 'passive') throw configError(`${nw}.role is ${JSON.stringify(role)} in ${source}.`, 'Use "primary" or "replica" (primary-replica), "active" or "passive" (master-master).');
      const port = n['port'];
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw configError(`${nw}.port is ${JSON.stringify(port)} in ${source}.`, 'Use a whole number from 1 to 65535.');
      const host = n['host'];
      const user = n['user'];
      const nname = n['name'];
      if (typeof host !== 'string' || typeof user !== 'string' || typeof nname !== 'string') throw configError(`${nw} needs "name", "host" and "user" strings in ${source}.`, 'Add the missing keys.');
      return { name: plainName(nname, `${nw}.name`, source), role, host, port, user, password: resolvePassword(n, nw, source, baseDir, env) };
    });
    const writer = c['writer'];
    let w: ClusterConfig['writer'];
    if (writer !== undefined) {
      if (!isObject(writer) || (writer['type'] !== 'haproxy' && writer['type'] !== 'command' && writer['type'] !== 'none')) {
        throw configError(`${where}.writer in ${source} needs "type": "haproxy", "command" or "none".`, 'See README "Writer endpoint".');
      }
      w = {
        type: writer['type'],
        socket: typeof writer['socket'] === 'string' ? resolve(baseDir, writer['socket']) : undefined,
        backend: writer['backend'] === undefined ? undefined : plainName(writer['backend'], `${where}.writer.backend`, source),
        host: typeof writer['host'] === 'string' ? writer['host'] : undefined,
        port: typeof writer['port'] === 'number' ? writer['port'] : undefined,
        command: typeof writer['command'] === 'string' ? writer['command'] : undefined,
      };
    }
    return { name, flavor, topology, nodes, writer: w };
  });
}
