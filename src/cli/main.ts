import { Command, CommanderError } from 'commander';
import { EXIT_USAGE, isMigrateError, messageOf } from '../errors.ts';
import { redact } from '../log/redact.ts';
import { registerApplyCommands } from './commands/apply.ts';
import { registerCheckCommands } from './commands/check.ts';
import { registerMigrationCommands } from './commands/migrations.ts';
import { registerSandboxCommands } from './commands/sandbox.ts';
import { registerTopologyCommands } from './commands/topology.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('migrate')
    .description('Zero-downtime schema migrations for MariaDB/MySQL and PostgreSQL')
    .option('-c, --config <file>', 'config file (default: migrate.config.{ts,js,json} in the current directory, else DATABASE_URL)')
    // Commander's own usage errors get the same error/fix pair as ours.
    .configureOutput({
      outputError: (str, write) =>
        write(redact(`${str.trimEnd()}\nfix: run "migrate --help" (or "migrate <command> --help") for the commands and their options.\n`)),
    })
    .exitOverride();
  registerMigrationCommands(program);
  registerCheckCommands(program);
  registerSandboxCommands(program);
  registerTopologyCommands(program);
  registerApplyCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      // commander already printed "error: unknown option ..." plus our hint.
      return EXIT_USAGE;
    }
    if (isMigrateError(e)) {
      process.stderr.write(redact(`error: ${e.problem}\nfix: ${e.fix}`) + '\n');
      return e.exitCode;
    }
    process.stderr.write(redact(`error: unexpected failure: ${messageOf(e)}`) + '\n');
    if (process.env['MIGRATE_DEBUG'] && e instanceof Error && e.stack) process.stderr.write(redact(e.stack) + '\n');
    return 1;
  }
}
