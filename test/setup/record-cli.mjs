// Preloaded into every Node process of a test run (NODE_OPTIONS, set by test/global-setup.ts):
// records the arguments of each `bin/migrate` process, so the run can tell which commands and
// flags the tests ran through the CLI (test/cli-coverage.ts). Other processes record nothing.
// URL passwords are masked: the file is a build artifact, and secrets stay out of every output.
// It also installs the recorder of typed errors (record-errors.mjs) in every such process.
import { appendFileSync } from 'node:fs';
import { installErrorRecorder, maskSecrets } from './record-errors.mjs';

installErrorRecorder();

const log = process.env.TEST_CLI_RUNS_LOG;
if (log && /bin[\\/]migrate$/.test(process.argv[1] ?? '')) {
  const args = process.argv.slice(2).map(maskSecrets);
  // Never in the way of the command under test (one suite runs it as another user).
  try {
    appendFileSync(log, `${JSON.stringify(args)}\n`);
  } catch {}
}
