/**
 * After a full test run (`npm test`): every command and flag of `migrate --help` must have been run
 * through the CLI by some test, or be listed in test/cli-not-yet-run.txt, the debt issue 18 names.
 * The list may only shrink: a listed entry that the run did execute fails the check too, so the
 * list stays exact. Exit 1 with both differences named.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../src/cli/main.ts';
import { notRunThroughCli } from './cli-coverage.ts';

const here = dirname(fileURLToPath(import.meta.url));
const log = join(here, '..', '.ci-out', 'cli-runs.jsonl');
const debtFile = join(here, 'cli-not-yet-run.txt');
if (!existsSync(log)) {
  console.error(`cli coverage: ${log} is missing: run the whole suite first (npm test).`);
  process.exit(1);
}
const runs = readFileSync(log, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as string[]);
const notRun = notRunThroughCli(await buildProgram(), runs);
const debt = readFileSync(debtFile, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .sort();
const unlisted = notRun.filter((x) => !debt.includes(x));
const nowRun = debt.filter((x) => !notRun.includes(x));
console.log(
  `cli coverage: ${runs.length} CLI processes ran; ${notRun.length} commands/flags never run through the CLI, all listed in test/cli-not-yet-run.txt`,
);
if (unlisted.length || nowRun.length) {
  if (unlisted.length)
    console.error(`cli coverage: no test runs these through the CLI (add a test, or list them in test/cli-not-yet-run.txt):\n  ${unlisted.join('\n  ')}`);
  if (nowRun.length) console.error(`cli coverage: these are run now; remove them from test/cli-not-yet-run.txt:\n  ${nowRun.join('\n  ')}`);
  process.exit(1);
}
