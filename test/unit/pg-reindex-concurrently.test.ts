import { beforeAll, describe, expect, test } from 'vitest';
import { concurrentTarget } from '../../src/engines/postgres/lock-safe/invalid-index.ts';
import { loadPgParser, parsePg } from '../../src/engines/postgres/parser.ts';

beforeAll(() => loadPgParser());

const reindex = (option: string): ReturnType<typeof concurrentTarget> => concurrentTarget(`REINDEX (${option}) INDEX x`);

describe('REINDEX (CONCURRENTLY value): read as the server reads a boolean option', () => {
  test('the parse tree leaves 0 out (what the fix is about)', () => {
    const params = (parsePg('REINDEX (CONCURRENTLY 0) INDEX x')[0]?.stmt['ReindexStmt'] as { params: unknown[] }).params;
    expect(params[0]).toMatchObject({ DefElem: { defname: 'concurrently', arg: { Integer: {} } } });
  });

  test.each(['CONCURRENTLY', 'CONCURRENTLY true', 'CONCURRENTLY TRUE', 'CONCURRENTLY on', "CONCURRENTLY 'on'", 'CONCURRENTLY 1', 'VERBOSE, CONCURRENTLY'])(
    '%s builds concurrently',
    (option) => {
      expect(reindex(option)).toEqual({ kind: 'reindex-index', index: { name: 'x' } });
    },
  );

  test.each([
    'CONCURRENTLY false',
    'CONCURRENTLY FALSE',
    'CONCURRENTLY 0',
    'CONCURRENTLY off',
    "CONCURRENTLY 'off'",
    'VERBOSE',
    'CONCURRENTLY 2',
    'CONCURRENTLY 1.0',
    "CONCURRENTLY 'yes'",
  ])('%s does not (false, or refused by the server)', (option) => {
    expect(reindex(option)).toBeUndefined();
  });
});
