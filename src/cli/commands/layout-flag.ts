import type { Command } from 'commander';
import { LAYOUT_CHOICES, type LayoutChoice } from '../../config/index.ts';
import { usageError } from '../../errors.ts';

/** The global --layout flag, checked; undefined when not given (the config's migrations.layout, else auto, applies). */
export function layoutFlag(cmd: Command): LayoutChoice | undefined {
  const v = cmd.optsWithGlobals<{ layout?: string }>().layout;
  if (v === undefined) return undefined;
  const choice = LAYOUT_CHOICES.find((l) => l === v);
  if (!choice) throw usageError(`--layout "${v}" is not a layout.`, `Use one of ${LAYOUT_CHOICES.join(', ')} (docs/adopting.md).`);
  return choice;
}
