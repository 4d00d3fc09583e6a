/**
 * The version another tool records for one of our migration ids (the file stem), and how that
 * tool compares versions. Pure: no file or database is read.
 *
 * A stand-in for `versionOfId` of src/migrations/layouts/version.ts (written with the layout
 * loaders), with the same semantics; the two are to become one.
 */

/** The tools that record versions rather than file names (knex records names). */
export type VersionedTool = 'golang-migrate' | 'goose' | 'dbmate' | 'flyway';

const LEADING_DIGITS = /^(\d+)/;
// Flyway's default versioned prefix and separator: V1__x, V1.1__x, V1_1__x.
const FLYWAY_VERSIONED = /^V(\d+(?:[._]\d+)*)__/;

/**
 * The tool's version of a migration id, as the tool would write it in its table:
 * golang-migrate / goose: the leading digits as a number ("0002_x" -> "2");
 * dbmate: the leading digits as written ("0002_x" -> "0002");
 * Flyway: the version of a V file, "_" read as "." ("V1_1__x" -> "1.1"); undefined for R__ / U files.
 */
export function versionOfId(id: string, tool: VersionedTool): string | undefined {
  if (tool === 'flyway') {
    const m = FLYWAY_VERSIONED.exec(id);
    return m?.[1] ? flywayVersion(m[1]) : undefined;
  }
  const digits = LEADING_DIGITS.exec(id)?.[1];
  if (digits === undefined) return undefined;
  return tool === 'dbmate' ? digits : BigInt(digits).toString();
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
 * the string itself (dbmate keeps "0002" and "2" apart), Flyway's segments without trailing zero
 * segments (Flyway takes 1.0 and 1 for the same version). undefined when `v` is not a version
 * of that tool (e.g. "abc" for goose).
 */
export function versionKey(v: string, tool: VersionedTool): string | undefined {
  const t = v.trim();
  if (tool === 'dbmate') return /^\d+$/.test(t) ? t : undefined;
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
