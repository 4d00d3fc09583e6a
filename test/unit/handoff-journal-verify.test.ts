import { describe, expect, it } from 'vitest';
import { handoffProgress } from '../../src/execution/handoff/index.ts';
import { openStep, type JournalEntry } from '../../src/execution/journal.ts';

/**
 * A replica-first run journals the switchover's check of the new primary and the hand-off's
 * verify in one journal. Resume must go on at the hand-off's step whichever the run died in, for
 * journals written now (`switchover-verify`) and by the previous version (both called `verify`).
 */
let seq = 0;
const e = (step: string, phase: JournalEntry['phase'], data?: Record<string, unknown>): JournalEntry => ({
  ts: `2026-12-07T05:00:${String(seq++ % 60).padStart(2, '0')}.000Z`,
  run: 'R',
  step,
  phase,
  ...(data ? { data } : {}),
});
const deploy = (): JournalEntry[] => [e('deploy', 'begin', { command: './deploy.sh', verify: true, rollback: true }), e('deploy', 'end')];
const handoffVerify = (...phases: JournalEntry['phase'][]): JournalEntry[] =>
  phases.map((p) =>
    p === 'begin' ? e('verify', 'begin', { check: 'the command ./check.sh' }) : e('verify', p, p === 'fail' ? { error: 'exit 1' } : undefined),
  );
/** A switchover as the previous version journaled it (`verify`, no data) or as it does now. */
const switchover = (name: 'verify' | 'switchover-verify', ...phases: JournalEntry['phase'][]): JournalEntry[] => [
  e('switchover', 'begin', { primary: 'primary', candidate: 'replica1' }),
  e('promote', 'begin'),
  e('promote', 'end'),
  ...phases.map((p) => e(name, p)),
];

for (const name of ['verify', 'switchover-verify'] as const) {
  describe(`a journal with the switchover's ${name} and the hand-off's verify`, () => {
    it('killed in the expand switchover: no hand-off began', () => {
      expect(handoffProgress('R', switchover(name, 'begin'))).toBeUndefined();
    });

    it("killed in the hand-off's verify after the switchover's ended: verify again", () => {
      const j = [...switchover(name, 'begin', 'end'), e('switchover', 'end'), ...deploy(), ...handoffVerify('begin')];
      expect(handoffProgress('R', j)).toMatchObject({ next: 'verify', hadVerify: true, hadRollback: true });
      expect(openStep(j)).toBe('verify');
    });

    it("killed in the contract phase's switchover after the hand-off's verify ended: the contract, not verify again", () => {
      const j = [...deploy(), ...handoffVerify('begin', 'end'), ...switchover(name, 'begin')];
      expect(handoffProgress('R', j)).toMatchObject({ next: 'contract' });
    });

    it("the contract phase's switchover check failed after the hand-off passed: still past the hand-off, no rollback", () => {
      const j = [...deploy(), ...handoffVerify('begin', 'end'), ...switchover(name, 'begin', 'fail')];
      expect(handoffProgress('R', j)).toMatchObject({ next: 'contract' });
      expect(handoffProgress('R', j)?.failed).toBeUndefined();
    });

    it("the hand-off's verify failed: rollback, whatever the switchover's check did before", () => {
      const j = [...switchover(name, 'begin', 'end'), ...deploy(), ...handoffVerify('begin', 'fail')];
      expect(handoffProgress('R', j)).toMatchObject({ next: 'rollback', failed: 'verify failed in run R: exit 1' });
    });
  });
}
