import { Command, CommanderError } from 'commander';
import { EXIT_USAGE, isMigrateError, messageOf } from '../errors.ts';
import { redact } from '../log/index.ts';

type Register = (program: Command) => void;

/**
 * The modules that register commands, in the order `--help` lists them. Each is imported only
 * when needed: `check` alone pulls in the whole analysis engine, which `migrate up` never uses.
 */
const MODULES = {
  migrations: async (): Promise<Register> => (await import('./commands/migrations.ts')).registerMigrationCommands,
  check: async (): Promise<Register> => (await import('./commands/check.ts')).registerCheckCommands,
  sandbox: async (): Promise<Register> => (await import('./commands/sandbox.ts')).registerSandboxCommands,
  shadow: async (): Promise<Register> => (await import('./commands/shadow.ts')).registerShadowCommands,
  topology: async (): Promise<Register> => (await import('./commands/topology.ts')).registerTopologyCommands,
  apply: async (): Promise<Register> => (await import('./commands/apply.ts')).registerApplyCommands,
} as const;

export type CommandModule = keyof typeof MODULES;

/**
 * Which module registers each top-level command. A word missing here (a new command, `help`, a
 * typo) loads every module, so a stale entry costs start-up time, never a command; a test checks
 * that the table matches what the modules register.
 */
export const COMMAND_MODULE: Readonly<Record<string, CommandModule>> = {
  status: 'migrations',
  up: 'migrations',
  down: 'migrations',
  make: 'migrations',
  'ack-drift': 'migrations',
  repair: 'migrations',
  adopt: 'migrations',
  check: 'check',
  plan: 'check',
  sandbox: 'sandbox',
  shadow: 'shadow',
  topology: 'topology',
  apply: 'apply',
  continue: 'apply',
  resume: 'apply',
  runs: 'apply',
  abort: 'apply',
  finalize: 'apply',
  rollback: 'apply',
};

/** The command word of argv (node, script, ...args): the first argument that is not a global option. */
export function commandWord(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') return args[i + 1];
    if (a === '-c' || a === '--config' || a === '--layout') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a;
  }
  return undefined;
}

/** The program with every command, or (given argv naming a known command) only that command's module. */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name('migrate')
    .description('Zero-downtime schema migrations for MariaDB/MySQL and PostgreSQL')
    .option('-c, --config <file>', 'config file (default: migrate.config.{ts,js,json} in the current directory, else DATABASE_URL)')
    .option(
      '--layout <layout>',
      'how the migration files are laid out: auto (default), native, golang-migrate, goose, dbmate, flyway, pop, knex (docs/adopting.md)',
    )
    // Commander's own usage errors get the same error/fix pair as ours.
    .configureOutput({
      outputError: (str, write) =>
        write(redact(`${str.trimEnd()}\nfix: run "migrate --help" (or "migrate <command> --help") for the commands and their options.\n`)),
    })
    .exitOverride();
  const word = argv ? commandWord(argv) : undefined;
  const only = word !== undefined && Object.hasOwn(COMMAND_MODULE, word) ? COMMAND_MODULE[word] : undefined;
  const names = only ? [only] : (Object.keys(MODULES) as CommandModule[]);
  const registers = await Promise.all(names.map((n) => MODULES[n]()));
  for (const register of registers) register(program);
  return program;
}

/** Runs the CLI and returns the exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      // commander already printed "error: unknown option ..." plus our hint.
      return EXIT_USAGE;
    }
    if (isMigrateError(e)) {
      process.stderr.write(`${redact(`error: ${e.problem}\nfix: ${e.fix}`)}\n`);
      return e.exitCode;
    }
    process.stderr.write(`${redact(`error: unexpected failure: ${messageOf(e)}`)}\n`);
    if (process.env['MIGRATE_DEBUG'] && e instanceof Error && e.stack) process.stderr.write(`${redact(e.stack)}\n`);
    return 1;
  }
}
