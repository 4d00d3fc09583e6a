/** An identifier as MySQL or PostgreSQL write it: `quoted`, "quoted" or bare. */
export const ID = String.raw`(?:\`(?:[^\`]|\`\`)+\`|"(?:[^"]|"")+"|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)`;
/** An identifier, optionally qualified with its schema. */
export const QID = String.raw`${ID}(?:\s*\.\s*${ID})?`;

const IDENT_RE = String.raw`(?:\`(?:[^\`]|\`\`)+\`|"(?:[^"]|"")+"|[A-Za-z_$][\w$]*)`;

/** The last part of a possibly qualified, possibly quoted name, unquoted. */
export function unqualify(name: string, fold = false): string {
  const parts = name.trim().match(new RegExp(IDENT_RE, 'g')) ?? [name];
  return unquote(parts[parts.length - 1] ?? name, fold);
}

/** `fold`: the server folds an unquoted name to lower case (PostgreSQL), so `Posts` names table `posts`. */
export function unquote(id: string, fold = false): string {
  const s = id.trim();
  if (s.startsWith('`') && s.endsWith('`')) return s.slice(1, -1).replace(/``/g, '`');
  if (s.startsWith('"') && s.endsWith('"')) return s.slice(1, -1).replace(/""/g, '"');
  return fold ? s.toLowerCase() : s;
}

/** Splits on a separator at parenthesis depth 0 and outside quotes. */
export function splitTopLevel(s: string, sep = ','): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      cur += c;
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    if (c === sep && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
