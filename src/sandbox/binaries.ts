import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Where the installed server programs are. Distribution packages put them outside PATH
 * (/usr/sbin, /usr/lib/postgresql/<v>/bin), so known places are searched as well as PATH.
 */
export interface MariaDbBinaries {
  server: string;
  installDb: string;
}

export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
  basebackup: string;
  version: number;
}

/**
 * Directories that hold the server programs to use, instead of the search below: a MariaDB or
 * PostgreSQL build in /opt, or one major version of several installed side by side. Every program
 * (mariadbd, mariadb-install-db, initdb, pg_ctl, pg_basebackup, haproxy) is looked up there only.
 */
export const BIN_DIR_ENV = 'MIGRATE_SANDBOX_BIN_DIR';

function chosenDirs(): string[] | undefined {
  const v = process.env[BIN_DIR_ENV];
  return v?.trim() ? v.split(delimiter).filter(Boolean) : undefined;
}

function pathDirs(): string[] {
  return (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
}

function findProgram(names: string[], extraDirs: string[]): string | undefined {
  for (const dir of chosenDirs() ?? [...extraDirs, ...pathDirs()]) {
    for (const n of names) {
      const p = join(dir, n);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/mysql/bin', '/opt/homebrew/bin'];

export function findMariaDb(): MariaDbBinaries | undefined {
  const server = findProgram(['mariadbd', 'mysqld'], SBIN);
  const installDb = findProgram(['mariadb-install-db', 'mysql_install_db'], SBIN);
  // MySQL's mysqld has no mysql_install_db (it uses --initialize): only MariaDB is supported locally.
  if (!server || !installDb) return undefined;
  return { server, installDb };
}

export function findPostgres(): PostgresBinaries | undefined {
  const candidates: { dir: string; version: number }[] = [];
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    for (const v of readdirSync(debianRoot)) {
      const dir = join(debianRoot, v, 'bin');
      if (/^\d+$/.test(v) && existsSync(join(dir, 'initdb'))) candidates.push({ dir, version: Number(v) });
    }
  }
  candidates.sort((a, b) => b.version - a.version);
  const dirs = chosenDirs() ?? [...candidates.map((c) => c.dir), ...pathDirs(), '/usr/local/pgsql/bin'];
  for (const dir of dirs) {
    const initdb = join(dir, 'initdb');
    const pgCtl = join(dir, 'pg_ctl');
    if (existsSync(initdb) && existsSync(pgCtl)) {
      return { initdb, pgCtl, basebackup: join(dir, 'pg_basebackup'), version: candidates.find((c) => c.dir === dir)?.version ?? 0 };
    }
  }
  return undefined;
}

export function findHaproxy(): string | undefined {
  return findProgram(['haproxy'], SBIN);
}

export const INSTALL_HINT = `Install the server binaries (Debian/Ubuntu: \`apt-get install mariadb-server postgresql haproxy\`; the sandbox never uses the servers these packages start), or point ${BIN_DIR_ENV} at the directories that hold them, or start a Docker engine so the sandbox can use containers.`;
