/**
 * Measures every replica-first case (test/corpus/replica-first/cases.ts) on real MariaDB
 * replication and records what the SERVERS did, never what the engine says, in
 * test/corpus/replica-first/measured.json.
 *
 *   npm run corpus:measure-replica-first                         # every case, rewrites measured.json
 *   npm run corpus:measure-replica-first -- int_to_bigint enum_remove   # only these, printed; the file is left alone
 *
 * It starts its own sandbox primary + replica (test/helpers/sandbox.ts: a fresh temp directory with
 * its own ports and datadirs) and stops it at the end; it touches no other server. Method:
 * test/corpus/replica-first/measure.ts, shared with test/integration/replica-first-truth.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { CASES, SETTING_WITHOUT_SQL_THREAD_RESTART } from '../test/corpus/replica-first/cases.ts';
import { type Bench, caseSource, MEASURED_PATH, type Measured, openBench, type ReplicaFirstMeasurements } from '../test/corpus/replica-first/measure.ts';

const short = (m: Measured | undefined): string => (m ? (m.outcome === 'stopped' ? `stopped ${m.errno}` : m.outcome) : '-');

async function measureAll(bench: Bench, names: string[]): Promise<ReplicaFirstMeasurements['cases']> {
  const out: ReplicaFirstMeasurements['cases'] = {};
  for (const c of CASES) {
    if (names.length && !names.includes(c.name)) continue;
    const t = performance.now();
    const truth = await bench.measureCase(c);
    out[c.name] = { source: caseSource(c), ...truth };
    const line = (['forward', 'reverse'] as const)
      .map((d) => `${d} ${short(truth[d].default)}/${short(truth[d].nonLossy)}/${short(truth[d].lossy)}`)
      .join(', ');
    process.stderr.write(`${c.name}: ${line} (${Math.round(performance.now() - t)} ms)\n`);
  }
  return out;
}

async function main(): Promise<void> {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = names.filter((n) => !CASES.some((c) => c.name === n));
  if (unknown.length) {
    process.stderr.write(`no such case: ${unknown.join(', ')}. Cases: ${CASES.map((c) => c.name).join(' ')}\n`);
    process.exit(2);
  }
  const bench = await openBench();
  try {
    process.stderr.write(`MariaDB ${bench.server.version}, binlog ${bench.server.binlogFormat}/${bench.server.binlogRowImage}\n`);
    const cases = await measureAll(bench, names);
    if (names.length) {
      process.stdout.write(`${JSON.stringify({ server: bench.server, cases }, null, 2)}\n`);
      return;
    }
    const f = SETTING_WITHOUT_SQL_THREAD_RESTART;
    const observation = await bench.run(CASES.find((c) => c.name === f.case)!, 'forward', f.setting, false);
    const file: ReplicaFirstMeasurements = {
      generatedAt: new Date().toISOString(),
      command: 'npm run corpus:measure-replica-first',
      server: bench.server,
      method: 'test/corpus/replica-first/measure.ts (test/corpus/README.md)',
      cases,
      settingWithoutSqlThreadRestart: { ...f, observation },
    };
    writeFileSync(MEASURED_PATH, `${JSON.stringify(file, null, 2)}\n`);
    process.stderr.write(`wrote test/corpus/replica-first/measured.json (${Object.keys(cases).length} cases)\n`);
  } finally {
    await bench.stop();
  }
}

await main();
