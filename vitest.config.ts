import type { Plugin } from 'vitest/config';
import { defineConfig } from 'vitest/config';
import { injectRecorder, isErrorsModule } from './test/setup/record-errors.mjs';

/**
 * Records every MigrateError the vitest workers create (test/setup/record-errors.mjs): one call
 * injected at the end of its constructor, so src/ has no test-only branch.
 */
const recordErrors: Plugin = {
  name: 'record-migrate-errors',
  enforce: 'pre',
  transform: (code, id) => (isErrorsModule(id) ? { code: injectRecorder(code, id), map: null } : undefined),
};

export default defineConfig({
  plugins: [recordErrors],
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway shadow server per dialect for the run (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Every test asserts something (no silent early return passes); the workers record typed errors.
    setupFiles: ['test/setup/has-assertions.ts', 'test/setup/record-errors-worker.ts'],
    // Generous: CLI-driven suites spawn many processes, and two suites share two cores.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Integration suites start their own servers; two cores cannot run many at once.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
