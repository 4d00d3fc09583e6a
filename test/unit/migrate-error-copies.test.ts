import { describe, expect, it } from 'vitest';
import { isMigrateError, MigrateError } from '../../src/errors.ts';

/** What a second copy of src/errors.ts (a migration loaded in its own tsx namespace) constructs. */
class CopiedMigrateError extends Error {
  readonly kind = 'usage';
  readonly problem = 'bf: batchSize must be a whole number of at least 1 (got 0).';
  readonly fix = 'Pass e.g. batchSize: 1000.';
  readonly exitCode = 2;
  constructor() {
    super('bf: batchSize must be a whole number of at least 1 (got 0). Fix: Pass e.g. batchSize: 1000.');
    this.name = 'MigrateError';
  }
}

describe('isMigrateError', () => {
  it('knows a MigrateError of this module and one of a copy of it', () => {
    expect(isMigrateError(new MigrateError('work', 'p', 'f'))).toBe(true);
    expect(isMigrateError(new CopiedMigrateError())).toBe(true);
  });
  it('does not take an error that only borrows the name, or a plain object, for one', () => {
    const named = new Error('x');
    named.name = 'MigrateError';
    expect(isMigrateError(named)).toBe(false);
    expect(isMigrateError(Object.assign(new Error('x'), { name: 'MigrateError', kind: 'nonsense', problem: 'p', fix: 'f', exitCode: 1 }))).toBe(false);
    expect(isMigrateError({ name: 'MigrateError', kind: 'work', problem: 'p', fix: 'f', exitCode: 1 })).toBe(false);
  });
});
