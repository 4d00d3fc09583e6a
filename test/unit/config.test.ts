import { mkdtempSync, writeFileSync } from 'node:fs';
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
    expectConfigError(() => validateConfig({ ...base, connection: { ...base.connection, port: '3306' } }, 'cfg.json', '/p'), /connection\.port/, /whole number/);
  });

  it('rejects an unsupported dialect', () => {
    expectConfigError(() => validateConfig({ ...base, dialect: 'oracle' }, 'cfg.json', '/p'), /"dialect"/, /"mysql".*"postgres"/);
  });

  it('rejects a ledger table name that is not a plain identifier (no injection through config)', () => {
    expectConfigError(() => validateConfig({ ...base, migrations: { table: 'x; drop table users' } }, 'cfg.json', '/p'), /not a plain table name/, /letters, digits/);
  });

  it('reads the password from the named env var and registers it as a secret', () => {
    const c = validateConfig({ ...base, connection: { ...base.connection, passwordEnv: 'T_PW' } }, 'cfg', '/p', { T_PW: 'S3cret-from-env' });
    expect(c.connection.password).toBe('S3cret-from-env');
    expect(redact('login failed for S3cret-from-env')).toBe('login failed for ***');
  });

  it('says which env var is missing', () => {
    expectConfigError(() => validateConfig({ ...base, connection: { ...base.connection, passwordEnv: 'NOPE_PW' } }, 'cfg', '/p', {}), /NOPE_PW/, /Export NOPE_PW/);
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
});
