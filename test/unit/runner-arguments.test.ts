/**
 * The Runner's own checks of its arguments, for callers of the API (the CLI checks the same
 * flags before it builds a Runner, so only a program calling the Runner meets these): refused
 * before any query, so a Runner whose knex points at no server shows that nothing was sent.
 */
import knex from 'knex';
import { afterAll, describe, expect, test } from 'vitest';
import type { ProjectConfig } from '../../src/config/types.ts';
import { MigrateError } from '../../src/errors.ts';
import { Runner } from '../../src/migrations/runner.ts';

// Port 1 has no server: any query would fail with ECONNREFUSED, not with the typed error.
const connection = { host: '127.0.0.1', port: 1, user: 'nobody', database: 'nowhere' };
const db = knex({ client: 'mysql2', connection, pool: { min: 0, max: 1 } });
afterAll(() => db.destroy());
const config: ProjectConfig = { dialect: 'mysql', connection, migrationsDir: '/nonexistent', ledgerTable: 'migrate_ledger', clusters: [], source: 'test' };
const runner = new Runner({ config, db, logger: { info: () => undefined, warn: () => undefined, error: () => undefined, out: () => undefined } });

async function refusal(p: Promise<unknown>): Promise<MigrateError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(MigrateError);
  return e as MigrateError;
}

describe('Runner API: arguments refused before any query', () => {
  test('down with both --to and --step', async () => {
    const e = await refusal(runner.down({ to: '0001_a', step: 1 }));
    expect([e.kind, e.problem, e.fix]).toEqual([
      'usage',
      '--to and --step cannot be used together.',
      'Give either --to ID (revert down to and including ID) or --step N (revert the last N).',
    ]);
  });

  test.each([0, -1, 1.5])('down with step %s', async (step) => {
    const e = await refusal(runner.down({ step }));
    expect([e.kind, e.problem, e.fix]).toEqual([
      'usage',
      `--step must be a whole number of at least 1 (got ${step}).`,
      'Write e.g. --step 2 to revert the last two migrations.',
    ]);
  });

  test('ackDrift with no id', async () => {
    const e = await refusal(runner.ackDrift([]));
    expect([e.kind, e.problem]).toEqual(['usage', 'ack-drift needs at least one migration id.']);
    expect(e.fix).toContain('"migrate ack-drift <id>"');
  });
});
