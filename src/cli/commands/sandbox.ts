import type { Command } from 'commander';
import { consoleLogger, redactValue } from '../../log/index.ts';
// The index loads the providers and database drivers on the first sandboxUp/Status/Down call, not at CLI start.
import {
  MAX_REPLICAS,
  parseFormat,
  parseProvider,
  parseUpFlags,
  renderDownText,
  renderStatusText,
  renderUpText,
  resolveSandboxDir,
  sandboxDown,
  sandboxStatus,
  sandboxUp,
  TOPOLOGY_NAMES,
  upJson,
} from '../../sandbox/index.ts';

interface UpCliOptions {
  topology?: string;
  replicas?: string;
  proxy?: boolean;
  dir?: string;
  format?: string;
  provider?: string;
}

const DIR_HELP = 'state directory (default: $MIGRATE_SANDBOX_DIR, else ./.sandbox)';

export function registerSandboxCommands(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('start, inspect and stop local database topologies (real servers from the installed binaries) for tests and demos');

  sandbox
    .command('up')
    .description('start a topology and write <dir>/migrate.config.json for the other commands; idempotent')
    .option('--topology <name>', `${TOPOLOGY_NAMES.join(' | ')} (default: the running one, else primary-replica)`)
    .option('--replicas <n>', `replicas for primary-replica (default 2) or postgres (default 0), 1-${MAX_REPLICAS}`)
    .option(
      '--proxy',
      'put HAProxy (with runtime API socket) in front: a writer endpoint on the primary and a readers endpoint on the replicas (the config names it as readPool)',
    )
    .option('--dir <dir>', DIR_HELP)
    .option('--provider <name>', 'auto | local | docker (default auto: local binaries, else Docker)')
    .option('--format <format>', 'text | json (json includes the generated passwords)', 'text')
    .action(async (opts: UpCliOptions) => {
      const format = parseFormat(opts.format);
      const provider = parseProvider(opts.provider);
      const flags = parseUpFlags({ topology: opts.topology, replicas: opts.replicas, proxy: opts.proxy, dir: opts.dir });
      const t0 = performance.now();
      const progress = format === 'text' ? (m: string) => consoleLogger.info(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${m}`) : undefined;
      const { state, reused, elapsedMs } = await sandboxUp(flags, { provider, progress });
      if (format === 'json') {
        // Deliberately unredacted: the user asked for the credentials in machine-readable form.
        // Every other output of the tool (and every error) goes through redact().
        process.stdout.write(`${JSON.stringify(upJson(state, reused, elapsedMs), null, 2)}\n`);
      } else {
        consoleLogger.out(renderUpText(state, reused, elapsedMs));
      }
    });

  sandbox
    .command('status')
    .description('show each node: up/down, role, read_only, replication threads, lag, GTID position; exit 1 if not healthy')
    .option('--dir <dir>', DIR_HELP)
    .option('--format <format>', 'text | json', 'text')
    .action(async (opts: { dir?: string; format?: string }) => {
      const format = parseFormat(opts.format);
      const { status } = await sandboxStatus(resolveSandboxDir(opts.dir));
      consoleLogger.out(format === 'json' ? JSON.stringify(redactValue(status), null, 2) : renderStatusText(status));
      if (!status.healthy) process.exitCode = 1;
    });

  sandbox
    .command('down')
    .description('stop every process the sandbox started and remove its directory')
    .option('--dir <dir>', DIR_HELP)
    .option('--format <format>', 'text | json', 'text')
    .action(async (opts: { dir?: string; format?: string }) => {
      const format = parseFormat(opts.format);
      const result = await sandboxDown(resolveSandboxDir(opts.dir));
      consoleLogger.out(format === 'json' ? JSON.stringify(redactValue(result), null, 2) : renderDownText(result));
    });
}
