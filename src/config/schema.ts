import { z } from 'zod';
import { configError, type MigrateError } from '../errors.ts';
import { ADOPT_TOOLS, CLUSTER_FLAVORS, DIALECTS, LAYOUT_CHOICES } from './dialects.ts';
import { LOCK_SAFETY_CONFIG_KEYS } from './lock-safety.ts';

/**
 * The shape of migrate.config.{json,ts,js}: one zod schema gives the TypeScript type of the file
 * as written (RawConfig) and refuses unknown keys at every depth. What it cannot express (names
 * that reach SQL or HAProxy, passwords read from files, the URL) is checked by load.ts afterwards,
 * on a value whose type this schema guarantees.
 */
const port = z.number().int().min(1).max(65535);
const text = z.string().min(1);

// `password` is accepted by the shape only so that load.ts can refuse it with its own message
// (and never echo it): a literal password is a policy error, not a typo.
const passwordSources = {
  passwordEnv: text.optional(),
  passwordFile: text.optional(),
  password: z.unknown().optional(),
};

const connectionSchema = z.strictObject({
  host: text.optional(),
  port: port.optional(),
  user: text,
  database: text,
  ...passwordSources,
});

const nodeSchema = z.strictObject({
  name: text,
  role: z.enum(['primary', 'replica', 'active', 'passive']),
  host: text,
  port,
  user: text,
  ...passwordSources,
});

const writerSchema = z.strictObject({
  type: z.enum(['haproxy', 'command', 'none']),
  socket: text.optional(),
  backend: text.optional(),
  host: text.optional(),
  port: port.optional(),
  command: text.optional(),
});

const readPoolSchema = z.strictObject({
  type: z.enum(['haproxy', 'command']),
  socket: text.optional(),
  backend: text.optional(),
  command: text.optional(),
  maxLagSeconds: z.number().min(0).optional(),
  drainTimeoutSeconds: z.number().min(0).optional(),
});

const clusterSchema = z.strictObject({
  name: text,
  flavor: z.enum(CLUSTER_FLAVORS),
  topology: z.enum(['primary-replica', 'master-master', 'single']),
  nodes: z.array(nodeSchema).min(1),
  writer: writerSchema.optional(),
  readPool: readPoolSchema.optional(),
});

const lockSafetySchema = z.strictObject(Object.fromEntries(LOCK_SAFETY_CONFIG_KEYS.map((k) => [k, z.union([z.string(), z.number()]).optional()])));

const duration = z.union([z.string(), z.number()]);

const verifySchema = z.union([
  z.strictObject({ command: text }),
  z.strictObject({
    url: text,
    status: z.number().int().min(100).max(599).optional(),
    retries: z.number().int().min(1).optional(),
    interval: duration.optional(),
    window: duration.optional(),
    timeout: duration.optional(),
  }),
]);

const handoffSchema = z.strictObject({
  deploy: text.optional(),
  verify: verifySchema.optional(),
  rollback: text.optional(),
});

const migrationsSchema = z.strictObject({
  directory: text.optional(),
  table: z.string().optional(),
  layout: z.enum(LAYOUT_CHOICES).optional(),
});

const adoptSchema = z.strictObject({
  tool: z.enum(ADOPT_TOOLS),
  table: z.string().optional(),
});

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  dialect: z.enum(DIALECTS).optional(),
  url: z.string().optional(),
  connection: connectionSchema.optional(),
  migrations: migrationsSchema.optional(),
  adoptKnex: z.union([z.literal(true), z.string()]).optional(),
  adopt: adoptSchema.optional(),
  clusters: z.array(clusterSchema).optional(),
  lockSafety: lockSafetySchema.optional(),
  handoff: handoffSchema.optional(),
});

/** The config file as written (before passwords are read and paths resolved). */
export type RawConfig = z.infer<typeof configSchema>;
export type RawConnection = z.infer<typeof connectionSchema>;
export type RawCluster = z.infer<typeof clusterSchema>;
export type RawNode = z.infer<typeof nodeSchema>;
export type RawHandoff = z.infer<typeof handoffSchema>;

/** The keys of each object in the file, by path pattern ("clusters[].nodes[]"), for "valid keys are" hints. */
const KEYS: Record<string, string[]> = {
  '': Object.keys(configSchema.shape).filter((k) => k !== '$schema'),
  connection: Object.keys(connectionSchema.shape).filter((k) => k !== 'password'),
  migrations: Object.keys(migrationsSchema.shape),
  adopt: Object.keys(adoptSchema.shape),
  'clusters[]': Object.keys(clusterSchema.shape),
  'clusters[].nodes[]': Object.keys(nodeSchema.shape).filter((k) => k !== 'password'),
  'clusters[].writer': Object.keys(writerSchema.shape),
  'clusters[].readPool': Object.keys(readPoolSchema.shape),
  lockSafety: [...LOCK_SAFETY_CONFIG_KEYS],
  handoff: Object.keys(handoffSchema.shape),
};

interface FieldHint {
  /** "which is not <what>" */
  what: string;
  fix: string;
}

const PORT_HINT: FieldHint = { what: 'a port number', fix: 'Use a whole number from 1 to 65535, without quotes, e.g. "port": 3306.' };
const PASSWORD_ENV: FieldHint = { what: 'the name of an environment variable', fix: 'Write it as "passwordEnv": "APP_DB_PASSWORD".' };
const PASSWORD_FILE: FieldHint = { what: 'a path', fix: 'Write it as "passwordFile": "secrets/db-password" (relative to the config file).' };

/** What each value must be and how to write it, by path pattern. */
const HINTS: Record<string, FieldHint> = {
  dialect: { what: 'supported', fix: 'Use "mysql" (also for MariaDB) or "postgres".' },
  url: { what: 'a database URL', fix: 'Write it as a string: mysql://user@host:3306/db or postgres://user@host:5432/db.' },
  connection: { what: 'an object', fix: 'Write it as "connection": {"host": "127.0.0.1", "port": 3306, "user": "app", "database": "app"}.' },
  'connection.host': { what: 'a host name', fix: 'Write it as "host": "127.0.0.1".' },
  'connection.port': PORT_HINT,
  'connection.user': { what: 'a user name', fix: 'Add "user": "the database user name".' },
  'connection.database': { what: 'a database name', fix: 'Add "database": "the database (schema) the migrations apply to".' },
  'connection.passwordEnv': PASSWORD_ENV,
  'connection.passwordFile': PASSWORD_FILE,
  migrations: { what: 'an object', fix: 'Write it as "migrations": {"directory": "migrations", "table": "migrate_ledger"}.' },
  'migrations.directory': { what: 'a path', fix: 'Give the path of the migrations folder, relative to the config file.' },
  'migrations.layout': {
    what: 'a layout',
    fix: `Use one of ${LAYOUT_CHOICES.map((l) => `"${l}"`).join(', ')} ("auto", the default, detects it from the files; docs/adopting.md).`,
  },
  'migrations.table': { what: 'a plain table name', fix: 'Use letters, digits and underscores only (it is used as a table name), at most 64 characters.' },
  adoptKnex: { what: 'true or a table name', fix: 'Write "adoptKnex": true (knex_migrations) or the name of knex\'s table, e.g. "adoptKnex": "knex_history".' },
  adopt: {
    what: 'an object',
    fix: 'Write it as "adopt": {"tool": "golang-migrate"} (or goose, dbmate, flyway, pop, knex), with "table" when the tool used another table name.',
  },
  'adopt.tool': { what: 'a supported tool', fix: `Use one of ${ADOPT_TOOLS.map((t) => `"${t}"`).join(', ')}.` },
  'adopt.table': { what: 'a plain table name', fix: 'Use letters, digits and underscores only: the name of the table the tool kept its history in.' },
  clusters: { what: 'a list', fix: 'Write it as "clusters": [{"name": "main", "flavor": "mariadb", "topology": "primary-replica", "nodes": [...]}].' },
  'clusters[]': { what: 'an object', fix: 'Each cluster is {"name", "flavor", "topology", "nodes", "writer"?, "readPool"?}.' },
  'clusters[].name': { what: 'a name', fix: 'Give each cluster a name, e.g. "main".' },
  'clusters[].flavor': { what: 'a known flavor', fix: 'Use "mariadb", "mysql" or "postgres".' },
  'clusters[].topology': { what: 'a known topology', fix: 'Use "primary-replica", "master-master" or "single".' },
  'clusters[].nodes': { what: 'a non-empty list of nodes', fix: 'List the nodes: [{"name", "role", "host", "port", "user", "passwordEnv"|"passwordFile"}].' },
  'clusters[].nodes[]': { what: 'an object', fix: 'Each node is {"name", "role", "host", "port", "user", "passwordEnv"|"passwordFile"}.' },
  'clusters[].nodes[].name': { what: 'a name', fix: 'Give each node a plain name, e.g. "db1".' },
  'clusters[].nodes[].role': { what: 'a role', fix: 'Use "primary" or "replica" (primary-replica), "active" or "passive" (master-master).' },
  'clusters[].nodes[].host': { what: 'a host name', fix: 'Write it as "host": "10.0.0.1".' },
  'clusters[].nodes[].port': PORT_HINT,
  'clusters[].nodes[].user': { what: 'a user name', fix: 'Add "user": "the replication-capable user".' },
  'clusters[].nodes[].passwordEnv': PASSWORD_ENV,
  'clusters[].nodes[].passwordFile': PASSWORD_FILE,
  'clusters[].writer': {
    what: 'an object',
    fix: 'Write it as "writer": {"type": "haproxy", "socket": "/run/haproxy/admin.sock", "backend": "writer"} (see README "Configuration").',
  },
  'clusters[].writer.type': { what: 'a writer type', fix: 'Use "haproxy", "command" or "none".' },
  'clusters[].writer.port': PORT_HINT,
  'clusters[].readPool': {
    what: 'an object',
    fix: 'Write it as "readPool": {"type": "haproxy", "socket": "/run/haproxy/admin.sock", "backend": "readers"} or {"type": "command", "command": "..."} (docs/read-pool.md).',
  },
  'clusters[].readPool.type': { what: 'a read pool type', fix: 'Use "haproxy" or "command".' },
  'clusters[].readPool.maxLagSeconds': { what: 'a number of seconds', fix: 'Write it as "maxLagSeconds": 1.' },
  'clusters[].readPool.drainTimeoutSeconds': { what: 'a number of seconds', fix: 'Write it as "drainTimeoutSeconds": 30.' },
  lockSafety: { what: 'an object', fix: 'Write it as "lockSafety": {"lockTimeout": "2s", "retries": 10, "statementTimeout": "0"}.' },
  handoff: {
    what: 'an object',
    fix: 'Write it as "handoff": {"deploy": "./deploy.sh", "verify": {"url": "http://127.0.0.1:8080/health"}, "rollback": "./rollback.sh"} (docs/handoff.md).',
  },
  'handoff.deploy': { what: 'a shell command', fix: 'Write it as "deploy": "./deploy.sh green".' },
  'handoff.rollback': { what: 'a shell command', fix: 'Write it as "rollback": "./deploy.sh blue".' },
  'handoff.verify': {
    what: 'a verify step',
    fix: 'Write it as "verify": {"command": "./check.sh"} or "verify": {"url": "http://127.0.0.1:8080/health", "status": 200, "retries": 10, "interval": "500ms", "window": "5s", "timeout": "2s"} (one of command or url, no other keys).',
  },
};

/** "clusters[0].nodes[1].port" */
export function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

function pattern(path: readonly PropertyKey[]): string {
  return pathText(path.map((p) => (typeof p === 'number' ? 0 : p))).replace(/\[0\]/g, '[]');
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * A value as an error message may show it: scalars as JSON, containers by kind. Nothing under a
 * key that may hold a secret, and never the URL (its password).
 */
function shown(v: unknown, path: readonly PropertyKey[]): string {
  const key = String(path.at(-1) ?? '');
  if (/pass(word)?$|secret|token|^url$/i.test(key)) return 'not usable';
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'an object';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The first problem zod found, as our error: the path of the key, what it must be, the fix. */
export function schemaError(issue: z.core.$ZodIssue, raw: unknown, source: string): MigrateError {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const where = pathText(path);
    const key = issue.keys[0] ?? '?';
    const valid = KEYS[pattern(path)] ?? [];
    return configError(
      `Unknown key "${where ? `${where}.` : ''}${key}" in ${source}${
        issue.keys.length > 1
          ? ` (also: ${issue.keys
              .slice(1)
              .map((k) => `"${k}"`)
              .join(', ')})`
          : ''
      }.`,
      `Remove it or correct the spelling; the valid keys${where ? ` of ${where}` : ''} are: ${valid.join(', ')}.`,
    );
  }
  const where = pathText(path);
  const hint = HINTS[pattern(path)] ?? { what: 'valid', fix: 'See README "Configuration" for the keys and their values.' };
  const value = valueAt(raw, path);
  if (value === undefined) return configError(`"${where}" is missing in ${source}.`, hint.fix);
  return configError(`"${where}" in ${source} is ${shown(value, path)}, which is not ${hint.what}.`, hint.fix);
}

/** Parses the raw config object or throws the error for its first problem. */
export function parseRawConfig(raw: unknown, source: string): RawConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(`The config in ${source} is not an object.`, 'The config must be a JSON object (or `export default {...}`).');
  }
  const r = configSchema.safeParse(raw);
  if (r.success) return r.data;
  // Unknown keys first: a misspelt key explains the "missing" one that zod also reports.
  const issues = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  throw schemaError(issues[0]!, raw, source);
}
