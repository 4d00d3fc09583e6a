/**
 * One switchover in its own process, as `migrate apply` runs it (the load and the probe live in
 * the parent, bench/switchover/profile.ts, so they do not share this process's event loop).
 * Reads {configPath, primary, candidate, replicas, masterMaster, journalDir, run} on stdin and
 * prints the SwitchoverResult (or {error}) as one JSON line.
 */
import { loadConfig } from '../../src/config/load.ts';
import type { NodeConfig } from '../../src/config/types.ts';
import { MigrateError } from '../../src/errors.ts';
import { Journal } from '../../src/execution/journal.ts';
import { switchover } from '../../src/execution/switchover.ts';
import { writerFor } from '../../src/execution/writer/index.ts';
import { flavorFor } from '../../src/engines/index.ts';

interface Job {
  configPath: string;
  primary: string;
  candidate: string;
  replicas: string[];
  masterMaster: boolean;
  journalDir: string;
  run: string;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => (input += d));
process.stdin.on('end', () => {
  void main(JSON.parse(input) as Job).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stdout.write(
        `${JSON.stringify({ error: e instanceof MigrateError ? `${e.problem} | ${e.fix}` : e instanceof Error ? e.message : String(e) })}\n`,
      );
      process.exitCode = 1;
    },
  );
});

async function main(job: Job): Promise<unknown> {
  const config = await loadConfig({ configPath: job.configPath });
  const cluster = config.clusters[0]!;
  const node = (name: string): NodeConfig => {
    const n = cluster.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  };
  const journal = Journal.open(job.journalDir, job.run);
  const log: string[] = [];
  try {
    const candidate = node(job.candidate);
    const res = await switchover({
      flavor: flavorFor('mariadb'),
      primary: node(job.primary),
      candidate,
      replicas: job.replicas.map(node),
      writer: writerFor(cluster),
      cluster,
      replicationUser: { user: candidate.user, password: candidate.password ?? '' },
      maxWriteBlockMs: 2000,
      maxLagBeforeBlockMs: 1000,
      catchUpTimeoutMs: 60_000,
      masterMaster: job.masterMaster,
      journal,
      log: (m) => log.push(m),
    });
    return { ...res, log };
  } finally {
    journal.close();
  }
}
