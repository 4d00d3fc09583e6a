/**
 * After a full test run (`npm test`): every place src/ creates a typed error with a fix must have
 * been reached by some test (an error the run recorded, .ci-out/errors-raised.jsonl, matches its
 * problem and fix), or be listed in test/errors-not-yet-raised.txt with why, the debt issue 18
 * names. A site neither reached nor listed fails the check (a new error without a test, or a test
 * gone). A listed site that the run reached is named, to be removed, but does not fail it: whether
 * a run reaches some errors depends on which processes the recorder hooks and on timing, and a
 * stale line only hides a site that has a test. Pass-through sites (problem and fix both dynamic) are counted apart. Exit 1
 * with both differences named. `--write <why>` rewrites the list from this run (keeping the reasons
 * already given), for the first list or after removing sites from src/; `--records FILE` reads
 * another record file.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractSites, isPassThrough, matchErrors, type RaisedError } from './error-sites.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (flag: string): string | undefined => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
/** `--records FILE`: another record file than this checkout's last run (e.g. several runs' records joined). */
const log = arg('--records') ?? join(root, '.ci-out', 'errors-raised.jsonl');
const debtFile = join(root, 'test', 'errors-not-yet-raised.txt');
const SEP = ' | ';

function sourcesUnder(dir: string): { file: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourcesUnder(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [{ file: relative(root, p), text: readFileSync(p, 'utf8') }] : [];
  });
}

/** Site id -> why, from test/errors-not-yet-raised.txt (`<site id> | <why>`, # comments). */
function readDebt(): Map<string, string> {
  const lines = existsSync(debtFile) ? readFileSync(debtFile, 'utf8').split('\n') : [];
  const entries = lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  return new Map(entries.map((l) => (l.lastIndexOf(SEP) < 0 ? [l, ''] : [l.slice(0, l.lastIndexOf(SEP)), l.slice(l.lastIndexOf(SEP) + SEP.length)])));
}

function writeDebt(ids: string[], debt: Map<string, string>, why: string): void {
  const header = [
    '# Places in src/ that create a typed error with a fix and that no test reaches yet (issue 18, point 5).',
    '# Checked after a full run by test/error-sites-check.ts: a site neither reached nor listed fails it; a listed',
    '# site that a run reaches is named by the check, to be removed (it does not fail it). One site per line: <site id> | <why>.',
  ];
  writeFileSync(debtFile, `${[...header, ...ids.map((id) => `${id}${SEP}${debt.get(id) || why}`)].join('\n')}\n`);
}

if (!existsSync(log)) {
  console.error(`error sites: ${log} is missing: run the whole suite first (npm test).`);
  process.exit(1);
}
const errors = readFileSync(log, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as RaisedError);
const all = extractSites(sourcesUnder(join(root, 'src')));
const sites = all.filter((s) => !isPassThrough(s));
const { raised, unmatched } = matchErrors(sites, errors);
const notRaised = sites.filter((s) => !raised.has(s.id)).map((s) => s.id);
const debt = readDebt();
if (process.argv.includes('--write')) {
  writeDebt(notRaised, debt, arg('--write') ?? 'no test reaches it yet');
  console.log(`error sites: wrote ${notRaised.length} sites to ${relative(root, debtFile)}`);
  process.exit(0);
}
const unlisted = notRaised.filter((x) => !debt.has(x));
const nowRaised = [...debt.keys()].filter((x) => !notRaised.includes(x));
console.log(
  `error sites: ${sites.length} places create a typed error with a fix (${all.length - sites.length} more pass an error through); ` +
    `${errors.length} errors recorded, ${unmatched.length} matching no site; ${sites.length - notRaised.length} places reached, ${notRaised.length} not yet (test/errors-not-yet-raised.txt)`,
);
if (nowRaised.length)
  console.warn(`error sites: these are reached now (or gone from src/); remove them from test/errors-not-yet-raised.txt:\n  ${nowRaised.join('\n  ')}`);
if (unlisted.length) {
  console.error(`error sites: no test reaches these (add a test, or list them with why in test/errors-not-yet-raised.txt):\n  ${unlisted.join('\n  ')}`);
  process.exit(1);
}
