/**
 * One throwaway shadow server per dialect for the whole test run, in a temporary base directory
 * (MIGRATE_SHADOW_DIR, inherited by every worker and CLI child process): `check`, `plan` and
 * `apply`'s gate use it by themselves, and test/helpers/shadow.ts hands it to in-process analyses.
 * Stopped and removed at the end, so a run leaves no server behind. Starting one needs the
 * MariaDB / PostgreSQL server binaries; without them the analysis tests fall back to the
 * machine's servers (MIGRATE_TEST_*_URL), where the analysis works through a restricted account.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dialect } from '../src/config/types.ts';
import { defaultShadowBase, shadowDirName } from '../src/sandbox/shadow-dir.ts';
import { shadowDown, shadowUp } from '../src/sandbox/shadow-server.ts';

const DIALECTS: Dialect[] = ['mysql', 'postgres'];

/** Where every `bin/migrate` child process of the run records its arguments (test/cli-coverage.ts reads it). */
export const CLI_RUNS_LOG = join(dirname(fileURLToPath(import.meta.url)), '..', '.ci-out', 'cli-runs.jsonl');
/** Where every process of the run records each MigrateError it creates (test/setup/record-errors.mjs; test/error-sites-check.ts reads it). */
export const ERRORS_LOG = join(dirname(CLI_RUNS_LOG), 'errors-raised.jsonl');

export default async function setup(): Promise<() => Promise<void>> {
  mkdirSync(dirname(CLI_RUNS_LOG), { recursive: true });
  for (const log of [CLI_RUNS_LOG, ERRORS_LOG]) {
    // Writable for every user: one suite runs the CLI as `nobody`.
    writeFileSync(log, '', { mode: 0o666 });
    chmodSync(log, 0o666);
  }
  // Not MIGRATE_*: the bad-input harnesses strip those from their children's environment.
  process.env['TEST_CLI_RUNS_LOG'] = CLI_RUNS_LOG;
  process.env['TEST_ERRORS_LOG'] = ERRORS_LOG;
  const preload = join(dirname(fileURLToPath(import.meta.url)), 'setup', 'record-cli.mjs');
  process.env['NODE_OPTIONS'] = `${process.env['NODE_OPTIONS'] ?? ''} --import "${preload}"`.trim();
  const base = mkdtempSync(join(defaultShadowBase(), 'migrate-test-shadow-'));
  // PostgreSQL runs as its own account when the tests run as root: it must traverse the base.
  chmodSync(base, 0o755);
  process.env['MIGRATE_SHADOW_DIR'] = base;
  const t0 = performance.now();
  const started = await Promise.allSettled(DIALECTS.map((d) => shadowUp(d, join(base, shadowDirName(d)))));
  started.forEach((r, i) => {
    if (r.status === 'rejected')
      console.warn(`test shadow server (${DIALECTS[i]}) could not start: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
  });
  console.info(`test shadow servers in ${base} (${Math.round(performance.now() - t0)} ms)`);
  return async () => {
    await Promise.allSettled(DIALECTS.map((d) => shadowDown(d, join(base, shadowDirName(d)))));
    rmSync(base, { recursive: true, force: true });
  };
}
