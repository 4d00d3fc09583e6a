import { dialectNamed } from '../../engines/index.ts';
import type { Command } from 'commander';
import type { Dialect } from '../../config/index.ts';
import { usageError } from '../../errors.ts';
import { consoleLogger, redactValue } from '../../log/index.ts';
// The index loads the server code and database drivers on the first shadowUp/Status/Down call, not at CLI start.
import {
  parseFormat,
  renderShadowDownText,
  renderShadowStatusText,
  renderShadowUpText,
  SHADOW_DIR_ENV,
  shadowDown,
  shadowServerDir,
  shadowStatus,
  shadowUp,
  upJson,
} from '../../sandbox/index.ts';

const DIALECTS: readonly Dialect[] = ['mysql', 'postgres'];

function parseDialect(v: string | undefined): Dialect | undefined {
  if (v === undefined) return undefined;
  const named = dialectNamed(v);
  if (named) return named;
  throw usageError(`--dialect ${JSON.stringify(v)} is not supported.`, 'Use --dialect mysql (a MariaDB server) or --dialect postgres.');
}

const DIR_HELP = `base directory; the server lives in <dir>/migrate-shadow-<uid>-<dialect> (default: $${SHADOW_DIR_ENV}; else a server already running in /dev/shm or the system temp dir; else /dev/shm when writable with 1 GiB free, else the system temp dir)`;

/** status and down: the same options, acting on both dialects unless --dialect names one. */
function bothDialects(cmd: Command, description: string): Command {
  return cmd
    .description(description)
    .option('--dialect <dialect>', 'mysql | postgres (default: both)')
    .option('--dir <dir>', DIR_HELP)
    .option('--format <format>', 'text | json', 'text');
}

interface Opts {
  dialect?: string;
  dir?: string;
  format?: string;
}

export function registerShadowCommands(program: Command): void {
  const shadow = program
    .command('shadow')
    .description('start, inspect and stop a throwaway local server (tmpfs, durability off) that check and plan use for their shadow databases');

  shadow
    .command('up')
    .description('start the shadow server (reuses a healthy running one); check and plan then find it without configuration')
    .option('--dialect <dialect>', 'mysql (a MariaDB server) | postgres', 'mysql')
    .option('--dir <dir>', DIR_HELP)
    .option('--format <format>', 'text | json (json includes the generated passwords)', 'text')
    .action(async (opts: Opts) => {
      const format = parseFormat(opts.format);
      const dialect = parseDialect(opts.dialect) ?? 'mysql';
      const dir = shadowServerDir(dialect, { dir: opts.dir });
      const t0 = performance.now();
      const progress = format === 'text' ? (m: string) => consoleLogger.info(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${m}`) : undefined;
      const outcome = await shadowUp(dialect, dir, { progress });
      if (format === 'json') {
        // Deliberately unredacted, like `sandbox up --format json`: the user asked for the
        // credentials in machine-readable form. Text output never shows a password.
        const doc = {
          ...upJson(outcome.state, outcome.reused, outcome.elapsedMs),
          shadow: { dialect, dir, url: outcome.url, passwordFile: outcome.passwordFile },
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else {
        consoleLogger.out(renderShadowUpText(outcome));
      }
    });

  bothDialects(
    shadow.command('status'),
    'show the shadow server of each dialect (or of --dialect); exit 1 unless one runs and every one present is healthy',
  ).action(async (opts: Opts) => {
    const format = parseFormat(opts.format);
    const one = parseDialect(opts.dialect);
    // The analysis lists the shadow objects (it owns their names); loaded for `status` only.
    const { listShadowObjects } = await import('../../analysis/index.ts');
    // Each dialect on its own: a problem with one (a foreign directory) is reported after the other.
    const all: Awaited<ReturnType<typeof shadowStatus>>[] = [];
    let failure: unknown;
    for (const d of one ? [one] : DIALECTS) {
      try {
        all.push(await shadowStatus(d, shadowServerDir(d, { dir: opts.dir }), listShadowObjects));
      } catch (e) {
        failure ??= e;
      }
    }
    const present = all.filter((s) => s.present);
    const healthy = present.length > 0 && present.every((s) => s.healthy);
    if (format === 'json') consoleLogger.out(JSON.stringify(redactValue({ healthy, servers: all }), null, 2));
    else if (all.length) consoleLogger.out(all.map((s) => renderShadowStatusText(s)).join('\n'));
    if (failure) throw failure;
    if (!healthy) process.exitCode = 1;
  });

  bothDialects(shadow.command('down'), 'stop the shadow server of each dialect (or of --dialect) and remove its directory; nothing running is fine').action(
    async (opts: Opts) => {
      const format = parseFormat(opts.format);
      const one = parseDialect(opts.dialect);
      const results = [];
      // One after the other: a failure to stop one is reported after the other was tried.
      let failure: unknown;
      for (const d of one ? [one] : DIALECTS) {
        try {
          results.push(await shadowDown(d, shadowServerDir(d, { dir: opts.dir })));
        } catch (e) {
          failure ??= e;
        }
      }
      if (format === 'json') consoleLogger.out(JSON.stringify(redactValue({ servers: results }), null, 2));
      else if (results.length) consoleLogger.out(results.map((r) => renderShadowDownText(r)).join('\n'));
      if (failure) throw failure;
    },
  );
}
