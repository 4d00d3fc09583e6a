/**
 * The migration-history layouts the loader understands, and the version each tool keeps for a
 * migration id. Ids are file stems in every layout (golang-migrate, goose, dbmate:
 * `20230101120000_create_users`; Flyway: `V2__add_users`), so a ledger written by the old tool
 * (which stores versions, not names) is matched to files through versionOfId.
 */

import { LAYOUT_CHOICES, type LayoutChoice, MIGRATION_LAYOUTS, type MigrationLayout } from '../../config/index.ts';

/** `native` is this tool's own `<id>.up.sql`/`.down.sql` + TS/JS module layout. */
export const LAYOUTS = MIGRATION_LAYOUTS;
export type Layout = MigrationLayout;
/** What the config key / --layout flag accept: a layout, or `auto` (detected from the files). */
export type { LayoutChoice };
export { LAYOUT_CHOICES };

export function isLayoutChoice(v: string): v is LayoutChoice {
  return (LAYOUT_CHOICES as readonly string[]).includes(v);
}

const LEADING_DIGITS = /^(\d+)(?:_|$)/;
const FLYWAY_VERSIONED = /^V(\d+(?:[._]\d+)*)__/;

/**
 * The version the migration's tool records for `id`, or undefined when the layout keeps none
 * (native, knex, a Flyway repeatable) or the id does not carry one.
 *  - golang-migrate, goose: the leading digits as a number, written without leading zeros
 *    (both tools parse the version as an integer: `0002_x` is version 2);
 *  - dbmate, pop: the leading digit string exactly (both store and compare the string);
 *  - flyway: `V1_1__x` -> `1.1` (Flyway writes `_` separators as dots in its history).
 */
export function versionOfId(id: string, layout: Layout): string | undefined {
  switch (layout) {
    case 'golang-migrate':
    case 'goose': {
      const m = LEADING_DIGITS.exec(id);
      return m?.[1] !== undefined ? BigInt(m[1]).toString() : undefined;
    }
    case 'dbmate':
    case 'pop':
      return LEADING_DIGITS.exec(id)?.[1];
    case 'flyway':
      return FLYWAY_VERSIONED.exec(id)?.[1]?.replace(/_/g, '.');
    default:
      return undefined;
  }
}

/**
 * Orders two versions as their tools do: dot-separated segments compared as integers
 * (`2` < `100`, `1.1` < `1.10`, `1` == `1.0`). Both golang-migrate/goose integers and Flyway
 * dotted versions fit this.
 */
export function compareVersions(a: string, b: string): number {
  const as = a.split('.').map((s) => BigInt(s));
  const bs = b.split('.').map((s) => BigInt(s));
  for (let k = 0; k < Math.max(as.length, bs.length); k++) {
    const x = as[k] ?? 0n;
    const y = bs[k] ?? 0n;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
