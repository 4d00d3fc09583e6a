import type { FitEngine } from '../../engines/index.ts';
import { str } from '../../engines/index.ts';
import type { Finding } from '../types.ts';
import { DEFAULT_FIT_BUDGET, type RowQuery } from './fit.ts';
import type { RowCount } from './shadow-copies.ts';
import { type AddedConstraint, measureViolations, violationFinding } from './violations.ts';

/**
 * `check` (issue 16 point 2): the history's own inserts are on the shadow, so a migration that
 * inserts an orphan and then adds the foreign key fails there, or (foreign_key_checks off, ALTER
 * IGNORE) keeps the orphan or deletes the duplicates. Which constraint an ALTER adds is known from
 * the diff only once it succeeded; a failing one leaves no diff, and on PostgreSQL it rolls the
 * inserts back. So each statement that adds a constraint is read before it runs and the rows that
 * violate it are counted then, on the migration's own session (its uncommitted inserts visible).
 */

const NAME = String.raw`(?:\`[^\`]+\`|"[^"]+"|[\w$]+)`;
const QNAME = String.raw`${NAME}(?:\s*\.\s*${NAME})*`;
/** A parenthesised column list; a column may carry a prefix length, `code(10)`. */
const LIST = String.raw`\(((?:[^()]|\([^()]*\))*)\)`;

/** The statement's constraints: FOREIGN KEY, UNIQUE, CHECK (not NOT VALID), NOT NULL on an existing column. */
export function constraintsInStatement(sql: string, folds: boolean): AddedConstraint[] {
  const unquote = (n: string): string => {
    const t = n.trim();
    if (/^[`"]/.test(t)) return t.slice(1, -1);
    return folds ? t.toLowerCase() : t;
  };
  const last = (q: string): string => unquote(q.split('.').at(-1) ?? q);
  const cols = (list: string): string[] =>
    splitTop(list).map((c) =>
      unquote(
        c
          .trim()
          .replace(/\s*\(\d+\)/, '')
          .replace(/\s+(asc|desc)\s*$/i, ''),
      ),
    );
  const index = new RegExp(
    String.raw`^\s*create\s+unique\s+index\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?(${NAME})?\s*on\s+(?:only\s+)?(${QNAME})\s*(?:using\s+\w+\s*)?${LIST}(?:\s*where\s+([\s\S]+?))?\s*;?\s*$`,
    'i',
  ).exec(sql);
  if (index) {
    const where = index[4]?.trim();
    return [
      { kind: 'unique', table: last(index[2]!), name: index[1] ? unquote(index[1]) : '(unnamed)', columns: cols(index[3]!), ...(where ? { where } : {}) },
    ];
  }
  const alter = new RegExp(String.raw`^\s*alter\s+(?:online\s+|ignore\s+)*table\s+(?:only\s+)?(?:if\s+exists\s+)?(${QNAME})\s+([\s\S]*?)\s*;?\s*$`, 'i').exec(
    sql,
  );
  if (!alter) return [];
  const table = last(alter[1]!);
  return splitTop(alter[2]!).flatMap((c) => clauseConstraint(c.trim(), table, { unquote, last, cols }) ?? []);
}

function clauseConstraint(
  c: string,
  table: string,
  h: { unquote: (n: string) => string; last: (q: string) => string; cols: (list: string) => string[] },
): AddedConstraint | undefined {
  const named = new RegExp(String.raw`^add\s+(?:constraint\s+(${NAME})\s+)?`, 'i').exec(c);
  const rest = named ? c.slice(named[0].length) : '';
  const name = named?.[1] ? h.unquote(named[1]) : undefined;
  // NOT VALID (PostgreSQL) checks no stored row: its ALTER cannot fail on them.
  if (/\bnot\s+valid\s*$/i.test(rest)) return undefined;
  const fk = new RegExp(String.raw`^foreign\s+key\s*(?:${NAME}\s*)?${LIST}\s*references\s+(${QNAME})\s*${LIST}`, 'i').exec(rest);
  if (named && fk)
    return { kind: 'foreign key', table, name: name ?? '(unnamed)', columns: h.cols(fk[1]!), parent: { table: h.last(fk[2]!), columns: h.cols(fk[3]!) } };
  const unique = new RegExp(String.raw`^unique(?:\s+(?:key|index))?(?:\s+(${NAME}))?\s*${LIST}`, 'i').exec(rest);
  if (named && unique) return { kind: 'unique', table, name: name ?? (unique[1] ? h.unquote(unique[1]) : '(unnamed)'), columns: h.cols(unique[2]!) };
  const check = /^check\s*\(([\s\S]*)\)\s*$/i.exec(rest);
  if (named && check) return { kind: 'check', table, name: name ?? '(unnamed)', columns: [], expression: check[1]! };
  const setNotNull = new RegExp(String.raw`^alter\s+(?:column\s+)?(${NAME})\s+set\s+not\s+null\s*$`, 'i').exec(c);
  const modify = new RegExp(String.raw`^(?:modify\s+(?:column\s+)?(${NAME})|change\s+(?:column\s+)?(${NAME})\s+${NAME})\s+[\s\S]*\bnot\s+null\b`, 'i').exec(c);
  const column = setNotNull?.[1] ?? modify?.[1] ?? modify?.[2];
  if (column) return { kind: 'not null', table, name: h.unquote(column), columns: [h.unquote(column)] };
  return undefined;
}

/** Splits on the commas outside parentheses and quotes. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out;
}

/** Per analysed up: counts, before each statement that adds a constraint, the shadow rows that violate it. */
export class ShadowViolationCounts {
  private readonly found: Finding[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly fit: FitEngine,
    private readonly query: RowQuery,
    private readonly folds: boolean,
    private readonly rowCount: RowCount,
  ) {}

  /** Called before each statement of the up; false when a query of its own failed (PostgreSQL then rolls back to before it). */
  async beforeStatement(sql: string): Promise<boolean> {
    for (const k of constraintsInStatement(sql, this.folds)) {
      const key = JSON.stringify([k.kind, k.table, k.columns, k.expression]);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      // No row can violate a constraint on an empty table: one bounded read instead of the key
      // lookup and the counts (a failed read fails the same way as they would: false).
      let rows: number;
      try {
        rows = await this.rowCount(k.table);
      } catch {
        return false;
      }
      if (rows === 0) continue;
      const keyColumns = (await this.query(this.fit.primaryKeySql(k.table)).catch(() => [])).map((r) => str(r['k']) ?? '');
      const r = await measureViolations(this.query, this.fit, k, { rows: null, keyColumns, budget: DEFAULT_FIT_BUDGET });
      // A statement read wrong (or a table with no rows) says nothing: only rows that violate it are news.
      if (!r.measured) return false;
      if (r.bad > 0) this.found.push(violationFinding(k, r, { where: "checked on the shadow's rows before the change", keyColumns, statement: sql.trim() }));
    }
    return true;
  }

  /** The DL108 errors for the up's constraints that stored rows violate. */
  findings(): Finding[] {
    return [...this.found];
  }
}
