// Preloaded into every Node process of a test run (NODE_OPTIONS, set by test/global-setup.ts):
// records the arguments of each `bin/migrate` process, so the run can tell which commands and
// flags the tests ran through the CLI (test/cli-coverage.ts). Other processes record nothing.
// URL passwords are masked: the file is a build artifact, and secrets stay out of every output.
import { appendFileSync } from 'node:fs';

const log = process.env.TEST_CLI_RUNS_LOG;
if (log && /bin[\\/]migrate$/.test(process.argv[1] ?? '')) {
  const args = process.argv.slice(2).map((a) => a.replace(/(\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@'));
  // Never in the way of the command under test (one suite runs it as another user).
  try {
    appendFileSync(log, `${JSON.stringify(args)}\n`);
  } catch {}
}
