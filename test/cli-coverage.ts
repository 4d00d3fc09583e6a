/**
 * Which commands and flags of `migrate --help` a test run ran through the CLI (a `bin/migrate`
 * child process): commander's own list against the argument lists test/setup/record-cli.mjs
 * recorded. test/global-setup.ts checks it at the end of a full run (`npm test`).
 */
import type { Command, Option } from 'commander';

export interface CommandEntry {
  /** e.g. ['sandbox', 'up']. */
  words: string[];
  options: Option[];
}

/** Every runnable command (groups such as `sandbox` only through their subcommands). */
export function commandsOf(c: Command, path: string[] = []): CommandEntry[] {
  return c.commands.flatMap((sub) => {
    const words = [...path, sub.name()];
    const nested = commandsOf(sub, words);
    return sub.commands.length ? nested : [{ words, options: [...sub.options] }, ...nested];
  });
}

/** The long names of the flags in one argument list, short ones (-c) mapped through `options`. */
function flagsIn(args: readonly string[], options: readonly Option[]): Set<string> {
  const out = new Set<string>();
  for (const a of args) {
    if (a === '--') break;
    if (a.startsWith('--')) out.add(a.split('=')[0]!);
    else if (/^-[A-Za-z]$/.test(a)) {
      const o = options.find((x) => x.short === a);
      if (o?.long) out.add(o.long);
    }
  }
  return out;
}

/** The command words of an argument list: the first words that are not options or option values. */
function wordsOf(args: readonly string[], globalWithValue: ReadonlySet<string>): string[] {
  const words: string[] = [];
  for (let i = 0; i < args.length && words.length < 2; i++) {
    const a = args[i]!;
    if (globalWithValue.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) {
      if (words.length) break;
      continue;
    }
    words.push(a);
  }
  return words;
}

/**
 * "sandbox up", "apply --canary", "--config": what `program` offers that no recorded argument
 * list ran. A flag counts for a command only when passed to that command.
 */
export function notRunThroughCli(program: Command, runs: readonly (readonly string[])[]): string[] {
  const globalWithValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)));
  const parsed = runs.map((args) => ({ words: wordsOf(args, globalWithValue), args }));
  const notRun: string[] = [];
  for (const { words, options } of commandsOf(program)) {
    const mine = parsed.filter((r) => words.every((w, i) => r.words[i] === w));
    if (!mine.length) {
      notRun.push(words.join(' '));
      continue;
    }
    const seen = new Set(mine.flatMap((r) => [...flagsIn(r.args, [...options, ...program.options])]));
    for (const o of options) if (o.long && !seen.has(o.long) && o.long !== '--help') notRun.push(`${words.join(' ')} ${o.long}`);
  }
  const all = new Set(parsed.flatMap((r) => [...flagsIn(r.args, program.options)]));
  for (const o of program.options) if (o.long && !all.has(o.long)) notRun.push(o.long);
  return notRun.sort();
}
