import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ProjectConfig } from '../../config/types.ts';
import { usageError } from '../../errors.ts';
import { consoleLogger } from '../../log/logger.ts';
import { countOption, DEFAULT_LOCK_SAFETY, durationOption, LOCK_SAFETY_ENV, type LockSafety } from '../../migrations/pg/settings.ts';
import type { Runner } from '../../migrations/runner.ts';

// The engine (knex, the drivers, umzug, the tsx loader) is imported inside the actions: every
// start of the CLI registers these commands, most starts run only one of them, and `--help` none.
const configLoader = (): Promise<typeof import('../../config/load.ts')> => import('../../config/load.ts');

interface GlobalOpts {
  config?: string;
}

function configPathOf(cmd: Command): string | undefined {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  return g.config;
}

/** Loads the config, connects and checks the login before anything else; always closes knex. */
async function withRunner<T>(cmd: Command, fn: (runner: Runner, config: ProjectConfig) => Promise<T>, lockSafety?: Partial<LockSafety>): Promise<T> {
  const [{ loadConfig }, { createKnex, verifyConnection }, { Runner: RunnerClass }] = await Promise.all([
    configLoader(),
    import('../../db/connect.ts'),
    import('../../migrations/runner.ts'),
  ]);
  const config = await loadConfig({ configPath: configPathOf(cmd) });
  const db = createKnex(config.dialect, config.connection);
  try {
    await verifyConnection(db, config.dialect, config.connection);
    return await fn(new RunnerClass({ config, db, logger: consoleLogger, lockSafety }), config);
  } finally {
    await db.destroy();
  }
}

function parseStep(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw usageError(`--step must be a whole number of at least 1 (got "${v}").`, 'Write e.g. --step 2 to revert the last two migrations.');
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
    .option('--lock-timeout <duration>', `longest wait for a lock per statement before giving up and retrying (PostgreSQL lock_timeout; MySQL/MariaDB lock_wait_timeout, rounded up to whole seconds), e.g. 2s or 500ms; 0 turns lock-safe retries off (env ${LOCK_SAFETY_ENV.lockTimeoutMs}, default ${DEFAULT_LOCK_SAFETY.lockTimeoutMs} ms)`)
    .option('--lock-retries <n>', `tries per migration transaction (PostgreSQL; also CONCURRENTLY statements) or statement (MySQL/MariaDB) after a lock wait gave up, with exponential backoff and jitter between them (env ${LOCK_SAFETY_ENV.attempts}, default ${DEFAULT_LOCK_SAFETY.attempts})`)
    .option('--statement-timeout <duration>', `PostgreSQL: statement_timeout inside migration transactions, e.g. 5min; 0 leaves the server's (env ${LOCK_SAFETY_ENV.statementTimeoutMs}, default 0)`);
}

export function registerMigrationCommands(program: Command): void {
  program
    .command('status')
    .description('list applied and pending migrations, drift and missing files')
    .option('--format <format>', 'text or json', 'text')
    .action(async (opts: { format: string }, cmd: Command) => {
      if (opts.format !== 'text' && opts.format !== 'json') throw usageError(`--format ${opts.format} is not supported.`, 'Use --format text or --format json.');
      const { statusJson, statusText } = await import('../../migrations/status.ts');
      await withRunner(cmd, async (runner, config) => {
        const report = await runner.status();
        if (opts.format === 'json') {
          consoleLogger.out(JSON.stringify(statusJson(report.migrations), null, 2));
          return;
        }
        consoleLogger.out(statusText(report.migrations, config.migrationsDir));
        if (report.fromKnex) consoleLogger.info(`The applied migrations come from ${config.adoptKnexTable}; the next "migrate up" adopts them into ${config.ledgerTable}.`);
      });
    });

  withLockFlags(
    program
      .command('up')
      .description('apply pending migrations in id order')
      .option('--to <id>', 'apply up to and including this migration'),
  ).action(async (opts: { to?: string } & LockFlags, cmd: Command) => {
    const lockSafety = lockSafetyFlags(opts);
    await withRunner(cmd, async (runner) => {
      const r = await runner.up({ to: opts.to });
      if (r.ids.length) consoleLogger.info(`Applied ${r.ids.length} migration${r.ids.length === 1 ? '' : 's'}.`);
    }, lockSafety);
  });

  withLockFlags(
    program
      .command('down')
      .description('revert applied migrations, newest first (default: the last one)')
      .option('--to <id>', 'revert down to and including this migration')
      .option('--step <n>', 'revert the last N migrations'),
  ).action(async (opts: { to?: string; step?: string } & LockFlags, cmd: Command) => {
    const step = parseStep(opts.step);
    if (opts.to !== undefined && step !== undefined) throw usageError('--to and --step cannot be used together.', 'Give either --to ID or --step N.');
    const lockSafety = lockSafetyFlags(opts);
    await withRunner(cmd, async (runner) => {
      const r = await runner.down({ to: opts.to, step });
      if (r.ids.length) consoleLogger.info(`Reverted ${r.ids.length} migration${r.ids.length === 1 ? '' : 's'}.`);
    }, lockSafety);
  });

  program
    .command('make')
    .description('create the next migration from a template (TypeScript, or an .up.sql/.down.sql pair)')
    .argument('<name>', 'what it does, e.g. add_users_email')
    .option('--sql', 'create NNNN_name.up.sql and NNNN_name.down.sql instead of a TypeScript file')
    .option('--dir <path>', 'migrations directory (default: from the config)')
    .action(async (name: string, opts: { sql?: boolean; dir?: string }, cmd: Command) => {
      const { makeMigration } = await import('../../migrations/make.ts');
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
    .description('print a migrate.config.json equivalent of a knexfile (no secrets; nothing is written)')
    .requiredOption('--knexfile <file>', 'path of knexfile.js / knexfile.ts')
    .option('--env <name>', 'knexfile environment (default: NODE_ENV, else development)')
    .action(async (opts: { knexfile: string; env?: string }) => {
      const [{ convertKnexfile }, { redactValue }] = await Promise.all([import('../../migrations/knex-adopt.ts'), import('../../log/redact.ts')]);
      const { config, notes } = await convertKnexfile(opts.knexfile, opts.env);
      consoleLogger.out(JSON.stringify(redactValue(config), null, 2));
      for (const n of notes) consoleLogger.info(n);
    });
}
