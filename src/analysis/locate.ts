import type { ConnectionConfig, Dialect } from '../config/types.ts';
import { createKnex, mapConnectionError } from '../db/connect.ts';
import { connectionError, MigrateError, usageError } from '../errors.ts';
import { registerSecret } from '../log/redact.ts';

/**
 * Finds the server the shadow databases are created on, without any configuration:
 *   1. --shadow URL
 *   2. MIGRATE_SHADOW_URL
 *   3. a running `migrate shadow up` server of the dialect: the throwaway tmpfs server in
 *      <MIGRATE_SHADOW_DIR, else /dev/shm or the temp dir>/migrate-shadow-<uid>-<dialect>
 *   4. a running `migrate sandbox` (./.sandbox or MIGRATE_SANDBOX_DIR) of the right flavor
 *   5. the machine's own server: 127.0.0.1:3306 as root without password (MySQL/MariaDB),
 *      127.0.0.1:5432 as postgres (PostgreSQL)
 * A URL that is given must work (its error is reported as is); the automatic candidates are
 * tried in turn (a state file saying "ready" for a server that does not answer is passed over)
 * and the error lists what was tried.
 */
export interface ShadowServer {
  server: ConnectionConfig;
  /** Where it came from, for messages: "--shadow", "MIGRATE_SHADOW_URL", "shadow server ...", "sandbox ...", "local server". */
  source: string;
  /** Automatic candidates passed over before this one, and why (absent for an explicit URL). */
  tried?: string[];
  /**
   * Servers whose state file says ready but that did not answer (a killed shadow server): the
   * commands print these, since the analysis then runs elsewhere, slower and maybe on another flavor.
   */
  warnings?: string[];
}

const SCHEMES: Record<string, Dialect> = { mysql: 'mysql', mariadb: 'mysql', postgres: 'postgres', postgresql: 'postgres' };

export function parseShadowUrl(url: string, dialect: Dialect, label: string): ConnectionConfig {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`${label} is not a valid server URL.`, `Write it as ${dialect === 'mysql' ? 'mysql://root@127.0.0.1:3306' : 'postgres://postgres@127.0.0.1:5432'} (user:password@host:port; no database needed).`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  const d = SCHEMES[scheme];
  if (!d) throw usageError(`${label} uses the scheme "${scheme}", which is not supported.`, 'Use mysql://, mariadb://, postgres:// or postgresql://.');
  if (d !== dialect) throw usageError(`${label} is a ${d === 'mysql' ? 'MySQL/MariaDB' : 'PostgreSQL'} server, but --dialect is ${dialect}.`, `Pass a ${dialect === 'mysql' ? 'mysql://' : 'postgres://'} URL, or --dialect ${d}.`);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  registerSecret(password);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : dialect === 'mysql' ? 3306 : 5432,
    user: u.username ? decodeURIComponent(u.username) : dialect === 'mysql' ? 'root' : 'postgres',
    password,
    // MySQL shadows connect without a database; PostgreSQL needs one to connect to (the admin db).
    database: dialect === 'postgres' ? database || 'postgres' : '',
  };
}

export async function checkServer(dialect: Dialect, server: ConnectionConfig): Promise<void> {
  const db = createKnex(dialect, server, { pool: { min: 0, max: 1 } });
  try {
    await db.raw('select 1');
  } catch (e) {
    throw mapConnectionError(e, dialect, server);
  } finally {
    await db.destroy();
  }
}

function localDefault(dialect: Dialect): ConnectionConfig {
  return dialect === 'mysql'
    ? { host: '127.0.0.1', port: 3306, user: 'root', database: '' }
    : { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
}

type Candidate = { server: ConnectionConfig; source: string } | { none: string };

type StateNode = { role: string; flavor: string; host: string; port: number; user: string; passwordFile: string };
interface SandboxModules {
  state: { readState(dir: string): { status: string; topology: string; nodes: StateNode[] } | undefined };
  secrets: { readSecret(file: string): string };
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

async function importSandbox(): Promise<SandboxModules> {
  const [state, secrets] = await Promise.all([import('../sandbox/state.ts'), import('../sandbox/secrets.ts')]);
  return { state, secrets } as unknown as SandboxModules;
}

/**
 * The server of the sandbox state in `dir` (`what` names it in messages: "shadow server",
 * "sandbox"), when it is ready, `refuse` has nothing against it and `pick` finds its node.
 */
async function stateCandidate(
  dir: string,
  what: string,
  dialect: Dialect,
  pick: { node: (nodes: StateNode[]) => StateNode | undefined; missing: string },
  refuse: (topology: string) => string | undefined = () => undefined,
): Promise<Candidate> {
  const { state, secrets } = await importSandbox();
  const s = state.readState(dir);
  if (!s) return { none: `no ${what} in ${dir}` };
  const refused = refuse(s.topology);
  if (refused) return { none: refused };
  if (s.status !== 'ready') return { none: `the ${what} in ${dir} is ${s.status}` };
  const node = pick.node(s.nodes);
  if (!node) return { none: `the ${what} in ${dir} has no ${pick.missing}` };
  const server: ConnectionConfig = { host: node.host, port: node.port, user: node.user, password: secrets.readSecret(node.passwordFile), database: dialect === 'postgres' ? 'postgres' : '' };
  return { server, source: `${what} ${dir} (${node.host}:${node.port})` };
}

/** The server of a `migrate shadow up` of this dialect, if its directory holds a ready one. */
async function shadowDirCandidate(dialect: Dialect, env: NodeJS.ProcessEnv, cwd: string): Promise<Candidate> {
  let dir = 'the shadow server directory';
  try {
    const sd = (await import('../sandbox/shadow-dir.ts')) as {
      shadowServerDir(dialect: Dialect, opts: { env?: NodeJS.ProcessEnv; cwd?: string }): string;
      shadowTopology(dialect: Dialect): string;
      foreignDirProblem(dir: string): string | undefined;
    };
    dir = sd.shadowServerDir(dialect, { env, cwd });
    const foreign = sd.foreignDirProblem(dir);
    if (foreign) return { none: `shadow server: ${foreign}, ignored` };
    return await stateCandidate(dir, 'shadow server', dialect, { node: (ns) => ns.find((n) => n.role === 'primary'), missing: 'node' }, (topology) =>
      topology !== sd.shadowTopology(dialect) ? `${dir} holds a ${topology} sandbox, not a ${dialect} shadow server` : undefined,
    );
  } catch (e) {
    return { none: `shadow server in ${dir} unreadable (${firstLine(e)})` };
  }
}

/** The primary (or active) node of a running sandbox of the right flavor, if any. */
async function sandboxCandidate(dialect: Dialect, env: NodeJS.ProcessEnv, cwd: string): Promise<Candidate> {
  try {
    const options = (await import('../sandbox/options.ts')) as { resolveSandboxDir(dir: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string };
    const wanted = dialect === 'mysql' ? ['mariadb', 'mysql'] : ['postgres'];
    return await stateCandidate(options.resolveSandboxDir(undefined, env, cwd), 'sandbox', dialect, {
      node: (ns) => ns.find((n) => wanted.includes(n.flavor) && (n.role === 'primary' || n.role === 'active')),
      missing: `${dialect} primary`,
    });
  } catch (e) {
    return { none: `sandbox unreadable (${firstLine(e)})` };
  }
}

/**
 * `sandbox: false` skips the project's sandbox (step 4): `apply` migrates that sandbox's cluster,
 * and shadow databases created on its primary would replicate into the nodes being switched over.
 */
export interface FindShadowOptions {
  url?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** false: skip the project's sandbox (step 4). */
  sandbox?: boolean;
  /** false: skip the `migrate shadow` server (step 3), e.g. for a MySQL cluster: that server is MariaDB. */
  throwaway?: boolean;
  /** Why step 3 was skipped, for the "Tried:" list. */
  throwawaySkipped?: string;
}

export async function findShadowServer(dialect: Dialect, opts: FindShadowOptions = {}): Promise<ShadowServer> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const explicit: [string | undefined, string][] = [
    [opts.url, '--shadow'],
    [env['MIGRATE_SHADOW_URL'], 'MIGRATE_SHADOW_URL'],
  ];
  for (const [url, label] of explicit) {
    if (!url) continue;
    const server = parseShadowUrl(url, dialect, label);
    try {
      await checkServer(dialect, server);
    } catch (e) {
      const err = e instanceof MigrateError ? e : mapConnectionError(e, dialect, server);
      throw connectionError(
        `The shadow server from ${label} cannot be used: ${err.problem}`,
        `Check that the server at ${server.host}:${server.port} is running and that the URL (user, password, port) is right, or pass another server with --shadow URL (\`migrate shadow up\` starts a local one).`,
        e,
      );
    }
    return { server, source: label };
  }
  const tried: string[] = [];
  const warnings: string[] = [];
  const finders: ((d: Dialect, env: NodeJS.ProcessEnv, cwd: string) => Promise<Candidate>)[] = [];
  if (opts.throwaway === false) tried.push(opts.throwawaySkipped ?? 'shadow server: not used here');
  else finders.push(shadowDirCandidate);
  if (opts.sandbox !== false) finders.push(sandboxCandidate);
  for (const find of finders) {
    const c = await find(dialect, env, cwd);
    if ('none' in c) {
      tried.push(c.none);
      continue;
    }
    try {
      await checkServer(dialect, c.server);
      return { ...c, tried, warnings };
    } catch (e) {
      const why = `${c.source}: ready by its state file but not answering: ${e instanceof MigrateError ? e.problem : String(e)}`;
      tried.push(why);
      warnings.push(why);
    }
  }
  const local = localDefault(dialect);
  try {
    await checkServer(dialect, local);
    return { server: local, source: `local server ${local.host}:${local.port}`, tried, warnings };
  } catch (e) {
    tried.push(`${local.user}@${local.host}:${local.port}: ${e instanceof MigrateError ? e.problem : String(e)}`);
  }
  const example = dialect === 'mysql' ? 'mysql://root@127.0.0.1:3306' : 'postgres://postgres@127.0.0.1:5432';
  throw connectionError(
    `No ${dialect === 'mysql' ? 'MySQL/MariaDB' : 'PostgreSQL'} server for the shadow database was found. Tried: MIGRATE_SHADOW_URL (not set); ${tried.join('; ')}.`,
    `Pass --shadow ${example} (any server where this user may CREATE DATABASE), set MIGRATE_SHADOW_URL, start a local ${dialect === 'mysql' ? 'MariaDB/MySQL' : 'PostgreSQL'} server, or run \`migrate shadow up --dialect ${dialect}\` (a throwaway local server check finds by itself).`,
  );
}
