import type { Knex } from 'knex';

export type Row = Record<string, unknown>;

/** Rows of a raw query, whatever the driver's result shape (mysql2: [rows, fields]; pg: {rows}). */
export async function rawRows(db: Knex, sql: string, bindings: readonly Knex.Value[] = []): Promise<Row[]> {
  const res: unknown = await db.raw(sql, bindings as Knex.Value[]);
  if (Array.isArray(res)) {
    const first: unknown = res[0];
    return Array.isArray(first) ? (first as Row[]) : [];
  }
  if (typeof res === 'object' && res !== null && Array.isArray((res as { rows?: unknown }).rows)) {
    return (res as { rows: Row[] }).rows;
  }
  return [];
}

export function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

export function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}
