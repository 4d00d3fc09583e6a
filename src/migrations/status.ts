import { compareIds } from './discover.ts';
import type { LedgerEntry } from './ledger.ts';
import { shortChecksum } from './checksum.ts';
import type { IssueSeverity, LoadNote, LoadNoteKind, MigrationSource, Phase } from './types.ts';

export type MigrationState = 'applied' | 'pending' | 'drift' | 'missing-file' | 'partial' | 'running';

/** A run of a migration that has not finished: what `status` shows for it, read from the progress table (and the server). */
export interface RunState {
  id: string;
  /** partial: interrupted with some of it in place (up/down refuse); running: a run holds the lock now; cleared: an attempt left nothing. */
  state: 'partial' | 'running' | 'cleared';
  /** One line for people. */
  text: string;
  /** For --format json. */
  json: Record<string, unknown>;
}

export interface MigrationStatus {
  id: string;
  state: MigrationState;
  /** The file's checksum, or the ledger's when the file is gone. */
  checksum: string | null;
  /** What the ledger holds, when it differs from the file (drift). */
  ledgerChecksum: string | null;
  appliedAt: Date | null;
  appliedBy: string | null;
  host: string | null;
  phase: Phase | null;
  executionMs: number | null;
  /** Load problems and a missing down, in words. */
  problems: string[];
  /** Non-blocking loader notes about it (an empty placeholder, no down in another tool's layout). */
  notes?: StatusNote[];
  source?: MigrationSource;
  entry?: LedgerEntry;
  /** An unfinished run of it (partial / running), as the progress table records it. */
  run?: RunState;
}

/** A loader note as status shows it. */
export interface StatusNote {
  severity: IssueSeverity;
  kind: LoadNoteKind;
  message: string;
}

function statusNotes(notes: readonly LoadNote[] | undefined): StatusNote[] {
  return (notes ?? []).map((n) => ({ severity: n.severity, kind: n.kind, message: n.problem }));
}

/** Joins the files with the ledger (and unfinished runs). Every id appears once, in the order the discovery gives (the layout's run order). */
export function computeStatus(migrations: readonly MigrationSource[], entries: readonly LedgerEntry[], runs: readonly RunState[] = []): MigrationStatus[] {
  const byRun = new Map(runs.map((r) => [r.id, r]));
  const known = new Set([...migrations.map((m) => m.id), ...entries.map((e) => e.id)]);
  // An interrupted up whose file was then removed has neither a file nor a ledger row, yet its
  // statements stay in place: left out, status would hide it while up refuses because of it.
  const gone = runs.filter((r) => r.state !== 'cleared' && !known.has(r.id)).map((r) => fileGoneStatus(r.id));
  return withRuns(joinLedger(migrations, entries, gone), byRun);
}

/** A migration known only from an unfinished run of it: no file, no ledger row. */
export function fileGoneStatus(id: string): MigrationStatus {
  return {
    id,
    state: 'partial',
    checksum: null,
    ledgerChecksum: null,
    appliedAt: null,
    appliedBy: null,
    host: null,
    phase: null,
    executionMs: null,
    problems: ['its file is no longer in the migrations directory'],
    notes: [],
  };
}

function withRuns(list: MigrationStatus[], runs: Map<string, RunState>): MigrationStatus[] {
  for (const s of list) {
    const r = runs.get(s.id);
    if (!r) continue;
    s.run = r;
    if (r.state === 'cleared') s.problems.push(r.text);
    else {
      s.state = r.state;
      s.problems.unshift(r.text);
    }
  }
  return list;
}

function joinLedger(migrations: readonly MigrationSource[], entries: readonly LedgerEntry[], gone: readonly MigrationStatus[] = []): MigrationStatus[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const out: MigrationStatus[] = [];
  for (const m of migrations) {
    const e = byId.get(m.id);
    byId.delete(m.id);
    const problems = (m.issues ?? []).map((i) => i.problem);
    const notes = statusNotes(m.notes);
    if (!e) {
      out.push({
        id: m.id,
        state: 'pending',
        checksum: m.checksum,
        ledgerChecksum: null,
        appliedAt: null,
        appliedBy: null,
        host: null,
        phase: m.phase ?? null,
        executionMs: null,
        problems,
        notes,
        source: m,
      });
      continue;
    }
    const drift = e.checksum !== m.checksum;
    out.push({
      id: m.id,
      state: drift ? 'drift' : 'applied',
      checksum: m.checksum,
      ledgerChecksum: drift ? e.checksum : null,
      appliedAt: e.appliedAt,
      appliedBy: e.appliedBy,
      host: e.host,
      phase: m.phase ?? e.phase,
      executionMs: e.executionMs,
      problems: drift ? [`file changed since it was applied (ledger ${shortChecksum(e.checksum)}, file ${shortChecksum(m.checksum)})`, ...problems] : problems,
      notes,
      source: m,
      entry: e,
    });
  }
  const missing: MigrationStatus[] = [];
  for (const e of byId.values()) {
    missing.push({
      id: e.id,
      state: 'missing-file',
      checksum: e.checksum || null,
      ledgerChecksum: e.checksum || null,
      appliedAt: e.appliedAt,
      appliedBy: e.appliedBy,
      host: e.host,
      phase: e.phase,
      executionMs: e.executionMs,
      problems: ['applied, but its file is no longer in the migrations directory'],
      notes: [],
      entry: e,
    });
  }
  return mergeInOrder(out, [...missing, ...gone]);
}

/**
 * The files' rows in the order the discovery gives (the layout's run order: ids, or numeric
 * versions), with the rows of applied migrations whose file is gone placed by id among them.
 */
function mergeInOrder(files: MigrationStatus[], missing: MigrationStatus[]): MigrationStatus[] {
  const out = [...files];
  for (const m of missing.sort((a, b) => compareIds(a.id, b.id))) {
    const at = out.findIndex((s) => s.state !== 'missing-file' && compareIds(s.id, m.id) > 0);
    if (at < 0) out.push(m);
    else out.splice(at, 0, m);
  }
  return out;
}

/** The ledger holds a row for it (a partially reverted migration is still applied; a partially applied one is not). */
export function isApplied(s: MigrationStatus): boolean {
  return s.entry !== undefined;
}

/** The shape of `migrate status --format json`. */
export function statusJson(
  list: readonly MigrationStatus[],
  problems: readonly string[] = [],
  dirNotes: readonly LoadNote[] = [],
): { migrations: Record<string, unknown>[]; problems: string[]; notes: StatusNote[] } {
  return {
    problems: [...problems],
    notes: statusNotes(dirNotes),
    migrations: list.map((s) => ({
      id: s.id,
      state: s.state,
      checksum: s.checksum,
      appliedAt: s.appliedAt ? s.appliedAt.toISOString() : null,
      appliedBy: s.appliedBy,
      host: s.host,
      phase: s.phase,
      ledgerChecksum: s.ledgerChecksum,
      executionMs: s.executionMs,
      problems: s.problems,
      notes: s.notes ?? [],
      ...(s.run ? { run: s.run.json } : {}),
    })),
  };
}

function formatTime(d: Date | null): string {
  return d
    ? d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '-';
}

// C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidirectional
// overrides/isolates (which reorder what a terminal shows).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A file name, ledger value or problem text with its control characters written as \uXXXX: a line
 * break in a migration's file name (which up/down refuse) must not forge lines of the status table.
 */
export function printable(s: string): string {
  return s.replace(CONTROL_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A table for people: one row per migration, then a count per state. */
export function statusText(list: readonly MigrationStatus[], dir: string, problems: readonly string[] = [], dirNotes: readonly LoadNote[] = []): string {
  const extra = problems.length ? ['', `Problems in ${dir}:`, ...problems.map((p) => `  ! ${printable(p)}`)] : [];
  if (dirNotes.length) extra.push('', `Notes on ${dir}:`, ...dirNotes.map((n) => `  ${n.severity}: ${printable(n.problem)}`));
  if (list.length === 0) return [`No migrations in ${dir} and none applied. Create one with "migrate make <name>".`, ...extra].join('\n');
  const header = ['ID', 'STATE', 'PHASE', 'APPLIED AT (UTC)', 'APPLIED BY', 'HOST', 'CHECKSUM'];
  const rows = list.map((s) => [
    printable(s.id),
    s.state,
    s.phase ?? '-',
    formatTime(s.appliedAt),
    printable(s.appliedBy ?? '-'),
    printable(s.host ?? '-'),
    shortChecksum(s.checksum),
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const fmt = (r: string[]): string => r.map((c, k) => (k === r.length - 1 ? c : c.padEnd(widths[k] ?? 0))).join('  ');
  const lines = [fmt(header)];
  for (const [k, s] of list.entries()) {
    lines.push(fmt(rows[k] ?? []));
    for (const p of s.problems) lines.push(`    ! ${printable(p)}`);
    for (const n of s.notes ?? []) lines.push(`    ${n.severity}: ${printable(n.message)}`);
  }
  const count = (st: MigrationState): number => list.filter((s) => s.state === st).length;
  lines.push('');
  const unfinished = count('partial') + count('running') ? `, ${count('partial')} partial${count('running') ? `, ${count('running')} running` : ''}` : '';
  lines.push(`${count('applied')} applied, ${count('pending')} pending, ${count('drift')} drift, ${count('missing-file')} missing file${unfinished}`);
  if (count('drift') > 0) lines.push('Drift blocks "up" and "down": restore the file, or review the change and run "migrate ack-drift <id>".');
  if (count('partial') > 0)
    lines.push(
      'A partially applied migration blocks "up" and "down": "migrate repair <id> --continue | --revert | --mark-applied | --forget" says how to go on.',
    );
  lines.push(...extra);
  return lines.join('\n');
}
