import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One throwaway shadow server per dialect for the run (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
    // Every test asserts something (no silent early return passes).
    setupFiles: ['test/setup/has-assertions.ts'],
    // Generous: CLI-driven suites spawn many processes, and two suites share two cores.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Integration suites start their own servers; two cores cannot run many at once.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
