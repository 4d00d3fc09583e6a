import type { Dialect } from '../../src/config/types.ts';

/**
 * Why the server refused an old statement after the up. `name`: something the statement names is gone
 * (column, table, view, function). `type`: a value the statement writes is outside the column's type now
 * (too long, out of range, not a label of the ENUM, not representable in the character set). `constraint`:
 * the type still holds the value but a key, foreign key, CHECK or NOT NULL refuses the row. README.md,
 * "phase", says why only the first two make a migration wait for the new release.
 */
export type RefusalClass = 'name' | 'type' | 'constraint' | 'other';
const MARIADB_CLASSES: Record<string, RefusalClass> = {
  '1054': 'name', // ER_BAD_FIELD_ERROR: Unknown column
  '1146': 'name', // ER_NO_SUCH_TABLE
  '1109': 'name', // ER_UNKNOWN_TABLE
  '1356': 'name', // ER_VIEW_INVALID: the view names what is gone
  '1305': 'name', // ER_SP_DOES_NOT_EXIST
  '1406': 'type', // ER_DATA_TOO_LONG
  '1264': 'type', // ER_WARN_DATA_OUT_OF_RANGE
  '1265': 'type', // WARN_DATA_TRUNCATED (a value not in the ENUM, strict mode)
  '1366': 'type', // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD (a character the charset lacks, a string into a number)
  '1292': 'type', // ER_TRUNCATED_WRONG_VALUE (datetime)
  '1062': 'constraint', // ER_DUP_ENTRY
  '1452': 'constraint', // ER_NO_REFERENCED_ROW_2
  '1451': 'constraint', // ER_ROW_IS_REFERENCED_2
  '4025': 'constraint', // ER_CONSTRAINT_FAILED (CHECK)
  '1048': 'constraint', // ER_BAD_NULL_ERROR
  '1364': 'constraint', // ER_NO_DEFAULT_FOR_FIELD: a NOT NULL column the INSERT leaves out
};
const POSTGRES_CLASSES: Record<string, RefusalClass> = {
  '42703': 'name', // undefined_column
  '42P01': 'name', // undefined_table
  '42883': 'name', // undefined_function
  '42704': 'name', // undefined_object
  '42804': 'type', // datatype_mismatch
};

export function refusalClass(d: Dialect, code: string): RefusalClass {
  if (d === 'mysql') return MARIADB_CLASSES[code] ?? 'other';
  if (POSTGRES_CLASSES[code]) return POSTGRES_CLASSES[code];
  // Class 22, data exception (22001 too long, 22003 out of range, 22P02 invalid input for the type);
  // class 23, integrity constraint violation (23502 NOT NULL, 23503 FK, 23505 unique, 23514 CHECK).
  if (code.startsWith('22')) return 'type';
  if (code.startsWith('23')) return 'constraint';
  return 'other';
}

export interface PhaseMeasurement {
  value: 'pre-deploy' | 'post-deploy' | 'unmeasured';
  evidence: string;
  /** Every old statement the server refused after the up (it ran before it), with the server's code. */
  refused?: { statement: string; code: string; class: RefusalClass; message: string }[];
  /** Every old write that still runs after the up but stores other values in the columns it names (before: as before the up). */
  altered?: { statement: string; before: string; after: string }[];
  /**
   * Old INSERT/UPDATE statements that run before and after the up but whose stored values were not read
   * back (a shape the reader does not parse: no column list, a schema-qualified name, an alias): the
   * policy could not see whether they store other values, so the count is part of the evidence.
   */
  unobserved?: string[];
}

/**
 * The phase policy (README.md, "phase"), applied to the old statements the up broke, written apart from
 * src/analysis/verdict.ts: post-deploy when the up takes away something the running release uses (a name
 * it names, a type its values fit), so the migration waits until no old code runs; pre-deploy otherwise.
 * It reads the servers' answers only: a case's declared `-- phase:` is the user's word, which the engine
 * echoes, so it never enters the measurement (a case that declares otherwise carries a known-disagreement).
 */
export function phasePolicy(
  refused: NonNullable<PhaseMeasurement['refused']>,
  altered: NonNullable<PhaseMeasurement['altered']>,
  /** The old INSERT/UPDATE statements that run after the up: how many were read back, and those that could not be. */
  writes: { readBack: number; unobserved: string[] },
  statements: number,
  where: string,
): PhaseMeasurement {
  const schema = refused.filter((r) => r.class === 'name' || r.class === 'type');
  const other = refused.filter((r) => r.class === 'other');
  const ex = (r: (typeof refused)[number]) => `${r.statement} -> ${r.code} (${r.class}): ${r.message}`;
  let out: PhaseMeasurement;
  if (schema.length)
    out = {
      value: 'post-deploy',
      evidence: `${schema.length} of ${statements} old statements ${where}fail after up because a name they use is gone or a value they write no longer fits its type, e.g. ${ex(schema[0]!)}`,
    };
  else if (altered.length)
    out = {
      value: 'post-deploy',
      evidence: `${altered.length} of ${statements} old writes ${where}still run after up but store other values than before it (the type no longer holds what they write), e.g. ${altered[0]!.statement} stored ${altered[0]!.before} before up, ${altered[0]!.after} after`,
    };
  else if (other.length) out = { value: 'unmeasured', evidence: `an old statement fails after up for a reason the policy does not classify: ${ex(other[0]!)}` };
  else
    out = {
      value: 'pre-deploy',
      evidence: refused.length
        ? `the ${refused.length} old statements that fail after up are refused by a constraint on the data only (the names and types they use remain), e.g. ${ex(refused[0]!)}`
        : `all ${statements} old statements ${where}still run after up: nothing the running release uses is taken away`,
    };
  const { readBack, unobserved } = writes;
  const n = unobserved.length;
  if (n) {
    out.evidence += `; ${n} of ${readBack + n} old INSERT/UPDATE statements that run after up could not be read back (not INSERT INTO t (columns) / UPDATE t SET ...), so whether ${n === 1 ? 'it stores' : 'they store'} other values is not observed, e.g. ${unobserved[0]}`;
    // Pre-deploy claims that no old write changes meaning; with writes unseen that is not measured.
    if (out.value === 'pre-deploy') out.value = 'unmeasured';
  } else if (readBack) out.evidence += `; all ${readBack} old INSERT/UPDATE statements that run after up were read back and compared`;
  if (refused.length) out.refused = refused;
  if (altered.length) out.altered = altered;
  if (n) out.unobserved = unobserved;
  return out;
}
