import { readdirSync, readFileSync } from 'node:fs';

/** Every process (not only servers) whose command line names `dir`: what a test checks is gone after `down`. */
export function processesReferencing(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(dir)) out.push(`${e}: ${cmd}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}
