/**
 * The "Timing margins" section of docs/reliability.md, rendered from bench/results/timing-margins.json
 * (the figures the switchover tests logged as `[gap]` lines, committed) and the margins the tests
 * assert (test/helpers/switchover-margins.ts). scripts/reliability-doc.ts renders it with the rest
 * of the doc; `--write` rewrites only this section, so it can be refreshed without the fault
 * suite's results; test/unit/reliability-margins.test.ts keeps the doc equal to it.
 *
 *   node --import tsx scripts/reliability-margins.ts --write
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLOCK_EDGE_TOLERANCE_MS, SWITCHOVER_MARGIN_MS } from '../test/helpers/switchover-margins.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const TIMING_MARGINS_RESULTS = join(root, 'bench', 'results', 'timing-margins.json');
const HEADING = '## Timing margins';
const NEXT_HEADING = '## Known limits';

type Range = [number, number];
export interface TimingMargins {
  source: string;
  date: string;
  loadAverage: string;
  suites: { file: string; runs: number; withReconnectBaseline: number }[];
  completedSwitchovers: { readings: number; maxExcessMs: number; worst: string };
  undoneBlock: { maxExcessMs: number; fault: string };
  baselineGapMs: Range;
  baselineReconnectMs: Range;
  undoneOverrun: { boundMs: number; overrunMs: Range; runs: number; how: string }[];
  noBlock: { maxExcessMs: number; fault: string; gapMs: Range };
  lostStatements: { readings: number; exactlyOne: number; alsoOptionPrevents: number; onlyOptionPrevents: number };
  mutant: { pauseMs: number; file: string; byMargin: { marginMs: number; gapsMs: Range; allowedMs: Range }[] };
}

export function readTimingMargins(file = TIMING_MARGINS_RESULTS): TimingMargins {
  return JSON.parse(readFileSync(file, 'utf8')) as TimingMargins;
}

const range = ([a, b]: Range): string => `${a}-${b}`;
const and = (items: string[]): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/** The measured paragraph: every figure from `m`. */
function measured(m: TimingMargins): string {
  const commands = and(m.suites.map((s) => `\`npx vitest run ${s.file}\` (${s.runs} runs)`));
  const overruns = and(m.undoneOverrun.map((o) => `${range(o.overrunMs)} ms at ${o.boundMs} ms${o.how ? ` ${o.how}` : ''} (${o.runs} runs)`));
  const [first, second] = m.mutant.byMargin;
  const mutant = `gaps of ${and(first!.gapsMs.map(String))} ms against ${and(first!.allowedMs.map(String))} ms allowed with a ${first!.marginMs} ms margin; with ${second!.marginMs} ms, ${and(second!.gapsMs.map(String))} ms against ${and(second!.allowedMs.map(String))} ms`;
  const c = m.completedSwitchovers;
  const l = m.lostStatements;
  return [
    'Each test logs its figures as `[gap]` lines; the figures below were read from those lines and committed in bench/results/timing-margins.json (the test output itself was not kept), which this section is rendered from: one-off observations, reproduced by running the commands named.',
    `Measured ${m.date} on this 2-core machine at a load average of ${m.loadAverage} (other suites running), two files at a time, by ${commands}; the figures against the full baseline come from the runs after the reconnect baseline was added (the last ${and(m.suites.map((s) => String(s.withReconnectBaseline)))}):`,
    `over ${c.readings} probe readings at completed switchovers, the probe's gap beyond block + baseline gap + baseline reconnect was at most ${c.maxExcessMs} ms (${c.worst}), and at most ${m.undoneBlock.maxExcessMs} ms beyond bound + baseline gap at an undone block (${m.undoneBlock.fault}); baseline gaps ranged ${range(m.baselineGapMs)} ms and baseline reconnects ${range(m.baselineReconnectMs)} ms.`,
    `Over all runs: undone blocks overran their bound on the journal by ${overruns}; over runs that took no block, the longest gap exceeded twice the baseline by at most ${m.noBlock.maxExcessMs} ms (${m.noBlock.fault}, whose runs show a ${range(m.noBlock.gapMs)} ms gap whatever the baseline).`,
    `The margin, ${SWITCHOVER_MARGIN_MS} ms, is about twice the worst excess.`,
    `Of ${l.readings} probe readings at completed switchovers, ${l.exactlyOne} lost exactly one statement (PROTOCOL_CONNECTION_LOST at the endpoint's move), ${l.alsoOptionPrevents} (as the application user) also one ER_OPTION_PREVENTS_STATEMENT, and ${l.onlyOptionPrevents} (application user) only one ER_OPTION_PREVENTS_STATEMENT; the root probes never more than the one.`,
    `A switchover that stalls writes beyond what it reports fails: with a ${m.mutant.pauseMs} ms pause added before the endpoint's move and left out of the reported block (a hand-made mutant of ${m.mutant.file}), switchover.test.ts failed on both topologies (${mutant}).`,
    "The margin is the same on any machine; the baselines make the bound looser on a loaded one, where a stall of up to the margin plus that moment's baseline gap and reconnect goes unnoticed.",
  ].join(' ');
}

/** The section's lines, from its heading to the blank line before the next one. */
export function timingMarginsSection(m: TimingMargins): string[] {
  return [
    '## Timing margins',
    '',
    `What the switchover tests (test/integration/switchover.test.ts, test/integration/privileged-clients.test.ts, test/faults/replica-stopped.test.ts) assert about time is read on the probe's clock, not the tool's, and judged against a baseline the same test measures right before the run: 2 s of the same load with nothing migrating, giving the probe's longest gap between two commits and the longest of fresh connections through the endpoint timed every 250 ms (what the probe's reconnect costs on the machine at that moment). CI runs two test files at a time on 2 cores, where both vary several-fold from one run to the next; the constant margin on top of them, ${SWITCHOVER_MARGIN_MS} ms, is the same everywhere (test/helpers/switchover-margins.ts):`,
    '',
    '- the probe acknowledged writes before the block and after it (a probe that acknowledged nothing fails the test, as it fails the invariants above);',
    `- its gap over the block is at least the part of the block after the read lock was granted (journal \`block-writes:end\` to the block's end), less ${BLOCK_EDGE_TOLERANCE_MS} ms: writes really stopped for as long as the tool says;`,
    `- its gap is at most the block the tool reports (for a block that was undone: \`--max-write-block\`) + its baseline gap + its baseline reconnect (only when the endpoint moved) + ${SWITCHOVER_MARGIN_MS} ms;`,
    `- a block that was undone lasts at most \`--max-write-block\` + the probe's baseline gap + ${SWITCHOVER_MARGIN_MS} ms on the tool's own journal (\`block-writes:begin\` to \`undo:end\`: the undo runs after the bound expired, on the same loaded machine), so a block of a little over the bound in the table above is within what the tests accept;`,
    `- over a run that took no block (b1, b3), the probe's longest gap is at most twice its baseline gap + ${SWITCHOVER_MARGIN_MS} ms (the run lasts several times the baseline window);`,
    "- a one-connection probe loses at most its statement in flight at the endpoint's move, plus the statements it sent while the old primary was read-only but still behind the endpoint (MariaDB refuses them at once with ER_OPTION_PREVENTS_STATEMENT rather than queueing them behind the read lock): at most one per probe interval of that window, which the journal gives (`read-only-old-primary:begin` to `move-endpoint:end`).",
    '',
    measured(m),
    '',
  ];
}

/** `doc` with its Timing margins section replaced by `section` (the lines up to "## Known limits"). */
export function withTimingMargins(doc: string, section: string[]): string {
  const from = doc.indexOf(`\n${HEADING}\n`);
  const to = doc.indexOf(`\n${NEXT_HEADING}\n`);
  if (from < 0 || to < from) throw new Error(`docs/reliability.md has no "${HEADING}" section before "${NEXT_HEADING}"`);
  return `${doc.slice(0, from + 1)}${section.join('\n')}\n${doc.slice(to + 1)}`;
}

/** The section as it stands in the doc. */
export function timingMarginsOf(doc: string): string {
  const from = doc.indexOf(`\n${HEADING}\n`);
  const to = doc.indexOf(`\n${NEXT_HEADING}\n`);
  return from < 0 || to < from ? '' : doc.slice(from + 1, to);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  const docPath = join(root, 'docs', 'reliability.md');
  writeFileSync(docPath, withTimingMargins(readFileSync(docPath, 'utf8'), timingMarginsSection(readTimingMargins())));
  console.log(`${docPath}: Timing margins rendered from ${TIMING_MARGINS_RESULTS}`);
}
