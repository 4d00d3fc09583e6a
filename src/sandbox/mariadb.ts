import type { ChildProcess } from 'node:child_process';
import { constants, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MigrateError, messageOf } from '../errors.ts';
import { redact } from '../log/index.ts';
import { flavorFor } from '../engines/index.ts';
import type { MariaDbBinaries } from './binaries.ts';
import type { NodeStatus, SandboxNode } from './contract.ts';
import { connectAdmin, connectMysql, queryRows, withConnection } from './mysql-client.ts';
import { isRoot, run, sleep, spawnDaemon, stopServer, type StopOutcome } from './process.ts';
import type { NodePlan } from './topologies.ts';

/** The local sandbox's MySQL-family nodes are MariaDB. */
const mariadbFlavor = flavorFor('mariadb');

export const APP_USER = 'app';
export const APP_DATABASE = 'app';
export const REPL_USER = 'repl';
export const ADMIN_USER = 'root';

/** Everything on disk and on the network that belongs to one mariadbd. */
export interface MariaDbNodeSpec {
  plan: NodePlan;
  nodeDir: string;
  datadir: string;
  tmpdir: string;
  socket: string;
  pidFile: string;
  logFile: string;
  cnfFile: string;
  port: number;
  passwordFile: string;
}

export function nodeSpec(plan: NodePlan, nodeDir: string, socketDir: string, port: number, passwordFile: string): MariaDbNodeSpec {
  return {
    plan,
    nodeDir,
    datadir: join(nodeDir, 'data'),
    tmpdir: join(nodeDir, 'tmp'),
    socket: join(socketDir, `${plan.name}.sock`),
    pidFile: join(nodeDir, 'mariadbd.pid'),
    logFile: join(nodeDir, 'error.log'),
    cnfFile: join(nodeDir, 'my.cnf'),
    port,
    passwordFile,
  };
}

/**
 * Settings for a throwaway server: small InnoDB files so the datadir initialises and copies in
 * well under a second, and relaxed durability (nothing here must survive a power cut).
 */
const STORAGE_SETTINGS = [
  'innodb_buffer_pool_size=32M',
  'innodb_log_file_size=8M',
  'innodb_log_buffer_size=4M',
  'innodb_flush_log_at_trx_commit=2',
  'innodb_doublewrite=0',
  'sync_binlog=0',
  'performance_schema=OFF',
  'skip_name_resolve=ON',
  'character_set_server=utf8mb4',
  'max_connections=200',
];

/**
 * The shadow server (`migrate shadow up`) on top of STORAGE_SETTINGS: nothing it holds outlives
 * the command that created it, so no fsync is worth paying for. Measured on a durable disk, a DDL
 * costs about 14 fdatasyncs (.frm, DDL log, redo); these remove the ones that can be removed,
 * tmpfs makes the rest (the DDL recovery log) free.
 */
const SHADOW_SETTINGS = [
  // No binary log: nothing replicates from a shadow, and every DDL would be written and synced twice.
  'skip_log_bin',
  // Redo written and flushed about once a second, never at commit.
  'innodb_flush_log_at_trx_commit=0',
  // No fsync of .frm files after CREATE / ALTER.
  'sync_frm=OFF',
];

/** An option-file value: quoted when it holds whitespace (a --dir "path with space"), as my.cnf allows. */
const cnfValue = (v: string): string => (/\s/.test(v) ? `"${v}"` : v);

function nodeCnf(s: MariaDbNodeSpec): string {
  const shadow = s.plan.profile === 'shadow';
  const head = [
    shadow
      ? '# Written by `migrate shadow up`: a throwaway server for shadow databases; never put real data here.'
      : '# Written by `migrate sandbox up`; one file per node so nodes never share a path.',
    '[mariadbd]',
    `port=${s.port}`,
    'bind_address=127.0.0.1',
    `socket=${cnfValue(s.socket)}`,
    `pid_file=${cnfValue(s.pidFile)}`,
    `tmpdir=${cnfValue(s.tmpdir)}`,
    `log_error=${cnfValue(s.logFile)}`,
    `server_id=${s.plan.serverId}`,
  ];
  if (shadow) {
    return [
      ...head,
      // Writable from the start and after a restart: there are no replicas to protect.
      'read_only=OFF',
      ...STORAGE_SETTINGS.filter((l) => !/^(innodb_flush_log_at_trx_commit|sync_binlog)=/.test(l)),
      ...SHADOW_SETTINGS,
      '',
    ].join('\n');
  }
  return [
    ...head,
    `gtid_domain_id=${s.plan.gtidDomainId}`,
    'log_bin=mysql-bin',
    'relay_log=relay-bin',
    'binlog_format=ROW',
    'log_slave_updates=ON',
    'gtid_strict_mode=ON',
    // Every node starts read-only, the writer included; `up` opens the writer explicitly. A node
    // restarted by hand (or by a test) then comes back refusing writes instead of becoming a
    // second writable primary (DESIGN: read_only is not kept across a restart).
    'read_only=ON',
    // Replicas notice a dead or switched source in seconds rather than the default minute.
    'slave_net_timeout=10',
    // Without it the app user (no SUPER, by design) cannot create triggers or functions while
    // binary logging is on. The check only guards statement-based logging; ours is ROW.
    'log_bin_trust_function_creators=ON',
    ...STORAGE_SETTINGS,
    '',
  ].join('\n');
}

const userArgs = (): string[] => (isRoot() ? ['--user=root'] : []);

/**
 * Initialises one datadir that every node of the topology is copied from: one bootstrap instead
 * of N concurrent ones (about 1.2 s against 3+ s for three on two cores), and identical system
 * tables on every node, which keeps the nodes' GTID histories empty and equal.
 */
export async function initTemplate(bins: MariaDbBinaries, templateDir: string): Promise<string> {
  mkdirSync(templateDir, { recursive: true });
  // mariadb-install-db is a shell script that does not quote its paths (chown fails on a path with
  // a space): bootstrap under the system temp dir then, and copy the result into place.
  if (/\s/.test(templateDir) && !/\s/.test(tmpdir())) {
    const work = mkdtempSync(join(tmpdir(), 'msbx-template-'));
    try {
      const data = await initTemplate(bins, work);
      await cp(data, join(templateDir, 'data'), { recursive: true });
      return join(templateDir, 'data');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  // Its own tmpdir: bootstraps running at once (parallel test suites) share /tmp otherwise, and
  // one removes the other's temporary tables (measured: 2 of 18 concurrent bootstraps failed
  // with "Can't find file: '/tmp/#sql-temptable-...'" or "Unknown table 'mysql.tmp_user_sys'").
  const tmp = join(templateDir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const cnf = join(templateDir, 'my.cnf');
  writeFileSync(cnf, ['[mariadbd]', `tmpdir=${cnfValue(tmp)}`, ...STORAGE_SETTINGS, ''].join('\n'));
  const datadir = join(templateDir, 'data');
  const log = join(templateDir, 'install.log');
  const res = await run(
    bins.installDb,
    [`--defaults-file=${cnf}`, `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...userArgs()],
    { what: 'initialising the MariaDB data directory', timeoutMs: 60_000 },
  );
  writeFileSync(log, res.stdout + res.stderr);
  return datadir;
}

export async function prepareNode(s: MariaDbNodeSpec, templateDatadir: string): Promise<void> {
  mkdirSync(s.tmpdir, { recursive: true });
  // Reflink where the filesystem can, plain copy elsewhere.
  await cp(templateDatadir, s.datadir, { recursive: true, mode: constants.COPYFILE_FICLONE });
  writeNodeCnf(s);
}

export function writeNodeCnf(s: MariaDbNodeSpec): void {
  writeFileSync(s.cnfFile, nodeCnf(s));
}

export class PortInUseError extends Error {}

function logTail(file: string, lines = 12): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

/**
 * Starts mariadbd and waits until it accepts connections on its socket. The datadir is passed
 * on the command line as well as in my.cnf so `down` can recognise the process as ours.
 */
export async function startServer(bins: MariaDbBinaries, s: MariaDbNodeSpec, timeoutMs = 30_000): Promise<ChildProcess> {
  const child = spawnDaemon(bins.server, [`--defaults-file=${s.cnfFile}`, `--datadir=${s.datadir}`, ...userArgs()], { logFile: join(s.nodeDir, 'stdout.log') });
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = logTail(s.logFile);
      if (/Address already in use|Bind on TCP\/IP port/i.test(log)) throw new PortInUseError(`port ${s.port} in use`);
      throw new MigrateError(
        'sandbox',
        redact(`mariadbd for node ${s.plan.name} exited during startup (code ${child.exitCode ?? child.signalCode}):\n${log}`),
        `See ${s.logFile} for the full log.`,
      );
    }
    if (existsSync(s.socket)) {
      try {
        const c = await connectMysql({ socketPath: s.socket, user: ADMIN_USER }, 1_000);
        await c.end();
        return child;
      } catch (e) {
        // A refused login is an answer too: a restarted node's root has its password by now.
        if ((e as { code?: string }).code === 'ER_ACCESS_DENIED_ERROR') return child;
      }
    }
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new MigrateError(
        'sandbox',
        redact(`mariadbd for node ${s.plan.name} did not accept connections within ${timeoutMs / 1000} s:\n${logTail(s.logFile)}`),
        `See ${s.logFile}; a slow disk may need a second try.`,
      );
    }
    await sleep(40);
  }
}

export interface Credentials {
  admin: string;
  app: string;
  repl: string;
}

/**
 * Accounts and the app database, created identically on every node with binary logging off:
 * no node starts with GTIDs another lacks, so replication begins from empty positions, and the
 * passwords never reach a binary log.
 */
export async function bootstrapNode(s: MariaDbNodeSpec, cred: Credentials): Promise<string> {
  return withConnection(connectMysql({ socketPath: s.socket, user: ADMIN_USER }), async (c) => {
    // A shadow server holds nothing but the analysis's own databases (no replication account, no
    // application database), so `check` can tell it holds nothing else (src/analysis/shadow-run.ts).
    const shadow = s.plan.profile === 'shadow';
    const stmts: [string, unknown[]?][] = [
      ['SET SESSION sql_log_bin=0'],
      // Over TCP the coordinator logs in as root@127.0.0.1; no root account stays passwordless.
      ["DROP USER IF EXISTS 'root'@'::1'"],
      ["ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY ?", [cred.admin]],
      ...(shadow
        ? []
        : ([
            [`CREATE USER '${REPL_USER}'@'127.0.0.1' IDENTIFIED BY ?`, [cred.repl]],
            [`GRANT REPLICATION SLAVE ON *.* TO '${REPL_USER}'@'127.0.0.1'`],
            [`CREATE DATABASE \`${APP_DATABASE}\` CHARACTER SET utf8mb4`],
            // The application account: everything on its own database, nothing global, so neither
            // SUPER nor READ ONLY ADMIN lets it write through read_only.
            [`CREATE USER '${APP_USER}'@'127.0.0.1' IDENTIFIED BY ?`, [cred.app]],
            [`CREATE USER '${APP_USER}'@'localhost' IDENTIFIED BY ?`, [cred.app]],
            [`GRANT ALL PRIVILEGES ON \`${APP_DATABASE}\`.* TO '${APP_USER}'@'127.0.0.1', '${APP_USER}'@'localhost'`],
          ] as [string, unknown[]?][])),
      // Last: the session we are in logged in as root@localhost without a password.
      ["ALTER USER 'root'@'localhost' IDENTIFIED BY ?", [cred.admin]],
    ];
    for (const [sql, values] of stmts) {
      try {
        await c.query(sql, values);
      } catch (e) {
        throw new MigrateError('sandbox', redact(`Setting up accounts on node ${s.plan.name} failed at "${sql}": ${messageOf(e)}`), `See ${s.logFile}.`, {
          cause: e,
        });
      }
    }
    const rows = await queryRows(c, 'SELECT @@version AS v');
    return String(rows[0]?.['v'] ?? '');
  });
}

export async function startReplication(replica: SandboxNode, source: SandboxNode, replPassword: string, useGtid: 'slave_pos' | 'current_pos'): Promise<void> {
  await withConnection(connectAdmin(replica), async (c) => {
    for (const sql of mariadbFlavor.changeSource({ host: source.host, port: source.port, user: REPL_USER, password: replPassword }, useGtid)) {
      await c.query(sql);
    }
    await c.query(mariadbFlavor.startReplica());
  });
}

/** Waits until both replication threads run; the last IO/SQL error is in the message if not. */
export async function waitReplicating(node: SandboxNode, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  await withConnection(connectAdmin(node), async (c) => {
    for (;;) {
      const row = (await queryRows(c, mariadbFlavor.showReplicaStatus()))[0];
      if (row) {
        const st = mariadbFlavor.parseReplicaStatus(row);
        if (st.ioRunning && st.sqlRunning) return;
        last = `IO ${row['Slave_IO_Running']}, SQL ${row['Slave_SQL_Running']}${st.lastIoError ? `; IO error: ${st.lastIoError}` : ''}${st.lastSqlError ? `; SQL error: ${st.lastSqlError}` : ''}`;
      }
      if (Date.now() > until) {
        throw new MigrateError(
          'sandbox',
          redact(`Replication on node ${node.name} did not start within ${timeoutMs / 1000} s (${last || 'no replication configured'}).`),
          `See ${node.logFile ?? 'the node error log'}.`,
        );
      }
      await sleep(50);
    }
  });
}

export async function setReadOnly(node: SandboxNode, on: boolean): Promise<void> {
  await withConnection(connectAdmin(node), async (c) => {
    for (const sql of mariadbFlavor.setReadOnly(on)) await c.query(sql);
  });
}

export async function mariadbNodeStatus(node: SandboxNode): Promise<NodeStatus> {
  const base: NodeStatus = { name: node.name, role: node.role, host: node.host, port: node.port, up: false };
  try {
    return await withConnection(connectAdmin(node, 2_000), async (c) => {
      const v = (await queryRows(c, 'SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.gtid_current_pos AS pos'))[0] ?? {};
      const st: NodeStatus = { ...base, up: true, readOnly: Number(v['ro']) === 1, position: String(v['pos'] ?? '') };
      const row = (await queryRows(c, mariadbFlavor.showReplicaStatus()))[0];
      if (row) {
        const r = mariadbFlavor.parseReplicaStatus(row);
        st.ioRunning = r.ioRunning;
        st.sqlRunning = r.sqlRunning;
        st.lag = r.secondsBehind;
        st.lagUnit = 'seconds';
        const err = [r.lastIoError, r.lastSqlError].filter(Boolean).join('; ');
        if (err) st.replicationError = redact(err);
      }
      return st;
    });
  } catch (e) {
    return { ...base, error: redact(messageOf(e)) };
  }
}

/** The spec of a node already in state.json (for a restart). */
export function specOfNode(node: SandboxNode, plan: NodePlan): MariaDbNodeSpec {
  const nodeDir = dirname(node.datadir!);
  return {
    plan,
    nodeDir,
    datadir: node.datadir!,
    tmpdir: join(nodeDir, 'tmp'),
    socket: node.socket!,
    pidFile: node.pidFile ?? join(nodeDir, 'mariadbd.pid'),
    logFile: node.logFile ?? join(nodeDir, 'error.log'),
    cnfFile: join(nodeDir, 'my.cnf'),
    port: node.port,
    passwordFile: node.passwordFile,
  };
}

export async function stopMariaDbNode(node: SandboxNode): Promise<{ pid?: number; how: StopOutcome }> {
  if (!node.datadir) return { how: 'already-gone' };
  // SIGTERM is mariadbd's clean shutdown; a throwaway datadir gives it little to flush.
  return stopServer(node.pidFile, node.pid, node.datadir, 'SIGTERM', 30_000);
}
