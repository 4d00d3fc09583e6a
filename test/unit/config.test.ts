import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../src/config/load.ts';
import { MigrateError } from '../../src/errors.ts';
import { redact, redactValue } from '../../src/log/redact.ts';

function expectConfigError(fn: () => unknown, problem: RegExp, fix: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MigrateError);
    const err = e as MigrateError;
    expect(err.exitCode).toBe(2);
    expect(err.problem).toMatch(problem);
    expect(err.fix).toMatch(fix);
    return;
  }
  throw new Error('expected a config error');
}

describe('config validation', () => {
  const base = { dialect: 'mysql', connection: { host: 'h', port: 3306, user: 'u', database: 'd' } };

  it('accepts a minimal config and resolves defaults', () => {
    const c = validateConfig(base, 'test', '/proj');
    expect(c.dialect).toBe('mysql');
    expect(c.migrationsDir).toBe('/proj/migrations');
    expect(c.ledgerTable).toBe('migrate_ledger');
    expect(c.clusters).toEqual([]);
  });

  it('names an unknown top-level key and lists the valid ones', () => {
    expectConfigError(() => validateConfig({ ...base, migratons: {} }, 'cfg.json', '/p'), /Unknown key "migratons"/, /valid keys are/);
  });

  it('refuses a literal password and says where to put it', () => {
    expectConfigError(
      () => validateConfig({ ...base, connection: { ...base.connection, password: 'hunter22' } }, 'cfg.json', '/p'),
      /connection\.password is set/,
      /passwordEnv|passwordFile/,
    );
  });

  it('names a port that is not a number', () => {
    expectConfigError(
      () => validateConfig({ ...base, connection: { ...base.connection, port: '3306' } }, 'cfg.json', '/p'),
      /connection\.port/,
      /whole number/,
    );
  });

  it('rejects an unsupported dialect', () => {
    expectConfigError(() => validateConfig({ ...base, dialect: 'oracle' }, 'cfg.json', '/p'), /"dialect"/, /"mysql".*"postgres"/);
  });

  it('rejects a ledger table name that is not a plain identifier (no injection through config)', () => {
    expectConfigError(
      () => validateConfig({ ...base, migrations: { table: 'x; drop table users' } }, 'cfg.json', '/p'),
      /not a plain table name/,
      /letters, digits/,
    );
  });

  it('reads the password from the named env var and registers it as a secret', () => {
    const c = validateConfig({ ...base, connection: { ...base.connection, passwordEnv: 'T_PW' } }, 'cfg', '/p', { T_PW: 'S3cret-from-env' });
    expect(c.connection.password).toBe('S3cret-from-env');
    expect(redact('login failed for S3cret-from-env')).toBe('login failed for ***');
  });

  it('says which env var is missing', () => {
    expectConfigError(
      () => validateConfig({ ...base, connection: { ...base.connection, passwordEnv: 'NOPE_PW' } }, 'cfg', '/p', {}),
      /NOPE_PW/,
      /Export NOPE_PW/,
    );
  });

  it('parses DATABASE_URL, defaults the port, and redacts the password', () => {
    const c = validateConfig({ url: 'postgres://app:pw%40xyz@db.local/app' }, 'DATABASE_URL', '/p');
    expect(c.dialect).toBe('postgres');
    expect(c.connection).toMatchObject({ host: 'db.local', port: 5432, user: 'app', database: 'app', password: 'pw@xyz' });
    expect(redact('postgres://app:pw%40xyz@db.local/app')).not.toContain('pw');
    expect(JSON.stringify(redactValue(c))).not.toContain('pw@xyz');
  });

  it('loads migrate.config.json from the working directory, and reports malformed JSON with the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'migrate.config.json'), '{ "dialect": "mysql", ');
    await expect(loadConfig({ cwd: dir, env: {} })).rejects.toMatchObject({ kind: 'config', problem: expect.stringMatching(/not valid JSON/) });
    writeFileSync(join(dir, 'migrate.config.json'), JSON.stringify({ ...base, migrations: { directory: 'db/migrations' } }));
    const c = await loadConfig({ cwd: dir, env: {} });
    expect(c.migrationsDir).toBe(join(dir, 'db/migrations'));
  });

  it('explains what to do when there is no configuration at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    await expect(loadConfig({ cwd: dir, env: {} })).rejects.toMatchObject({ kind: 'config', fix: expect.stringMatching(/DATABASE_URL/) });
  });

  describe('the schema refuses unknown keys at every depth and names their path', () => {
    const cluster = (extra: Record<string, unknown> = {}, node: Record<string, unknown> = {}, writer?: Record<string, unknown>): Record<string, unknown> => ({
      ...base,
      clusters: [
        {
          name: 'main',
          flavor: 'mariadb',
          topology: 'primary-replica',
          nodes: [{ name: 'db1', role: 'primary', host: 'h', port: 3306, user: 'u', ...node }],
          ...(writer ? { writer } : {}),
          ...extra,
        },
      ],
    });
    it('a cluster, a node and the writer', () => {
      expectConfigError(
        () => validateConfig(cluster({ flavour: 'mariadb' }), 'c.json', '/p'),
        /Unknown key "clusters\[0\]\.flavour" in c\.json/,
        /valid keys of clusters\[0\] are: .*flavor/,
      );
      expectConfigError(
        () => validateConfig(cluster({}, { pasword_file: 'x' }), 'c.json', '/p'),
        /Unknown key "clusters\[0\]\.nodes\[0\]\.pasword_file"/,
        /passwordFile/,
      );
      expectConfigError(
        () => validateConfig(cluster({}, {}, { type: 'haproxy', sokcet: '/x' }), 'c.json', '/p'),
        /Unknown key "clusters\[0\]\.writer\.sokcet"/,
        /socket/,
      );
      expectConfigError(
        () => validateConfig({ ...base, connection: { ...base.connection, hots: 'x' } }, 'c.json', '/p'),
        /Unknown key "connection\.hots"/,
        /host/,
      );
      expectConfigError(
        () => validateConfig({ ...base, lockSafety: { lockTimout: '2s' } }, 'c.json', '/p'),
        /Unknown key "lockSafety\.lockTimout"/,
        /lockTimeout/,
      );
    });
    it('a wrong value names its path and never echoes a password', () => {
      expectConfigError(
        () => validateConfig(cluster({}, { role: 'leader' }), 'c.json', '/p'),
        /"clusters\[0\]\.nodes\[0\]\.role" in c\.json is "leader", which is not a role/,
        /"primary" or "replica"/,
      );
      expectConfigError(
        () => validateConfig(cluster({}, { port: 0 }), 'c.json', '/p'),
        /"clusters\[0\]\.nodes\[0\]\.port" .* is 0, which is not a port number/,
        /whole number/,
      );
      expectConfigError(
        () => validateConfig({ ...base, clusters: [{ name: 'main', flavor: 'mariadb', topology: 'single', nodes: [] }] }, 'c.json', '/p'),
        /clusters\[0\]\.nodes/,
        /List the nodes/,
      );
      expectConfigError(
        () => validateConfig({ dialect: 'mysql', connection: { host: 'h', database: 'd' } }, 'c.json', '/p'),
        /"connection\.user" is missing in c\.json/,
        /Add "user"/,
      );
      expectConfigError(
        () => validateConfig({ url: { password: 'Sekr1t-xyz' } }, 'c.json', '/p'),
        /^"url" in c\.json is not usable, which is not a database URL\.$/,
        /mysql:\/\//,
      );
    });
  });

  describe('passwordFile', () => {
    it('naming a directory is refused with the fix', () => {
      const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
      mkdirSync(join(dir, 'secrets'));
      expectConfigError(
        () => validateConfig({ ...base, connection: { ...base.connection, passwordFile: 'secrets' } }, 'c.json', dir),
        /connection\.passwordFile secrets is a directory, not a file/,
        /file holding only the password/,
      );
    });
  });

  describe('database URLs', () => {
    it('a bracketed IPv6 host is the bare address', () => {
      const c = validateConfig({ url: 'mysql://u:p%2Fq@[::1]:3307/app' }, 'DATABASE_URL', '/p');
      expect(c.connection).toMatchObject({ host: '::1', port: 3307, user: 'u', password: 'p/q', database: 'app' });
    });
    it('an unencoded "/" or "#" in the password and a malformed % escape are refused without quoting any part', () => {
      for (const [url, problem] of [
        ['mysql://app:123/Tail-Secret@db.local/app', /has an "@" after its host part/],
        ['mysql://app:12#Tail-Secret@db.local/app', /has an "@" after its host part/],
        ['mysql://app:Tail%zzSecret@db.local/app', /The password in DATABASE_URL holds a malformed percent-escape/],
        ['postgres://app:x@db.local/app%zz', /The database name in DATABASE_URL holds a malformed percent-escape/],
      ] as const) {
        try {
          validateConfig({ url }, 'DATABASE_URL', '/p');
          throw new Error(`accepted ${url}`);
        } catch (e) {
          const err = e as MigrateError;
          expect(err.kind).toBe('config');
          expect(err.problem).toMatch(problem);
          expect(err.fix).toContain('%2F');
          expect(`${err.problem} ${err.fix}`).not.toMatch(/Tail|Secret|123|db\.local/);
        }
      }
    });
  });
});
