/**
 * A step that fails past the point of no return and says its failure left nothing depending on
 * the commit (the switchover's endpoint move when the promoted candidate took no write): the run
 * is undone as before that point; when it says otherwise, released as before.
 */
import { describe, expect, it } from 'vitest';
import { StepMachine, type MachineStep } from '../../src/execution/step-machine.ts';

type N = 'lock' | 'promote' | 'move';
interface Ctx {
  log: string[];
  nothingDependsOnIt: boolean;
}

const steps = (): MachineStep<N, Ctx>[] => [
  {
    name: 'lock',
    do: async (c) => void c.log.push('do lock'),
    undo: async (c) => void c.log.push('undo lock'),
    release: async (c) => void c.log.push('release lock'),
  },
  { name: 'promote', commits: true, do: async (c) => void c.log.push('do promote'), undo: async (c) => void c.log.push('undo promote') },
  {
    name: 'move',
    do: async (c) => {
      c.log.push('do move');
      throw new Error('move failed');
    },
    uncommits: (c) => c.nothingDependsOnIt,
  },
];

describe('StepMachine: uncommits', () => {
  it('a failure that took the run back before the commit undoes every begun step, in reverse order', async () => {
    const c: Ctx = { log: [], nothingDependsOnIt: true };
    const m = new StepMachine(steps(), { journaler: () => undefined, undoJournal: 'undo' });
    await expect(m.run(c)).rejects.toThrow('move failed');
    expect(c.log).toEqual(['do lock', 'do promote', 'do move', 'undo promote', 'undo lock']);
    expect(m.takenBack).toEqual({ undone: true });
  });

  it('otherwise the commit stands: released, nothing undone', async () => {
    const c: Ctx = { log: [], nothingDependsOnIt: false };
    const m = new StepMachine(steps(), { journaler: () => undefined, undoJournal: 'undo' });
    await expect(m.run(c)).rejects.toThrow('move failed');
    expect(c.log).toEqual(['do lock', 'do promote', 'do move', 'release lock']);
    expect(m.takenBack).toEqual({ undone: false });
  });
});
