import type { Knex } from 'knex';
import type { ColumnSnapshot, SchemaSnapshot, TableSnapshot } from '../schema.ts';

/**
 * Snapshot of a MySQL/MariaDB schema from information_schema. All queries go to the server in one
 * multi-statement round trip (the shadow connection allows it): plan time is dominated by round
 * trips on a local server, and this runs twice per migration.
 */
export interface MysqlSnapshotOptions {
  schema: string;
  /** Only these tables (views are always read: they are few and depend on anything). */
  tables?: string[];
  /** MariaDB's CHECK_CONSTRAINTS has TABLE_NAME; MySQL 8's does not. */
  mariadb: boolean;
  /** Read view definitions (default true). Off when the migration touched no view: the caller keeps the previous ones. */
  views?: boolean;
}

type Row = Record<string, unknown>;

function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

function nstr(v: unknown): string | null {
  return v === null || v === undefined ? null : str(v);
}

/** enum('a','b''c') -> ['a', "b'c"] */
export function parseEnumValues(columnType: string): string[] {
  const inner = /^(?:enum|set)\((.*)\)$/is.exec(columnType.trim())?.[1];
  if (inner === undefined) return [];
  const out: string[] = [];
  const re = /'((?:[^'\\]|''|\\.)*)'/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(inner))) out.push(m[1]!.replace(/''/g, "'").replace(/\\(.)/g, '$1'));
  return out;
}

function esc(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export async function snapshotMysql(db: Knex, opts: MysqlSnapshotOptions): Promise<SchemaSnapshot> {
  const snap: SchemaSnapshot = { dialect: 'mysql', tables: {}, views: {}, enumTypes: {} };
  const schema = esc(opts.schema);
  const scoped = opts.tables !== undefined;
  const readViews = opts.views !== false;
  if (scoped && opts.tables!.length === 0 && !readViews) return snap;
  // Each information_schema table costs MariaDB a few ms whatever the filter, and a join of two
  // costs a scan of every schema: so one table per query, joined here, all in one round trip.
  const list = scoped ? opts.tables!.map(esc).join(',') : '';
  const inList = scoped ? ` AND TABLE_NAME IN (${list})` : '';
  const queries: string[] = [];
  const wantTables = !scoped || opts.tables!.length > 0;
  if (wantTables) {
    queries.push(
      `SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, EXTRA, GENERATION_EXPRESSION
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${schema}${inList} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ${schema}${inList} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
      `SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
         FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ${schema} AND REFERENCED_TABLE_NAME IS NOT NULL${inList}
        ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
      `SELECT TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ${schema}${inList}`,
      opts.mariadb
        ? `SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ${schema}${inList} ORDER BY TABLE_NAME, CONSTRAINT_NAME`
        : // MySQL 8's CHECK_CONSTRAINTS has no TABLE_NAME: TABLE_CONSTRAINTS names the table.
          `SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS tc
             JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = ${schema} AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
            WHERE tc.TABLE_SCHEMA = ${schema} AND tc.CONSTRAINT_TYPE = 'CHECK'${scoped ? ` AND tc.TABLE_NAME IN (${list})` : ''} ORDER BY tc.TABLE_NAME, tc.CONSTRAINT_NAME`,
    );
  }
  if (readViews) queries.push(`SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${schema}`);
  const [raw] = (await db.raw(queries.join(';\n'))) as [unknown];
  const results = (queries.length === 1 ? [raw] : raw) as Row[][];
  const [columns = [], stats = [], fkCols = [], fkRules = [], checks = []] = wantTables ? results : [];
  const views = readViews ? (results[results.length - 1] ?? []) : [];

  for (const r of columns) {
    const name = str(r['TABLE_NAME']);
    const t = (snap.tables[name] ??= { name, columns: [], primaryKey: [], indexes: [], foreignKeys: [], checks: [] });
    t.columns.push(toColumn(r));
  }
  // information_schema.COLUMNS also lists views' columns.
  if (readViews) for (const v of views) delete snap.tables[str(v['TABLE_NAME'])];
  for (const r of stats) addIndexColumn(snap.tables[str(r['TABLE_NAME'])], r);
  const rules = new Map(fkRules.map((r) => [`${str(r['TABLE_NAME'])}\0${str(r['CONSTRAINT_NAME'])}`, r]));
  for (const r of fkCols) {
    const t = snap.tables[str(r['TABLE_NAME'])];
    if (!t) continue;
    const name = str(r['CONSTRAINT_NAME']);
    let fk = t.foreignKeys.find((f) => f.name === name);
    if (!fk) {
      const rule = rules.get(`${t.name}\0${name}`);
      fk = {
        name,
        columns: [],
        refTable: str(r['REFERENCED_TABLE_NAME']),
        refColumns: [],
        onUpdate: str(rule?.['UPDATE_RULE']),
        onDelete: str(rule?.['DELETE_RULE']),
      };
      t.foreignKeys.push(fk);
    }
    fk.columns.push(str(r['COLUMN_NAME']));
    fk.refColumns.push(str(r['REFERENCED_COLUMN_NAME']));
  }
  for (const r of checks) {
    const t = snap.tables[str(r['TABLE_NAME'])];
    if (!t) continue;
    t.checks.push({ name: str(r['CONSTRAINT_NAME']), expression: str(r['CHECK_CLAUSE']) });
  }
  addViews(snap, views);
  return snap;
}

function addViews(snap: SchemaSnapshot, rows: Row[]): void {
  for (const r of rows) {
    const name = str(r['TABLE_NAME']);
    snap.views[name] = { name, definition: str(r['VIEW_DEFINITION']) };
  }
}

function toColumn(r: Row): ColumnSnapshot {
  const type = str(r['COLUMN_TYPE']);
  const dataType = str(r['DATA_TYPE']).toLowerCase();
  const nullable = str(r['IS_NULLABLE']) === 'YES';
  const extra = str(r['EXTRA']).toLowerCase();
  const generated = nstr(r['GENERATION_EXPRESSION']);
  const isGenerated = Boolean(generated) || /virtual|stored|persistent/.test(extra);
  let dflt = nstr(r['COLUMN_DEFAULT']);
  // MariaDB stores "NULL" for a nullable column without default, MySQL stores nothing: same meaning.
  if (dflt === null && nullable) dflt = 'NULL';
  const col: ColumnSnapshot = {
    name: str(r['COLUMN_NAME']),
    position: Number(r['ORDINAL_POSITION']),
    type,
    dataType,
    nullable,
    default: isGenerated ? null : dflt,
    charset: nstr(r['CHARACTER_SET_NAME']),
    collation: nstr(r['COLLATION_NAME']),
  };
  if (dataType === 'enum' || dataType === 'set') col.enumValues = parseEnumValues(type);
  if (isGenerated) col.generated = generated ?? extra;
  if (extra.includes('auto_increment')) col.autoFilled = true;
  return col;
}

function addIndexColumn(t: TableSnapshot | undefined, r: Row): void {
  if (!t) return;
  const indexName = str(r['INDEX_NAME']);
  const sub = r['SUB_PART'];
  const colName = str(r['COLUMN_NAME']) + (sub !== null && sub !== undefined ? `(${str(sub)})` : '');
  if (indexName === 'PRIMARY') {
    t.primaryKey.push(colName);
    return;
  }
  let idx = t.indexes.find((i) => i.name === indexName);
  if (!idx) {
    idx = { name: indexName, unique: Number(r['NON_UNIQUE']) === 0, columns: [] };
    t.indexes.push(idx);
  }
  idx.columns.push(colName);
}
