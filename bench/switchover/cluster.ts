/**
 * The bench's topology: a fresh sandbox per run (MariaDB primary + 2 replicas, HAProxy writer
 * endpoint), with the 1,000,000-row table put in place on every node from one seed tablespace.
 * Seeding by INSERT takes 30-60 s per sandbox on two cores (plus the replicas applying it); a
 * transportable tablespace (FLUSH TABLES ... FOR EXPORT once, IMPORT TABLESPACE on each node with
 * binary logging off) takes a few seconds and leaves every node with identical data and GTIDs.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { SandboxState } from '../../src/sandbox/contract.ts';
import { readSecret } from '../../src/sandbox/secrets.ts';
import { sandboxDown, sandboxUp } from '../../src/sandbox/service.ts';
import type { Target } from './load.ts';

export const TABLE = 'sbtest1';
/**
 * sysbench's table (oltp_common.lua) without its pad column, as our migration 0001 creates it:
 * about 150 bytes a row. (With pad every ALTER copies a third more, and the whole benchmark no
 * longer fits in 20 minutes on a busy 2-core machine.)
 */
export const CREATE_TABLE = `CREATE TABLE ${TABLE} (
  id INT NOT NULL AUTO_INCREMENT,
  k INT NOT NULL DEFAULT 0,
  c CHAR(120) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY k_1 (k)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
/** The change all three ways make: CHAR -> VARCHAR is ALGORITHM=COPY on MariaDB 10.11 (writes blocked in place). */
export const CHANGE = "MODIFY c VARCHAR(200) NOT NULL DEFAULT ''";
export const ALTER = `ALTER TABLE ${TABLE} ${CHANGE}`;
export const ALTER_DOWN = `ALTER TABLE ${TABLE} MODIFY c CHAR(120) NOT NULL DEFAULT ''`;
export const MIGRATION_CREATE = '0001_create_sbtest1';
export const MIGRATION_CHANGE = '0002_widen_sbtest1_c';

export function writeMigrations(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${MIGRATION_CREATE}.up.sql`), `${CREATE_TABLE};\n`);
  writeFileSync(join(dir, `${MIGRATION_CREATE}.down.sql`), `DROP TABLE ${TABLE};\n`);
  writeFileSync(join(dir, `${MIGRATION_CHANGE}.up.sql`), `${ALTER};\n`);
  writeFileSync(join(dir, `${MIGRATION_CHANGE}.down.sql`), `${ALTER_DOWN};\n`);
}

export interface BenchNode extends Target {
  name: string;
  datadir: string;
}

export interface BenchCluster {
  dir: string;
  state: SandboxState;
  configPath: string;
  nodes: BenchNode[];
  /** The application login through HAProxy. */
  app: Target & { database: string };
  haproxySocket: string;
}

export async function upCluster(dir: string, migrationsDir: string, topology: 'primary-replica' | 'single' = 'primary-replica'): Promise<BenchCluster> {
  const { state } = await sandboxUp(
    topology === 'single' ? { topology, proxy: false, dir, migrationsDir } : { topology, replicas: 2, proxy: true, dir, migrationsDir },
    { provider: 'local' },
  );
  const nodes = state.nodes.map((n) => ({
    name: n.name,
    host: n.host,
    port: n.port,
    user: n.user,
    password: readSecret(n.passwordFile),
    datadir: n.datadir ?? '',
  }));
  return {
    dir,
    state,
    configPath: state.configPath,
    nodes,
    app: { host: state.writer.host, port: state.writer.port, user: state.app.user, password: readSecret(state.app.passwordFile), database: state.app.database },
    haproxySocket: state.writer.type === 'haproxy' ? state.writer.socket : '',
  };
}

export async function downCluster(dir: string): Promise<void> {
  await sandboxDown(dir);
}

export async function admin(n: Target, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: n.host,
    port: n.port,
    user: n.user,
    password: n.password,
    ...(database ? { database } : {}),
    multipleStatements: false,
  });
}

export async function q<T = Record<string, unknown>>(c: mysql.Connection, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await c.query(sql, params);
  return rows as T[];
}

/** innodb_buffer_pool_size is dynamic: resize and wait until the server reports it done. */
export async function setBufferPool(n: Target, bytes: number): Promise<void> {
  const c = await admin(n);
  try {
    await c.query(`SET GLOBAL innodb_buffer_pool_size = ${Math.floor(bytes)}`);
    for (let i = 0; i < 200; i++) {
      const [st] = await q<{ Value: string }>(c, "SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'");
      const size = Number((await q<{ s: number }>(c, 'SELECT @@innodb_buffer_pool_size AS s'))[0]?.s);
      if (size >= bytes && !/resiz|withdraw|allocat/i.test(st?.Value ?? '')) return;
      if (size >= bytes && /complete/i.test(st?.Value ?? '')) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await c.end();
  }
}

/**
 * The redo log resized at runtime (MariaDB 10.9+). The sandbox starts with 8 MiB, which a 200k-row
 * COPY ALTER fills many times over: InnoDB then flushes pages synchronously to free log space, a
 * stall a production server (default 96 MiB) would not have.
 */
export async function setRedoLog(n: Target, bytes: number): Promise<void> {
  const c = await admin(n);
  try {
    await c.query(`SET GLOBAL innodb_log_file_size = ${Math.floor(bytes)}`);
  } finally {
    await c.end();
  }
}

export interface Seed {
  ibd: string;
  cfg: string;
  rows: number;
}

/**
 * Builds (once; cached by row count and table definition) the seed tablespace in a single-node
 * sandbox: sysbench-like rows (c: ten 11-digit groups joined by '-').
 */
export async function buildSeed(workDir: string, migrationsDir: string, rows: number, bufferPoolBytes: number, log: (m: string) => void): Promise<Seed> {
  const key = Buffer.from(`${rows}:${CREATE_TABLE}`).toString('base64url').slice(-24);
  const seedDir = join(workDir, `seed-${rows}-${key.replace(/[^A-Za-z0-9]/g, '')}`);
  const seed: Seed = { ibd: join(seedDir, `${TABLE}.ibd`), cfg: join(seedDir, `${TABLE}.cfg`), rows };
  if (existsSync(seed.ibd) && existsSync(seed.cfg) && existsSync(join(seedDir, 'done'))) {
    log(`seed tablespace: reusing ${seedDir}`);
    return seed;
  }
  rmSync(seedDir, { recursive: true, force: true });
  mkdirSync(seedDir, { recursive: true });
  const dir = join(workDir, 'sb-seed');
  const t = Date.now();
  const cl = await upCluster(dir, migrationsDir, 'single');
  try {
    const n = cl.nodes[0]!;
    if (bufferPoolBytes > 0) await setBufferPool(n, bufferPoolBytes);
    const c = await admin(n, 'app');
    try {
      await c.query('SET SESSION sql_log_bin = 0');
      await c.query(CREATE_TABLE);
      const group = (salt: number): string => `LPAD(CRC32(CONCAT(seq, '-', ${salt})) MOD 100000000000, 11, '0')`;
      const cExpr = `CONCAT_WS('-', ${Array.from({ length: 10 }, (_, i) => group(i)).join(', ')})`;
      const chunk = 250_000;
      for (let from = 1; from <= rows; from += chunk) {
        const to = Math.min(rows, from + chunk - 1);
        await c.query(`INSERT INTO ${TABLE} (id, k, c) SELECT seq, CRC32(seq) MOD ${rows}, ${cExpr} FROM seq_${from}_to_${to}`);
        log(`seed: ${to} rows`);
      }
      await c.query(`FLUSH TABLES ${TABLE} FOR EXPORT`);
      copyFileSync(join(n.datadir, 'app', `${TABLE}.ibd`), seed.ibd);
      copyFileSync(join(n.datadir, 'app', `${TABLE}.cfg`), seed.cfg);
      await c.query('UNLOCK TABLES');
    } finally {
      await c.end();
    }
  } finally {
    await downCluster(dir);
  }
  writeFileSync(join(seedDir, 'done'), new Date().toISOString());
  log(`seed tablespace built in ${((Date.now() - t) / 1000).toFixed(1)} s: ${seedDir}`);
  return seed;
}

/**
 * Replaces the (empty, replicated) table on one node with the seed's tablespace, with binary
 * logging off so nothing replicates, then reads it once so the change starts from a warm buffer pool.
 */
export async function importSeed(n: BenchNode, seed: Seed): Promise<void> {
  const c = await admin(n, 'app');
  try {
    await c.query('SET SESSION sql_log_bin = 0');
    await c.query(`ALTER TABLE ${TABLE} DISCARD TABLESPACE`);
    copyFileSync(seed.ibd, join(n.datadir, 'app', `${TABLE}.ibd`));
    copyFileSync(seed.cfg, join(n.datadir, 'app', `${TABLE}.cfg`));
    await c.query(`ALTER TABLE ${TABLE} IMPORT TABLESPACE`);
    rmSync(join(n.datadir, 'app', `${TABLE}.cfg`), { force: true });
    const [r] = await q<{ n: number }>(c, `SELECT COUNT(*) AS n, SUM(LENGTH(c)) AS l FROM ${TABLE} FORCE INDEX (PRIMARY)`);
    await q(c, `SELECT COUNT(*) FROM ${TABLE} FORCE INDEX (k_1)`);
    if (Number(r?.n) !== seed.rows) throw new Error(`${n.name}: ${TABLE} has ${r?.n} rows after the import, expected ${seed.rows}`);
  } finally {
    await c.end();
  }
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
