import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  ADOPT_DEFAULT_TABLE,
  ADOPT_TOOLS,
  countOption,
  DEFAULT_LOCK_SAFETY,
  durationOption,
  LOCK_SAFETY_ENV,
  type AdoptSource,
  type LockSafety,
  type ProjectConfig,
} from '../../config/index.ts';
import { isMigrateError, MigrateError, usageError } from '../../errors.ts';
import { consoleLogger, redact } from '../../log/index.ts';
import type { Discovery, LoadNote, Runner } from '../../migrations/index.ts';
import { layoutFlag } from './layout-flag.ts';

// The engine (knex, the drivers, umzug, the tsx loader) is imported inside the actions: every
// start of the CLI registers these commands, most starts run only one of them, and `--help` none.
const configLoader = (): Promise<typeof import('../../config/index.ts')> => import('../../config/index.ts');

interface GlobalOpts {
  config?: string;
}

function configPathOf(cmd: Command): string | undefined {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  return g.config;
}

/** --migration-timeout / --progress-every and signal handling: what a run that executes migrations takes. */
interface RunFlags {
  migrationTimeout?: string;
  progressEvery?: string;
}

interface RunSettings {
  lockSafety?: Partial<LockSafety>;
  migrationTimeoutMs?: number;
  noticeEveryMs?: number;
  /** SIGINT/SIGTERM stop the run (cancel on the server, record, release the lock, exit 130/143). */
  stoppable?: boolean;
}

export function runFlags(o: RunFlags): Pick<RunSettings, 'migrationTimeoutMs' | 'noticeEveryMs'> {
  const out: Pick<RunSettings, 'migrationTimeoutMs' | 'noticeEveryMs'> = {};
  if (o.migrationTimeout !== undefined) out.migrationTimeoutMs = durationOption(o.migrationTimeout, '--migration-timeout', 'flag');
  if (o.progressEvery !== undefined) out.noticeEveryMs = durationOption(o.progressEvery, '--progress-every', 'flag');
  return out;
}

export function withRunFlags(c: Command): Command {
  return c
    .option(
      '--migration-timeout <duration>',
      'longest one migration may run, e.g. 10min; past it, its statement is cancelled on the server and the run stops recording what ran (default 0: no bound)',
    )
    .option('--progress-every <duration>', 'while a statement (or TypeScript migration) runs, say what is running every DURATION (default 30s; 0: never)');
}

/**
 * SIGINT/SIGTERM during a run: the first asks the runner to stop (it cancels the statement on the
 * server, records what ran, releases the lock and reports, exiting 130/143); a second one exits
 * at once, saying what is known. Installed before the config loads, so an early Ctrl-C is
 * handled the same way.
 */
function stopOnSignals(getRunner: () => Runner | undefined): { pending(): NodeJS.Signals | undefined; dispose(): void } {
  let first: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGTERM' ? 143 : 130;
    const runner = getRunner();
    if (first) {
      process.stderr.write(
        redact(
          `error: ${signal} again: exiting without waiting for the run to stop.\nfix: Run "migrate status": it reads from the ledger which statements completed, and shows a statement the server may still be running.\n`,
        ),
      );
      process.exit(code);
    }
    first = signal;
    consoleLogger.info(
      `${signal}: stopping${runner?.busy ? ' (cancelling the statement on the server, recording what ran)' : ''}; ${signal === 'SIGINT' ? 'press Ctrl-C again' : 'send it again'} to exit at once`,
    );
    void runner?.stop({ kind: 'signal', signal });
    // A server that neither answers the cancel nor the bookkeeping must not keep us here.
    setTimeout(() => {
      process.stderr.write(
        redact(
          `error: the run did not stop within 30 s of ${signal}; exiting.\nfix: Run "migrate status": it reads from the ledger which statements completed.\n`,
        ),
      );
      process.exit(code);
    }, 30_000).unref();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    pending: () => first,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * After a run ends, exit even if the code of an abandoned TypeScript migration (stopped by a
 * signal or --migration-timeout) still holds a timer or socket: nothing else runs by then.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(typeof process.exitCode === 'number' ? process.exitCode : 1), 2000).unref();
}

/** Loads the config, connects and checks the login before anything else; always closes knex. */
async function withRunner<T>(cmd: Command, fn: (runner: Runner, config: ProjectConfig) => Promise<T>, settings: RunSettings = {}): Promise<T> {
  let runner: Runner | undefined;
  const signals = settings.stoppable ? stopOnSignals(() => runner) : undefined;
  try {
    const [{ loadConfig }, { createKnex, verifyConnection }, { Runner: RunnerClass }] = await Promise.all([
      configLoader(),
      import('../../db/index.ts'),
      import('../../migrations/index.ts'),
    ]);
    const loaded = await loadConfig({ configPath: configPathOf(cmd) });
    const layout = layoutFlag(cmd);
    const config = layout ? { ...loaded, migrationsLayout: layout } : loaded;
    const db = createKnex(config.dialect, config.connection);
    try {
      await verifyConnection(db, config.dialect, config.connection);
      runner = new RunnerClass({
        config,
        db,
        logger: consoleLogger,
        ...(settings.lockSafety ? { lockSafety: settings.lockSafety } : {}),
        ...(settings.migrationTimeoutMs !== undefined ? { migrationTimeoutMs: settings.migrationTimeoutMs } : {}),
        ...(settings.noticeEveryMs !== undefined ? { noticeEveryMs: settings.noticeEveryMs } : {}),
      });
      const early = signals?.pending();
      if (early) void runner.stop({ kind: 'signal', signal: early });
      return await fn(runner, config);
    } finally {
      await db.destroy();
    }
  } catch (e) {
    const early = signals?.pending();
    if (early && !runner?.busy && !(isMigrateError(e) && e.exitCode >= 128)) {
      throw new MigrateError('work', `Interrupted by ${early} before any migration ran; nothing was changed.`, 'Run the command again when ready.', {
        cause: e,
        exitCode: early === 'SIGTERM' ? 143 : 130,
      });
    }
    throw e;
  } finally {
    signals?.dispose();
    // Only a stopped run can leave an abandoned migration's code running; an ordinary end (and
    // main() called in process, by tests or an embedding tool) must not exit the process.
    if (settings.stoppable && runner?.stopped) exitSoon();
  }
}

function parseStep(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw usageError(`--step must be a whole number of at least 1 (got "${v}").`, 'Write e.g. --step 2 to revert the last two migrations.');
  return Number(v);
}

export interface LockFlags {
  lockTimeout?: string;
  lockRetries?: string;
  statementTimeout?: string;
}

/** --lock-timeout / --lock-retries / --statement-timeout (PostgreSQL lock-safe execution). */
export function lockSafetyFlags(o: LockFlags): Partial<LockSafety> {
  const out: Partial<LockSafety> = {};
  if (o.lockTimeout !== undefined) out.lockTimeoutMs = durationOption(o.lockTimeout, '--lock-timeout', 'flag');
  if (o.lockRetries !== undefined) out.attempts = countOption(o.lockRetries, '--lock-retries', 'flag');
  if (o.statementTimeout !== undefined) out.statementTimeoutMs = durationOption(o.statementTimeout, '--statement-timeout', 'flag');
  return out;
}

export function withLockFlags(c: Command): Command {
  return c
    .option(
      '--lock-timeout <duration>',
      `longest wait for a lock per statement before giving up and retrying (PostgreSQL lock_timeout; MySQL/MariaDB lock_wait_timeout, rounded up to whole seconds), e.g. 2s or 500ms; 0 turns lock-safe retries off (env ${LOCK_SAFETY_ENV.lockTimeoutMs}, default ${DEFAULT_LOCK_SAFETY.lockTimeoutMs} ms)`,
    )
    .option(
      '--lock-retries <n>',
      `tries per migration transaction (PostgreSQL; also CONCURRENTLY statements) or statement (MySQL/MariaDB) after a lock wait gave up, with exponential backoff and jitter between them (env ${LOCK_SAFETY_ENV.attempts}, default ${DEFAULT_LOCK_SAFETY.attempts})`,
    )
    .option(
      '--statement-timeout <duration>',
      `PostgreSQL: statement_timeout inside migration transactions, e.g. 5min; 0 leaves the server's (env ${LOCK_SAFETY_ENV.statementTimeoutMs}, default 0)`,
    );
}

export function registerMigrationCommands(program: Command): void {
  registerStatusCommand(program);
  registerUpDownCommands(program);
  registerRepairCommand(program);
  registerFileCommands(program);
}

/** Loader notes not shown on a migration's row (the layout read, orphan downs, skipped files). */
function dirNotes(d: Discovery): LoadNote[] {
  const ids = new Set(d.migrations.map((m) => m.id));
  return d.notes.filter((n) => n.id === undefined || !ids.has(n.id));
}

/** status: applied and pending migrations. */
function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('list applied and pending migrations, drift and missing files')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { format: string }, cmd: Command) => {
      if (opts.format !== 'text' && opts.format !== 'json')
        throw usageError(`--format ${opts.format} is not supported.`, 'Use --format text or --format json.');
      const { statusJson, statusText } = await import('../../migrations/index.ts');
      await withRunner(cmd, async (runner, config) => {
        const report = await runner.status();
        if (opts.format === 'json') {
          consoleLogger.out(JSON.stringify(statusJson(report.migrations, report.problems, dirNotes(report.discovery)), null, 2));
          return;
        }
        consoleLogger.out(statusText(report.migrations, config.migrationsDir, report.problems, dirNotes(report.discovery)));
        if (report.adoptedFrom)
          consoleLogger.info(
            `The applied migrations come from ${report.adoptedFrom.table} (${report.adoptedFrom.tool}); the next "migrate up" adopts them into ${config.ledgerTable}.`,
          );
      });
    });
}

/** up and down. */
function registerUpDownCommands(program: Command): void {
  withRunFlags(
    withLockFlags(
      program
        .command('up')
        .description('apply pending migrations in order (id order; numeric version order for golang-migrate, goose, dbmate, Flyway, pop)')
        .option('--to <id>', 'apply up to and including this migration'),
    ),
  ).action(async (opts: { to?: string } & LockFlags & RunFlags, cmd: Command) => {
    const settings = { lockSafety: lockSafetyFlags(opts), ...runFlags(opts), stoppable: true };
    await withRunner(
      cmd,
      async (runner) => {
        const r = await runner.up({ to: opts.to });
        if (r.ids.length) consoleLogger.info(`Applied ${r.ids.length} migration${r.ids.length === 1 ? '' : 's'}.`);
      },
      settings,
    );
  });

  withRunFlags(
    withLockFlags(
      program
        .command('down')
        .description('revert applied migrations, newest first (default: the last one)')
        .option('--to <id>', 'revert down to and including this migration')
        .option('--step <n>', 'revert the last N migrations'),
    ),
  ).action(async (opts: { to?: string; step?: string } & LockFlags & RunFlags, cmd: Command) => {
    const step = parseStep(opts.step);
    if (opts.to !== undefined && step !== undefined) throw usageError('--to and --step cannot be used together.', 'Give either --to ID or --step N.');
    const settings = { lockSafety: lockSafetyFlags(opts), ...runFlags(opts), stoppable: true };
    await withRunner(
      cmd,
      async (runner) => {
        const r = await runner.down({ to: opts.to, step });
        if (r.ids.length) consoleLogger.info(`Reverted ${r.ids.length} migration${r.ids.length === 1 ? '' : 's'}.`);
      },
      settings,
    );
  });
}

/** repair: finish, undo or record a partially applied migration. */
function registerRepairCommand(program: Command): void {
  withRunFlags(
    withLockFlags(
      program
        .command('repair')
        .description('after a partially applied migration: finish it, undo it, or record a fix made by hand')
        .argument('<id>', 'the migration "migrate status" shows as partial')
        .option('--continue', 'run its statements from the first one that did not run')
        .option('--from <n>', 'with --continue: the statement to start from, when the server could not tell whether the one in flight ran')
        .option('--revert', "undo what ran: the opposite file's statements whose effect is missing (see docs)")
        .option('--mark-applied', 'record it as applied (all of it is in place, fixed by hand); runs nothing')
        .option('--forget', 'record it as not applied (none of it is in place, undone by hand); runs nothing'),
    ),
  ).action(
    async (
      id: string,
      opts: { continue?: boolean; from?: string; revert?: boolean; markApplied?: boolean; forget?: boolean } & LockFlags & RunFlags,
      cmd: Command,
    ) => {
      const chosen = (
        [
          ['continue', opts.continue],
          ['revert', opts.revert],
          ['mark-applied', opts.markApplied],
          ['forget', opts.forget],
        ] as const
      )
        .filter(([, on]) => on)
        .map(([m]) => m);
      if (chosen.length !== 1) {
        throw usageError(
          chosen.length
            ? `Choose one of --continue, --revert, --mark-applied, --forget (got ${chosen.map((c) => `--${c}`).join(' and ')}).`
            : 'migrate repair needs one of --continue, --revert, --mark-applied or --forget.',
          `"migrate status" shows what ran of ${id}; e.g. "migrate repair ${id} --continue" runs the statements that did not run.`,
        );
      }
      const mode = chosen[0]!;
      let from: number | undefined;
      if (opts.from !== undefined) {
        if (mode !== 'continue') throw usageError('--from goes with --continue only.', `Write "migrate repair ${id} --continue --from N".`);
        if (!/^\d+$/.test(opts.from) || Number(opts.from) < 1)
          throw usageError(
            `--from must be a statement number of at least 1 (got "${opts.from}").`,
            'Write e.g. --from 3 (the numbers are those "migrate status" shows).',
          );
        from = Number(opts.from);
      }
      const settings = { lockSafety: lockSafetyFlags(opts), ...runFlags(opts), stoppable: true };
      await withRunner(
        cmd,
        async (runner) => {
          await runner.repair(id, mode, from !== undefined ? { from } : {});
        },
        settings,
      );
    },
  );
}

/** make, ack-drift and adopt: files and records, no migration runs. */
function registerFileCommands(program: Command): void {
  program
    .command('make')
    .description('create the next migration from a template (TypeScript, or an .up.sql/.down.sql pair)')
    .argument('<name>', 'what it does, e.g. add_users_email')
    .option('--sql', 'create NNNN_name.up.sql and NNNN_name.down.sql instead of a TypeScript file')
    .option('--dir <path>', 'migrations directory (default: from the config)')
    .action(async (name: string, opts: { sql?: boolean; dir?: string }, cmd: Command) => {
      const { makeMigration } = await import('../../migrations/index.ts');
      const dir = opts.dir ? resolve(opts.dir) : (await (await configLoader()).loadConfig({ configPath: configPathOf(cmd) })).migrationsDir;
      for (const p of makeMigration(dir, name, { sql: opts.sql })) consoleLogger.out(p);
    });

  program
    .command('ack-drift')
    .description('accept the current file of drifted migrations as applied (records who and when)')
    .argument('<id...>', 'migration ids shown as "drift" by migrate status')
    .action(async (ids: string[], _opts: unknown, cmd: Command) => {
      await withRunner(cmd, async (runner) => {
        await runner.ackDrift(ids);
      });
    });

  program
    .command('adopt')
    .description("print a migrate.config.json equivalent of a knexfile, or (--from) what migrate would take over from another tool's history; writes nothing")
    .option('--knexfile <file>', 'path of knexfile.js / knexfile.ts: print the equivalent config (no secrets)')
    .option('--env <name>', 'knexfile environment (default: NODE_ENV, else development)')
    .option('--from <tool>', `the tool whose history to read: ${ADOPT_TOOLS.join(', ')} (uses the config's connection and migrations directory)`)
    .option('--table <name>', "with --from: the tool's table, when not its default")
    .action(async (opts: { knexfile?: string; env?: string; from?: string; table?: string }, cmd: Command) => {
      if ((opts.knexfile === undefined) === (opts.from === undefined))
        throw usageError(
          opts.knexfile === undefined ? 'migrate adopt needs --knexfile or --from.' : '--knexfile and --from cannot be used together.',
          `Write "migrate adopt --knexfile ./knexfile.js" to convert a knexfile, or "migrate adopt --from golang-migrate" (${ADOPT_TOOLS.join(', ')}) to see what migrate takes over.`,
        );
      if (opts.from !== undefined) {
        await previewAdoption(cmd, adoptSourceOption(opts.from, opts.table));
        return;
      }
      if (opts.table !== undefined) throw usageError('--table goes with --from only.', "knex's table name is read from the knexfile (migrations.tableName).");
      const [{ convertKnexfile }, { redactValue }] = await Promise.all([import('../../migrations/index.ts'), import('../../log/index.ts')]);
      const { config, notes } = await convertKnexfile(opts.knexfile ?? '', opts.env);
      consoleLogger.out(JSON.stringify(redactValue(config), null, 2));
      for (const n of notes) consoleLogger.info(n);
    });
}

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** --from / --table as the config's "adopt" would hold them. */
function adoptSourceOption(from: string, table: string | undefined): AdoptSource {
  const tool = ADOPT_TOOLS.find((t) => t === from.toLowerCase());
  if (!tool) throw usageError(`--from ${from} is not a tool migrate adopts.`, `Use one of: ${ADOPT_TOOLS.join(', ')}.`);
  if (table !== undefined && !TABLE_NAME.test(table))
    throw usageError(`--table ${JSON.stringify(table)} is not a plain table name.`, 'Use letters, digits and underscores only, as the tool named its table.');
  return { tool, table: table ?? ADOPT_DEFAULT_TABLE[tool] };
}

/** `adopt --from`: the status the files would have with that history, and the config key that adopts it. */
async function previewAdoption(cmd: Command, source: AdoptSource): Promise<void> {
  const { statusText } = await import('../../migrations/index.ts');
  await withRunner(cmd, async (runner, config) => {
    const p = await runner.previewAdoption(source);
    if (!p.found)
      throw usageError(
        `There is no table ${source.table} in database "${config.connection.database}", so there is no ${source.tool} history to adopt.`,
        `Check the connection in ${config.source}, or pass the table ${source.tool} used with --table.`,
      );
    consoleLogger.out(statusText(p.migrations, config.migrationsDir, p.problems));
    const count = (st: string): number => p.migrations.filter((m) => m.state === st).length;
    consoleLogger.info(
      `Read from ${source.table} (${source.tool}): ${count('applied') + count('drift')} applied, ${count('pending')} pending, ${count('partial')} unfinished, ${count('missing-file')} with no file. Nothing was written.`,
    );
    if (p.ledgerRows !== undefined)
      consoleLogger.warn(
        `${config.ledgerTable} already exists (${p.ledgerRows} row${p.ledgerRows === 1 ? '' : 's'}): migrate reads its own ledger, so this history would not be taken over. Drop the empty ledger, or record what is missing with "migrate repair <id> --mark-applied".`,
      );
    else if (config.adopt?.tool === source.tool && config.adopt.table === source.table)
      consoleLogger.info(
        `${config.source} adopts this history already: "migrate up" copies it into ${config.ledgerTable} and continues where ${source.tool} stopped.`,
      );
    else
      consoleLogger.info(
        `To take it over, add to ${config.source}: "adopt": ${JSON.stringify(source.table === ADOPT_DEFAULT_TABLE[source.tool] ? { tool: source.tool } : source)}; then "migrate status" and "migrate up" continue where ${source.tool} stopped.`,
      );
  });
}
