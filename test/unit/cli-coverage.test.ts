import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { notRunThroughCli } from '../cli-coverage.ts';

function program(): Command {
  const p = new Command().name('migrate').option('-c, --config <file>', 'config');
  p.command('up').option('--to <id>', 'to').option('--lock-timeout <d>', 'lock');
  const sb = p.command('sandbox');
  sb.command('up').option('--topology <t>', 't').option('--dir <d>', 'd');
  sb.command('down').option('--dir <d>', 'd');
  return p;
}

describe('which commands and flags a run executed through the CLI', () => {
  it('names commands never run, flags never passed to their command, and unused global options', () => {
    const runs = [
      ['-c', 'x.json', 'up', '--to', '0002'],
      ['sandbox', 'up', '--dir=/tmp/s'],
      ['--lock-timeout', '1s'],
    ];
    // `--lock-timeout` with no command ran nothing: it does not count for `up`.
    expect(notRunThroughCli(program(), runs)).toEqual(['sandbox down', 'sandbox up --topology', 'up --lock-timeout']);
  });

  it('a global option with a value is not taken for the command word; -c counts as --config', () => {
    expect(notRunThroughCli(program(), [['--config', 'up', 'sandbox', 'down', '--dir', 'd']])).toContain('up');
    expect(notRunThroughCli(program(), [['-c', 'f', 'sandbox', 'down']])).not.toContain('--config');
    expect(notRunThroughCli(program(), [['sandbox', 'down']])).toContain('--config');
  });
});
