/**
 * goose's `-- +goose ENVSUB ON` / `OFF`: between the two (or to the end of the file), each SQL
 * line has its environment references expanded before it is split into statements, as goose does
 * with github.com/mfridman/interpolate v0.0.2 (written here from its documented grammar):
 *
 *   $NAME, ${NAME}        the value; an unset variable expands to '' (goose does not refuse it)
 *   ${NAME:-word}         word when NAME is unset or empty
 *   ${NAME-word}          word when NAME is unset
 *   ${NAME:offset[:len]}  a substring (bytes; a negative offset needs a space: ${NAME: -3})
 *   ${NAME?message}       refuses the file when NAME is unset
 *   $$ and \$             a literal $ (so a `$$` dollar quote on such a line becomes `$`, as in goose)
 *   $( ... and a $ ending the line are kept; `\\` is kept as written
 *
 * NAME starts with a letter. Any other `$` form (`$1`, `${1}`, `${NAME:?}`) makes goose refuse the
 * file, so it is refused here too, with the line.
 *
 * The values may be secrets (a password for CREATE USER): what ran is never printed with them.
 * Every value substituted is remembered for this process, and maskSubstitutedValues() (applied
 * wherever a statement is printed, with maskSecretLiterals) writes the reference back instead.
 */

import { registerSecret } from '../../log/index.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Expanded {
  text: string;
  /** Variables the line read, in order of first use, and whether each was set. */
  used: { name: string; set: boolean }[];
}

export class EnvsubError extends Error {}

/** Values substituted in this process, longest first when masked, with the name that gave them. */
const substituted = new Map<string, string>();
/** A value shorter than this is too common a string to mask everywhere ("1", "on"), and no secret. */
const MASK_MIN_LENGTH = 4;

/** Writes `${NAME}` back wherever a substituted value appears: statements are printed as written, not as run. */
export function maskSubstitutedValues(text: string): string {
  if (!substituted.size) return text;
  let out = text;
  for (const [value, name] of [...substituted].sort((a, b) => b[0].length - a[0].length)) out = out.split(value).join(`\${${name}}`);
  return out;
}

/** Expands one line the way goose's ENVSUB does; throws EnvsubError where goose refuses the file. */
export function expandLine(line: string, env: Env): Expanded {
  const p = new LineParser(line, env);
  const text = p.expression('');
  for (const u of p.used) {
    const v = env[u.name];
    if (v !== undefined && v.length >= MASK_MIN_LENGTH) substituted.set(v, u.name);
    // Also the process-wide registry: the logger, errors and journals redact it, and the analysis
    // cache never stores what holds it (its statements and dumps would be on disk).
    registerSecret(v);
  }
  return { text, used: p.used };
}

class LineParser {
  pos = 0;
  used: { name: string; set: boolean }[] = [];
  constructor(
    private readonly s: string,
    private readonly env: Env,
  ) {}

  private read(name: string): string | undefined {
    const v = this.env[name];
    if (!this.used.some((u) => u.name === name)) this.used.push({ name, set: v !== undefined });
    return v;
  }

  /** Text and expansions up to one of `stop` (or the end). */
  expression(stop: string): string {
    let out = '';
    while (this.pos < this.s.length && !stop.includes(this.s[this.pos]!)) {
      const rest = this.s.slice(this.pos);
      if (rest.startsWith('\\\\')) {
        out += '\\\\';
        this.pos += 2;
      } else if (rest.startsWith('\\$') || rest.startsWith('$$')) {
        out += '$';
        this.pos += 2;
      } else if (rest.startsWith('$(')) {
        out += '$(';
        this.pos += 2;
      } else if (rest[0] === '$' && rest.length > 1) {
        this.pos += 1;
        out += this.expansion();
      } else {
        out += rest[0];
        this.pos += 1;
      }
    }
    return out;
  }

  private expansion(): string {
    if (this.s[this.pos] !== '{') return this.read(this.identifier()) ?? '';
    this.pos += 1;
    const name = this.identifier();
    const op = this.s[this.pos];
    this.pos += 1;
    let value: string;
    if (op === '}') return this.read(name) ?? '';
    if (op === ':' && this.s[this.pos] === '-') {
      this.pos += 1;
      const word = this.expression('}');
      const v = this.read(name);
      value = v ? v : word;
    } else if (op === '-') {
      const word = this.expression('}');
      value = this.read(name) ?? word;
    } else if (op === ':') {
      value = this.substring(name);
    } else if (op === '?') {
      const message = this.expression('}');
      const v = this.read(name);
      if (v === undefined) throw new EnvsubError(`$${name}: ${message || 'not set'}`);
      value = v;
    } else {
      throw new EnvsubError(`expected an operator after \${${name}, got ${op === undefined ? 'the end of the line' : `"${op}"`}`);
    }
    if (this.s[this.pos] !== '}') throw new EnvsubError(`\${${name}...} is not closed by "}"`);
    this.pos += 1;
    return value;
  }

  private identifier(): string {
    const m = /^\p{L}[\p{L}\p{N}_]*/u.exec(this.s.slice(this.pos));
    if (!m)
      throw new EnvsubError(
        `"$" must be followed by a variable name starting with a letter (write $$ or \\$ for a literal $), got "${this.s.slice(this.pos - 1, this.pos + 2)}"`,
      );
    this.pos += m[0].length;
    return m[0];
  }

  /** ${NAME:offset[:length]}, on the value's bytes as Go slices a string. */
  private substring(name: string): string {
    const int = (text: string, what: string): number => {
      if (!/^\s*[-+]?\d+\s*$/.test(text))
        throw new EnvsubError(`\${${name}:...}: the ${what} "${text}" is not a number (\${${name}:?} is not supported either)`);
      return Number.parseInt(text, 10);
    };
    const end = (c: string): number => {
      const i = [...c].map((ch) => this.s.indexOf(ch, this.pos)).filter((i) => i >= 0);
      return i.length ? Math.min(...i) : this.s.length;
    };
    const at = end(':}');
    const offset = int(this.s.slice(this.pos, at), 'offset');
    this.pos = at;
    let length: number | undefined;
    if (this.s[this.pos] === ':') {
      this.pos += 1;
      const close = end('}');
      length = int(this.s.slice(this.pos, close), 'length');
      this.pos = close;
    }
    const bytes = Buffer.from(this.read(name) ?? '', 'utf8');
    const from = Math.min(Math.max(offset < 0 ? offset + bytes.length : offset, 0), bytes.length);
    if (length === undefined) return bytes.subarray(from).toString('utf8');
    const to = Math.min(length >= 0 ? from + length : Math.max(length + bytes.length, from), bytes.length);
    return bytes.subarray(from, to).toString('utf8');
  }
}

/** What ENVSUB did to one file: its text with the references expanded, the variables it read, and where goose would refuse it. */
export interface FileSubstitution {
  text: string;
  /** Variables read, with the first line each was read on. */
  used: { name: string; set: boolean; line: number }[];
  errors: { line: number; message: string }[];
}

/**
 * Expands the lines `on` marks (goose's ENVSUB sections) of a whole file, keeping its line count so
 * statement lines stay the file's. Comment-only lines are left alone: goose skips those between
 * statements, and `-- migrate:ack` reasons are not SQL.
 */
export function substituteFile(lines: readonly string[], on: readonly boolean[], env: Env): FileSubstitution {
  const out: FileSubstitution = { text: '', used: [], errors: [] };
  const expanded = lines.map((line, i) => {
    if (!on[i] || /^\s*(--|$)/.test(line) || !line.includes('$')) return line;
    try {
      const e = expandLine(line, env);
      for (const u of e.used) if (!out.used.some((x) => x.name === u.name)) out.used.push({ ...u, line: i + 1 });
      // A value holding a line break would move every later statement off its line: refused rather than renumbered.
      if (/[\r\n]/.test(e.text)) {
        out.errors.push({
          line: i + 1,
          message: `the value of ${e.used.map((u) => u.name).join(', ')} holds a line break, which this tool does not substitute`,
        });
        return line;
      }
      return e.text;
    } catch (err) {
      if (!(err instanceof EnvsubError)) throw err;
      out.errors.push({ line: i + 1, message: err.message });
      return line;
    }
  });
  out.text = expanded.join('\n');
  return out;
}
