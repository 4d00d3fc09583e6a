/**
 * The regex classifier MySQL/MariaDB statements were described with before node-sql-parser
 * (statements.ts). It stays as the fallback for what that parser's grammar does not cover
 * (PREPARE/EXECUTE, procedures, CONVERT TO CHARACTER SET, ALTER ONLINE, DROP COLUMN IF EXISTS,
 * ...): a light reading of the statement's first words, never a syntax check.
 */
import { addAlterAction, blankStatement, type AlterAction, type StatementInfo } from '../statement-info.ts';
import { splitTopLevel, unqualify, unquote } from '../sql-names.ts';
import { stripMysqlComments } from './lex.ts';

const IDENT = '(?:`(?:[^`]|``)+`|"(?:[^"]|"")+"|[A-Za-z_$][\\w$]*)';
const QNAME = `${IDENT}(?:\\s*\\.\\s*${IDENT})?`;

function re(src: string, flags = 'i'): RegExp {
  return new RegExp(src, flags);
}

/** Describes one MySQL/MariaDB statement from its text alone; what it cannot place is opaque. */
export function classifyMysqlStatement(raw: string): StatementInfo {
  const sql = stripMysqlComments(raw).trim().replace(/;\s*$/, '');
  const info = blankStatement(raw);
  for (const parse of STATEMENT_PARSERS) if (parse(sql, info)) return info;
  info.opaque = true;
  return info;
}

/** Each recognises one family of statements; the first that matches describes it (parseStatement). */
const STATEMENT_PARSERS: ((sql: string, info: StatementInfo) => boolean)[] = [tableStatement, indexOrViewStatement, typeStatement, dataOrSessionStatement];

/** CREATE / DROP / RENAME / ALTER TABLE: fills `info` and says whether it was one. */
function tableStatement(sql: string, info: StatementInfo): boolean {
  let m: RegExpExecArray | null;
  if (
    (m = re(
      `^create\\s+(?:or\\s+replace\\s+)?(?:(?:global\\s+|local\\s+)?(?:temporary|temp|unlogged)\\s+)?table\\s+(?:if\\s+not\\s+exists\\s+)?(${QNAME})`,
    ).exec(sql))
  ) {
    info.kind = 'create_table';
    info.table = unqualify(m[1]!);
    info.tables = [info.table];
    return true;
  }
  if ((m = re(`^drop\\s+(?:temporary\\s+)?table\\s+(?:if\\s+exists\\s+)?([\\s\\S]+?)(?:\\s+(?:cascade|restrict))?$`).exec(sql))) {
    info.kind = 'drop_table';
    info.tables = splitTopLevel(m[1]!).map((n) => unqualify(n));
    info.table = info.tables[0];
    return true;
  }
  if ((m = re(`^rename\\s+tables?\\s+([\\s\\S]+)$`).exec(sql))) {
    info.kind = 'rename_table';
    for (const pair of splitTopLevel(m[1]!)) {
      const pm = re(`^(${QNAME})\\s+to\\s+(${QNAME})$`).exec(pair.trim());
      if (!pm) continue;
      const from = unqualify(pm[1]!);
      const to = unqualify(pm[2]!);
      info.tableRenames.push({ from, to });
      info.tables.push(from, to);
    }
    info.table = info.tableRenames[0]?.from;
    return true;
  }
  if ((m = re(`^alter\\s+(?:online\\s+)?(?:ignore\\s+)?table\\s+(?:if\\s+exists\\s+)?(?:only\\s+)?(${QNAME})\\s*\\*?\\s*([\\s\\S]*)$`).exec(sql))) {
    info.kind = 'alter_table';
    const table = unqualify(m[1]!);
    info.table = table;
    info.tables = [table];
    for (const part of splitTopLevel(m[2]!)) {
      const action = parseAlterAction(part);
      const ref = action.op === 'add_constraint' && action.constraint === 'foreign' ? re(`references\\s+(${QNAME})`).exec(action.text) : null;
      addAlterAction(info, table, action, ref ? unqualify(ref[1]!) : undefined);
    }
    return true;
  }
  return false;
}

/** CREATE / DROP INDEX and views. */
function indexOrViewStatement(sql: string, info: StatementInfo): boolean {
  let m: RegExpExecArray | null;
  if (
    (m = re(
      `^create\\s+(unique\\s+)?(?:fulltext\\s+|spatial\\s+)?index\\s+(concurrently\\s+)?(?:if\\s+not\\s+exists\\s+)?(?:(${QNAME})\\s+)?(?:using\\s+\\w+\\s+)?on\\s+(?:only\\s+)?(${QNAME})`,
    ).exec(sql))
  ) {
    info.kind = 'create_index';
    info.unique = Boolean(m[1]);
    info.concurrently = Boolean(m[2]);
    info.table = unqualify(m[4]!);
    info.tables = [info.table];
    return true;
  }
  if ((m = re(`^drop\\s+index\\s+(concurrently\\s+)?(?:if\\s+exists\\s+)?(${QNAME}(?:\\s*,\\s*${QNAME})*)(?:\\s+on\\s+(${QNAME}))?`).exec(sql))) {
    info.kind = 'drop_index';
    info.concurrently = Boolean(m[1]);
    if (m[3]) {
      info.table = unqualify(m[3]);
      info.tables = [info.table];
    } else {
      info.droppedIndexes = splitTopLevel(m[2]!).map((n) => unqualify(n));
    }
    return true;
  }
  if (
    re(
      `^create\\s+(?:or\\s+replace\\s+)?(?:algorithm\\s*=\\s*\\w+\\s+)?(?:definer\\s*=\\s*\\S+\\s+)?(?:sql\\s+security\\s+\\w+\\s+)?(?:materialized\\s+|recursive\\s+)?view\\b`,
    ).test(sql)
  ) {
    info.kind = 'create_view';
    return true;
  }
  if (re(`^alter\\s+(?:algorithm\\s*=\\s*\\w+\\s+)?(?:definer\\s*=\\s*\\S+\\s+)?view\\b`).test(sql)) {
    info.kind = 'create_view';
    return true;
  }
  if (re(`^drop\\s+(?:materialized\\s+)?view\\b`).test(sql)) {
    info.kind = 'drop_view';
    // PG: DROP VIEW ... CASCADE only drops dependent views, which are always re-read.
    return true;
  }
  return false;
}

/** PostgreSQL's CREATE / ALTER / DROP TYPE. */
function typeStatement(sql: string, info: StatementInfo): boolean {
  let m: RegExpExecArray | null;
  if ((m = re(`^create\\s+type\\s+(${QNAME})`).exec(sql))) {
    info.kind = 'create_type';
    info.typeName = unqualify(m[1]!);
    return true;
  }
  if ((m = re(`^alter\\s+type\\s+(${QNAME})`).exec(sql))) {
    info.kind = 'alter_type';
    info.typeName = unqualify(m[1]!);
    return true;
  }
  if ((m = re(`^drop\\s+type\\s+(?:if\\s+exists\\s+)?(${QNAME})`).exec(sql))) {
    info.kind = 'drop_type';
    info.typeName = unqualify(m[1]!);
    // CASCADE would drop columns of that type; re-snapshot everything.
    info.opaque = /\bcascade\b/i.test(sql);
    return true;
  }
  return false;
}

/** DML, TRUNCATE and session statements (SET, BEGIN, USE...). */
function dataOrSessionStatement(sql: string, info: StatementInfo): boolean {
  let m: RegExpExecArray | null;
  if ((m = re(`^(?:with\\b[\\s\\S]*?\\)\\s*)?(insert|replace|update|delete|select)\\b`).exec(sql))) {
    info.kind = 'dml';
    const verb = m[1]!.toLowerCase();
    if (verb === 'update' || verb === 'delete') {
      // MySQL's modifiers (UPDATE LOW_PRIORITY IGNORE t, DELETE QUICK FROM t) come before the table.
      const tm =
        verb === 'update'
          ? re(`^update\\s+(?:(?:low_priority|ignore)\\s+)*(?:only\\s+)?(${QNAME})`).exec(sql)
          : re(`^delete\\s+(?:(?:low_priority|quick|ignore)\\s+)*from\\s+(?:only\\s+)?(${QNAME})`).exec(sql);
      if (tm) {
        info.table = unqualify(tm[1]!);
        if (/^(`[^`]*`|[^`.]+)\./.test(tm[1]!)) info.otherDatabase = true;
      }
      // String literals left out (SET note = 'where'); LIMIT bounds the rows as WHERE does.
      const bare = sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"/g, "''");
      info.wholeTable = !/\b(where|limit)\b/i.test(bare);
    }
    return true;
  }
  if ((m = re(`^truncate\\s+(?:table\\s+)?(?:only\\s+)?(${QNAME})`).exec(sql))) {
    info.kind = 'dml';
    info.table = unqualify(m[1]!);
    // PG gives a truncated table new storage, so its snapshot must be refreshed.
    info.tables = [info.table];
    info.wholeTable = true;
    return true;
  }
  if (
    re(`^(set|begin|start\\s+transaction|commit|rollback|savepoint|release|analyze|comment\\s+on|grant|revoke|lock\\s+tables?|unlock\\s+tables?|use)\\b`).test(
      sql,
    )
  ) {
    info.kind = 'session';
    return true;
  }
  return false;
}

function parseAlterAction(part: string): AlterAction {
  const p = part.trim();
  let m: RegExpExecArray | null;
  if ((m = re(`^rename\\s+column\\s+(${IDENT})\\s+to\\s+(${IDENT})$`).exec(p))) return { op: 'rename_column', from: unquote(m[1]!), to: unquote(m[2]!) };
  if ((m = re(`^rename\\s+(?:to|as)\\s+(${QNAME})$`).exec(p))) return { op: 'rename_table', to: unqualify(m[1]!) };
  if ((m = re(`^rename\\s+(?:index|key|constraint)\\b`).exec(p))) return { op: 'other', text: p };
  // MySQL's `RENAME new_name` renames the table (PostgreSQL's `RENAME a TO b` would be a column).
  if ((m = re(`^rename\\s+(${QNAME})$`).exec(p))) return { op: 'rename_table', to: unqualify(m[1]!) };
  if ((m = re(`^change\\s+(?:column\\s+)?(${IDENT})\\s+(${IDENT})\\s+([\\s\\S]*)$`).exec(p)))
    return { op: 'change_column', from: unquote(m[1]!), to: unquote(m[2]!), definition: m[3]! };
  if ((m = re(`^modify\\s+(?:column\\s+)?(${IDENT})\\s+([\\s\\S]*)$`).exec(p)))
    return { op: 'change_column', from: unquote(m[1]!), to: unquote(m[1]!), definition: m[2]! };
  if ((m = re(`^alter\\s+(?:column\\s+)?(${IDENT})\\s+(?:set\\s+data\\s+)?type\\s+([\\s\\S]*)$`).exec(p)))
    return { op: 'alter_column_type', column: unquote(m[1]!), definition: m[2]! };
  if ((m = re(`^alter\\s+(?:column\\s+)?(${IDENT})\\s+set\\s+not\\s+null$`).exec(p))) return { op: 'set_not_null', column: unquote(m[1]!) };
  if ((m = re(`^alter\\s+(?:column\\s+)?(${IDENT})\\s+drop\\s+not\\s+null$`).exec(p))) return { op: 'drop_not_null', column: unquote(m[1]!) };
  if ((m = re(`^alter\\s+(?:column\\s+)?(${IDENT})\\s+set\\s+default\\s+([\\s\\S]*)$`).exec(p)))
    return { op: 'set_default', column: unquote(m[1]!), expression: m[2]! };
  if ((m = re(`^alter\\s+(?:column\\s+)?(${IDENT})\\s+drop\\s+default$`).exec(p))) return { op: 'drop_default', column: unquote(m[1]!) };
  if ((m = re(`^(?:algorithm)\\s*=?\\s*(\\w+)$`).exec(p))) return { op: 'algorithm', value: m[1]!.toUpperCase() };
  if ((m = re(`^(?:lock)\\s*=?\\s*(\\w+)$`).exec(p))) return { op: 'lock', value: m[1]!.toUpperCase() };
  if ((m = re(`^validate\\s+constraint\\s+(${IDENT})`).exec(p))) return { op: 'validate_constraint', name: unquote(m[1]!) };
  if ((m = re(`^drop\\s+(?:index|key)\\s+(?:if\\s+exists\\s+)?(${IDENT})`).exec(p))) return { op: 'drop_index', name: unquote(m[1]!) };
  if ((m = re(`^drop\\s+(?:constraint|foreign\\s+key|check)\\s+(?:if\\s+exists\\s+)?(${IDENT})`).exec(p)))
    return { op: 'drop_constraint', name: unquote(m[1]!) };
  if (re(`^drop\\s+primary\\s+key`).test(p)) return { op: 'drop_constraint', name: 'PRIMARY' };
  if ((m = re(`^drop\\s+(?:column\\s+)?(?:if\\s+exists\\s+)?(${IDENT})(?:\\s+(?:cascade|restrict))?$`).exec(p)))
    return { op: 'drop_column', column: unquote(m[1]!) };
  if (re(`^add\\s+(?:constraint\\s+(?:${IDENT}\\s+)?)?(?:primary\\s+key|unique|foreign\\s+key|check|exclude)\\b`).test(p)) {
    const constraint = /\bprimary\s+key\b/i.test(p)
      ? 'primary'
      : /^add\s+(?:constraint\s+\S+\s+)?unique/i.test(p)
        ? 'unique'
        : /\bforeign\s+key\b/i.test(p)
          ? 'foreign'
          : /\bcheck\b/i.test(p)
            ? 'check'
            : /\bexclude\b/i.test(p)
              ? 'exclude'
              : 'other';
    // MySQL's ADD UNIQUE [KEY|INDEX] is an index; PG's ADD UNIQUE is a constraint: both build an index.
    return { op: 'add_constraint', constraint, notValid: /\bnot\s+valid\b/i.test(p), usingIndex: /\busing\s+index\b/i.test(p), text: p };
  }
  if ((m = re(`^add\\s+(unique\\s+)?(?:fulltext\\s+|spatial\\s+)?(?:index|key)\\b`).exec(p))) return { op: 'add_index', unique: Boolean(m[1]), text: p };
  if ((m = re(`^add\\s+(?:column\\s+)?(?:if\\s+not\\s+exists\\s+)?(${IDENT})\\s+([\\s\\S]*)$`).exec(p))) {
    return { op: 'add_column', column: unquote(m[1]!), definition: m[2]! };
  }
  return { op: 'other', text: p };
}
