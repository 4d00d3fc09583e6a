import type { ConnectionConfig, Dialect, ProjectConfig } from '../config/index.ts';
import { createAdminKnex, createKnex, mapConnectionError } from '../db/index.ts';
import { dialectNamed, engineFor } from '../engines/index.ts';
import { connectionError, MigrateError, messageOf, usageError } from '../errors.ts';
import { registerSecret } from '../log/index.ts';
import type { ShadowOrigin } from './shadow-run.ts';

/**
 * Finds the server the shadow databases are created on:
 *   1. --shadow URL, else MIGRATE_SHADOW_URL: a server the user names. Refused when it is the
 *      target, a node of a configured cluster or of a running sandbox (same host:port, or the same
 *      server seen through another address: @@hostname/@@port/@@datadir, PostgreSQL's
 *      system_identifier). Otherwise the run looks at it (shadow-run.ts): one that holds nothing
 *      else is used as a throwaway, any other through an account of the run's own.
 *   2. else the `migrate shadow` server of the dialect (<MIGRATE_SHADOW_DIR, else /dev/shm or the
 *      temp dir>/migrate-shadow-<uid>-<dialect>), started here when none runs, and left running for
 *      the next run (`migrate shadow down` stops it).
 * Never the machine's own durable server, never a sandbox node by itself: a database on a server
 * that holds other data is no isolation (DESIGN "Lessons").
 */
export interface ShadowServer {
  server: ConnectionConfig;
  /** Where it came from, for messages: "--shadow", "MIGRATE_SHADOW_URL", "shadow server <dir> (host:port)". */
  source: string;
  /** What the analysis may assume about it (shadow-run.ts). */
  origin: ShadowOrigin;
  /** Set when this lookup started the `migrate shadow` server: the line to print on stderr. */
  started?: string;
}

/** A server the shadow must not be: the target of plan/apply, a node of a configured cluster. */
export interface ForbiddenServer {
  /** For the error: "the target of plan", "node db2 of cluster main". */
  label: string;
  conn: ConnectionConfig;
}

/** The target and every configured node: never a shadow server. */
export function forbiddenServers(config: Pick<ProjectConfig, 'connection' | 'clusters'>, command: string): ForbiddenServer[] {
  return [
    { label: `the target of ${command}`, conn: config.connection },
    ...config.clusters.flatMap((c) =>
      c.nodes.map((n) => ({
        label: `node ${n.name} of cluster ${c.name}`,
        conn: { host: n.host, port: n.port, user: n.user, password: n.password, database: '' },
      })),
    ),
  ];
}

export interface FindShadowOptions {
  url?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** --shadow-throwaway: the user says the named server holds nothing that matters. */
  assertThrowaway?: boolean;
  /** Why the `migrate shadow` server does not suit here (a MySQL target: it is MariaDB); the lookup then needs a URL. */
  ownUnsuitable?: string;
  /** Servers the shadow must not be (a running sandbox's nodes are added by the lookup). */
  forbidden?: ForbiddenServer[];
  /** false: do not start the `migrate shadow` server (tests of the lookup). */
  start?: boolean;
}

export const THROWAWAY_ENV = 'MIGRATE_SHADOW_THROWAWAY';

export function parseShadowUrl(url: string, dialect: Dialect, label: string): ConnectionConfig {
  const engine = engineFor(dialect);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usageError(`${label} is not a valid server URL.`, `Write it as ${engine.urlExample} (user:password@host:port; no database needed).`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  const d = dialectNamed(scheme);
  if (!d) throw usageError(`${label} uses the scheme "${scheme}", which is not supported.`, 'Use mysql://, mariadb://, postgres:// or postgresql://.');
  if (d !== dialect)
    throw usageError(`${label} is a ${engineFor(d).label} server, but --dialect is ${dialect}.`, `Pass a ${engine.urlScheme} URL, or --dialect ${d}.`);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  registerSecret(password);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  // MySQL shadows connect without a database; PostgreSQL needs one to connect to (the admin db).
  return engine.adminConnection({
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : engine.defaultPort,
    user: u.username ? decodeURIComponent(u.username) : engine.defaultUser,
    password,
    database,
  });
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

/** "true", "1", "yes" (any case): MIGRATE_SHADOW_THROWAWAY=1. */
export function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/** 127.0.0.1, ::1 and localhost are one place. */
function hostKey(host: string): string {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) ? 'local' : h;
}

export const sameAddress = (a: { host: string; port: number }, b: { host: string; port: number }): boolean =>
  a.port === b.port && hostKey(a.host) === hostKey(b.host);

/**
 * What identifies a server whatever address it is reached through: MySQL/MariaDB its host name,
 * port and data directory; PostgreSQL the system identifier its physical standbys share (so every
 * node of a streaming cluster has the same one). Undefined when it cannot be read in time.
 */
export async function serverIdentity(dialect: Dialect, conn: ConnectionConfig, timeoutMs = 3000): Promise<string | undefined> {
  const db = createAdminKnex(dialect, conn, { pool: { min: 0, max: 1 } });
  const read = (): Promise<string | undefined> => engineFor(dialect).serverIdentity(db);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([read(), new Promise<undefined>((res) => (timer = setTimeout(() => res(undefined), timeoutMs)))]);
  } catch {
    return undefined;
  } finally {
    if (timer) clearTimeout(timer);
    void db.destroy().catch(() => undefined);
  }
}

type Sandbox = typeof import('../sandbox/index.ts');

/**
 * The sandbox's index, loaded on use: the sandbox code is not needed when a URL is given and
 * nothing runs. The index is light (driver-free modules; the server code loads only when a
 * shadow server is started), so this stays cheap on every `migrate check`.
 */
async function sandboxModules(): Promise<
  Pick<Sandbox, 'readState' | 'readSecret' | 'resolveSandboxDir' | 'shadowServerDir' | 'foreignDirProblem' | 'shadowTopology'>
> {
  return import('../sandbox/index.ts');
}

/** How the analysis reaches a sandbox node (the engine's admin database). */
function nodeServer(dialect: Dialect, node: { host: string; port: number; user: string }, password: string | undefined): ConnectionConfig {
  return engineFor(dialect).adminConnection({ host: node.host, port: node.port, user: node.user, password, database: '' });
}

/** The nodes (and HAProxy endpoint) of the project's running sandbox, as forbidden servers. */
async function sandboxServers(dialect: Dialect, env: NodeJS.ProcessEnv, cwd: string): Promise<ForbiddenServer[]> {
  try {
    const m = await sandboxModules();
    const dir = m.resolveSandboxDir(undefined, env, cwd);
    const s = m.readState(dir);
    if (!s) return [];
    const out: ForbiddenServer[] = s.nodes.map((n) => {
      let password: string | undefined;
      try {
        password = m.readSecret(n.passwordFile);
      } catch {
        password = undefined;
      }
      return { label: `node ${n.name} of the sandbox in ${dir}`, conn: nodeServer(dialect, n, password) };
    });
    if (s.writer?.host && s.writer.port)
      out.push({ label: `the writer endpoint of the sandbox in ${dir}`, conn: { host: s.writer.host, port: s.writer.port, user: '', database: '' } });
    return out;
  } catch {
    return [];
  }
}

/** Refuses a named shadow server that is one of `forbidden` (exit 2, nothing changed). */
async function refuseForbidden(dialect: Dialect, server: ConnectionConfig, label: string, forbidden: ForbiddenServer[]): Promise<void> {
  const refuse = (f: ForbiddenServer, how: string): MigrateError =>
    usageError(
      `The shadow server from ${label} (${server.host}:${server.port}) is ${f.label}${how}. The analysis applies every migration for real on its shadow server: it must never be a server that holds the data it is about, or a node that replicates.`,
      'Leave --shadow out (a throwaway `migrate shadow` server is used, and started when none runs), or name a server of its own: a CI service container, or any server that is neither the target nor a cluster or sandbox node.',
    );
  for (const f of forbidden) if (sameAddress(f.conn, server)) throw refuse(f, '');
  if (!forbidden.length) return;
  const mine = await serverIdentity(dialect, server);
  if (!mine) return;
  const theirs = await Promise.all(forbidden.filter((f) => f.conn.user).map(async (f) => [f, await serverIdentity(dialect, f.conn, 2000)] as const));
  for (const [f, id] of theirs) if (id === mine) throw refuse(f, ' (the same server, reached at another address)');
}

/** The ready `migrate shadow` server of the dialect, if its state file names one that answers. */
async function runningOwnServer(
  dialect: Dialect,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ server: ConnectionConfig; dir: string } | { dir: string; missing: string }> {
  const m = await sandboxModules();
  const dir = m.shadowServerDir(dialect, { env, cwd });
  const foreign = m.foreignDirProblem(dir);
  if (foreign) throw usageError(`${foreign}; it cannot hold the shadow server.`, 'Remove it, or set MIGRATE_SHADOW_DIR to a directory of your own.');
  const s = m.readState(dir);
  if (!s) return { dir, missing: `no shadow server in ${dir}` };
  if (s.topology !== m.shadowTopology(dialect))
    throw usageError(
      `${dir} holds a ${s.topology} sandbox, not a ${dialect} shadow server.`,
      `Take it down with \`migrate sandbox down --dir ${dir}\`, or set MIGRATE_SHADOW_DIR to another directory.`,
    );
  const node = s.nodes.find((n) => n.role === 'primary') ?? s.nodes[0];
  if (s.status !== 'ready' || !node) return { dir, missing: `the shadow server in ${dir} is ${s.status}` };
  const server = nodeServer(dialect, node, m.readSecret(node.passwordFile));
  try {
    await checkServer(dialect, server);
    return { server, dir };
  } catch (e) {
    return { dir, missing: `the shadow server in ${dir} does not answer (${e instanceof MigrateError ? e.problem : messageOf(e)})` };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the `migrate shadow` server in `dir` (or finds the one another command is starting:
 * `shadow up` holds a lock on its directory while it works).
 */
async function startOwnServer(dialect: Dialect, dir: string): Promise<ConnectionConfig> {
  const { shadowUp, readSecret } = await import('../sandbox/index.ts');
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      const o = await shadowUp(dialect, dir);
      const node = o.state.nodes[0]!;
      return nodeServer(dialect, node, readSecret(node.passwordFile));
    } catch (e) {
      if (e instanceof MigrateError && /^Another sandbox command \(pid \d+\) is working on/.test(e.problem) && Date.now() < until) {
        await sleep(250);
        continue;
      }
      throw e;
    }
  }
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
        `Check that the server at ${server.host}:${server.port} is running and that the URL (user, password, port) is right, or leave --shadow out to use a throwaway \`migrate shadow\` server (started when none runs).`,
        e,
      );
    }
    await refuseForbidden(dialect, server, label, [...(opts.forbidden ?? []), ...(await sandboxServers(dialect, env, cwd))]);
    // Our own `migrate shadow` server, named by its URL, is throwaway by construction.
    const own = await runningOwnServer(dialect, env, cwd).catch(() => undefined);
    const origin: ShadowOrigin =
      own && 'server' in own && sameAddress(own.server, server) ? 'own' : opts.assertThrowaway || truthy(env[THROWAWAY_ENV]) ? 'asserted' : 'named';
    return { server, source: label, origin };
  }
  const engine = engineFor(dialect);
  const urlFix = `pass --shadow URL or set MIGRATE_SHADOW_URL (a CI service container, or any ${engine.label} server: on one that holds other data the analysis works through an account restricted to its own databases)`;
  if (opts.ownUnsuitable) throw usageError(`No shadow server: ${opts.ownUnsuitable}.`, `Name one of the target's kind and version: ${urlFix}.`);
  const found = await runningOwnServer(dialect, env, cwd);
  if ('server' in found) return { server: found.server, source: `shadow server ${found.dir} (${found.server.host}:${found.server.port})`, origin: 'own' };
  if (opts.start === false) throw connectionError(`No shadow server: ${found.missing}.`, `Run \`migrate shadow up --dialect ${dialect}\`, or ${urlFix}.`);
  let server: ConnectionConfig;
  try {
    server = await startOwnServer(dialect, found.dir);
  } catch (e) {
    const why = e instanceof MigrateError ? e.problem : messageOf(e);
    throw connectionError(
      `No shadow server: ${found.missing}, and a throwaway one cannot be started here: ${why}`,
      `Install the ${engine.shadowProduct.product} server binaries (Debian/Ubuntu: \`apt-get install ${engine.shadowProduct.aptPackage}\`; the service the package starts is not used), or ${urlFix}.`,
      e,
    );
  }
  return {
    server,
    source: `shadow server ${found.dir} (${server.host}:${server.port})`,
    origin: 'own',
    started: `started a throwaway shadow server (${dialect}) in ${found.dir} for the analysis (${found.missing.replace(/^no shadow server in .*/, 'none was running')}); later runs reuse it; stop it with \`migrate shadow down --dialect ${dialect}\``,
  };
}
