import type { LineRange } from '../sql-split.ts';

/**
 * One SQL file holding both directions, as goose (`-- +goose Up` / `Down`) and dbmate
 * (`-- migrate:up` / `-- migrate:down`) write them. Roles are per line (1-based); annotation lines
 * belong to no section, so scanning a section keeps the file's line numbers.
 */
export interface Sections {
  role: ('up' | 'down' | undefined)[];
  /** The line of the first annotation (lines above it are a header: comments read as the up's). */
  firstAnnotation: number;
  hasUp: boolean;
  hasDown: boolean;
  /** goose StatementBegin/End blocks per section: one statement each. */
  blocks: { up: LineRange[]; down: LineRange[] };
  /** goose `NO TRANSACTION` / dbmate `transaction:false` (dbmate sets it per section). */
  noTransaction: { up: boolean; down: boolean };
  /** Annotations the tool itself would refuse, with their line. */
  problems: { line: number; text: string }[];
  /** goose `ENVSUB ON` is in force on the line (per line, 1-based like `role`): its ${VAR} references are expanded. */
  envsub: boolean[];
}

function empty(lineCount: number): Sections {
  return {
    role: new Array<undefined>(lineCount).fill(undefined),
    firstAnnotation: lineCount + 1,
    hasUp: false,
    hasDown: false,
    blocks: { up: [], down: [] },
    noTransaction: { up: false, down: false },
    problems: [],
    envsub: new Array<boolean>(lineCount).fill(false),
  };
}

const GOOSE = /^\s*--\s*\+goose\s+(.*?)\s*$/i;

/** goose's annotations: Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON / OFF (case-insensitive, as goose reads them). */
export function gooseSections(lines: readonly string[]): Sections {
  const s = empty(lines.length);
  let current: 'up' | 'down' | undefined;
  let blockStart: number | undefined;
  // goose switches substitution on and off anywhere in the file, StatementBegin blocks included.
  let envsub = false;
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    const m = GOOSE.exec(line);
    if (!m) {
      s.role[i] = current;
      s.envsub[i] = envsub;
      continue;
    }
    s.firstAnnotation = Math.min(s.firstAnnotation, n);
    const cmd = (m[1] ?? '').toUpperCase().replace(/\s+/g, ' ');
    if (cmd === 'UP' || cmd === 'DOWN') {
      if (blockStart !== undefined) s.problems.push({ line: n, text: `"-- +goose ${m[1]}" inside a StatementBegin block opened on line ${blockStart - 1}` });
      current = cmd === 'UP' ? 'up' : 'down';
      if (current === 'up') s.hasUp = true;
      else s.hasDown = true;
    } else if (cmd === 'STATEMENTBEGIN') {
      if (current === undefined) s.problems.push({ line: n, text: 'StatementBegin before "-- +goose Up"' });
      blockStart = n + 1;
    } else if (cmd === 'STATEMENTEND') {
      if (blockStart === undefined || current === undefined) s.problems.push({ line: n, text: 'StatementEnd without a StatementBegin' });
      else s.blocks[current].push({ from: blockStart, to: n - 1 });
      blockStart = undefined;
    } else if (cmd === 'NO TRANSACTION') {
      s.noTransaction = { up: true, down: true };
    } else if (cmd === 'ENVSUB ON' || cmd === 'ENVSUB OFF') {
      envsub = cmd === 'ENVSUB ON';
    } else {
      s.problems.push({ line: n, text: `unknown annotation "-- +goose ${m[1]}"` });
    }
  }
  if (blockStart !== undefined) s.problems.push({ line: blockStart - 1, text: 'StatementBegin without a StatementEnd' });
  return s;
}

const DBMATE = /^\s*--\s*migrate:(up|down)\b(.*)$/i;

/** dbmate's sections: `-- migrate:up` / `-- migrate:down`, each optionally `transaction:false`. */
export function dbmateSections(lines: readonly string[]): Sections {
  const s = empty(lines.length);
  let current: 'up' | 'down' | undefined;
  for (const [i, line] of lines.entries()) {
    const m = DBMATE.exec(line);
    if (!m) {
      s.role[i] = current;
      continue;
    }
    s.firstAnnotation = Math.min(s.firstAnnotation, i + 1);
    current = (m[1] ?? '').toLowerCase() === 'up' ? 'up' : 'down';
    if (current === 'up') s.hasUp = true;
    else s.hasDown = true;
    for (const opt of (m[2] ?? '').trim().split(/\s+/).filter(Boolean)) {
      const [key, value] = opt.split(':');
      if (key === 'transaction' && (value === 'false' || value === 'true')) s.noTransaction[current] = value === 'false';
      else s.problems.push({ line: i + 1, text: `unknown option "${opt}" (dbmate knows transaction:false)` });
    }
  }
  return s;
}
