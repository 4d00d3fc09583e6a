/**
 * Which node a recovery makes the writer after a switchover whose promotion was taken back (the
 * endpoint did not move, the candidate took no write and was closed) and whose undo on the old
 * primary failed: no node is writable, and `promote:end` alone used to elect the candidate, which
 * converge then detaches (STOP SLAVE, RESET SLAVE ALL) without waiting for the old primary's
 * position: root's writes there (they pass read_only) would be lost. It is the old primary.
 */
import { describe, expect, it } from 'vitest';
import { intendedWriter } from '../../src/execution/recover.ts';
import type { JournalEntry } from '../../src/execution/journal.ts';
import type { NodeState } from '../../src/topology/index.ts';

const e = (step: string, phase: string, data?: Record<string, unknown>): JournalEntry =>
  ({ ts: '2026-12-07T08:00:00Z', run: 'r', step, phase, ...(data ? { data } : {}) }) as JournalEntry;
const replicating = { sourceHost: '127.0.0.1', sourcePort: 1, ioRunning: true, sqlRunning: true };
const live = [
  { name: 'a', reachable: true, readOnly: true, replication: null },
  { name: 'b', reachable: true, readOnly: true, replication: replicating },
] as unknown as NodeState[];

const promoted = [
  e('switchover', 'begin', { primary: 'a', candidate: 'b' }),
  e('promote', 'begin'),
  e('promote', 'end'),
  e('move-endpoint', 'begin'),
  e('move-endpoint', 'fail'),
];

describe('intendedWriter after a promotion taken back', () => {
  it('the take-back entry (written before the old primary is undone) elects the old primary', () => {
    expect(intendedWriter([...promoted, e('promotion-taken-back', 'end', { node: 'b' })], live, 'a')).toBe('a');
  });
  it("the fail entry's takenBack flag does too", () => {
    expect(intendedWriter([...promoted, e('switchover', 'fail', { undone: false, takenBack: true })], live, 'a')).toBe('a');
  });
  it('a journal written before both (an undo after promote:end) is still read so', () => {
    expect(intendedWriter([...promoted, e('undo', 'begin'), e('undo', 'fail'), e('switchover', 'fail', { undone: false })], live, 'a')).toBe('a');
  });
  it('a promotion that stood still elects the candidate; a later switchover in the same journal is judged alone', () => {
    expect(intendedWriter([...promoted, e('switchover', 'fail', { undone: false })], live, 'a')).toBe('b');
    const again = [...promoted, e('promotion-taken-back', 'end'), e('switchover', 'fail', { takenBack: true }), ...promoted];
    expect(intendedWriter(again, live, 'a')).toBe('b');
  });
});
