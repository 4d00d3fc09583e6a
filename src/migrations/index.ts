// The public surface of src/migrations for the CLI, analysis and execution stages.
export type { Acknowledgement, Discovery, MigrationIssue, MigrationSource, Phase, SqlStatement } from './types.ts';
export { PHASES } from './types.ts';
export { ackCovers, isKnownAckRule, isWildcardAck, RULE_CODES } from './ack-rules.ts';
export { blockingError, discoverMigrations, loadMigrations } from './discover.ts';
export { scanSql, splitSql } from './sql-split.ts';
export { runStatements, StatementError } from './sql-exec.ts';
export { checksumOf, shortChecksum } from './checksum.ts';
export { Ledger, type LedgerEntry } from './ledger.ts';
export { LedgerWriter, withLedgerWriter } from './ledger-writer.ts';
export { acquireRunLock, type RunSession } from './lock.ts';
export { Runner, type RunResult, type StatusReport, type DriftAck } from './runner.ts';
export { computeStatus, statusJson, statusText, type MigrationState, type MigrationStatus } from './status.ts';
export { makeMigration, nextMigrationNumber, sanitizeMigrationName } from './make.ts';
export { convertKnexfile, readKnexHistory } from './knex-adopt.ts';
export { backfill, clearBackfillState, BACKFILL_STATE_TABLE, type BackfillOptions, type BackfillProgress, type BackfillResult } from './backfill.ts';
export { currentMigration, type MigrationRunContext } from './context.ts';
export { runConcurrently, resolveLockSafety, DEFAULT_LOCK_SAFETY, type LockSafety } from './pg/index.ts';
