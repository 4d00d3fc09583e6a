import { ackCovers, isKnownAckRule, isWildcardAck, RULE_CODES } from '../../migrations/index.ts';
import type { Severity } from '../types.ts';

/**
 * Every rule code the analysis can emit, with the text docs are generated from. Codes are
 * FAMILY + three digits and never change meaning once released:
 *   BC1xx  backward compatibility: code written for the schema before `up` breaks after it
 *   BC2xx  the new release: code written for the schema after `up` breaks before it, which it
 *          meets when `up` runs after the deploy (post-deploy); BC2nn is the counterpart of BC1nn
 *   DL1xx  data loss: `up` destroys or alters stored values
 *   RV1xx  reversibility: down missing / failing / not restoring the schema; RV2xx data the down destroys
 *   MY1xx  MySQL/MariaDB blocking (server-probed ALTER algorithm); MY2xx online but heavy; MY3xx DML
 *   PG1xx  PostgreSQL blocking (lock level, rewrite, scan); PG2xx short exclusive locks; PG3xx DML
 *   RF1xx  replica-first, old schema -> new schema (primary not yet altered, replica altered)
 *   RF2xx  the same check in the reverse direction, new -> old (master-master hold period);
 *          RF2nn is always the reverse counterpart of RF1nn
 *   WL1xx  workload: queries the deployed (old) code runs, prepared against the schema after `up`
 *   WL2xx  workload: queries the new code runs, prepared against the schema after `down`
 *          (WL201, WL202) or, for the deploy window of a post-deploy migration, before `up` (WL203)
 *   SH1xx  shadow: a statement the shadow server refused (a shared server's restricted account)
 *   SH2xx  shadow: a statement that ran where the snapshots do not look (another database)
 *   SH3xx  shadow: the migration itself fails on the shadow database
 * The default severity is adjusted per migration: BC1 findings become info in a post-deploy
 * migration (no old code runs then), BC2 and WL203 findings are left out of a pre-deploy one (it
 * runs before the new release), and RF/MY findings depend on whether the strategy needs them.
 */
export type RuleFamily = 'backward-compat' | 'data-loss' | 'reversibility' | 'blocking-mysql' | 'blocking-postgres' | 'replica-first' | 'workload' | 'shadow';

export interface RuleDoc {
  code: string;
  family: RuleFamily;
  title: string;
  severity: Severity;
  explanation: string;
  /** The safe multi-step alternative, in general terms (findings specialise it with names). */
  recipe: string;
  // The facts below are what the verdict, the plan and the reports know about a rule: they ask the
  // catalog instead of reading meaning into the code's letters.
  /** A finding puts the migration after the code deploy (contract) unless it declares its phase. */
  forcesPhase?: 'post-deploy';
  /**
   * About the code released before this migration: info in a post-deploy migration, and an
   * unacknowledged error makes the migration not backward compatible.
   */
  oldCode?: true;
  /** A rollback breaks the new code: only a warning pre-deploy, where the code is rolled back first. */
  newCodeOnRollback?: true;
  /**
   * About the new release running before this migration: it does only when the migration is
   * post-deploy (the deploy comes first), so a pre-deploy migration's verdict leaves it out.
   */
  newCodeBeforeUp?: true;
  /** Blocks reads or writes for a time that grows with the table: replica-first or refused. */
  blocking?: true;
  /** The migration cannot be rolled back by the tool. */
  irreversible?: true;
  /** About the down (or a rollback): reports point at the down file. */
  aboutDown?: true;
  /** The old -> new rule this new -> old rule mirrors (RF2nn of RF1nn): the same check, the other way. */
  reverseOf?: string;
  /** What the finding means for replica-first in its direction (RF1xx old -> new, RF2xx new -> old). */
  replicaFirst?: ReplicaFirstFact;
  /** A data-loss family finding that reports a check, not a loss: it does not make the verdict's dataLoss true. */
  notLoss?: true;
  /** The work `plan` estimates the duration of from the table's rows. */
  work?: { rate: WorkRate; label: string };
}

export type ReplicationDirection = 'old-to-new' | 'new-to-old';
/** Values of slave_type_conversions / replica_type_conversions, weakest first. */
export const CONVERSION_SETTINGS = ['ALL_NON_LOSSY', 'ALL_NON_LOSSY,ALL_LOSSY'] as const;
export type ConversionSetting = (typeof CONVERSION_SETTINGS)[number];
export type WorkRate = 'copy' | 'inplace' | 'index' | 'scan';

export interface ReplicaFirstFact {
  direction: ReplicationDirection;
  /** The direction stops replication or changes values under every setting. */
  unsafe?: true;
  /** The type-conversion setting that makes the direction safe. */
  setting?: ConversionSetting;
}

const docs: RuleDoc[] = [
  // --- backward compatibility -------------------------------------------------------------
  {
    code: 'BC101',
    family: 'backward-compat',
    title: 'Table dropped',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation:
      'During a rolling or blue/green deploy the previous release keeps running against the new schema. A dropped table makes every query of it fail with "table does not exist" until the last old app server is gone.',
    recipe:
      '1. Deploy code that no longer reads or writes the table. 2. Drop the table in a post-deploy (contract) migration. If the data may be needed, rename it to <name>_old first and drop that later.',
  },
  {
    code: 'BC102',
    family: 'backward-compat',
    title: 'Column dropped',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation:
      'The previous release still selects, inserts or updates the column; those queries fail with "unknown column". ORMs that list every column (SELECT t.a, t.b, ...) break on any query of the table.',
    recipe:
      '1. Stop using the column in code (e.g. Rails ignored_columns, remove it from knex selects/inserts) and deploy. 2. Drop the column in a post-deploy migration.',
  },
  {
    code: 'BC103',
    family: 'backward-compat',
    title: 'Table renamed',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation: 'The previous release still queries the old table name, which no longer exists after the rename.',
    recipe:
      '1. Rename the table and, in the same migration, create a view with the old name (CREATE VIEW old AS SELECT * FROM new; a simple view is updatable). 2. Deploy code that uses the new name. 3. Drop the view in a post-deploy migration. Or: create the new table, dual-write, backfill, switch reads, drop the old table post-deploy.',
  },
  {
    code: 'BC104',
    family: 'backward-compat',
    title: 'Column renamed',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation: 'The previous release still reads and writes the old column name and fails with "unknown column" after the rename.',
    recipe:
      '1. Add the new column (pre-deploy). 2. Deploy code that writes both columns; backfill the new one in batches. 3. Deploy code that reads the new column only. 4. Drop the old column in a post-deploy migration.',
  },
  {
    code: 'BC105',
    family: 'backward-compat',
    title: 'Column type narrowed',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation:
      'Values the previous release writes that fit the old type no longer fit: they are rejected (strict mode, PG) or silently truncated (non-strict MySQL).',
    recipe:
      'Keep the wider type, or: 1. make the code write only values that fit the narrower type and deploy; 2. check the data (SELECT MAX(LENGTH(col)) / MIN / MAX); 3. narrow the type in a post-deploy migration.',
  },
  {
    code: 'BC106',
    family: 'backward-compat',
    title: 'Column type changed to another family',
    severity: 'error',
    oldCode: true,
    explanation:
      'The previous release sends and expects values of the old type; comparisons, sorting, implicit casts and ORM type mapping change, and some writes fail.',
    recipe:
      '1. Add a new column of the new type (pre-deploy). 2. Deploy code that writes both and backfill in batches. 3. Deploy code that reads the new column. 4. Drop the old column post-deploy.',
  },
  {
    code: 'BC107',
    family: 'backward-compat',
    title: 'NOT NULL column added without a default',
    severity: 'error',
    oldCode: true,
    explanation:
      'Every INSERT of the previous release omits the new column and fails ("Field doesn\'t have a default value" / "null value in column violates not-null constraint"); on PG the ALTER itself fails once the table has rows.',
    recipe:
      '1. Add the column as NULL or with a DEFAULT (pre-deploy). 2. Deploy code that writes it. 3. Backfill existing rows in batches. 4. Add NOT NULL (and drop the default if unwanted) in a post-deploy migration.',
  },
  {
    code: 'BC108',
    family: 'backward-compat',
    title: 'Column made NOT NULL',
    severity: 'error',
    oldCode: true,
    explanation:
      'The previous release may still write NULL into the column (a default does not help an explicit NULL), or omit it when it has no default; those writes fail after the change, and the ALTER fails if NULLs exist. Compatible when a CHECK (col IS NOT NULL) already refused NULLs (info; a warning when that check is NOT VALID, since older rows may hold NULL and fail the ALTER); a warning when the workload (--queries) shows no statement of the running release writes the column.',
    recipe:
      '1. Deploy code that always writes a value (validate in the application first). 2. Backfill NULLs in batches. 3. Add NOT NULL post-deploy (PG: ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL, which then skips the scan).',
  },
  {
    code: 'BC109',
    family: 'backward-compat',
    title: 'Unique constraint added',
    severity: 'error',
    oldCode: true,
    explanation:
      'Data-dependent: the change fails if existing rows hold duplicates, and writes of the previous release that create duplicates start failing. A warning instead when the workload (--queries) shows no statement of the running release can violate it.',
    recipe:
      '1. Validate in the application first: deploy code that never writes duplicates. 2. Backfill: remove existing duplicates. 3. Then constrain: add the unique index (PG: CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX).',
  },
  {
    code: 'BC110',
    family: 'backward-compat',
    title: 'Check constraint added',
    severity: 'error',
    oldCode: true,
    explanation:
      'Data-dependent: existing rows that violate it make the change fail, and writes of the previous release that violate it start failing. On PostgreSQL NOT VALID only skips the check of existing rows: new rows are checked at once. A warning instead when the workload (--queries) shows no statement of the running release can violate it.',
    recipe:
      '1. Validate in the application first: deploy code that only writes valid values. 2. Backfill: fix existing rows. 3. Then constrain (PG: ADD ... NOT VALID, which still checks new rows, then VALIDATE CONSTRAINT for the existing ones).',
  },
  {
    code: 'BC111',
    family: 'backward-compat',
    title: 'Foreign key added',
    severity: 'error',
    oldCode: true,
    explanation:
      'Data-dependent: orphan rows make the change fail; writes of the previous release that leave orphans (a child whose parent does not exist, deleting a referenced parent) start failing. On PostgreSQL NOT VALID only skips the check of existing rows: new rows are checked at once. A warning instead when the workload (--queries) shows no statement of the running release can violate it.',
    recipe:
      '1. Validate in the application first: deploy code that writes parents first and never leaves orphans. 2. Backfill: clean or re-parent orphan rows. 3. Then constrain (PG: ADD ... NOT VALID, which still checks new rows, then VALIDATE CONSTRAINT for the existing ones).',
  },
  {
    code: 'BC112',
    family: 'backward-compat',
    title: 'Enum value removed',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation:
      'The previous release may still write the removed value (rejected, or stored as an empty string by non-strict MySQL), and rows holding it lose their value.',
    recipe: '1. Deploy code that no longer writes the value. 2. Update rows holding it to another value. 3. Remove the value in a post-deploy migration.',
  },
  {
    code: 'BC113',
    family: 'backward-compat',
    title: 'Enum values reordered or inserted in the middle',
    severity: 'warning',
    oldCode: true,
    explanation: 'Stored values are kept, but ORDER BY, comparisons (< >) and numeric use of the enum index change for the running code.',
    recipe: 'Append new values at the end of the list instead; reorder only when no code depends on enum order.',
  },
  {
    code: 'BC114',
    family: 'backward-compat',
    title: 'Primary key changed',
    severity: 'error',
    oldCode: true,
    explanation:
      'Upserts (ON DUPLICATE KEY / ON CONFLICT), lookups and ORMs of the previous release identify rows by the old key. A key added to a table that had none is data-dependent like a unique key (duplicates, NULLs): an error too, a warning when the workload (--queries) shows no statement of the running release can violate it.',
    recipe:
      '1. Add a unique index on the new key columns (pre-deploy). 2. Deploy code that uses the new key. 3. Switch the primary key in a post-deploy migration.',
  },
  {
    code: 'BC115',
    family: 'backward-compat',
    title: 'Default removed from a NOT NULL column',
    severity: 'error',
    oldCode: true,
    explanation:
      'INSERTs of the previous release that omit the column relied on the default and now fail. Except on MariaDB for an ENUM: it stores the first value of the list in every sql_mode, so those INSERTs still run (info when the first value was the default, a warning when they now store another value).',
    recipe: '1. Deploy code that always writes the column. 2. Drop the default in a post-deploy migration.',
  },
  {
    code: 'BC116',
    family: 'backward-compat',
    title: 'View dropped',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation: 'Queries of the previous release that read the view fail with "table does not exist".',
    recipe: '1. Deploy code that no longer uses the view. 2. Drop it in a post-deploy migration.',
  },
  {
    code: 'BC117',
    family: 'backward-compat',
    title: 'View definition changed',
    severity: 'warning',
    oldCode: true,
    explanation: 'The previous release reads the view; removed or retyped columns break it.',
    recipe: 'Only add columns to a view used by running code; create a new view for incompatible shapes and drop the old one post-deploy.',
  },
  {
    code: 'BC118',
    family: 'backward-compat',
    title: 'Rename kept compatible',
    severity: 'info',
    oldCode: true,
    explanation:
      'The table was renamed (or dropped), but a view with the old name stands for it, so the previous release keeps reading and writing the same rows. A table or column added back under the old name does not count: it is new and empty, so the previous release would read nothing and its writes would never reach the renamed object (BC103/BC104).',
    recipe: 'Drop the compatibility view in a post-deploy migration once no code uses the old name.',
  },
  {
    code: 'BC203',
    family: 'backward-compat',
    title: 'Table renamed post-deploy: the new release runs against the old name',
    severity: 'warning',
    newCodeBeforeUp: true,
    explanation:
      'A rename breaks one of the two releases whichever phase it runs in. Pre-deploy, the previous release loses the old name (BC103); post-deploy, the new release runs from the deploy until this migration against the old name, and its queries of the new name fail with "table does not exist". A warning: without the new release\'s statements (--new-queries) the check cannot tell whether it uses the new name before the migration ran; with them, each statement that does is WL203 (error). Left out of a pre-deploy migration, which runs before the new release.',
    recipe:
      '1. Rename the table and, in the same migration, create a view with the old name (CREATE VIEW old AS SELECT * FROM new; a simple view is updatable): the migration is then pre-deploy, and both releases find their name. 2. Deploy code that uses the new name. 3. Drop the view in a post-deploy migration.',
  },
  {
    code: 'BC204',
    family: 'backward-compat',
    title: 'Column renamed post-deploy: the new release runs against the old name',
    severity: 'warning',
    newCodeBeforeUp: true,
    explanation:
      'A rename breaks one of the two releases whichever phase it runs in. Pre-deploy, the previous release loses the old column name (BC104); post-deploy, the new release runs from the deploy until this migration against the old name, and its queries of the new name fail with "unknown column". A warning: without the new release\'s statements (--new-queries) the check cannot tell whether it uses the new name before the migration ran; with them, each statement that does is WL203 (error). Left out of a pre-deploy migration, which runs before the new release.',
    recipe:
      '1. Add the new column (pre-deploy). 2. Deploy code that writes both columns; backfill the new one in batches. 3. Deploy code that reads the new column only. 4. Drop the old column in a post-deploy migration. No release ever runs against a schema without the name it uses.',
  },
  // --- data loss --------------------------------------------------------------------------
  {
    code: 'DL101',
    family: 'data-loss',
    title: 'Table dropped with its rows',
    severity: 'warning',
    explanation: 'Every row of the table is gone; a down migration can recreate the table but not its data.',
    recipe: 'Rename the table to <name>_old (or back it up) and drop it in a later migration once the data is surely not needed.',
  },
  {
    code: 'DL102',
    family: 'data-loss',
    title: 'Column dropped with its values',
    severity: 'warning',
    explanation: 'The values of the column are gone; a down migration can re-add the column but not its values.',
    recipe: 'Copy the values elsewhere first if they may be needed, or keep the column until the data is surely not needed.',
  },
  {
    code: 'DL103',
    family: 'data-loss',
    title: 'Type narrowed: values truncated or rounded',
    severity: 'error',
    explanation:
      'Stored values that do not fit the new type are truncated (strings), rounded (decimals, fractional seconds) or clipped (integers) by MySQL, or make the ALTER fail (PG, strict mode).',
    recipe:
      'Check the data first (SELECT MAX(LENGTH(col)), MIN(col), MAX(col)); keep the wider type, or add a new column, convert explicitly and verify before switching.',
  },
  {
    code: 'DL104',
    family: 'data-loss',
    title: 'Lossy type conversion',
    severity: 'error',
    explanation:
      'Converting to another type family changes stored values (text to number, datetime to date, signed to unsigned): some become 0, NULL, truncated or fail the ALTER.',
    recipe: 'Add a new column of the new type, convert with an explicit, verified expression, switch the code, then drop the old column.',
  },
  {
    code: 'DL105',
    family: 'data-loss',
    title: 'Enum value removed from stored rows',
    severity: 'warning',
    explanation:
      "Rows holding the removed value become '' (MySQL/MariaDB without strict mode) or make the ALTER fail (strict mode; PostgreSQL, unless the USING expression maps them to another value, which loses it).",
    recipe: 'UPDATE rows holding the value to a value that stays, then remove it.',
  },
  {
    code: 'DL106',
    family: 'data-loss',
    title: 'Rows deleted by the migration',
    severity: 'warning',
    explanation: 'TRUNCATE or DELETE without WHERE removes every row of the table.',
    recipe: 'Make sure this is intended; keep a copy of the rows if they may be needed.',
  },
  // --- reversibility ----------------------------------------------------------------------
  {
    code: 'RV101',
    family: 'reversibility',
    title: 'No down migration',
    severity: 'error',
    irreversible: true,
    explanation: 'Without a down, a failed deploy cannot be rolled back by the tool.',
    recipe: 'Write a down that restores the schema as it was before up (for a drop: recreate the object with its exact definition).',
  },
  {
    code: 'RV102',
    family: 'reversibility',
    title: 'Down does not restore the schema',
    severity: 'error',
    irreversible: true,
    aboutDown: true,
    explanation:
      'Running up then down on the shadow database leaves a schema that differs from the one before up; a rollback would leave the previous release on a schema it was not written for.',
    recipe: 'Make down undo exactly what up did: the differences are listed in the finding.',
  },
  {
    code: 'RV103',
    family: 'reversibility',
    title: 'Down fails',
    severity: 'error',
    irreversible: true,
    aboutDown: true,
    explanation: 'Down raised an error on the shadow database right after up: a rollback would stop half way.',
    recipe: 'Fix the down so it runs on the schema up leaves.',
  },
  {
    code: 'RV201',
    family: 'reversibility',
    title: 'Down destroys data the new code wrote',
    severity: 'warning',
    aboutDown: true,
    explanation: 'Down drops a table or column that up created; whatever the new release wrote there between deploy and rollback is lost.',
    recipe: 'Accept the loss consciously, or make the rollback keep the object (leave it in place and drop it in a later migration).',
  },
  {
    code: 'RV202',
    family: 'reversibility',
    title: 'Down narrows a type the new code may have filled',
    severity: 'warning',
    aboutDown: true,
    explanation: 'Down converts back to a narrower type; values the new release wrote that do not fit are truncated or make the rollback fail.',
    recipe: 'Keep the wider type on rollback, or check the data before rolling back.',
  },
  // --- MySQL / MariaDB blocking ------------------------------------------------------------
  {
    code: 'MY101',
    family: 'blocking-mysql',
    title: 'ALTER copies the table and blocks writes',
    severity: 'error',
    blocking: true,
    work: { rate: 'copy', label: 'table copy' },
    explanation:
      'The server accepted this ALTER only with ALGORITHM=COPY (or an in-place lock that blocks writes): writes to the table stop for the whole copy (hours on a large table), and each replica then lags by the same time.',
    recipe:
      'Run it replica-first (ALTER each replica with binary logging off, switch the primary, ALTER the old primary), or with an online schema change tool; or rewrite it as an INSTANT-capable change (add the column at the end, widen within the length class).',
  },
  {
    code: 'MY102',
    family: 'blocking-mysql',
    title: 'ALTER algorithm could not be probed',
    severity: 'warning',
    blocking: true,
    work: { rate: 'copy', label: 'table copy' },
    explanation:
      'The statement could not be tried with ALGORITHM=INSTANT/NOCOPY/INPLACE on the shadow (a declared ALGORITHM/LOCK clause without LOCK=NONE, a partitioning clause, or an unexpected error), so it is assumed to block writes.',
    recipe: 'Declare ALGORITHM=INSTANT or LOCK=NONE in the statement so the server refuses it if it would block, or run it replica-first.',
  },
  {
    code: 'MY201',
    family: 'blocking-mysql',
    title: 'ALTER rebuilds the table in place',
    severity: 'warning',
    work: { rate: 'inplace', label: 'in-place rebuild' },
    explanation:
      'ALGORITHM=INPLACE, LOCK=NONE: writes continue, but the table is rebuilt (I/O, a metadata lock at start and end), and the ALTER replicates as one statement, so every replica stalls replication for its whole duration.',
    recipe: 'Fine for small tables; for large ones run it replica-first so replicas do not lag.',
  },
  {
    code: 'MY202',
    family: 'blocking-mysql',
    title: 'ALTER is metadata-only',
    severity: 'info',
    explanation: 'The server accepted ALGORITHM=INSTANT or NOCOPY: only metadata changes, no table copy, no write block beyond a brief metadata lock.',
    recipe: 'Nothing to do; make sure no long transaction holds the table, or the metadata lock waits behind it.',
  },
  {
    code: 'MY301',
    family: 'blocking-mysql',
    title: 'Whole-table UPDATE/DELETE in a migration',
    severity: 'error',
    blocking: true,
    work: { rate: 'copy', label: 'whole-table UPDATE/DELETE' },
    explanation:
      'One statement touching every row of an existing table locks each row (and, under REPEATABLE READ, the gaps between them) until it commits: every write to the table, INSERTs included, waits for the whole statement, which grows with the table (measured: 300,000 rows held a concurrent write for the whole UPDATE). It replicates as one huge transaction, so replicas lag by as long. Replica-first does not help: the data change has to reach every node.',
    recipe:
      'Backfill in chunks by primary key, committing after each chunk (UPDATE t SET ... WHERE id > :from AND id <= :from + 5000, for :from = 0, 5000, ... up to MAX(id)), from a script or job outside the schema migration, or with backfill() in a TypeScript migration of its own (export const transaction = false; it resumes after a crash): a write then waits for one chunk at most.',
  },
  // --- PostgreSQL blocking -----------------------------------------------------------------
  {
    code: 'PG101',
    family: 'blocking-postgres',
    title: 'Index built without CONCURRENTLY',
    severity: 'error',
    blocking: true,
    work: { rate: 'index', label: 'index build' },
    explanation: 'CREATE INDEX takes a SHARE lock: every INSERT/UPDATE/DELETE on the table waits until the index is built.',
    recipe: 'CREATE INDEX CONCURRENTLY (outside a transaction; check for an INVALID index if it fails and drop it).',
  },
  {
    code: 'PG102',
    family: 'blocking-postgres',
    title: 'Foreign key validated while locking',
    severity: 'error',
    blocking: true,
    work: { rate: 'scan', label: 'validation scan' },
    explanation:
      'ADD FOREIGN KEY without NOT VALID scans the whole table under a SHARE ROW EXCLUSIVE lock on both tables: writes to both wait until the scan ends.',
    recipe:
      'ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID; then, in a separate statement, ALTER TABLE ... VALIDATE CONSTRAINT ... (takes only SHARE UPDATE EXCLUSIVE).',
  },
  {
    code: 'PG103',
    family: 'blocking-postgres',
    title: 'Check constraint validated while locking',
    severity: 'error',
    blocking: true,
    work: { rate: 'scan', label: 'validation scan' },
    explanation: 'ADD CHECK without NOT VALID scans the whole table under an ACCESS EXCLUSIVE lock: reads and writes wait.',
    recipe: 'ADD CONSTRAINT ... CHECK (...) NOT VALID; then VALIDATE CONSTRAINT in a separate statement.',
  },
  {
    code: 'PG104',
    family: 'blocking-postgres',
    title: 'Column type change rewrites the table',
    severity: 'error',
    blocking: true,
    work: { rate: 'copy', label: 'table rewrite' },
    explanation:
      'ALTER COLUMN TYPE to a type that is not binary-compatible rewrites the table and its indexes under ACCESS EXCLUSIVE: reads and writes wait for the whole rewrite.',
    recipe:
      'Add a new column of the new type, backfill in batches, switch code, drop the old column. (varchar(n) -> varchar(m>n) or text, and raising numeric precision, do not rewrite.)',
  },
  {
    code: 'PG105',
    family: 'blocking-postgres',
    title: 'SET NOT NULL scans the table under ACCESS EXCLUSIVE',
    severity: 'error',
    blocking: true,
    work: { rate: 'scan', label: 'validation scan' },
    explanation: 'SET NOT NULL checks every row while holding ACCESS EXCLUSIVE: reads and writes wait for the scan.',
    recipe:
      'ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; then SET NOT NULL (PG 12+ uses the valid check and skips the scan); then drop the check.',
  },
  {
    code: 'PG106',
    family: 'blocking-postgres',
    title: 'ADD COLUMN with a volatile default rewrites the table',
    severity: 'error',
    blocking: true,
    work: { rate: 'copy', label: 'table rewrite' },
    explanation:
      'A default that is not a constant (random(), clock_timestamp(), gen_random_uuid()) is evaluated per row: the table is rewritten under ACCESS EXCLUSIVE.',
    recipe: 'Add the column without a default (or with a constant one), set the default afterwards, and backfill existing rows in batches.',
  },
  {
    code: 'PG107',
    family: 'blocking-postgres',
    title: 'Unique or primary key constraint builds its index under lock',
    severity: 'error',
    blocking: true,
    work: { rate: 'index', label: 'index build' },
    explanation: 'ADD UNIQUE / ADD PRIMARY KEY builds the index while holding ACCESS EXCLUSIVE: reads and writes wait.',
    recipe: 'CREATE UNIQUE INDEX CONCURRENTLY idx ...; then ALTER TABLE ... ADD CONSTRAINT c UNIQUE USING INDEX idx (or PRIMARY KEY USING INDEX).',
  },
  {
    code: 'PG108',
    family: 'blocking-postgres',
    title: 'Table rewritten',
    severity: 'error',
    blocking: true,
    work: { rate: 'copy', label: 'table rewrite' },
    explanation: 'The shadow server gave the table new storage (relfilenode changed): the statement rewrote the whole table under ACCESS EXCLUSIVE.',
    recipe:
      'Find the rewriting statement (type change, volatile default, SET TABLESPACE, VACUUM FULL, CLUSTER) and replace it with add-column/backfill/switch.',
  },
  {
    code: 'PG201',
    family: 'blocking-postgres',
    title: 'DROP INDEX without CONCURRENTLY',
    severity: 'warning',
    explanation: 'DROP INDEX takes ACCESS EXCLUSIVE on the table; brief, but it queues behind long queries and everything queues behind it.',
    recipe: 'DROP INDEX CONCURRENTLY (outside a transaction).',
  },
  {
    code: 'PG202',
    family: 'blocking-postgres',
    title: 'ACCESS EXCLUSIVE lock on a live table, without a lock_timeout of its own',
    severity: 'info',
    explanation:
      'Even a metadata-only ALTER waits for every running query on the table, and all new queries queue behind it: a long SELECT turns a 1 ms ALTER into an outage. `migrate up` and `migrate apply` bound that wait: they run every statement with lock_timeout (lockSafety.lockTimeoutMs, 2 s by default) and retry the transaction after a timeout, so the migration needs no SET of its own. The wait is unbounded only when lock safety is off (lockTimeoutMs 0) or another tool runs the file.',
    recipe:
      "Keep the runner's lock safety on (the default). If the file is also run by another tool (psql, the old migration tool), SET lock_timeout = '2s' at its start and retry on timeout.",
  },
  {
    code: 'PG301',
    family: 'blocking-postgres',
    title: 'Whole-table UPDATE/DELETE in a migration',
    severity: 'error',
    blocking: true,
    work: { rate: 'copy', label: 'whole-table UPDATE/DELETE' },
    explanation:
      'One statement touching every row of an existing table holds each row lock until it commits, so every UPDATE and DELETE of the table waits for the whole statement, which grows with the table (measured: 1,000,000 rows held a concurrent write for the whole UPDATE); it also writes a new version of every row, doubling the table until VACUUM.',
    recipe:
      'Backfill in chunks by primary key, committing after each chunk (UPDATE t SET ... WHERE id > :from AND id <= :from + 5000, for :from = 0, 5000, ... up to MAX(id)), from a script or job outside the schema migration, or with backfill() in a TypeScript migration of its own (export const transaction = false; it resumes after a crash): a write then waits for one chunk at most, and autovacuum keeps up.',
  },
  // --- replica-first (MySQL/MariaDB row-based replication) ---------------------------------
  {
    code: 'RF101',
    family: 'replica-first',
    title: 'Column added in the middle',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      'Row events map columns by position. With the column added in the middle on the replica, MariaDB applies rows from the old primary one column over, silently corrupting data; MySQL stops replication.',
    recipe: 'Add the column at the end of the table (no AFTER / FIRST), with a default.',
  },
  {
    code: 'RF102',
    family: 'replica-first',
    title: 'Column dropped from the middle',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation: 'Row events map columns by position; with a middle column gone on the replica, values of the following columns shift by one.',
    recipe: 'Drop only the last column replica-first, or drop the column in place (it is INSTANT in MariaDB 10.11) after the code stops using it.',
  },
  {
    code: 'RF103',
    family: 'replica-first',
    title: 'Columns reordered',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation: 'Row events map columns by position; a reordered table receives values in the wrong columns.',
    recipe: 'Do not reorder columns replica-first; column order rarely matters to code.',
  },
  {
    code: 'RF104',
    family: 'replica-first',
    title: 'Type change needs slave_type_conversions=ALL_NON_LOSSY',
    severity: 'warning',
    replicaFirst: { direction: 'old-to-new', setting: 'ALL_NON_LOSSY' },
    explanation:
      'Replicas refuse row events whose column type differs from theirs (error 1677) while slave_type_conversions (MariaDB) / replica_type_conversions (MySQL) is empty, the default. A widening within the type family is safe with ALL_NON_LOSSY, which the executor sets on the altered replicas for the duration.',
    recipe: 'Let the executor set slave_type_conversions=ALL_NON_LOSSY on the altered replicas until every node has the new type.',
  },
  {
    code: 'RF105',
    family: 'replica-first',
    title: 'Type narrowed replica-first',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      'Rows from the old primary carry values of the wider type; converting them needs ALL_LOSSY, which truncates values that do not fit without any error.',
    recipe: 'Narrow in place after the code writes only fitting values, or widen instead.',
  },
  {
    code: 'RF106',
    family: 'replica-first',
    title: 'Type changed to another family replica-first',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      'Row-based replication converts only within a type family (integers, decimals, strings, binary, BIT); any other change stops replication with error 1677 whatever the settings.',
    recipe: 'Add a new column of the new type at the end (replica-first safe), backfill, switch code, drop the old column later.',
  },
  {
    code: 'RF107',
    family: 'replica-first',
    title: 'ENUM/SET values shifted',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      'ENUM and SET values travel as their index. Inserting a value in the middle, removing or reordering values makes the replica store a different value than the primary, with no error.',
    recipe: 'Append new values at the end only; remove values in place after the code stops using them.',
  },
  {
    code: 'RF108',
    family: 'replica-first',
    title: 'NOT NULL on the replica side',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      'A NULL from the primary applied to a NOT NULL column on the replica is stored as the implicit default ("" or 0) with no error: the replica silently diverges.',
    recipe: 'Make the column NOT NULL in place (after a backfill), or only once every node runs code that never writes NULL.',
  },
  {
    code: 'RF109',
    family: 'replica-first',
    title: 'Table renamed or dropped replica-first',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      'Row events name the table: on a replica where it was renamed or dropped they fail with "table doesn\'t exist" (error 1146) and replication stops.',
    recipe: 'Rename/drop in place: both are metadata-only and need no replica-first step.',
  },
  {
    code: 'RF110',
    family: 'replica-first',
    title: 'Constraint on the replica side may stop replication',
    severity: 'warning',
    replicaFirst: { direction: 'old-to-new' },
    explanation:
      'A unique key or check that exists only on the replica (or a foreign key on columns the migration adds, which rows from the old primary leave NULL) rejects rows the primary accepted (duplicates, invalid values): replication stops with a duplicate-key or constraint error. A foreign key on existing columns is RF115.',
    recipe: 'Make sure the data and the code already satisfy the constraint, or add it in place.',
  },
  {
    code: 'RF111',
    family: 'replica-first',
    title: 'NOT NULL column without default added replica-first',
    severity: 'warning',
    replicaFirst: { direction: 'old-to-new' },
    explanation:
      'Rows from the old primary do not carry the new column; the replica fills it with the implicit default ("" or 0), which may not be a meaningful value.',
    recipe: 'Give the new column an explicit DEFAULT.',
  },
  {
    code: 'RF112',
    family: 'replica-first',
    title: 'Primary key differs between primary and replica',
    severity: 'warning',
    replicaFirst: { direction: 'old-to-new' },
    explanation: 'Replicas find the rows to update or delete by their own primary key; with a different key, lookups may match other rows or scan the table.',
    recipe: 'Change primary keys in place, or ensure both keys identify the same rows.',
  },
  {
    code: 'RF113',
    family: 'replica-first',
    title: 'Change is replica-first safe',
    severity: 'info',
    replicaFirst: { direction: 'old-to-new' },
    explanation: 'Rows from a primary with the old schema apply to a replica with the new one without error and without changing values.',
    recipe: 'Nothing to do.',
  },
  {
    code: 'RF114',
    family: 'replica-first',
    title: 'Signedness changed replica-first',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      "Row events carry an integer's bytes, not whether it is signed: a replica with the other signedness reads the same bytes as another number (-5 becomes 4294967291), with no error under any slave_type_conversions setting.",
    recipe: 'Change signedness in place, or add a new column of the new type at the end, backfill, switch code, drop the old column later.',
  },
  {
    code: 'RF116',
    family: 'replica-first',
    title: 'Data changed by a replica-first migration',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      "Replica-first runs the migration on each node in turn with binary logging off. An UPDATE, DELETE or INSERT of an existing table (or a CALLed procedure that may run one: any procedure the migration does not create with a body free of them) then runs at different times on each node: rows the primary writes in between replicate over the replica's result, and the primary's own run reaches only itself, so the nodes end up with different rows.",
    recipe:
      'Keep data changes out of a migration that needs replica-first: run the schema change replica-first, and the backfill afterwards on the primary in chunks by primary key (it replicates normally).',
  },
  // --- issue 16: foreign keys replica-first (constraints helper) ---
  {
    code: 'RF115',
    family: 'replica-first',
    title: 'Foreign key added replica-first',
    severity: 'error',
    replicaFirst: { direction: 'old-to-new', unsafe: true },
    explanation:
      'Row events from the old primary are applied on the altered replica with foreign key checks on: a child row whose parent does not exist there, or the delete of a parent that still has children, fails with a foreign key error and replication stops.',
    recipe:
      'Add the foreign key in place (MariaDB/MySQL: with foreign_key_checks=0 it is NOCOPY), after the code and the data satisfy it; never replica-first.',
  },
  {
    code: 'RF201',
    family: 'replica-first',
    title: 'Reverse: column in the middle (new -> old)',
    severity: 'warning',
    reverseOf: 'RF101',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation:
      'During the master-master hold period rows from the new schema flow back to the old one; a column that only the new side has in the middle shifts values on the old side.',
    recipe: 'Add columns at the end only.',
  },
  {
    code: 'RF202',
    family: 'replica-first',
    title: 'Reverse: middle column missing on the new side',
    severity: 'warning',
    reverseOf: 'RF102',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation: 'Rows from the new schema lack a middle column the old side still has; values shift on the old side during the hold period.',
    recipe: 'Drop only the last column, or skip the hold period.',
  },
  {
    code: 'RF203',
    family: 'replica-first',
    title: 'Reverse: columns reordered',
    severity: 'warning',
    reverseOf: 'RF103',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation: 'Rows from the new schema arrive in another column order on the old side during the hold period.',
    recipe: 'Do not reorder columns.',
  },
  {
    code: 'RF204',
    family: 'replica-first',
    title: 'Reverse: type conversion needed on the old side',
    severity: 'warning',
    reverseOf: 'RF104',
    replicaFirst: { direction: 'new-to-old', setting: 'ALL_NON_LOSSY' },
    explanation:
      'Rows from the new schema carry the new type; the old side accepts them only with slave_type_conversions=ALL_NON_LOSSY (the default, empty, stops replication with error 1677).',
    recipe: 'Let the executor set slave_type_conversions=ALL_NON_LOSSY on the old primary for the hold period.',
  },
  {
    code: 'RF205',
    family: 'replica-first',
    title: 'Reverse: narrowing on the old side',
    severity: 'warning',
    reverseOf: 'RF105',
    replicaFirst: { direction: 'new-to-old', setting: 'ALL_NON_LOSSY,ALL_LOSSY' },
    explanation:
      'Rows from the new (wider) type arrive at the old (narrower) type during the hold period: they need ALL_LOSSY and values that do not fit are truncated silently.',
    recipe:
      "Set slave_type_conversions='ALL_NON_LOSSY,ALL_LOSSY' on the old side for the hold period and keep new values within the old type's range, or skip the hold period.",
  },
  {
    code: 'RF206',
    family: 'replica-first',
    title: 'Reverse: type family change',
    severity: 'warning',
    reverseOf: 'RF106',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation: 'Rows from the new schema have a type the old side cannot convert: replication from new to old stops (error 1677) during the hold period.',
    recipe: 'Skip the master-master hold period for this change, or add a new column instead of changing the type.',
  },
  {
    code: 'RF207',
    family: 'replica-first',
    title: 'Reverse: ENUM value unknown to the old side',
    severity: 'warning',
    reverseOf: 'RF107',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation: 'Values added or moved by the new schema arrive at the old side as an index it maps to another value or to "" , silently.',
    recipe: 'Do not write new enum values until the hold period ends.',
  },
  {
    code: 'RF208',
    family: 'replica-first',
    title: 'Reverse: NULL arrives at a NOT NULL column',
    severity: 'warning',
    reverseOf: 'RF108',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation: 'The new schema allows NULL where the old one does not; NULLs written by the new code arrive on the old side as "" or 0, silently.',
    recipe: 'Do not write NULL into the column until the hold period ends.',
  },
  {
    code: 'RF209',
    family: 'replica-first',
    title: 'Reverse: table renamed',
    severity: 'warning',
    reverseOf: 'RF109',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation: 'Rows for the new table name fail on the old side (error 1146): replication from new to old stops.',
    recipe: 'Rename in place, not replica-first.',
  },
  {
    code: 'RF210',
    family: 'replica-first',
    title: 'Reverse: constraint on the old side',
    severity: 'warning',
    reverseOf: 'RF110',
    replicaFirst: { direction: 'new-to-old' },
    explanation: 'A constraint the new schema dropped still exists on the old side and may reject rows written by the new code.',
    recipe: 'Make sure the new code keeps satisfying the old constraint during the hold period.',
  },
  {
    code: 'RF211',
    family: 'replica-first',
    title: 'Reverse: column the old side lacks a value for',
    severity: 'info',
    reverseOf: 'RF111',
    replicaFirst: { direction: 'new-to-old' },
    explanation: 'The old side has a NOT NULL column without default that rows from the new schema do not carry; it gets the implicit default ("" or 0).',
    recipe: 'Give the column a default before dropping it.',
  },
  {
    code: 'RF212',
    family: 'replica-first',
    title: 'Reverse: primary key differs',
    severity: 'warning',
    reverseOf: 'RF112',
    replicaFirst: { direction: 'new-to-old' },
    explanation: 'The old side finds rows by its own primary key during the hold period.',
    recipe: 'Change primary keys in place.',
  },
  {
    code: 'RF214',
    family: 'replica-first',
    title: 'Reverse: signedness differs on the old side',
    severity: 'warning',
    reverseOf: 'RF114',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation:
      'During the master-master hold period rows from the new type reach the old side as bytes of the other signedness: values outside the shared range change (3000000000 becomes -1294967296), silently.',
    recipe: 'Skip the master-master hold period for this change, or keep new values within the range both types share until it ends.',
  },
  {
    code: 'RF215',
    family: 'replica-first',
    title: 'Reverse: foreign key only on the old side',
    severity: 'warning',
    reverseOf: 'RF115',
    replicaFirst: { direction: 'new-to-old', unsafe: true },
    explanation:
      'A foreign key the new schema dropped still exists on the old side during the master-master hold period: a row of the new code without its parent, or the delete of a parent, stops replication from new to old.',
    recipe: 'Skip the master-master hold period for this change, or keep the new code within the foreign key until it ends.',
  },
  // --- workload (--queries / --new-queries) -----------------------------------------------
  {
    code: 'WL100',
    family: 'workload',
    title: 'Query already failed before the migration',
    severity: 'info',
    oldCode: true,
    explanation:
      'A query from the workload file does not prepare against the schema before this migration either, so the migration cannot be what breaks it; it is ignored for this migration (it was never valid here: a typo, another database, a table created later).',
    recipe: 'Check that the workload file comes from this application and this database.',
  },
  {
    code: 'WL101',
    family: 'workload',
    title: 'Query of the running release no longer prepares',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation:
      'The statement, taken from what the deployed code actually runs (a query log, performance_schema digests or pg_stat_statements), prepared against the schema before this migration and is refused by the server after it: the running release gets this error on every call until the deploy finishes.',
    recipe:
      '1. Keep what the query uses (column, table, type) in this migration. 2. Deploy code that no longer runs the query. 3. Remove the object in a post-deploy migration.',
  },
  {
    code: 'WL102',
    family: 'workload',
    title: 'INSERT of the running release omits a column that became required',
    severity: 'error',
    forcesPhase: 'post-deploy',
    oldCode: true,
    explanation:
      'After this migration a column is NOT NULL without a default, and an INSERT the running release sends does not set it: the server rejects it ("Field doesn\'t have a default value" / "null value violates not-null constraint").',
    recipe: '1. Add the column as NULL or with a DEFAULT. 2. Deploy code that writes it. 3. Backfill. 4. Make it NOT NULL in a post-deploy migration.',
  },
  {
    code: 'WL201',
    family: 'workload',
    title: 'Rollback breaks a query of the new release',
    severity: 'error',
    newCodeOnRollback: true,
    aboutDown: true,
    explanation:
      'The statement, taken from what the new code runs, prepares against the schema after this migration but is refused after its down: rolling the schema back while the new release is live breaks it.',
    recipe:
      'Make the new code tolerate the old schema until the migration can no longer be rolled back (feature flag), or make down keep what the new code uses and remove it in a later migration.',
  },
  {
    code: 'WL202',
    family: 'workload',
    title: 'Rollback makes an INSERT of the new release fail',
    severity: 'error',
    newCodeOnRollback: true,
    aboutDown: true,
    explanation: 'After the down a column is NOT NULL without a default again, and an INSERT the new code sends does not set it.',
    recipe: 'Keep a DEFAULT on the column in the down, or make the new code always write it.',
  },
  {
    code: 'WL203',
    family: 'workload',
    title: 'The new release breaks until this post-deploy migration runs',
    severity: 'error',
    newCodeBeforeUp: true,
    explanation:
      'The statement, taken from what the new code runs, prepares against the schema after this migration but is refused before it. The migration is post-deploy: it runs after the code deploy, so from the deploy until it has run the new release gets this error on every call (a renamed column or table: the new release asks for the new name while the schema still has the old one). Left out of a pre-deploy migration, which runs before the new release.',
    recipe:
      'Give the new release what it uses before the deploy: do the change in a pre-deploy migration that keeps the running release working too (a rename: add the new column, dual-write, backfill, drop the old one post-deploy; or rename the table and keep a view under the old name), or keep the new code off it (feature flag) until this migration has run.',
  },
  {
    code: 'WL200',
    family: 'workload',
    title: 'New-code query does not prepare after up',
    severity: 'info',
    aboutDown: true,
    explanation:
      'A query of the new code does not prepare against the schema right after this migration (it may rely on a later migration), so the rollback check of this migration ignores it.',
    recipe: 'Check that the workload file comes from the new release of this application.',
  },
  // --- shadow isolation --------------------------------------------------------------------
  {
    code: 'SH101',
    family: 'shadow',
    title: 'Statement cannot be analysed on a shared shadow server',
    severity: 'error',
    explanation:
      'The shadow server holds other data (databases or accounts besides its own), so the analysis works there through an account it creates for the run, with rights on its own migrate_shadow_* databases only. This statement reaches outside them (USE of another database, a table named with another database, creating or dropping users or roles, global settings) and the server refused it. It did not run, and whatever it would have changed is missing from the verdict; statements after a refused USE, meant for that database, did not run either. Nothing outside the shadow databases was changed.',
    recipe:
      'Analyse on a throwaway server, where a migration may touch anything: leave --shadow out (a local `migrate shadow` server is started by itself and reused), or in CI pass a service container that holds no database of its own (or set MIGRATE_SHADOW_THROWAWAY=1 / --shadow-throwaway when everything on it is throwaway).',
  },
  {
    code: 'SH201',
    family: 'shadow',
    title: 'Statements ran in another database',
    severity: 'warning',
    explanation:
      "On a throwaway shadow server the migration switched to a database other than the one its history is written for (USE other). It ran there, but the schema snapshots follow only the home database (the target's database for plan and apply; the first database the history USEs for check), so what it changed in the other database is not analysed. The objects it created are dropped at the end of the run.",
    recipe:
      'Keep a migration history to one database. If the other database is meant, review what runs there by hand: the verdict covers the home database only.',
  },
  {
    code: 'SH301',
    family: 'shadow',
    title: 'Migration fails on the shadow database',
    severity: 'error',
    explanation:
      "The migration's up raised an error on the shadow database, applied after the migrations before it: it would fail the same way on the target. Its verdict is `failed`, with the server's error and the statement; the migrations after it are `not analysed`, since the schema they expect never existed. Acknowledging it changes nothing: the gate fails on the failed migration itself.",
    recipe: 'Fix the migration so it applies to the schema the migrations before it leave; the finding names the statement and its line.',
  },
  // --- issue 16: data-aware verdicts -------------------------------------------------------
  {
    code: 'DL107',
    family: 'data-loss',
    title: 'Narrowing decided on the data',
    severity: 'warning',
    notLoss: true,
    explanation:
      'A narrowing change (shorter string, smaller integer, another charset, an ENUM value removed) loses data only when a stored value does not fit. Info: the stored rows were counted and every value fits (the finding quotes the count and where it was taken). Warning: nothing was measured (no rows on the shadow, a table too big, a query over its time bound), so only the type says values may not fit; the server refuses such an ALTER (strict mode, PostgreSQL) rather than change a value. When rows do not fit, DL103 / DL105 is reported instead, with the count and example keys.',
    recipe:
      'Run `migrate plan` against the target to count the rows that do not fit (bounded read-only queries); fix those rows or keep the wider type before narrowing.',
  },
  {
    code: 'DL108',
    family: 'data-loss',
    title: 'New constraint checked on the data',
    severity: 'error',
    notLoss: true,
    explanation:
      '`migrate plan` counts on the target, with bounded read-only queries, the rows that violate a FOREIGN KEY, UNIQUE index, NOT NULL or CHECK a pending migration adds to an existing table: child rows whose (non-NULL) key has no parent row, rows sharing a non-NULL unique key, NULLs, rows for which the CHECK is false (PostgreSQL NOT VALID checks no stored row, so it is not counted). Error: some rows violate it, so the ALTER fails on the target; the finding quotes the count, example keys, the target and the time. Info: none do. Warning: the query did not finish within its bound, so nothing was measured. Rows are not lost either way: the ALTER is refused.',
    recipe:
      'Before the migration, delete or fix the orphan rows (or insert the missing parents), remove or change the duplicates, backfill the NULLs, fix the rows failing the CHECK; or backfill first, then add the constraint (PostgreSQL: NOT VALID, clean up, then VALIDATE).',
  },
  {
    code: 'DL109',
    family: 'data-loss',
    title: 'Values overwritten by the migration',
    severity: 'warning',
    explanation:
      'An UPDATE without WHERE sets a column that existed before the migration to one constant for every row: the values it held are gone, and no down can bring them back (it can only write another constant). A backfill that derives the value from other columns is not this.',
    recipe:
      'If the old values matter, copy them first (a new column or a table), or limit the UPDATE with a WHERE to the rows meant; for a new column, add it with its DEFAULT instead.',
  },
];

export const CATALOG: ReadonlyMap<string, RuleDoc> = new Map(docs.map((d) => [d.code, d]));

// The codes a migration may acknowledge are listed under the analysis (src/migrations/ack-rules.ts),
// because loading a migration checks them; a rule added here and not there would be refused.
{
  const missing = docs.map((d) => d.code).filter((c) => !RULE_CODES.includes(c));
  const stale = RULE_CODES.filter((c) => !CATALOG.has(c));
  if (missing.length || stale.length)
    throw new Error(
      `src/migrations/ack-rules.ts RULE_CODES differs from the rules catalog: missing ${missing.join(', ') || 'none'}; not in the catalog ${stale.join(', ') || 'none'}.`,
    );
}

export { ackCovers, isKnownAckRule, isWildcardAck };

export function ruleDoc(code: string): RuleDoc {
  const d = CATALOG.get(code);
  if (!d) throw new Error(`rule ${code} is not in the catalog`);
  return d;
}

const REVERSE = new Map([...CATALOG.values()].flatMap((d) => (d.reverseOf ? [[d.reverseOf, d.code] as const] : [])));

/** The new -> old rule that mirrors an old -> new replica-first rule. */
export function reverseRule(code: string): string {
  const r = REVERSE.get(code);
  if (!r) throw new Error(`rule ${code} has no reverse rule in the catalog`);
  return r;
}

/** The facts of a finding's rule; none for a code the catalog does not hold (a placeholder). */
export function factsOf(code: string): Readonly<RuleDoc> | undefined {
  return CATALOG.get(code);
}

/** Markdown reference of every rule, grouped by family (docs are generated from this). */
export function catalogMarkdown(): string {
  const families: [RuleFamily, string][] = [
    ['backward-compat', 'Backward compatibility (BC)'],
    ['data-loss', 'Data loss (DL)'],
    ['reversibility', 'Reversibility (RV)'],
    ['blocking-mysql', 'Blocking on MySQL/MariaDB (MY)'],
    ['blocking-postgres', 'Blocking on PostgreSQL (PG)'],
    ['replica-first', 'Replica-first safety (RF)'],
    ['workload', 'Workload: queries of the running and the new release (WL)'],
    ['shadow', 'Shadow isolation (SH)'],
  ];
  const out: string[] = [
    '# Rule reference',
    '',
    '<!-- Generated from src/analysis/rules/catalog.ts by `npm run docs:rules`; do not edit by hand. -->',
    '',
    'Every finding of `migrate check` / `migrate plan` carries one of these codes. Codes never change meaning once released.',
    'The severity shown is the default; the verdict adjusts it per migration:',
    '',
    '- BC1 and WL1 findings become `info` in a post-deploy migration (no code from before the release runs then).',
    '- BC2 findings and WL203 (the new release running before a post-deploy migration, between the deploy and the contract) are left out of a pre-deploy migration, which runs before the new release.',
    '- WL2 findings (a rollback breaking the new code) are `warning` in a pre-deploy migration (roll the code back first) and `error` in a post-deploy one.',
    '- MY101/MY102 become `warning` when the plan runs the migration replica-first instead of in place.',
    '- RF1 findings are `info` when the migration runs in place; RF2 findings are `warning` (replica-first) or `info`.',
    '',
    'A finding can be acknowledged (in the migration: SQL `-- migrate:ack RULE reason`, TS `export const acknowledge = [{ rule, reason }]`; or `--ack RULE:MIGRATION_ID:reason`; a rule ending in `*` covers warnings and info only, an error must be named). An acknowledged error no longer fails the gate by itself and every report shows it with its reason; acknowledging a BC1 or WL1 finding also asserts the running code does not depend on the object, so the migration counts as backward compatible. A migration that is refused, or not reversible because its down fails or does not restore the schema (RV102, RV103), still fails the gate; one without a down passes once RV101 is acknowledged. See docs/check.md.',
    '',
  ];
  for (const [family, title] of families) {
    out.push(`## ${title}`, '');
    for (const d of docs.filter((x) => x.family === family).sort((a, b) => (a.code < b.code ? -1 : 1))) {
      out.push(`### ${d.code}: ${d.title} (${d.severity})`, '', d.explanation, '', `Safe alternative: ${d.recipe}`, '');
    }
  }
  return out.join('\n');
}
