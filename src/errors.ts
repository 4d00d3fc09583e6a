/**
 * Every failure the tool reports is a MigrateError: it names the problem and the fix, and carries
 * the exit code the CLI uses (2 for usage/config/connection, 1 for work that failed).
 */
export type ErrorKind = 'usage' | 'config' | 'connection' | 'work' | 'lock' | 'drift' | 'sandbox';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

const exitCodeByKind: Record<ErrorKind, number> = {
  usage: EXIT_USAGE,
  config: EXIT_USAGE,
  connection: EXIT_USAGE,
  work: EXIT_FAILED,
  lock: EXIT_FAILED,
  drift: EXIT_FAILED,
  sandbox: EXIT_FAILED,
};

export class MigrateError extends Error {
  readonly kind: ErrorKind;
  readonly problem: string;
  readonly fix: string;
  readonly exitCode: number;

  /** `exitCode` overrides the kind's: a run stopped by a signal exits as a shell expects (130 SIGINT, 143 SIGTERM). */
  constructor(kind: ErrorKind, problem: string, fix: string, options?: { cause?: unknown; exitCode?: number }) {
    super(`${problem} Fix: ${fix}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MigrateError';
    this.kind = kind;
    this.problem = problem;
    this.fix = fix;
    this.exitCode = options?.exitCode ?? exitCodeByKind[kind];
  }
}

export const usageError = (problem: string, fix: string): MigrateError => new MigrateError('usage', problem, fix);
export const configError = (problem: string, fix: string): MigrateError => new MigrateError('config', problem, fix);
export const connectionError = (problem: string, fix: string, cause?: unknown): MigrateError => new MigrateError('connection', problem, fix, { cause });
export const workError = (problem: string, fix: string, cause?: unknown): MigrateError => new MigrateError('work', problem, fix, { cause });

/**
 * Also true for a MigrateError of another copy of this module: a TypeScript migration loaded in its
 * own module namespace (tsx) that imports the package's backfill gets its own MigrateError class,
 * and its refusal must still reach the user as a typed error with its fix.
 */
export function isMigrateError(e: unknown): e is MigrateError {
  if (e instanceof MigrateError) return true;
  if (!(e instanceof Error) || e.name !== 'MigrateError') return false;
  const x = e as Partial<Record<'kind' | 'problem' | 'fix', unknown>> & { exitCode?: unknown };
  return (
    typeof x.kind === 'string' &&
    Object.hasOwn(exitCodeByKind, x.kind) &&
    typeof x.problem === 'string' &&
    typeof x.fix === 'string' &&
    typeof x.exitCode === 'number'
  );
}

/** The message text of anything thrown, without assuming it is an Error. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
