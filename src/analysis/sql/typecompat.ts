import type { ColumnSnapshot, TypeChangeKind } from '../types.ts';

/**
 * Classifies column types into families and compares two of them. Row-based replication converts
 * only within a family (MySQL "Replication of columns having different data types"), and the same
 * families decide whether a change keeps every stored value.
 */
export type TypeFamily = 'int' | 'decimal' | 'float' | 'string' | 'binary' | 'temporal' | 'enum' | 'set' | 'json' | 'bool' | 'bit' | 'other';

export interface ParsedType {
  family: TypeFamily;
  base: string;
  /** int: bytes; float: 4 | 8; bit: width. */
  size?: number;
  unsigned?: boolean;
  /** decimal precision and scale; Infinity when unconstrained (PG numeric). */
  precision?: number;
  scale?: number;
  /** string/binary: capacity in characters (bytes for binary); Infinity when unbounded. */
  capacity?: number;
  /** temporal fractional seconds. */
  fsp?: number;
  /** exact text, for families compared by identity. */
  text: string;
}

const INT_SIZES: Record<string, number> = {
  tinyint: 1,
  smallint: 2,
  mediumint: 3,
  int: 4,
  integer: 4,
  bigint: 8,
  int2: 2,
  int4: 4,
  int8: 8,
  serial: 4,
  bigserial: 8,
  smallserial: 2,
};

/** Bytes per character of a charset: decides whether a text type of N bytes holds M characters. */
export function bytesPerChar(charset: string | null | undefined): number {
  if (!charset) return 4;
  const c = charset.toLowerCase();
  if (c === 'latin1' || c === 'ascii' || c === 'binary' || c === 'latin2' || c === 'cp1250' || c === 'cp1251') return 1;
  if (c === 'ucs2' || c === 'utf16') return 2;
  if (c === 'utf8' || c === 'utf8mb3') return 3;
  return 4;
}

/** Whether charset `to` can store every character of charset `from`. */
function charsetContains(to: string | null | undefined, from: string | null | undefined): boolean {
  if (!to || !from) return true;
  const a = from.toLowerCase().replace('utf8mb3', 'utf8');
  const b = to.toLowerCase().replace('utf8mb3', 'utf8');
  if (a === b) return true;
  if (b === 'utf8mb4' || b === 'utf16' || b === 'utf32') return true;
  if (b === 'utf8') return a !== 'utf8mb4' && a !== 'utf16' && a !== 'utf32';
  return a === 'ascii';
}

const TEXT_BYTES: Record<string, number> = { tinytext: 255, text: 65535, mediumtext: 16777215, longtext: 4294967295 };
const BLOB_BYTES: Record<string, number> = { tinyblob: 255, blob: 65535, mediumblob: 16777215, longblob: 4294967295 };

export function parseType(col: Pick<ColumnSnapshot, 'type' | 'charset'>): ParsedType {
  const text = col.type.toLowerCase().trim();
  const unsigned = /\bunsigned\b/.test(text);
  const args = /\(([^)]*)\)/
    .exec(text)?.[1]
    ?.split(',')
    .map((s) => Number(s.trim()));
  const base = text
    .replace(/\(.*?\)/g, '')
    .replace(/\b(unsigned|zerofill|signed)\b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  const a0 = args?.[0];
  const a1 = args?.[1];

  if (base.endsWith('[]')) return { family: 'other', base, text };
  const intSize = INT_SIZES[base];
  if (intSize !== undefined) return { family: 'int', base, size: intSize, unsigned, text };
  if (base === 'decimal' || base === 'numeric' || base === 'dec' || base === 'fixed') {
    const precision = a0 ?? (base === 'numeric' && !args ? Infinity : 10);
    const scale = a1 ?? (base === 'numeric' && !args ? Infinity : 0);
    return { family: 'decimal', base: 'decimal', precision, scale, unsigned, text };
  }
  if (base === 'float' || base === 'real' || base === 'float4') return { family: 'float', base, size: 4, text };
  if (base === 'double' || base === 'double precision' || base === 'float8') return { family: 'float', base, size: 8, text };
  if (base === 'boolean' || base === 'bool') return { family: 'bool', base, text };
  if (base === 'bit') return { family: 'bit', base, size: a0 ?? 1, text };
  const bpc = bytesPerChar(col.charset);
  if (
    base === 'varchar' ||
    base === 'character varying' ||
    base === 'char' ||
    base === 'character' ||
    base === 'bpchar' ||
    base === 'nvarchar' ||
    base === 'nchar'
  ) {
    return { family: 'string', base, capacity: a0 ?? (base.startsWith('char') || base === 'bpchar' ? 1 : Infinity), text };
  }
  if (base === 'text' || base === 'citext') return { family: 'string', base, capacity: col.charset ? Math.floor(65535 / bpc) : Infinity, text };
  const tb = TEXT_BYTES[base];
  if (tb !== undefined) return { family: 'string', base, capacity: Math.floor(tb / bpc), text };
  if (base === 'varbinary' || base === 'binary') return { family: 'binary', base, capacity: a0 ?? 1, text };
  if (base === 'bytea') return { family: 'binary', base, capacity: Infinity, text };
  const bb = BLOB_BYTES[base];
  if (bb !== undefined) return { family: 'binary', base, capacity: bb, text };
  if (base === 'enum') return { family: 'enum', base, text };
  if (base === 'set') return { family: 'set', base, text };
  if (base === 'json' || base === 'jsonb') return { family: 'json', base, text };
  const t = /^(timestamp|time|datetime|date|year)\b(.*)$/.exec(base);
  if (t) {
    const zone = /with time zone/.test(t[2] ?? '') ? ' tz' : '';
    // PG prints "timestamp without time zone" for the default precision, which is 6; MySQL's default is 0.
    const fsp = a0 ?? (/time zone/.test(t[2] ?? '') ? 6 : 0);
    return { family: 'temporal', base: `${t[1]}${zone}`, fsp, text };
  }
  return { family: 'other', base, text };
}

function intRange(p: ParsedType): [bigint, bigint] {
  const bits = BigInt((p.size ?? 4) * 8);
  return p.unsigned ? [0n, (1n << bits) - 1n] : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
}

/** How the new type relates to the old one, for values stored under the old type. */
export function compareTypes(from: Pick<ColumnSnapshot, 'type' | 'charset'>, to: Pick<ColumnSnapshot, 'type' | 'charset'>): TypeChangeKind {
  const a = parseType(from);
  const b = parseType(to);
  if (a.family !== b.family) return 'family-change';
  switch (a.family) {
    case 'int': {
      const [alo, ahi] = intRange(a);
      const [blo, bhi] = intRange(b);
      if (alo === blo && ahi === bhi) return 'cosmetic';
      if (blo <= alo && bhi >= ahi) return 'widening';
      if (blo >= alo && bhi <= ahi) return 'narrowing';
      return 'incompatible';
    }
    case 'decimal': {
      const ai = (a.precision ?? 10) - (a.scale ?? 0);
      const bi = (b.precision ?? 10) - (b.scale ?? 0);
      const as = a.scale ?? 0;
      const bs = b.scale ?? 0;
      const intWider = b.precision === Infinity || bi >= ai || Number.isNaN(bi);
      if (ai === bi && as === bs && a.unsigned === b.unsigned) return 'cosmetic';
      if (intWider && bs >= as && (!b.unsigned || a.unsigned)) return 'widening';
      if ((bi <= ai || a.precision === Infinity) && bs <= as) return 'narrowing';
      return 'incompatible';
    }
    case 'float':
      if (a.size === b.size) return 'cosmetic';
      return (b.size ?? 8) > (a.size ?? 8) ? 'widening' : 'narrowing';
    case 'bit':
      if (a.size === b.size) return 'cosmetic';
      return (b.size ?? 1) > (a.size ?? 1) ? 'widening' : 'narrowing';
    case 'string':
    case 'binary': {
      const ac = a.capacity ?? Infinity;
      const bc = b.capacity ?? Infinity;
      const repertoireOk = a.family === 'binary' || charsetContains(to.charset, from.charset);
      const repertoireBack = a.family === 'binary' || charsetContains(from.charset, to.charset);
      if (ac === bc && a.base === b.base && repertoireOk && repertoireBack && (from.charset ?? '') === (to.charset ?? '')) return 'cosmetic';
      if (bc >= ac && repertoireOk) return 'widening';
      if (bc <= ac && repertoireBack) return 'narrowing';
      return 'incompatible';
    }
    case 'temporal': {
      if (a.base !== b.base) return 'family-change';
      if (a.fsp === b.fsp) return 'cosmetic';
      return (b.fsp ?? 0) > (a.fsp ?? 0) ? 'widening' : 'narrowing';
    }
    case 'enum':
    case 'set':
      // Value-level changes are reported by the enum diff; the type text alone says nothing more.
      return 'cosmetic';
    default:
      return a.text === b.text ? 'cosmetic' : 'family-change';
  }
}

/**
 * Whether every value of the old type survives the change unchanged, across families too
 * (INT -> VARCHAR(20) keeps values; DATETIME -> DATE drops the time).
 */
export function isLossless(
  from: Pick<ColumnSnapshot, 'type' | 'charset' | 'enumValues'>,
  to: Pick<ColumnSnapshot, 'type' | 'charset' | 'enumValues'>,
): boolean {
  const kind = compareTypes(from, to);
  if (kind === 'widening' || kind === 'cosmetic') return true;
  if (kind !== 'family-change') return false;
  const a = parseType(from);
  const b = parseType(to);
  if (a.family === 'int' && b.family === 'string') return (b.capacity ?? Infinity) >= 20;
  if (a.family === 'int' && b.family === 'decimal') {
    const digits = String(intRange(a)[1]).length;
    return (b.precision ?? 10) - (b.scale ?? 0) >= digits;
  }
  if (a.family === 'int' && b.family === 'float') return (a.size ?? 4) <= (b.size === 8 ? 4 : 2);
  if ((a.family === 'enum' || a.family === 'set') && b.family === 'string') {
    const longest = Math.max(0, ...(from.enumValues ?? []).map((v) => v.length));
    return (b.capacity ?? Infinity) >= (a.family === 'set' ? (from.enumValues ?? []).join(',').length : longest);
  }
  if (a.family === 'bool' && (b.family === 'int' || b.family === 'string')) return true;
  if (a.family === 'temporal' && b.family === 'temporal') {
    if (a.base === 'date' && (b.base === 'datetime' || b.base.startsWith('timestamp'))) return true;
    if (a.base === 'timestamp' && b.base === 'datetime') return (b.fsp ?? 0) >= (a.fsp ?? 0);
    if (a.base === 'timestamp' && b.base === 'timestamp tz') return true;
    return false;
  }
  if (a.family === 'json' && b.family === 'json') return true;
  if (a.family === 'string' && b.family === 'json') return false;
  if ((a.family === 'json' || a.family === 'other') && b.family === 'string') return (b.capacity ?? Infinity) === Infinity || (b.capacity ?? 0) >= 65535;
  return false;
}
