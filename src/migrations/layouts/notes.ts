import type { IssueSeverity, LoadNote, LoadNoteKind, MigrationIssue } from '../types.ts';

/** A non-blocking loader note. `blocks: 'down'` only for a missing down: `down` refuses to revert it. */
export function note(
  kind: LoadNoteKind,
  severity: IssueSeverity,
  what: { id?: string; file: string; problem: string; fix: string },
  blocks: 'none' | 'down' = 'none',
): LoadNote {
  return { ...(what.id !== undefined ? { id: what.id } : {}), file: what.file, problem: what.problem, fix: what.fix, blocks, severity, kind };
}

/** A hard refusal: what cannot be run safely (duplicate versions, an unreadable annotation). */
export function refusal(what: { id?: string; file: string; problem: string; fix: string }): MigrationIssue {
  return { ...(what.id !== undefined ? { id: what.id } : {}), file: what.file, problem: what.problem, fix: what.fix, blocks: 'all', severity: 'error' };
}

export function isNote(i: MigrationIssue): i is LoadNote {
  return i.kind !== undefined;
}
