import { describe, expect, it } from 'vitest';
import { StepMachine, type MachineStep, type StepJournaler } from '../../src/execution/step-machine.ts';

type N = 'a' | 'b' | 'c' | 'd';
interface Ctx {
  log: string[];
  failAt?: N;
}

function step(name: N, extra: Partial<MachineStep<N, Ctx>> = {}): MachineStep<N, Ctx> {
  return {
    name,
    do: async (c) => {
      c.log.push(`do ${name}`);
      if (c.failAt === name) throw new Error(`${name} failed`);
    },
    undo: async (c) => void c.log.push(`undo ${name}`),
    ...extra,
  };
}

const journaler =
  (c: Ctx): StepJournaler =>
  async (name, fn) => {
    c.log.push(`${name}:begin`);
    const out = await fn();
    c.log.push(`${name}:end`);
    return out;
  };

describe('StepMachine', () => {
  it('journals each step under its journal name and releases in reverse order on success', async () => {
    const c: Ctx = { log: [] };
    const steps = [
      step('a', { release: async (x) => void x.log.push('release a') }),
      step('b', { journal: 'b:x', release: async (x) => void x.log.push('release b') }),
      step('c', { journal: false }),
    ];
    await new StepMachine(steps, { journaler }).run(c);
    expect(c.log).toEqual(['a:begin', 'do a', 'a:end', 'b:x:begin', 'do b', 'b:x:end', 'do c', 'release b', 'release a']);
  });

  it('undoes every begun step, the failed one included, in reverse order, inside the undo journal step', async () => {
    const c: Ctx = { log: [], failAt: 'c' };
    const m = new StepMachine([step('a'), step('b'), step('c'), step('d')], { journaler: () => undefined, undoJournal: 'undo' });
    await expect(m.run(c)).rejects.toThrow('c failed');
    expect(c.log).toEqual(['do a', 'do b', 'do c', 'undo c', 'undo b', 'undo a']);
    expect(m.takenBack).toEqual({ undone: true });
  });

  it('past a committing step releases instead of undoing', async () => {
    const c: Ctx = { log: [], failAt: 'c' };
    const m = new StepMachine([step('a', { release: async (x) => void x.log.push('release a') }), step('b', { commits: true }), step('c')], {
      journaler: () => undefined,
    });
    await expect(m.run(c)).rejects.toThrow('c failed');
    expect(c.log).toEqual(['do a', 'do b', 'do c', 'release a']);
    expect(m.takenBack).toEqual({ undone: false });
  });

  it('tries every undo when one fails and reports the first failure', async () => {
    const c: Ctx = { log: [], failAt: 'c' };
    const bad = step('b', { undo: async () => Promise.reject(new Error('undo b failed')) });
    const m = new StepMachine([step('a'), bad, step('c')], { journaler: () => undefined });
    await expect(m.run(c)).rejects.toThrow('c failed');
    expect(c.log).toEqual(['do a', 'do b', 'do c', 'undo c', 'undo a']);
    expect((m.takenBack?.undoError as Error).message).toBe('undo b failed');
  });

  it('skips steps whose condition is false, stops at a step returning stop, and survives what a step survives', async () => {
    const c: Ctx = { log: [], failAt: 'a' };
    const steps = [
      step('a', { survive: async () => true }),
      step('b', { when: () => false }),
      step('c', { do: async (x) => (x.log.push('do c'), 'stop') }),
      step('d'),
    ];
    const m = new StepMachine(steps, { journaler: () => undefined });
    await m.run(c);
    expect(c.log).toEqual(['do a', 'do c']);
    expect(m.done('a')).toBe(false);
    expect(m.done('c')).toBe(true);
  });
});
