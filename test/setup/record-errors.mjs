// Records every MigrateError a test run creates (test/error-sites-check.ts compares them with the
// places src/ creates one). src/ knows nothing of it: the constructor of MigrateError gets one
// injected call, by the Vite plugin in vitest.config.ts for the vitest workers and by the module
// hook (errors-hook.mjs) for the bin/migrate child processes (dist/ or tsx alike); other Node
// processes a test starts record nothing.
// URL passwords are masked as in record-cli.mjs: the file is a build artifact, secrets stay out.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';

const RECORDER = Symbol.for('migrate-test.recordError');
/** Where the injected call ends: after the constructor's last assignment. */
const ANCHOR = /(this\.exitCode = options\?\.exitCode \?\? exitCodeByKind\[kind\];)/;

/** The source of src/errors.ts or dist/errors.js with the recorder call injected; throws when the anchor moved, so a silent miss cannot pass for "nothing raised". */
export function injectRecorder(source, where) {
  if (!ANCHOR.test(source)) throw new Error(`test/setup/record-errors.mjs: the MigrateError constructor in ${where} no longer ends as expected; update ANCHOR`);
  return source.replace(ANCHOR, `$1 globalThis[Symbol.for('migrate-test.recordError')]?.(this);`);
}

/** True for the module that defines MigrateError, in the sources or the build. */
export const isErrorsModule = (url) => /[\\/](src[\\/]errors\.ts|dist[\\/]errors\.js)(\?.*)?$/.test(url);

export const maskSecrets = (s) => String(s).replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@');

/** Installs the recorder in this process, and the module hook in a bin/migrate one; a no-op outside a test run (no TEST_ERRORS_LOG). */
export function installErrorRecorder() {
  const log = process.env.TEST_ERRORS_LOG;
  if (!log || globalThis[RECORDER]) return;
  globalThis[RECORDER] = (e) => {
    const line = { kind: e.kind, problem: maskSecrets(e.problem), fix: maskSecrets(e.fix) };
    // Never in the way of the code under test (one suite runs the CLI as another user).
    try {
      appendFileSync(log, `${JSON.stringify(line)}\n`);
    } catch {}
  };
  // A module hook sends every import of the process through a hooks thread: in a loaded run it
  // doubled a `bin/migrate --help` (4 s to 8-11 s). So only the processes whose errors the vitest
  // plugin cannot see pay for it: the CLI, and the vitest workers, where code the tests load natively
  // (a TypeScript migration importing the built package, dist/errors.js) bypasses the plugin.
  if (/(bin[\\/]migrate|vitest[\\/]dist[\\/]workers[\\/]forks\.js)$/.test(process.argv[1] ?? '')) register('./errors-hook.mjs', import.meta.url);
}
