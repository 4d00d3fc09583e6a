/**
 * lockSafetyFromConfig is exported from src/config for configs built in code, where no schema ran
 * before it: a "lockSafety" that is not an object is refused with the key named and its shape.
 * (Through a config file the schema refuses it first: test/unit/config.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { lockSafetyFromConfig } from '../../src/config/index.ts';
import { MigrateError } from '../../src/errors.ts';

describe('lockSafetyFromConfig on a value that is not an object', () => {
  for (const v of [5, '2s', null, ['2s']]) {
    it(JSON.stringify(v), () => {
      let err: unknown;
      try {
        lockSafetyFromConfig(v, 'app.config.ts');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MigrateError);
      const m = err as MigrateError;
      expect(m.kind).toBe('config');
      expect(m.problem).toBe('"lockSafety" in app.config.ts must be an object.');
      expect(m.fix).toMatch(/^Write it as "lockSafety": \{"lockTimeout": "2s"/);
    });
  }

  it('an object is read ("retries" is the number of attempts)', () => {
    expect(lockSafetyFromConfig({ retries: 3 }, 'app.config.ts')).toMatchObject({ attempts: 3 });
  });
});
