import type { Knex } from 'knex';
import type { CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexSnapshot, SchemaSnapshot, TableSnapshot, ViewSnapshot } from '../schema.ts';
import { parseEnumValues, snapshotMysql, type MysqlSnapshotOptions } from './snapshot.ts';

/**
 * MariaDB snapshot from SHOW CREATE TABLE instead of information_schema. Every information_schema
 * table costs MariaDB ~1 ms to open whatever the filter (a snapshot of one table took ~4 ms),
 * while SHOW CREATE TABLE of that table takes ~0.5 ms: with two snapshots per migration this is
 * most of the analysis overhead. The parser reads the server's own canonical output and builds
 * exactly the snapshot snapshotMysql() builds (test/integration/check-snapshot.test.ts compares
 * the two on a table using every feature the snapshot records); anything it does not recognise
 * makes it fall back to information_schema for that snapshot.
 */
type Row = Record<string, unknown>;

const STRING_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'enum', 'set']);

class Unparsed extends Error {}

function q(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

/** Index just past the quoted string or parenthesised group starting at `i`. */
function skipGroup(s: string, i: number): number {
  const n = s.length;
  const open = s[i]!;
  if (open !== '(') {
    let j = i + 1;
    while (j < n) {
      if (s[j] === '\\' && open !== '`') {
        j += 2;
        continue;
      }
      if (s[j] === open) {
        if (s[j + 1] === open) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j++;
    }
    return n;
  }
  let depth = 0;
  for (let j = i; j < n; j++) {
    const d = s[j]!;
    if (d === "'" || d === '"' || d === '`') {
      j = skipGroup(s, j) - 1;
      continue;
    }
    if (d === '(') depth++;
    else if (d === ')' && --depth === 0) return j + 1;
  }
  return n;
}

/** Tokens of a definition: `ident`, 'string', (group), words (incl. numbers, b'..', f(...)), single symbols. */
function tokens(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '`' || c === "'" || c === '"' || c === '(') {
      const end = skipGroup(s, i);
      out.push(s.slice(i, end));
      i = end;
      continue;
    }
    const m = /^[A-Za-z0-9_$.+-]+(?:'[^']*')?/.exec(s.slice(i));
    if (m) {
      let end = i + m[0].length;
      // A function call (current_timestamp(), uuid()) stays one token.
      if (s[end] === '(' && /^[A-Za-z_]/.test(m[0])) end = skipGroup(s, end);
      out.push(s.slice(i, end));
      i = end;
      continue;
    }
    out.push(c);
    i++;
  }
  return out;
}

function unbacktick(t: string): string {
  return t.startsWith('`') ? t.slice(1, -1).replace(/``/g, '`') : t;
}

function inner(group: string): string {
  return group.startsWith('(') && group.endsWith(')') ? group.slice(1, -1).trim() : group;
}

/** Top-level comma split that respects quotes and parentheses. */
function splitDefs(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let cur = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && quote !== '`') {
        cur += body[++i] ?? '';
      } else if (c === quote) {
        if (body[i + 1] === quote) cur += body[++i]!;
        else quote = null;
      }
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function keyColumns(group: string): string[] {
  return splitDefs(inner(group)).map((part) => {
    const t = tokens(part);
    const name = unbacktick(t[0] ?? '');
    const prefix = t[1]?.startsWith('(') ? t[1] : '';
    return prefix ? `${name}${prefix}` : name;
  });
}

interface Defaults {
  charset: string;
  collation: string | undefined;
}

interface ParsedColumn {
  col: ColumnSnapshot;
  check?: CheckSnapshot;
  charsetOnly?: string;
}

function parseColumn(def: string, position: number, table: Defaults): ParsedColumn {
  const t = tokens(def);
  const name = unbacktick(t[0]!);
  let k = 1;
  let type = t[k++] ?? '';
  if (t[k]?.startsWith('(')) type += t[k++];
  while (t[k] && /^(unsigned|signed|zerofill)$/i.test(t[k]!)) type += ` ${t[k++]}`;
  const dataType = (/^[A-Za-z]+/.exec(type)?.[0] ?? '').toLowerCase();
  let nullable = true;
  let dflt: string | null = null;
  let charset: string | undefined;
  let collation: string | undefined;
  let generated: string | undefined;
  let auto = false;
  let check: string | undefined;
  while (k < t.length) {
    const w = t[k]!.toUpperCase();
    if (w === 'NOT' && t[k + 1]?.toUpperCase() === 'NULL') {
      nullable = false;
      k += 2;
    } else if (w === 'NULL') k++;
    else if (w === 'CHARACTER' && t[k + 1]?.toUpperCase() === 'SET') {
      charset = t[k + 2];
      k += 3;
    } else if (w === 'COLLATE') {
      collation = t[k + 1];
      k += 2;
    } else if (w === 'DEFAULT') {
      dflt = t[k + 1] ?? null;
      k += 2;
    } else if (w === 'AUTO_INCREMENT') {
      auto = true;
      k++;
    } else if (w === 'ON' && t[k + 1]?.toUpperCase() === 'UPDATE') k += 3;
    else if (w === 'GENERATED' && t[k + 1]?.toUpperCase() === 'ALWAYS' && t[k + 2]?.toUpperCase() === 'AS') {
      generated = inner(t[k + 3] ?? '');
      k += 4;
      if (t[k] && /^(VIRTUAL|STORED|PERSISTENT)$/i.test(t[k]!)) k++;
    } else if (w === 'INVISIBLE') k++;
    else if (w === 'COMMENT') k += 2;
    else if (w === 'CHECK') {
      check = inner(t[k + 1] ?? '');
      k += 2;
    } else if (w === 'WITHOUT' || w === 'WITH')
      k += 3; // SYSTEM VERSIONING
    else throw new Unparsed(`column ${name}: unexpected "${t[k]}"`);
  }
  const isGenerated = generated !== undefined;
  if (dflt === null && nullable) dflt = 'NULL';
  if (dflt !== null && /^NULL$/i.test(dflt)) dflt = 'NULL';
  const col: ColumnSnapshot = { name, position, type, dataType, nullable, default: isGenerated ? null : dflt, charset: null, collation: null };
  const out: ParsedColumn = { col };
  if (STRING_TYPES.has(dataType)) {
    if (charset && !collation) out.charsetOnly = charset;
    col.charset = charset ?? (collation ? collation.split('_')[0]! : table.charset);
    col.collation = collation ?? (charset ? null : (table.collation ?? null));
  }
  if (dataType === 'enum' || dataType === 'set') col.enumValues = parseEnumValues(type);
  if (isGenerated) col.generated = generated!;
  if (auto) col.autoFilled = true;
  if (check !== undefined) out.check = { name, expression: check };
  return out;
}

/** Parses one SHOW CREATE TABLE text; returns the table and the charsets whose default collation it needs. */
export function parseCreateTable(name: string, ddl: string, defaultCollation: (charset: string) => string | undefined): TableSnapshot {
  const open = ddl.indexOf('(');
  if (open < 0) throw new Unparsed('no column list');
  const close = skipGroup(ddl, open) - 1;
  if (ddl[close] !== ')') throw new Unparsed('unbalanced column list');
  const options = ddl.slice(close + 1);
  const charset = /DEFAULT CHARSET=(\w+)/i.exec(options)?.[1];
  if (!charset) throw new Unparsed('no default charset');
  const table: Defaults = { charset, collation: /COLLATE=(\w+)/i.exec(options)?.[1] ?? defaultCollation(charset) };
  const t: TableSnapshot = { name, columns: [], primaryKey: [], indexes: [], foreignKeys: [], checks: [] };
  const checks: CheckSnapshot[] = [];
  for (const def of splitDefs(ddl.slice(open + 1, close))) {
    if (def.startsWith('`')) {
      const p = parseColumn(def, t.columns.length + 1, table);
      if (p.charsetOnly) p.col.collation = defaultCollation(p.charsetOnly) ?? null;
      t.columns.push(p.col);
      if (p.check) checks.push(p.check);
      continue;
    }
    const tk = tokens(def);
    const head = tk.map((x) => x.toUpperCase());
    if (head[0] === 'PRIMARY' && head[1] === 'KEY') {
      t.primaryKey = keyColumns(tk.find((x) => x.startsWith('('))!);
    } else if (
      head[0] === 'KEY' ||
      head[0] === 'INDEX' ||
      (['UNIQUE', 'FULLTEXT', 'SPATIAL'].includes(head[0]!) && (head[1] === 'KEY' || head[1] === 'INDEX'))
    ) {
      const nameTok = tk.find((x) => x.startsWith('`'));
      const cols = tk.find((x) => x.startsWith('('));
      if (!nameTok || !cols) throw new Unparsed(`index: ${def}`);
      const idx: IndexSnapshot = { name: unbacktick(nameTok), unique: head[0] === 'UNIQUE', columns: keyColumns(cols) };
      t.indexes.push(idx);
    } else if (head[0] === 'CONSTRAINT' && head[2] === 'FOREIGN' && head[3] === 'KEY') {
      const refAt = head.indexOf('REFERENCES');
      let refName = tk[refAt + 1] ?? '';
      let r = refAt + 2;
      if (tk[r] === '.' || tk[r]?.startsWith('.')) {
        // `db`.`table`
        refName = tk[r] === '.' ? tk[r + 1]! : tk[r]!.slice(1);
        r += tk[r] === '.' ? 2 : 1;
      } else if (/^`[^`]*`\.`/.test(refName)) refName = refName.slice(refName.indexOf('.') + 1);
      const fk: ForeignKeySnapshot = {
        name: unbacktick(tk[1]!),
        columns: keyColumns(tk[4]!),
        refTable: unbacktick(refName),
        refColumns: keyColumns(tk[r]!),
        onUpdate: 'RESTRICT',
        onDelete: 'RESTRICT',
      };
      for (let k = r + 1; k < tk.length; k++) {
        if (head[k] !== 'ON') continue;
        const which = head[k + 1];
        let action = head[k + 2]!;
        if ((action === 'SET' || action === 'NO') && head[k + 3]) action = `${action} ${head[k + 3]}`;
        if (which === 'DELETE') fk.onDelete = action;
        else if (which === 'UPDATE') fk.onUpdate = action;
      }
      t.foreignKeys.push(fk);
    } else if (head[0] === 'CONSTRAINT' && head[2] === 'CHECK') {
      checks.push({ name: unbacktick(tk[1]!), expression: inner(tk[3] ?? '') });
    } else if (head[0] === 'PERIOD') {
      // PERIOD FOR SYSTEM_TIME / application-time periods: not part of the snapshot.
    } else {
      throw new Unparsed(`definition: ${def.slice(0, 60)}`);
    }
  }
  // information_schema order: indexes, keys and checks by name.
  const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  t.indexes.sort(byName);
  t.foreignKeys.sort(byName);
  t.checks = checks.sort(byName);
  return t;
}

/** The base tables (of `tables` when given) and, when asked for, the views of a schema. */
async function listTables(db: Knex, schema: string, tables: string[] | undefined, readViews: boolean): Promise<{ wanted: string[]; views: string[] }> {
  const [listed] = (await db.raw(`SHOW FULL TABLES FROM ${q(schema)}`)) as [Row[]];
  const kinds = new Map<string, string>();
  for (const r of listed) {
    const vals = Object.values(r).map(str);
    kinds.set(vals[0]!, vals[1]!);
  }
  const base = (n: string): boolean => kinds.get(n) === 'BASE TABLE' || kinds.get(n) === 'SYSTEM VERSIONED';
  return {
    wanted: (tables ?? [...kinds.keys()]).filter(base),
    views: readViews ? [...kinds].filter(([, k]) => k === 'VIEW').map(([n]) => n) : [],
  };
}

/** A MariaDB snapshotter over SHOW CREATE TABLE; falls back to information_schema when unsure. */
export function createDdlSnapshotter(db: Knex, schema: string): (opts: Omit<MysqlSnapshotOptions, 'schema' | 'mariadb'>) => Promise<SchemaSnapshot> {
  const collations = new Map<string, string | undefined>();
  const fallback = (opts: Omit<MysqlSnapshotOptions, 'schema' | 'mariadb'>): Promise<SchemaSnapshot> => snapshotMysql(db, { ...opts, schema, mariadb: true });

  return async (opts) => {
    const scoped = opts.tables !== undefined;
    const readViews = opts.views !== false;
    const snap: SchemaSnapshot = { dialect: 'mysql', tables: {}, views: {}, enumTypes: {} };
    if (scoped && opts.tables!.length === 0 && !readViews) return snap;
    // Which names to read: a scoped snapshot asks for its tables directly (one round trip; a name
    // that no longer exists is dropped from the list when the server says so), a full one lists them.
    let wanted: string[];
    let views: string[] = [];
    if (scoped && !readViews) {
      wanted = [...new Set(opts.tables!)];
    } else ({ wanted, views } = await listTables(db, schema, opts.tables, readViews));
    let sets: Row[][] = [];
    for (;;) {
      const statements = wanted.map((n) => `SHOW CREATE TABLE ${q(schema)}.${q(n)}`);
      if (views.length)
        statements.push(`SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '${schema.replace(/'/g, "''")}'`);
      if (!statements.length) return snap;
      try {
        const [raw] = (await db.raw(statements.join(';\n'))) as [unknown];
        sets = (statements.length === 1 ? [raw] : raw) as Row[][];
        break;
      } catch (e) {
        const err = e as { errno?: number; message?: string };
        const gone = err.errno === 1146 ? wanted.find((n) => (err.message ?? '').includes(`.${n}' doesn't exist`)) : undefined;
        if (gone === undefined) throw e;
        wanted = wanted.filter((n) => n !== gone);
      }
    }
    // A scoped name may be a view: SHOW CREATE TABLE answers with its definition instead.
    const isTable = wanted.map((_, i) => sets[i]?.[0]?.['Create Table'] !== undefined);
    wanted = wanted.filter((_, i) => isTable[i]);
    sets = [...sets.slice(0, isTable.length).filter((_, i) => isTable[i]), ...sets.slice(isTable.length)];
    const needCollation = new Set<string>();
    const texts: [string, string][] = [];
    wanted.forEach((n, i) => {
      const row = sets[i]?.[0];
      const ddl = str(row?.['Create Table']);
      texts.push([n, ddl]);
      for (const m of ddl.matchAll(/CHARACTER SET (\w+)\b(?! COLLATE)/g)) if (!collations.has(m[1]!)) needCollation.add(m[1]!);
      const tail = ddl.slice(ddl.lastIndexOf('\n)') + 1);
      const tbl = /DEFAULT CHARSET=(\w+)/.exec(tail);
      if (tbl && !/COLLATE=/.test(tail) && !collations.has(tbl[1]!)) needCollation.add(tbl[1]!);
    });
    if (needCollation.size) {
      const [rows] = (await db.raw(
        `SELECT CHARACTER_SET_NAME AS c, DEFAULT_COLLATE_NAME AS d FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME IN (${[...needCollation].map((c) => `'${c}'`).join(',')})`,
      )) as [Row[]];
      for (const r of rows) collations.set(str(r['c']), str(r['d']));
      for (const c of needCollation) if (!collations.has(c)) collations.set(c, undefined);
    }
    try {
      for (const [n, ddl] of texts) snap.tables[n] = parseCreateTable(n, ddl, (c) => collations.get(c));
    } catch (e) {
      if (e instanceof Unparsed) return fallback(opts);
      throw e;
    }
    if (views.length) {
      for (const r of sets[sets.length - 1] ?? []) {
        const name = str(r['TABLE_NAME']);
        const v: ViewSnapshot = { name, definition: str(r['VIEW_DEFINITION']) };
        snap.views[name] = v;
      }
    }
    return snap;
  };
}
