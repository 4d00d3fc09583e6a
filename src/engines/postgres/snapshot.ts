import type { Knex } from 'knex';
import type { ColumnSnapshot, SchemaSnapshot } from '../schema.ts';

/**
 * Snapshot of a PostgreSQL schema from pg_catalog (information_schema hides enum labels, index
 * validity, NOT VALID constraints and relfilenode, all of which the rules need). One statement
 * per snapshot, whatever the number of tables: planning and round trips dominate on a local server.
 */
export interface PostgresSnapshotOptions {
  schema: string;
  tables?: string[];
}

type Row = Record<string, unknown>;

const FK_ACTION: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

function str(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

function arr(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

/**
 * One statement, one round trip: each catalog query becomes a json_agg sub-select. It is a named
 * prepared statement with the schema and table list as parameters, so the server plans it once per
 * connection instead of once per migration.
 */
const ns = '?::text';
const tf = ' AND (?::text[] IS NULL OR c.relname = ANY(?::text[]))';
const SNAPSHOT_SQL = `SELECT json_build_object(
  'enums', (SELECT coalesce(json_agg(json_build_object('typname', t.typname, 'enumlabel', e.enumlabel) ORDER BY t.typname, e.enumsortorder), '[]')
              FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = ${ns}),
  'views', (SELECT coalesce(json_agg(json_build_object('relname', c.relname, 'def', pg_get_viewdef(c.oid, true))), '[]')
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ${ns} AND c.relkind IN ('v', 'm')),
  'cols', (SELECT coalesce(json_agg(json_build_object('relname', c.relname, 'storage', c.relfilenode::text, 'attname', a.attname,
              'type', format_type(a.atttypid, a.atttypmod), 'typname', t.typname, 'typtype', t.typtype, 'attnotnull', a.attnotnull,
              'dflt', pg_get_expr(d.adbin, d.adrelid), 'attidentity', a.attidentity, 'attgenerated', a.attgenerated, 'collname', coll.collname)
              ORDER BY c.relname, a.attnum), '[]')
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             LEFT JOIN pg_type t ON t.oid = a.atttypid
             LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
             LEFT JOIN pg_collation coll ON coll.oid = a.attcollation AND a.attcollation <> t.typcollation
            WHERE n.nspname = ${ns} AND c.relkind IN ('r', 'p')${tf}),
  'cons', (SELECT coalesce(json_agg(json_build_object('relname', c.relname, 'conname', con.conname, 'contype', con.contype,
              'convalidated', con.convalidated, 'def', pg_get_constraintdef(con.oid),
              'cols', ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o)::text[],
              'ref_table', fc.relname,
              'ref_cols', ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)::text[],
              'confupdtype', con.confupdtype, 'confdeltype', con.confdeltype) ORDER BY c.relname, con.conname), '[]')
             FROM pg_constraint con
             JOIN pg_class c ON c.oid = con.conrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_class fc ON fc.oid = con.confrelid
            WHERE n.nspname = ${ns} AND con.contype IN ('p', 'f', 'c')${tf}),
  'idx', (SELECT coalesce(json_agg(json_build_object('relname', c.relname, 'index_name', i.relname, 'indisunique', ix.indisunique,
              'indisvalid', ix.indisvalid, 'pred', pg_get_expr(ix.indpred, ix.indrelid),
              'cols', ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true) FROM generate_series(1, ix.indnkeyatts) AS k ORDER BY k)::text[])
              ORDER BY c.relname, i.relname), '[]')
             FROM pg_index ix
             JOIN pg_class c ON c.oid = ix.indrelid
             JOIN pg_class i ON i.oid = ix.indexrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ${ns} AND NOT ix.indisprimary${tf})
) AS snap`;

interface SnapshotRows {
  enums: Row[];
  views: Row[];
  cols: Row[];
  cons: Row[];
  idx: Row[];
}

export async function snapshotPostgres(db: Knex, opts: PostgresSnapshotOptions): Promise<SchemaSnapshot> {
  const snap: SchemaSnapshot = { dialect: 'postgres', tables: {}, views: {}, enumTypes: {} };
  const tables = opts.tables ?? null;
  // Bindings in the order the placeholders appear: (schema) for enums and views, (schema, tables, tables) for the rest.
  const bindings = [opts.schema, opts.schema, opts.schema, tables, tables, opts.schema, tables, tables, opts.schema, tables, tables];
  const res = (await db.raw(SNAPSHOT_SQL, bindings).options({ name: 'migrate_analysis_snapshot' })) as { rows: { snap: SnapshotRows }[] };
  const data = res.rows[0]!.snap;

  for (const r of data.enums) (snap.enumTypes[str(r['typname'])] ??= []).push(str(r['enumlabel']));
  for (const r of data.views) snap.views[str(r['relname'])] = { name: str(r['relname']), definition: str(r['def']) };
  for (const r of data.cols) {
    const name = str(r['relname']);
    const t = (snap.tables[name] ??= { name, columns: [], primaryKey: [], indexes: [], foreignKeys: [], checks: [], storageId: str(r['storage']) });
    if (r['attname'] === null || r['attname'] === undefined) continue; // a table without columns
    t.columns.push(toColumn(r, t.columns.length + 1, snap.enumTypes));
  }
  for (const r of data.cons) {
    const t = snap.tables[str(r['relname'])];
    if (!t) continue;
    const type = str(r['contype']);
    if (type === 'p') t.primaryKey = arr(r['cols']);
    else if (type === 'f')
      t.foreignKeys.push({
        name: str(r['conname']),
        columns: arr(r['cols']),
        refTable: str(r['ref_table']),
        refColumns: arr(r['ref_cols']),
        onUpdate: FK_ACTION[str(r['confupdtype'])] ?? str(r['confupdtype']),
        onDelete: FK_ACTION[str(r['confdeltype'])] ?? str(r['confdeltype']),
        validated: Boolean(r['convalidated']),
      });
    else t.checks.push({ name: str(r['conname']), expression: str(r['def']), validated: Boolean(r['convalidated']) });
  }
  for (const r of data.idx) {
    const t = snap.tables[str(r['relname'])];
    if (!t) continue;
    t.indexes.push({
      name: str(r['index_name']),
      unique: Boolean(r['indisunique']),
      columns: arr(r['cols']),
      where: r['pred'] === null ? null : str(r['pred']),
      valid: Boolean(r['indisvalid']),
    });
  }
  return snap;
}

function toColumn(r: Row, position: number, enums: Record<string, string[]>): ColumnSnapshot {
  const typtype = str(r['typtype']);
  const typname = str(r['typname']);
  const nullable = !r['attnotnull'];
  const generatedStored = str(r['attgenerated']) === 's';
  const identity = str(r['attidentity']) !== '';
  const dflt = r['dflt'] === null || r['dflt'] === undefined ? null : str(r['dflt']);
  const serial = dflt !== null && /^nextval\(/i.test(dflt);
  const col: ColumnSnapshot = {
    name: str(r['attname']),
    position,
    type: str(r['type']),
    dataType:
      typtype === 'e'
        ? typname
        : str(r['type'])
            .replace(/\(.*\)/, '')
            .trim(),
    nullable,
    default: generatedStored ? null : dflt,
  };
  if (col.default === null && nullable) col.default = 'NULL';
  if (r['collname']) col.collation = str(r['collname']);
  if (typtype === 'e') col.enumValues = [...(enums[typname] ?? [])];
  if (generatedStored) col.generated = dflt;
  if (identity || serial) col.autoFilled = true;
  return col;
}
