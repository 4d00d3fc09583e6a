/**
 * Every test must assert something: a test whose assertions were all skipped by a branch (an early
 * return, an empty loop) fails instead of passing silently. A test that cannot run here says so with
 * `ctx.skip(reason)` or `it.skipIf`.
 */
import { beforeEach, expect } from 'vitest';

beforeEach(() => {
  expect.hasAssertions();
});
