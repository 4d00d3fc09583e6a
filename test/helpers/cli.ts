import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'migrate');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the child process, ms. */
  ms: number;
}

/**
 * `node bin/migrate ARGS` as a child process. `env` is the whole environment (callers decide what
 * to inherit); a child killed by its timeout or a signal reports code 99. `onPid` gets the
 * child's pid, for tests that check the shadows a process left behind.
 */
export function runCli(args: readonly string[], o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; onPid?: (pid: number) => void }): Promise<CliRun> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: o.cwd, env: o.env, timeout: o.timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr, ms: performance.now() - t0 });
      },
    );
    if (child.pid) o.onPid?.(child.pid);
  });
}
