// Preloaded into every Node process of a test run (NODE_OPTIONS, set by test/global-setup.ts):
// records the arguments of each `bin/migrate` process, so the run can tell which commands and
// flags the tests ran through the CLI (test/cli-coverage.ts). Other processes record nothing.
import { appendFileSync } from 'node:fs';

const log = process.env.MIGRATE_TEST_CLI_LOG;
if (log && /bin[\\/]migrate$/.test(process.argv[1] ?? '')) appendFileSync(log, JSON.stringify(process.argv.slice(2)) + '\n');
