/**
 * A run as an explicit list of named steps, each with what it does and what takes it back.
 *
 * - do: the step's work. Returning 'stop' ends the run there, successfully (nothing after it runs).
 * - undo: on a failure before the point of no return, every step that began (the failed one
 *   included: it may have half-happened) is undone, in the reverse order of their beginning.
 * - release: what a begun step holds (a lock, a session, a file) is let go of when the run ends,
 *   in reverse order: on success, and on a failure for every step not undone.
 * - commits: completing this step is the point of no return; from then on nothing is undone,
 *   unless a later step that failed says its failure took the run back before that point
 *   (uncommits): then every begun step is undone as before it.
 * - journal: the machine writes the step's begin and end (or fail) entries itself, under the
 *   step's journal name, through the journaling function it was given; steps that happen before
 *   the journal exists, or that journal nothing on purpose, say `journal: false`.
 *
 * The machine keeps which steps began and whether the point of no return was passed, so nothing
 * else has to remember what to take back.
 */
export interface MachineStep<N extends string, C> {
  readonly name: N;
  /** The journal entry's name, when it is not `name` (e.g. `ledger:<id>`); false: not journaled. */
  readonly journal?: string | false | ((c: C) => string | false);
  /** Data of the journal's begin entry. */
  data?(c: C): Record<string, unknown> | undefined;
  /** When false the step is skipped: not begun, not journaled. */
  when?(c: C): boolean;
  /** Before the journal's begin entry (what must not count inside the step's time). */
  before?(c: C): void | Promise<void>;
  do(c: C): Promise<void | 'stop'>;
  /** After the journal's end entry. */
  after?(c: C): void | Promise<void>;
  undo?(c: C): Promise<void>;
  release?(c: C): Promise<void>;
  readonly commits?: boolean;
  /**
   * Asked when this step failed past the point of no return: true when the failure left nothing
   * that depends on the commit (the step checked it), so the run is undone as before that point.
   */
  uncommits?(c: C): boolean;
  /**
   * A failure of the step that the run survives: returns true when it handled it (the run goes
   * on with the next step), false to fail the run.
   */
  survive?(c: C, e: unknown): Promise<boolean>;
}

/** Journals begin/end (or fail) around fn, as Journal.step does. */
export type StepJournaler = <T>(name: string, fn: () => Promise<T>, data?: Record<string, unknown>) => Promise<T>;

export interface MachineOptions<C> {
  /** The journaling of the run's steps; undefined while (or where) there is no journal. */
  journaler(c: C): StepJournaler | undefined;
  /** The journal step the undoing is written as, when the run failed before the point of no return. */
  undoJournal?: string;
  /** First thing on a failure, before anything is taken back. */
  onFailure?(c: C, e: unknown): void;
}

/** How a failed run was taken back. */
export interface TakenBack {
  /** Undone (before the point of no return) rather than released. */
  undone: boolean;
  /** The first undo that failed (the others were still tried). */
  undoError?: unknown;
}

export class StepMachine<N extends string, C> {
  private readonly begun: MachineStep<N, C>[] = [];
  private readonly completed = new Set<N>();
  private committed = false;
  /** Set when a run failed: how it was taken back. */
  takenBack: TakenBack | undefined;

  constructor(
    private readonly steps: readonly MachineStep<N, C>[],
    private readonly opts: MachineOptions<C>,
  ) {}

  /** Whether the step ran to its end. */
  done(name: N): boolean {
    return this.completed.has(name);
  }

  /**
   * Runs the steps in order, until the last or one that stops the run, then releases what they
   * hold. On a failure takes back every begun step (see above), then rethrows.
   */
  async run(c: C): Promise<void> {
    try {
      for (const step of this.steps) {
        if (step.when && !step.when(c)) continue;
        if ((await this.runStep(step, c)) === 'stop') break;
      }
    } catch (e) {
      this.opts.onFailure?.(c, e);
      this.takenBack = await this.takeBack(c);
      throw e;
    }
    await this.release(c, [...this.begun].reverse());
  }

  private async runStep(step: MachineStep<N, C>, c: C): Promise<void | 'stop'> {
    await step.before?.(c);
    this.begun.push(step);
    const name = typeof step.journal === 'function' ? step.journal(c) : (step.journal ?? step.name);
    const journaler = name === false ? undefined : this.opts.journaler(c);
    let out: void | 'stop';
    try {
      out = journaler && name !== false ? await journaler(name, () => step.do(c), step.data?.(c)) : await step.do(c);
    } catch (e) {
      if (step.survive && (await step.survive(c, e))) return undefined;
      if (this.committed && step.uncommits?.(c)) this.committed = false;
      throw e;
    }
    this.completed.add(step.name);
    if (step.commits) this.committed = true;
    await step.after?.(c);
    return out;
  }

  /**
   * Each begun step, in reverse order, taken back once: undone while before the point of no
   * return (every undo is tried even when an earlier one failed), else released.
   */
  private async takeBack(c: C): Promise<TakenBack> {
    const steps = [...this.begun].reverse();
    if (this.committed) {
      await this.release(c, steps);
      return { undone: false };
    }
    let undoError: { e: unknown } | undefined;
    const undoAll = async (): Promise<void> => {
      for (const step of steps) {
        if (!step.undo) continue;
        try {
          await step.undo(c);
        } catch (e) {
          undoError ??= { e };
        }
      }
      if (undoError) throw undoError.e;
    };
    const journaler = this.opts.undoJournal ? this.opts.journaler(c) : undefined;
    await (journaler && this.opts.undoJournal ? journaler(this.opts.undoJournal, undoAll) : undoAll()).catch(() => undefined);
    await this.release(
      c,
      steps.filter((s) => !s.undo),
    );
    return undoError ? { undone: false, undoError: undoError.e } : { undone: true };
  }

  private async release(c: C, steps: readonly MachineStep<N, C>[]): Promise<void> {
    this.begun.length = 0;
    for (const step of steps) await step.release?.(c);
  }
}
