/** The config's "handoff" key (docs/handoff.md): resolved with its defaults, and every mistake named with its fix. */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.ts';
import { MigrateError } from '../../src/errors.ts';
import { redact } from '../../src/log/redact.ts';

const base = { dialect: 'mysql', connection: { host: 'h', port: 3306, user: 'u', database: 'd' } };

function configError(handoff: unknown): MigrateError {
  try {
    validateConfig({ ...base, handoff }, 'cfg.json', '/p');
  } catch (e) {
    expect(e).toBeInstanceOf(MigrateError);
    expect((e as MigrateError).exitCode).toBe(2);
    return e as MigrateError;
  }
  throw new Error('expected a config error');
}

describe('config "handoff"', () => {
  it('commands as given; an HTTP verify with its durations in ms and the defaults filled in', () => {
    const c = validateConfig(
      {
        ...base,
        handoff: { deploy: './deploy.sh green', verify: { url: 'http://127.0.0.1:8080/health', window: '2s', retries: 3 }, rollback: './deploy.sh blue' },
      },
      'cfg.json',
      '/p',
    );
    expect(c.handoff).toEqual({
      deploy: './deploy.sh green',
      verify: { kind: 'http', url: 'http://127.0.0.1:8080/health', status: 200, retries: 3, intervalMs: 500, windowMs: 2000, timeoutMs: 2000 },
      rollback: './deploy.sh blue',
    });
    expect(validateConfig({ ...base, handoff: { verify: { command: 'curl -fsS localhost/health' } } }, 'c', '/p').handoff).toEqual({
      verify: { kind: 'command', command: 'curl -fsS localhost/health' },
    });
  });

  it('a password in the verify URL becomes a secret: never printed', () => {
    validateConfig({ ...base, handoff: { verify: { url: 'http://ops:verify-pw-9@127.0.0.1/health' } } }, 'c', '/p');
    expect(redact('checking http://127.0.0.1/health?token=verify-pw-9')).not.toContain('verify-pw-9');
  });

  it('refuses a misspelt key, both command and url, a non-http URL and a bad duration, each with its fix', () => {
    const unknown = configError({ deploy: 'x', verfy: { command: 'y' } });
    expect(unknown.problem).toMatch(/Unknown key "handoff\.verfy"/);
    expect(unknown.fix).toMatch(/valid keys of handoff are: deploy, verify, rollback/);
    const both = configError({ verify: { command: 'x', url: 'http://a' } });
    expect(both.problem).toMatch(/"handoff\.verify" in cfg\.json is an object, which is not a verify step/);
    expect(both.fix).toMatch(/one of command or url/);
    const ftp = configError({ verify: { url: 'ftp://user:pw-123@host/x' } });
    expect(ftp.problem).toBe('"handoff.verify.url" in cfg.json is not an http:// or https:// URL.');
    expect(ftp.problem + ftp.fix).not.toContain('pw-123');
    const window = configError({ verify: { url: 'http://a/health', window: 'soon' } });
    expect(window.problem).toMatch(/"handoff\.verify\.window" in cfg\.json is "soon", which is not a duration/);
    expect(window.fix).toMatch(/"window": "500ms"/);
  });
});
