/**
 * Replica-first truth table: the cases, one ALTER each, whose real MariaDB row-based replication
 * (table different between source and replica) is measured by `npm run corpus:measure-replica-first`
 * (scripts/replica-first-measure.ts, method in ./measure.ts) into ./measured.json, and re-measured
 * by test/integration/replica-first-truth.test.ts, which compares the servers and the engine with
 * that file. This file holds only what is run; what the servers did is in measured.json.
 *
 * Directions:
 *   forward  old-schema primary -> altered replica (the replica-first step: ALTER on the replica
 *            with sql_log_bin=0, then old-code writes on the primary).
 *   reverse  altered (new-schema) source -> old-schema replica (the master-master hold period:
 *            ALTER on the primary with sql_log_bin=0, new-code writes on it, the replica keeps
 *            the old schema).
 * Settings are slave_type_conversions on the APPLYING side (the replica in both runs): see
 * SETTING_VALUE in ./measure.ts for which are run.
 *
 * Statements use {t} for the table; the measurement substitutes a fresh name per run.
 * A case changed here must be measured again (measured.json records a digest of what each case runs).
 */
import type { SettingKey } from './measure.ts';

export interface ReplicaFirstCase {
  name: string;
  title: string;
  create: string;
  /** Rows written before the ALTER (they replicate, so both sides start equal). */
  seed: string[];
  /** The migration under test (one ALTER). */
  alter: string;
  /** Writes on the primary after the ALTER, in old-schema terms (forward) ... */
  dml: string[];
  /** ... and in new-schema terms (reverse); defaults to `dml`. */
  dmlNew?: string[];
  /** Column renames old -> new, so rows compare by name across the rename. */
  renames?: Record<string, string>;
  /**
   * Expected value, in rows the DML inserted, of a column only the APPLYING side has (what the
   * replica would store had it run the statement itself): forward = the new schema's extra
   * columns, reverse = the old schema's. Rows that existed before must keep their value.
   */
  applierOnly?: { forward?: Record<string, string | null>; reverse?: Record<string, string | null> };
  /** The forward outcome depends on the data the old code writes, not only on the schemas (why). */
  dataDependent?: string;
  /**
   * Why the case exists and what its measurement showed when it was added, for readers (not
   * asserted: measured.json is what the servers do).
   */
  note?: string;
}

const STR = 'CREATE TABLE {t} (id INT PRIMARY KEY, a VARCHAR(20), b VARCHAR(20), c VARCHAR(20))';
const STR_SEED = ["INSERT INTO {t} VALUES (1, 'a1', 'b1', 'c1'), (2, 'a2', 'b2', 'c2'), (3, 'a3', 'b3', 'c3')"];
const STR_DML = [
  "INSERT INTO {t} (id, a, b, c) VALUES (100, 'a100', 'b100', 'c100'), (101, NULL, 'b101', NULL)",
  "UPDATE {t} SET a = 'a1u', b = 'b1u', c = 'c1u' WHERE id = 1",
  'UPDATE {t} SET c = NULL WHERE id = 2',
  'DELETE FROM {t} WHERE id = 3',
];

const MIX = 'CREATE TABLE {t} (id INT PRIMARY KEY, a VARCHAR(20), n INT, b VARCHAR(20))';
const MIX_SEED = ["INSERT INTO {t} VALUES (1, 'a1', 11, 'b1'), (2, 'a2', 12, 'b2'), (3, 'a3', 13, 'b3')"];
const MIX_DML = [
  "INSERT INTO {t} (id, a, n, b) VALUES (100, 'a100', 1100, 'b100'), (101, NULL, NULL, 'b101')",
  "UPDATE {t} SET a = 'a1u', n = 111, b = 'b1u' WHERE id = 1",
  'DELETE FROM {t} WHERE id = 3',
];

/** One-column-under-test table: id, the column x, and a trailing marker column z. */
const one = (type: string, seed: string[], extra: string[]): { create: string; seed: string[]; dml: string[] } => ({
  create: `CREATE TABLE {t} (id INT PRIMARY KEY, x ${type}, z VARCHAR(20))`,
  seed: [`INSERT INTO {t} VALUES ${seed.map((v, i) => `(${i + 1}, ${v}, 'z${i + 1}')`).join(', ')}`],
  dml: [
    ...extra.map((v, i) => `INSERT INTO {t} (id, x, z) VALUES (${100 + i}, ${v}, 'z${100 + i}')`),
    `UPDATE {t} SET x = ${extra[0]}, z = 'z1u' WHERE id = 1`,
    'DELETE FROM {t} WHERE id = 3',
  ],
});

/** ENUM('v1', ..., 'v255'): the most values that still fit one byte. */
const E255 = Array.from({ length: 255 }, (_, i) => `'v${i + 1}'`).join(',');

const long = (n: number, ch = 'L'): string => `'${ch.repeat(n)}'`;

export const CASES: ReplicaFirstCase[] = [
  {
    name: 'add_column_end_default',
    title: 'ADD COLUMN at the end with a default',
    create: STR,
    seed: STR_SEED,
    alter: "ALTER TABLE {t} ADD COLUMN d VARCHAR(20) NOT NULL DEFAULT 'dflt'",
    dml: STR_DML,
    dmlNew: [
      "INSERT INTO {t} (id, a, b, c, d) VALUES (100, 'a100', 'b100', 'c100', 'd100'), (101, NULL, 'b101', NULL, 'd101')",
      "UPDATE {t} SET a = 'a1u', b = 'b1u', c = 'c1u', d = 'd1u' WHERE id = 1",
      'UPDATE {t} SET c = NULL WHERE id = 2',
      'DELETE FROM {t} WHERE id = 3',
    ],
    applierOnly: { forward: { d: 'dflt' } },
  },
  {
    name: 'add_column_end_not_null_no_default',
    title: 'ADD COLUMN at the end, NOT NULL without a default',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} ADD COLUMN d INT NOT NULL',
    dml: STR_DML,
    dmlNew: [
      "INSERT INTO {t} (id, a, b, c, d) VALUES (100, 'a100', 'b100', 'c100', 7100), (101, NULL, 'b101', NULL, 7101)",
      "UPDATE {t} SET a = 'a1u', b = 'b1u', c = 'c1u', d = 71 WHERE id = 1",
      'UPDATE {t} SET c = NULL WHERE id = 2',
      'DELETE FROM {t} WHERE id = 3',
    ],
    applierOnly: { forward: { d: '0' } },
    note: 'Rows from the old primary get the implicit default 0 on the replica, silently; in place, the same old-code INSERT would fail (1364) instead.',
  },
  {
    name: 'add_column_after',
    title: 'ADD COLUMN in the middle (AFTER), all columns strings',
    create: STR,
    seed: STR_SEED,
    alter: "ALTER TABLE {t} ADD COLUMN d VARCHAR(20) NOT NULL DEFAULT 'dflt' AFTER a",
    dml: STR_DML,
    dmlNew: [
      "INSERT INTO {t} (id, a, d, b, c) VALUES (100, 'a100', 'd100', 'b100', 'c100'), (101, NULL, 'd101', 'b101', NULL)",
      "UPDATE {t} SET a = 'a1u', d = 'd1u', b = 'b1u', c = 'c1u' WHERE id = 1",
      'UPDATE {t} SET c = NULL WHERE id = 2',
      'DELETE FROM {t} WHERE id = 3',
    ],
    applierOnly: { forward: { d: 'dflt' } },
    note: "Silent: the replica's d gets b's value, b gets c's; c keeps its old value on UPDATE. Back: the same shift the other way.",
  },
  {
    name: 'add_column_after_mixed_types',
    title: 'ADD COLUMN in the middle (AFTER), followed by a column of another type',
    create: MIX,
    seed: MIX_SEED,
    alter: "ALTER TABLE {t} ADD COLUMN d VARCHAR(20) NOT NULL DEFAULT 'dflt' AFTER a",
    dml: MIX_DML,
    dmlNew: [
      "INSERT INTO {t} (id, a, d, n, b) VALUES (100, 'a100', 'd100', 1100, 'b100'), (101, NULL, 'd101', NULL, 'b101')",
      "UPDATE {t} SET a = 'a1u', d = 'd1u', n = 111, b = 'b1u' WHERE id = 1",
      'DELETE FROM {t} WHERE id = 3',
    ],
    applierOnly: { forward: { d: 'dflt' } },
    note: 'The shift lands an INT in a VARCHAR: 1677 under every setting (cross-family), so the same ALTER stops instead of corrupting when the types differ.',
  },
  {
    name: 'add_column_first',
    title: 'ADD COLUMN FIRST',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} ADD COLUMN d INT NOT NULL DEFAULT 0 FIRST',
    dml: STR_DML,
    dmlNew: [
      "INSERT INTO {t} (d, id, a, b, c) VALUES (9100, 100, 'a100', 'b100', 'c100'), (9101, 101, NULL, 'b101', NULL)",
      "UPDATE {t} SET a = 'a1u', b = 'b1u', c = 'c1u', d = 91 WHERE id = 1",
      'UPDATE {t} SET c = NULL WHERE id = 2',
      'DELETE FROM {t} WHERE id = 3',
    ],
    applierOnly: { forward: { d: '0' } },
    note: 'The shift lands a VARCHAR in the INT id: 1677 under every setting.',
  },
  {
    name: 'drop_last_column',
    title: 'DROP the last column',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} DROP COLUMN c',
    dml: STR_DML,
    dmlNew: [
      "INSERT INTO {t} (id, a, b) VALUES (100, 'a100', 'b100'), (101, NULL, 'b101')",
      "UPDATE {t} SET a = 'a1u', b = 'b1u' WHERE id = 1",
      "UPDATE {t} SET a = 'a2u' WHERE id = 2",
      'DELETE FROM {t} WHERE id = 3',
    ],
    applierOnly: { reverse: { c: null } },
    note: "Extra source columns at the end are discarded; back, the old side's c keeps its value on UPDATE and gets its default on INSERT.",
  },
  {
    name: 'drop_middle_column',
    title: 'DROP a middle column',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} DROP COLUMN b',
    dml: STR_DML,
    dmlNew: [
      "INSERT INTO {t} (id, a, c) VALUES (100, 'a100', 'c100'), (101, NULL, NULL)",
      "UPDATE {t} SET a = 'a1u', c = 'c1u' WHERE id = 1",
      'UPDATE {t} SET c = NULL WHERE id = 2',
      'DELETE FROM {t} WHERE id = 3',
    ],
    applierOnly: { reverse: { b: null } },
    note: "Silent: the replica's c receives b's value.",
  },
  {
    name: 'int_to_bigint',
    title: 'INT -> BIGINT',
    ...one('INT', ['11', '-12', '2147483647'], ['1100', 'NULL', '-2147483648']),
    alter: 'ALTER TABLE {t} MODIFY x BIGINT',
    dmlNew: one('BIGINT', [], ['5000000000', 'NULL', '-2147483648']).dml,
    note: 'Back (BIGINT -> INT) only ALL_LOSSY converts, and it clips 5000000000 to 2147483647.',
  },
  {
    name: 'bigint_to_int',
    title: 'BIGINT -> INT',
    ...one('BIGINT', ['11', '-12', '2147483647'], ['5000000000', 'NULL', '1100']),
    alter: 'ALTER TABLE {t} MODIFY x INT',
    dmlNew: one('INT', [], ['1100', 'NULL', '-2147483648']).dml,
    note: 'ALL_LOSSY clips what the old code writes beyond INT, silently.',
  },
  {
    name: 'char120_to_varchar200',
    title: 'CHAR(120) -> VARCHAR(200)',
    ...one('CHAR(120)', ["'s1'", "'s2'", long(120)], ["'s100'", 'NULL', long(119, 'M')]),
    alter: 'ALTER TABLE {t} MODIFY x VARCHAR(200)',
    dmlNew: one('VARCHAR(200)', [], ["'s100'", 'NULL', long(150, 'M')]).dml,
    note: 'Back, ALL_LOSSY truncates the 150-character value to 120.',
  },
  {
    name: 'varchar50_to_varchar60',
    title: 'VARCHAR(50) -> VARCHAR(60)',
    ...one('VARCHAR(50)', ["'s1'", "'s2'", long(50)], ["'s100'", 'NULL', long(50, 'M')]),
    alter: 'ALTER TABLE {t} MODIFY x VARCHAR(60)',
    dmlNew: one('VARCHAR(60)', [], ["'s100'", 'NULL', long(55, 'M')]).dml,
    note: 'Even an INSTANT widening stops a replica-first replica under the default setting.',
  },
  {
    name: 'varchar200_to_varchar100',
    title: 'VARCHAR(200) -> VARCHAR(100)',
    ...one('VARCHAR(200)', ["'s1'", "'s2'", long(100)], ["'s100'", 'NULL', long(150, 'M')]),
    alter: 'ALTER TABLE {t} MODIFY x VARCHAR(100)',
    dmlNew: one('VARCHAR(100)', [], ["'s100'", 'NULL', long(100, 'M')]).dml,
  },
  {
    name: 'int_to_varchar',
    title: 'INT -> VARCHAR(20) (type family change)',
    ...one('INT', ['11', '-12', '13'], ['1100', 'NULL', '-2147483648']),
    alter: 'ALTER TABLE {t} MODIFY x VARCHAR(20)',
    dmlNew: one('VARCHAR(20)', [], ["'1100'", 'NULL', "'v102'"]).dml,
    note: 'Cross-family: 1677 under every setting, both ways.',
  },
  {
    name: 'enum_append',
    title: 'ENUM value appended at the end',
    ...one("ENUM('red','green','blue')", ["'red'", "'green'", "'blue'"], ["'blue'", 'NULL', "'green'"]),
    alter: "ALTER TABLE {t} MODIFY x ENUM('red','green','blue','violet')",
    dmlNew: one("ENUM('red','green','blue','violet')", [], ["'violet'", 'NULL', "'blue'"]).dml,
    note: "Back: the new value arrives as index 4, which the old side stores as '' (index 0), silently.",
  },
  {
    name: 'enum_insert_middle',
    title: 'ENUM value inserted in the middle',
    ...one("ENUM('red','green','blue')", ["'red'", "'green'", "'blue'"], ["'blue'", 'NULL', "'green'"]),
    alter: "ALTER TABLE {t} MODIFY x ENUM('red','orange','green','blue')",
    dmlNew: one("ENUM('red','orange','green','blue')", [], ["'blue'", "'orange'", "'green'"]).dml,
    note: "ENUM travels as its index: 'blue' (3) arrives as 'green' forward, as '' (index 4 of 3) back.",
  },
  {
    name: 'enum_remove',
    title: 'ENUM value removed',
    ...one("ENUM('red','green','blue')", ["'red'", "'blue'", "'red'"], ["'blue'", "'green'", 'NULL']),
    alter: "ALTER TABLE {t} MODIFY x ENUM('red','blue')",
    dmlNew: one("ENUM('red','blue')", [], ["'blue'", "'red'", 'NULL']).dml,
    note: "'blue' (3) arrives as '' forward (index 3 of 2); back 'blue' (2) arrives as 'green'.",
  },
  {
    name: 'set_not_null',
    title: 'SET NOT NULL on a nullable column (NULLs keep arriving)',
    ...one('VARCHAR(20)', ["'s1'", "'s2'", "'s3'"], ['NULL', "'s101'", 'NULL']),
    alter: 'ALTER TABLE {t} MODIFY x VARCHAR(20) NOT NULL',
    dmlNew: one('VARCHAR(20) NOT NULL', [], ["'s100'", "'s101'", "''"]).dml,
    note: "A NULL arrives as '' on the NOT NULL replica, no error, no warning.",
  },
  {
    name: 'add_index',
    title: 'ADD INDEX',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} ADD INDEX ix_b (b)',
    dml: STR_DML,
  },
  {
    name: 'add_unique',
    title: 'ADD UNIQUE, the old code writes no duplicates',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} ADD UNIQUE KEY uq_b (b)',
    dml: STR_DML,
  },
  {
    name: 'add_unique_duplicate_written',
    title: 'ADD UNIQUE, the old code writes a duplicate',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} ADD UNIQUE KEY uq_b (b)',
    dml: ["INSERT INTO {t} (id, a, b, c) VALUES (100, 'a100', 'b1', 'c100')"],
    dmlNew: ["INSERT INTO {t} (id, a, b, c) VALUES (100, 'a100', 'b100', 'c100'), (101, 'a101', 'b101', 'c101')"],
    dataDependent: 'replication stops only if the old code writes a duplicate; the primary accepts it, the replica cannot',
    note: 'The primary accepts the duplicate; the replica stops with 1062.',
  },
  {
    name: 'add_foreign_key_orphan_written',
    title: 'ADD FOREIGN KEY, the old code writes a row whose parent does not exist',
    create: 'CREATE TABLE {t} (id INT PRIMARY KEY, parent_id INT, a VARCHAR(20))',
    seed: ["INSERT INTO {t} VALUES (1, NULL, 'a1'), (2, 1, 'a2'), (3, 1, 'a3')"],
    alter: 'ALTER TABLE {t} ADD FOREIGN KEY (parent_id) REFERENCES {t} (id)',
    dml: ["INSERT INTO {t} (id, parent_id, a) VALUES (100, 999, 'a100')"],
    dmlNew: ["INSERT INTO {t} (id, parent_id, a) VALUES (100, 1, 'a100')", "UPDATE {t} SET a = 'a2u' WHERE id = 2"],
    note: 'The replica applies row events with foreign key checks on: the orphan the old primary accepted stops it (1452), whatever slave_type_conversions says.',
  },
  {
    name: 'rename_column',
    title: 'RENAME COLUMN',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} RENAME COLUMN b TO b2',
    dml: STR_DML,
    dmlNew: [
      "INSERT INTO {t} (id, a, b2, c) VALUES (100, 'a100', 'b100', 'c100'), (101, NULL, 'b101', NULL)",
      "UPDATE {t} SET a = 'a1u', b2 = 'b1u', c = 'c1u' WHERE id = 1",
      'UPDATE {t} SET c = NULL WHERE id = 2',
      'DELETE FROM {t} WHERE id = 3',
    ],
    renames: { b: 'b2' },
    note: 'Row events carry positions, not names: a rename is invisible to replication.',
  },
  {
    name: 'decimal_10_2_to_12_2',
    title: 'DECIMAL(10,2) -> DECIMAL(12,2)',
    ...one('DECIMAL(10,2)', ['1.25', '-2.50', '12345678.99'], ['1100.01', 'NULL', '-99999999.99']),
    alter: 'ALTER TABLE {t} MODIFY x DECIMAL(12,2)',
    dmlNew: one('DECIMAL(12,2)', [], ['9876543210.12', 'NULL', '-99999999.99']).dml,
    note: 'Back, ALL_LOSSY clips 9876543210.12 to 99999999.99.',
  },
  {
    name: 'column_reorder',
    title: 'Column reorder (MODIFY ... AFTER), same types',
    create: STR,
    seed: STR_SEED,
    alter: 'ALTER TABLE {t} MODIFY c VARCHAR(20) AFTER a',
    dml: STR_DML,
    note: 'Silent swap of b and c in both directions (same types).',
  },

  // --- Beyond the list: edges where the engine's type families may not match the server ---------
  {
    name: 'enum_append_past_255',
    title: 'ENUM value appended at the end, 255 -> 256 values (1 -> 2 bytes per value)',
    ...one(`ENUM(${E255})`, ["'v1'", "'v200'", "'v255'"], ["'v255'", 'NULL', "'v2'"]),
    alter: `ALTER TABLE {t} MODIFY x ENUM(${E255}, 'v256')`,
    dmlNew: one(`ENUM(${E255}, 'v256')`, [], ["'v256'", 'NULL', "'v2'"]).dml,
    note: "Unlike a small ENUM, the 256th value makes the column 2 bytes wide: 1677 under the default, correct with ALL_NON_LOSSY; back, ALL_LOSSY stores 'v256' as ''.",
  },
  {
    name: 'int_to_int_unsigned',
    title: 'INT -> INT UNSIGNED (signedness only)',
    ...one('INT', ['11', '12', '13'], ['1100', 'NULL', '-5']),
    alter: 'ALTER TABLE {t} MODIFY x INT UNSIGNED',
    dmlNew: one('INT UNSIGNED', [], ['3000000000', 'NULL', '1102']).dml,
    note: 'Signedness is not in the row event: no error under any setting; -5 arrives as 4294967291, and back 3000000000 as -1294967296.',
  },
  {
    name: 'varchar60_to_varchar100',
    title: 'VARCHAR(60) -> VARCHAR(100), utf8mb4: the length prefix grows from 1 to 2 bytes',
    ...one('VARCHAR(60)', ["'s1'", "'s2'", long(60)], ["'s100'", 'NULL', long(60, 'M')]),
    alter: 'ALTER TABLE {t} MODIFY x VARCHAR(100)',
    dmlNew: one('VARCHAR(100)', [], ["'s100'", 'NULL', long(90, 'M')]).dml,
    note: 'The length prefix grows to 2 bytes (400 octets in utf8mb4); ALL_NON_LOSSY still converts.',
  },
  {
    name: 'varchar_to_text',
    title: 'VARCHAR(100) -> TEXT',
    ...one('VARCHAR(100)', ["'s1'", "'s2'", long(100)], ["'s100'", 'NULL', long(100, 'M')]),
    alter: 'ALTER TABLE {t} MODIFY x TEXT',
    dmlNew: one('TEXT', [], ["'s100'", 'NULL', long(300, 'M')]).dml,
    note: 'VARCHAR -> TEXT converts with ALL_NON_LOSSY; back, ALL_LOSSY truncates to 100.',
  },
  {
    name: 'latin1_to_utf8mb4',
    title: 'VARCHAR(20) CHARACTER SET latin1 -> utf8mb4 (same type, other charset)',
    ...one('VARCHAR(20) CHARACTER SET latin1', ["'caf\u00e9 1'", "'s2'", "'s3'"], ["'na\u00efve 100'", 'NULL', "'\u00e9t\u00e9 102'"]),
    alter: 'ALTER TABLE {t} MODIFY x VARCHAR(20) CHARACTER SET utf8mb4',
    dmlNew: one('VARCHAR(20) CHARACTER SET utf8mb4', [], ["'na\u00efve 100'", 'NULL', "'\u00e9t\u00e9 102'"]).dml,
    note: "The bytes are copied, not converted: with ALL_NON_LOSSY, latin1 'ï' (0xEF) lands as an invalid utf8mb4 byte; back, with ALL_LOSSY, the UTF-8 bytes show up as latin1 mojibake.",
  },
  {
    name: 'float_to_double',
    title: 'FLOAT -> DOUBLE',
    ...one('FLOAT', ['1.5', '-2.25', '3.125'], ['1100.5', 'NULL', '-0.75']),
    alter: 'ALTER TABLE {t} MODIFY x DOUBLE',
    dmlNew: one('DOUBLE', [], ['1100.5', 'NULL', '0.1']).dml,
    note: 'Back, ALL_LOSSY converts (these values are exact in FLOAT).',
  },
  {
    name: 'datetime_to_datetime3',
    title: 'DATETIME -> DATETIME(3)',
    ...one('DATETIME', ["'2024-01-02 03:04:05'", "'2024-02-03 04:05:06'", "'2024-03-04 05:06:07'"], ["'2024-05-06 07:08:09'", 'NULL', "'1999-12-31 23:59:59'"]),
    alter: 'ALTER TABLE {t} MODIFY x DATETIME(3)',
    dmlNew: one('DATETIME(3)', [], ["'2024-05-06 07:08:09.123'", 'NULL', "'1999-12-31 23:59:59.999'"]).dml,
    note: 'The replica does not notice the precision change and misreads the row: error 1030 (HA_ERR_CORRUPT_EVENT) under every setting, so slave_type_conversions does not cover temporal precision. Back, ALL_LOSSY drops the fraction.',
  },
];

/**
 * Does SET GLOBAL slave_type_conversions reach a running SQL thread, or must it be restarted?
 * (The executor restarts it; this records whether that is needed.) One forward run of `case` under
 * `setting` without restarting the SQL thread; its outcome is in measured.json.
 */
export const SETTING_WITHOUT_SQL_THREAD_RESTART: { case: string; setting: SettingKey } = {
  case: 'int_to_bigint',
  setting: 'nonLossy',
};
