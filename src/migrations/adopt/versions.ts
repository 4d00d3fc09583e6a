/**
 * How another tool's recorded versions compare with the versions of our migration files. Pure: no
 * file or database is read. The version of a file is the loader's (layouts/version.ts); what is
 * here normalises the tool's side (Flyway 1.0 = 1 = 1_0, golang-migrate 0002 = 2).
 */
import { versionOfId as layoutVersionOfId } from '../layouts/version.ts';

/** The tools that record versions rather than file names (knex records names). */
export type VersionedTool = 'golang-migrate' | 'goose' | 'dbmate' | 'flyway' | 'pop';

/**
 * The tool's version of a migration id, as the loader reads it (layouts/version.ts: one definition
 * for the loader and the adoption); undefined for ids that carry none (Flyway R__ / U files).
 */
export function versionOfId(id: string, tool: VersionedTool): string | undefined {
  const v = layoutVersionOfId(id, tool);
  // Flyway prints a version's segments as numbers (V1_01 is 1.1 in its history).
  return tool === 'flyway' && v !== undefined ? flywayVersion(v) : v;
}

/** "1_01" / "1.01" -> "1.1": segments as numbers, the separator Flyway prints. */
function flywayVersion(v: string): string {
  return v
    .split(/[._]/)
    .map((s) => BigInt(s).toString())
    .join('.');
}

/**
 * The form two versions are equal in: a number without leading zeros (golang-migrate, goose),
 * the string itself (dbmate and pop keep "0002" and "2" apart), Flyway's segments without trailing zero
 * segments (Flyway takes 1.0 and 1 for the same version). undefined when `v` is not a version
 * of that tool (e.g. "abc" for goose).
 */
export function versionKey(v: string, tool: VersionedTool): string | undefined {
  const t = v.trim();
  if (tool === 'dbmate' || tool === 'pop') return /^\d+$/.test(t) ? t : undefined;
  if (tool === 'flyway') {
    if (!/^\d+(?:[._]\d+)*$/.test(t)) return undefined;
    const segs = flywayVersion(t).split('.');
    while (segs.length > 1 && segs.at(-1) === '0') segs.pop();
    return segs.join('.');
  }
  return /^-?\d+$/.test(t) ? BigInt(t).toString() : undefined;
}

/** Numeric order of two versions of the tool; dbmate's digit strings too. Not versions: code-unit order. */
export function compareVersions(a: string, b: string, tool: VersionedTool): number {
  const ka = versionKey(a, tool);
  const kb = versionKey(b, tool);
  if (ka === undefined || kb === undefined) return a < b ? -1 : a > b ? 1 : 0;
  const sa = ka.split('.');
  const sb = kb.split('.');
  for (let k = 0; k < Math.max(sa.length, sb.length); k++) {
    const x = BigInt(sa[k] ?? '0');
    const y = BigInt(sb[k] ?? '0');
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
