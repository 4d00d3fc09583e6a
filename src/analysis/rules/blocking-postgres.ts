import type { AlterAction, StatementInfo } from '../sql/parse.ts';
import type { Finding } from '../types.ts';
import { finding, type RuleContext } from './context.ts';
import { wholeTableDmlFindings } from './whole-table-dml.ts';

/**
 * PG: blocking on PostgreSQL, from the lock each statement kind takes and whether it rewrites or
 * scans the table. Whether a table was rewritten is not guessed: the shadow server's relfilenode
 * changes exactly when it was (the table_rewritten change), so type changes are judged by that.
 */
const VOLATILE = /\b(random|clock_timestamp|gen_random_uuid|uuid_generate_v[14]|timeofday|nextval|txid_current)\s*\(/i;

export function blockingPostgresRules(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  const rewritten = new Set(ctx.changes.flatMap((c) => (c.kind === 'table_rewritten' ? [c.table] : [])));
  const explained = new Set<string>();
  let lockTimeoutSet = false;
  let exclusiveOnLiveTable: StatementInfo | undefined;
  const existing = (t: string | undefined): t is string => t !== undefined && !ctx.createdTables.has(t) && Boolean(ctx.before.tables[t]);
  const notNull = notNullChecks();

  for (const s of ctx.statements) {
    if (s.setting === 'lock_timeout') lockTimeoutSet = true;
    if (s.kind === 'create_index' && existing(s.table) && !s.concurrently) {
      out.push(
        finding('PG101', {
          message: `CREATE INDEX on ${s.table} without CONCURRENTLY holds a SHARE lock: every INSERT, UPDATE and DELETE on ${s.table} waits until the index is built.`,
          table: s.table,
          statement: s.sql,
          safeAlternative: `${s.sql.replace(/^(\s*create\s+(?:unique\s+)?index)\s+/i, '$1 CONCURRENTLY ')} -- outside a transaction; if it fails, drop the INVALID index and retry.`,
        }),
      );
    }
    if (s.kind === 'drop_index' && !s.concurrently) {
      const table = s.droppedIndexes.map((i) => Object.values(ctx.before.tables).find((t) => t.indexes.some((x) => x.name === i))?.name).find(existing);
      if (table) {
        out.push(
          finding('PG201', {
            message: `DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on ${table}: brief, but it waits for running queries and blocks all new ones meanwhile.`,
            table,
            statement: s.sql,
          }),
        );
        exclusiveOnLiveTable ??= s;
      }
    }
    if (s.kind === 'alter_table' && existing(s.table)) {
      exclusiveOnLiveTable ??= s;
      for (const a of s.actions) {
        notNull.see(s.table, a);
        out.push(...alterActionFindings(ctx, s, s.table, a, rewritten, explained, notNull.proven));
      }
    }
  }
  out.push(...wholeTableDmlFindings(ctx, 'PG301', ''));
  for (const t of rewritten) {
    if (explained.has(t) || !existing(t)) continue;
    out.push(
      finding('PG108', {
        message: `The shadow server rewrote table ${t} (new storage): the whole table was copied under ACCESS EXCLUSIVE, blocking reads and writes.`,
        table: t,
        statement: ctx.statements.find((s) => s.table === t && s.kind !== 'dml')?.sql,
      }),
    );
  }
  if (exclusiveOnLiveTable && !lockTimeoutSet) {
    out.push(
      finding('PG202', {
        message: `This migration takes ACCESS EXCLUSIVE locks on existing tables (${exclusiveOnLiveTable.table ?? 'the table'}) and sets no lock_timeout itself. migrate up and apply run it with their own lock_timeout (lockSafety, 2 s by default) and retry, so a long query on the table delays it without queueing every other query behind it; run by another tool or with lock safety off, it would wait unbounded with all new queries queued behind it.`,
        table: exclusiveOnLiveTable.table,
        statement: exclusiveOnLiveTable.sql,
      }),
    );
  }
  return out;
}

/** ADD CONSTRAINT: a foreign key or CHECK validated at once, a UNIQUE or PRIMARY KEY building its index. */
function addConstraintFindings(s: StatementInfo, table: string, a: Extract<AlterAction, { op: 'add_constraint' }>): Finding[] {
  const out: Finding[] = [];
  if (a.constraint === 'foreign' && !a.notValid) {
    out.push(
      finding('PG102', {
        message: `Adding a foreign key on ${table} without NOT VALID scans all of ${table} while holding SHARE ROW EXCLUSIVE on it and on the referenced table: writes to both wait.`,
        table,
        statement: s.sql,
      }),
    );
  } else if (a.constraint === 'check' && !a.notValid) {
    out.push(
      finding('PG103', {
        message: `Adding a CHECK on ${table} without NOT VALID scans the whole table under ACCESS EXCLUSIVE: reads and writes wait.`,
        table,
        statement: s.sql,
      }),
    );
  } else if ((a.constraint === 'unique' || a.constraint === 'primary') && !a.usingIndex) {
    out.push(
      finding('PG107', {
        message: `ADD ${a.constraint === 'primary' ? 'PRIMARY KEY' : 'UNIQUE'} on ${table} builds its index under ACCESS EXCLUSIVE: reads and writes wait for the build.`,
        table,
        statement: s.sql,
      }),
    );
  }
  return out;
}

/** ADD COLUMN with a constraint of its own: a foreign key or CHECK validated by a scan, a UNIQUE or PRIMARY KEY index built at once. */
function addColumnConstraintFindings(s: StatementInfo, table: string, a: Extract<AlterAction, { op: 'add_column' }>): Finding[] {
  const out: Finding[] = [];
  if (/\breferences\b/i.test(a.definition)) {
    out.push(
      finding('PG102', {
        message: `Adding column ${table}.${a.column} with REFERENCES validates the new foreign key by scanning ${table} under SHARE ROW EXCLUSIVE on both tables.`,
        table,
        column: a.column,
        statement: s.sql,
      }),
    );
  }
  // A column-level UNIQUE or PRIMARY KEY builds its index in the same statement, under the
  // ACCESS EXCLUSIVE the ALTER holds, over every row (string literals left out of the test).
  if (/\b(unique|primary\s+key)\b/i.test(a.definition.replace(/'(?:[^']|'')*'/g, "''"))) {
    out.push(
      finding('PG107', {
        message: `Adding column ${table}.${a.column} with ${/\bunique\b/i.test(a.definition) ? 'UNIQUE' : 'PRIMARY KEY'} builds its index over all of ${table} under ACCESS EXCLUSIVE: reads and writes wait for the build.`,
        table,
        column: a.column,
        statement: s.sql,
      }),
    );
  }
  if (/\bcheck\s*\(/i.test(a.definition)) {
    out.push(
      finding('PG103', {
        message: `Adding column ${table}.${a.column} with a CHECK scans the table to validate it under ACCESS EXCLUSIVE.`,
        table,
        column: a.column,
        statement: s.sql,
      }),
    );
  }
  return out;
}

const NOT_NULL_CHECK = /\bcheck\s*\(\s*\(?\s*"?(\w+)"?\s+is\s+not\s+null\s*\)?\s*\)/i;
const CONSTRAINT_NAME = /^\s*(?:add\s+)?constraint\s+"?(\w+)"?/i;

/**
 * The columns a CHECK (col IS NOT NULL) proves within this migration, statement by statement: added
 * validated, or added NOT VALID and validated later. PostgreSQL's SET NOT NULL then skips its scan
 * (the expand/contract recipe for NOT NULL relies on it), so it is not blocking.
 */
function notNullChecks(): { proven: Set<string>; see(table: string, a: AlterAction): void } {
  const proven = new Set<string>();
  const notValid = new Map<string, string>();
  return {
    proven,
    see(table, a) {
      if (a.op === 'add_constraint' && a.constraint === 'check') {
        const col = NOT_NULL_CHECK.exec(a.text)?.[1];
        const name = CONSTRAINT_NAME.exec(a.text)?.[1];
        if (col && !a.notValid) proven.add(`${table}.${col}`);
        else if (col && name) notValid.set(`${table}.${name}`, col);
      }
      if (a.op === 'validate_constraint') {
        const col = notValid.get(`${table}.${a.name.replace(/"/g, '')}`);
        if (col) proven.add(`${table}.${col}`);
      }
    },
  };
}

function alterActionFindings(
  ctx: RuleContext,
  s: StatementInfo,
  table: string,
  a: AlterAction,
  rewritten: Set<string>,
  explained: Set<string>,
  provenNotNull: ReadonlySet<string>,
): Finding[] {
  const out: Finding[] = [];
  switch (a.op) {
    case 'add_constraint':
      out.push(...addConstraintFindings(s, table, a));
      break;
    case 'add_column':
      out.push(...addColumnConstraintFindings(s, table, a));
      if (rewritten.has(table) && /\bdefault\b/i.test(a.definition)) {
        explained.add(table);
        out.push(
          finding('PG106', {
            message: `Adding ${table}.${a.column} with default ${/\bdefault\s+(.+)$/i.exec(a.definition)?.[1] ?? ''} rewrote the table${VOLATILE.test(a.definition) ? ' (the default is volatile, evaluated per row)' : ''}: ACCESS EXCLUSIVE for the whole rewrite.`,
            table,
            column: a.column,
            statement: s.sql,
          }),
        );
      }
      break;
    case 'alter_column_type':
      if (rewritten.has(table)) {
        explained.add(table);
        out.push(
          finding('PG104', {
            message: `Changing the type of ${table}.${a.column} to ${a.definition.trim()} rewrote the table and its indexes under ACCESS EXCLUSIVE: reads and writes wait for the whole rewrite.`,
            table,
            column: a.column,
            statement: s.sql,
          }),
        );
      }
      break;
    case 'set_not_null': {
      const t = ctx.before.tables[table];
      const proven =
        provenNotNull.has(`${table}.${a.column}`) ||
        t?.checks.some((c) => c.validated !== false && new RegExp(`\\(?\\s*"?${a.column}"?\\s+IS\\s+NOT\\s+NULL\\s*\\)?`, 'i').test(c.expression));
      if (!proven) {
        out.push(
          finding('PG105', {
            message: `SET NOT NULL on ${table}.${a.column} scans every row under ACCESS EXCLUSIVE: reads and writes wait for the scan.`,
            table,
            column: a.column,
            statement: s.sql,
          }),
        );
      }
      break;
    }
    default:
      break;
  }
  return out;
}
