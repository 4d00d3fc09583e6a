import type { Finding } from '../types.ts';
import type { WorkloadQuery } from './parse.ts';

/**
 * With a workload the old code's statements decide compatibility instead of the change's kind:
 * a drop or type change that no old statement depends on is a warning (the running release
 * provably does not use what changed), and one a statement depends on stays an error that names
 * the statement. The rules (bc-*.ts) judge without a workload; this runs after them and after the
 * prepare step (check.ts), whose WL101 / WL102 already report statements the server refuses.
 */
export interface SettleInput {
  /** The migration's findings: the BC ones this decides are replaced in place. */
  findings: Finding[];
  queries: WorkloadQuery[];
  /**
   * Where the statements come from, completing "No statement ... names x": "in queries.txt",
   * "seen since 2026-12-01 09:00 UTC in app (1,204 statements)".
   */
  window: string;
}

const WRITES = new Set<WorkloadQuery['verb']>(['insert', 'update', 'replace', 'merge']);
const UPSERT = /\bon\s+duplicate\s+key\s+update\b|\bon\s+conflict\b|^\s*replace\b/i;

function names(q: WorkloadQuery, table: string, column?: string): boolean {
  return q.idents.has(table.toLowerCase()) && (column === undefined || q.idents.has(column.toLowerCase()));
}

/** Writes that set `column` of `table`: they name it, or insert every column positionally. */
function writes(q: WorkloadQuery, table: string, column: string): boolean {
  if (!WRITES.has(q.verb) || !q.idents.has(table.toLowerCase())) return false;
  if (q.insert && q.insert.table.toLowerCase() === table.toLowerCase() && q.insert.columns === null) return true;
  return q.idents.has(column.toLowerCase());
}

function quote(q: WorkloadQuery): string {
  const one = q.text.replace(/\s+/g, ' ').trim();
  const s = one.length > 200 ? `${one.slice(0, 197)}...` : one;
  return `${s.includes('`') ? `\`\` ${s} \`\`` : `\`${s}\``} (${q.source})`;
}

/** The statements the finding depends on, and what an unused object is called in the message. */
function dependents(f: Finding, queries: WorkloadQuery[]): { users: WorkloadQuery[]; what: string; how: string } | undefined {
  const table = f.table;
  if (!table) return undefined;
  switch (f.rule) {
    case 'BC101':
      return { users: queries.filter((q) => names(q, table)), what: table, how: 'names' };
    case 'BC102':
      return f.column ? { users: queries.filter((q) => names(q, table, f.column)), what: `${table}.${f.column}`, how: 'names' } : undefined;
    case 'BC105':
    case 'BC106': {
      const column = f.column;
      return column ? { users: queries.filter((q) => writes(q, table, column)), what: `${table}.${column}`, how: 'writes' } : undefined;
    }
    case 'BC114':
      // A key on other columns (an error from the rules) can refuse what a write sends; reads still run.
      return { users: queries.filter((q) => WRITES.has(q.verb) && names(q, table)), what: table, how: 'writes' };
    default:
      return undefined;
  }
}

/** Tables where the prepare step found an old statement the server now refuses: nothing there is settled as compatible. */
function brokenTables(findings: Finding[]): Set<string> {
  return new Set(findings.filter((f) => (f.rule === 'WL101' || f.rule === 'WL102') && f.table).map((f) => f.table!.toLowerCase()));
}

function firstSentence(s: string): string {
  const m = /^[\s\S]*?[.)](?=\s+[A-Z])/.exec(s);
  return m ? m[0] : s;
}

/**
 * A primary key extended by columns accepts every row, so an upsert still runs (measured: m31, p53)
 * and the finding stays a warning; but its conflict now matches on the new key, so where one of
 * the old statements upserts into the table the warning names it.
 */
function upsertNote(f: Finding, queries: WorkloadQuery[]): Finding {
  const upserts = queries.filter((q) => names(q, f.table!) && UPSERT.test(q.sql));
  if (!upserts.length) return f;
  return {
    ...f,
    message: `${f.message} It still runs, but matches rows on the new key: ${upserts.slice(0, 3).map(quote).join(', ')}${upserts.length > 3 ? ` and ${upserts.length - 3} more` : ''}; check that it cannot now insert a second row with the same ${f.table} id.`,
  };
}

export function settleWithWorkload(i: SettleInput): void {
  if (!i.queries.length) return;
  const broken = brokenTables(i.findings);
  const count = `${i.queries.length} statement${i.queries.length === 1 ? '' : 's'}`;
  i.findings.forEach((f, k) => {
    const d = dependents(f, i.queries);
    if (!d || !f.table) return;
    if (f.rule === 'BC114' && f.severity !== 'error') {
      i.findings[k] = upsertNote(f, i.queries);
      return;
    }
    // A converted type change (a warning from the rules) runs for writers too.
    if (d.users.length && f.severity === 'error') {
      const listed = d.users.slice(0, 3).map(quote).join(', ');
      const more = d.users.length > 3 ? ` and ${d.users.length - 3} more` : '';
      i.findings[k] = {
        ...f,
        severity: 'error',
        message: `${f.message} The running release depends on it: ${listed}${more} ${d.how} ${d.what}.`,
      };
      return;
    }
    if (d.users.length || f.severity !== 'error' || broken.has(f.table.toLowerCase())) return;
    i.findings[k] = {
      ...f,
      severity: 'warning',
      // The rule's reasoning assumes the old code uses the object; keep only what the change is.
      message: `${firstSentence(f.message)} Compatible with the running release: no statement ${i.window} ${d.how} ${d.what}, and every one of them (${count}) still prepares after this migration.`,
    };
  });
}
