/**
 * Where src/ creates a typed error (MigrateError, its helpers usageError/configError/
 * connectionError/workError, its subclasses), found statically with the TypeScript compiler API,
 * and which of those places a test run reached: the errors test/setup/record-errors.mjs recorded,
 * matched to the places by their problem and fix text. test/error-sites-check.ts runs both after a
 * full run (`npm test`); this module is the pure logic, unit-tested in test/unit/error-sites.test.ts.
 */
import ts from 'typescript';

/** A piece of a problem or fix text: literal text, anything (an expression), or one of several alternatives. */
export type Part = string | { wild: true } | { alt: Pattern[] };
export type Pattern = Part[];

export interface ErrorSite {
  /** Stable name for test/errors-not-yet-raised.txt: file, enclosing function, kind and the start of the problem. */
  id: string;
  file: string;
  line: number;
  fn: string;
  /** undefined when the kind is not a literal. */
  kind: string | undefined;
  problem: Pattern;
  fix: Pattern;
}

export interface SourceText {
  /** Relative path, e.g. src/config/load.ts. */
  file: string;
  text: string;
}

const HELPERS: Record<string, string> = { usageError: 'usage', configError: 'config', connectionError: 'connection', workError: 'work' };
const WILD: Part = { wild: true };

/** Literal characters a pattern requires: what makes one site's pattern more specific than another's. */
export function literalLength(p: Pattern): number {
  return p.reduce((n, x) => n + (typeof x === 'string' ? x.length : 'alt' in x ? Math.min(...x.alt.map(literalLength)) : 0), 0);
}

/** Human-readable: wildcards as "…", alternatives as (a|b). */
export function display(p: Pattern): string {
  return p.map((x) => (typeof x === 'string' ? x : 'alt' in x ? `(${x.alt.map(display).join('|')})` : '…')).join('');
}

function regexSource(p: Pattern): string {
  return p
    .map((x) => (typeof x === 'string' ? x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : 'alt' in x ? `(?:${x.alt.map(regexSource).join('|')})` : '[\\s\\S]*'))
    .join('');
}

export const toRegex = (p: Pattern): RegExp => new RegExp(`^${regexSource(p)}$`);

/** What an identifier names, when it is a `const` (followed through imports): a fix kept in a constant is matched exactly. */
export type Resolve = (id: ts.Identifier) => ts.Expression | undefined;

/** The sources as one program (no lib, no emit), for its checker: names resolve by scope, as the compiler does. */
function programOf(sources: readonly SourceText[]): { files: ts.SourceFile[]; resolve: Resolve } {
  const root = '/error-sites/';
  const texts = new Map(sources.map((s) => [root + s.file, s.text]));
  const options: ts.CompilerOptions = {
    noLib: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
  const host = ts.createCompilerHost(options, true);
  host.getSourceFile = (name, target) => (texts.has(name) ? ts.createSourceFile(name, texts.get(name)!, target, true) : undefined);
  host.fileExists = (name) => texts.has(name);
  host.readFile = (name) => texts.get(name);
  host.getCurrentDirectory = () => root;
  host.directoryExists = (dir) => [...texts.keys()].some((f) => f.startsWith(dir.endsWith('/') ? dir : `${dir}/`));
  host.realpath = (path) => path;
  const program = ts.createProgram([...texts.keys()], options, host);
  const checker = program.getTypeChecker();
  const files = sources.map((s) => program.getSourceFile(root + s.file)!);
  const resolve: Resolve = (id) => {
    let sym = checker.getSymbolAtLocation(id);
    if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
    const d = sym?.valueDeclaration;
    return d && ts.isVariableDeclaration(d) && ts.getCombinedNodeFlags(d) & ts.NodeFlags.Const ? d.initializer : undefined;
  };
  return { files: files.map((f, i) => Object.assign(f, { fileName: sources[i]!.file })), resolve };
}

/** The pattern of the texts an expression can evaluate to. */
export function patternOf(e: ts.Expression | undefined, resolve: Resolve = () => undefined, depth = 0): Pattern {
  if (!e || depth > 8) return [WILD];
  const again = (x: ts.Expression) => patternOf(x, resolve, depth + 1);
  if (ts.isStringLiteralLike(e)) return [e.text];
  if (ts.isParenthesizedExpression(e) || ts.isAsExpression(e)) return again(e.expression);
  if (ts.isTemplateExpression(e)) return [e.head.text, ...e.templateSpans.flatMap((s) => [...templatePart(s.expression, again), s.literal.text])];
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken) return [...again(e.left), ...again(e.right)];
  if (ts.isConditionalExpression(e)) return [{ alt: [again(e.whenTrue), again(e.whenFalse)] }];
  if (ts.isIdentifier(e)) {
    const init = resolve(e);
    if (init) return again(init);
  }
  // redact(`...`) masks secrets inside the text; the rest of it is the template's.
  if (ts.isCallExpression(e) && /redact|mask/i.test(e.expression.getText()) && e.arguments[0]) return again(e.arguments[0]);
  return [WILD];
}

/** A ${} part: a nested template or condition keeps its literal text, anything else is a wildcard. */
function templatePart(e: ts.Expression, again: (x: ts.Expression) => Pattern): Pattern {
  if (ts.isConditionalExpression(e) || ts.isTemplateExpression(e) || ts.isStringLiteralLike(e) || ts.isParenthesizedExpression(e)) return again(e);
  return [WILD];
}

/** "load.ts loadConfig", "Runner.run", or the nearest name: the function a site is in. */
function enclosingFunction(n: ts.Node): string {
  for (let p: ts.Node | undefined = n.parent; p; p = p.parent) {
    if ((ts.isFunctionDeclaration(p) || ts.isMethodDeclaration(p) || ts.isGetAccessor(p)) && p.name) {
      const cls = ts.isClassLike(p.parent) && p.parent.name ? `${p.parent.name.text}.` : '';
      return cls + p.name.getText();
    }
    if (ts.isConstructorDeclaration(p) && ts.isClassLike(p.parent)) return `${p.parent.name?.text ?? 'class'}.constructor`;
    if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && ts.isIdentifier(p.name)) {
      if (p.initializer && (ts.isArrowFunction(p.initializer) || ts.isFunctionExpression(p.initializer))) return p.name.text;
    }
  }
  return '<module>';
}

interface Subclass {
  kind: ts.Expression | undefined;
  problem: Pattern;
  fix: Pattern;
  /** No constructor of its own: `new X(kind, problem, fix)` as MigrateError's. */
  inherits: boolean;
}

/** Every `class X extends MigrateError` (or extends such a class), with the texts its constructor passes to super(). */
export function subclassesOf(files: ts.SourceFile[], resolve: Resolve): Map<string, Subclass> {
  const found = new Map<string, Subclass>();
  const parents = new Set(['MigrateError']);
  for (let grew = true; grew; ) {
    grew = false;
    for (const sf of files) {
      const visit = (n: ts.Node): void => {
        if (ts.isClassDeclaration(n) && n.name && !found.has(n.name.text)) {
          const base = n.heritageClauses?.flatMap((h) => h.types.map((t) => t.expression.getText()))[0];
          if (base && parents.has(base)) {
            found.set(n.name.text, superCall(n, resolve));
            parents.add(n.name.text);
            grew = true;
          }
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
  }
  return found;
}

function superCall(cls: ts.ClassDeclaration, resolve: Resolve): Subclass {
  const ctor = cls.members.find(ts.isConstructorDeclaration);
  let call: ts.CallExpression | undefined;
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) call = n;
    else ts.forEachChild(n, visit);
  };
  if (ctor) visit(ctor);
  if (!call) return { kind: undefined, problem: [WILD], fix: [WILD], inherits: true };
  return { kind: call.arguments[0], problem: patternOf(call.arguments[1], resolve), fix: patternOf(call.arguments[2], resolve), inherits: false };
}

const kindOf = (e: ts.Expression | undefined): string | undefined => (e && ts.isStringLiteralLike(e) ? e.text : undefined);

/** The site an expression creates, if it creates a typed error. */
function siteAt(n: ts.Node, subclasses: Map<string, Subclass>, resolve: Resolve): Omit<ErrorSite, 'id' | 'file' | 'line' | 'fn'> | undefined {
  if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && HELPERS[n.expression.text]) {
    return { kind: HELPERS[n.expression.text], problem: patternOf(n.arguments[0], resolve), fix: patternOf(n.arguments[1], resolve) };
  }
  if (!ts.isNewExpression(n) || !ts.isIdentifier(n.expression)) return undefined;
  const name = n.expression.text;
  const args = n.arguments ?? ts.factory.createNodeArray<ts.Expression>();
  const sub = subclasses.get(name);
  if (name === 'MigrateError' || sub?.inherits) return { kind: kindOf(args[0]), problem: patternOf(args[1], resolve), fix: patternOf(args[2], resolve) };
  if (sub) return { kind: kindOf(sub.kind), problem: sub.problem, fix: sub.fix };
  return undefined;
}

/**
 * Every place the sources create a typed error. src/errors.ts itself is left out: its helpers are
 * counted where they are called.
 */
export function extractSites(sources: readonly SourceText[]): ErrorSite[] {
  const { files, resolve } = programOf(sources.filter((s) => !/(^|\/)src\/errors\.ts$/.test(s.file)));
  const subclasses = subclassesOf(files, resolve);
  const sites: ErrorSite[] = [];
  for (const sf of files) {
    const visit = (n: ts.Node): void => {
      const s = siteAt(n, subclasses, resolve);
      if (s) {
        const fn = enclosingFunction(n);
        const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
        sites.push({ ...s, id: '', file: sf.fileName, line, fn });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return nameSites(sites);
}

/** Ids that survive edits elsewhere in a file (no line numbers); a repeat in one function gets #2, #3. */
function nameSites(sites: ErrorSite[]): ErrorSite[] {
  const seen = new Map<string, number>();
  return sites.map((s) => {
    const text = display(s.problem).replace(/\s+/g, ' ');
    const base = `${s.file} ${s.fn} ${s.kind ?? '?'}: ${text.length > 70 ? `${text.slice(0, 70)}…` : text}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { ...s, id: n === 1 ? base : `${base} #${n}` };
  });
}

/** A site whose problem and fix are both wholly dynamic (an error passed through): no text of its own to match or to check. */
export const isPassThrough = (s: ErrorSite): boolean => literalLength(s.problem) === 0 && literalLength(s.fix) === 0;

export interface RaisedError {
  kind: string;
  problem: string;
  fix: string;
}

export interface Matching {
  /** Site id -> how many recorded errors it accounts for. */
  raised: Map<string, number>;
  /** Recorded errors no site's texts match (made by test code, or by a site the extractor cannot see). */
  unmatched: RaisedError[];
}

/**
 * Which sites the recorded errors came from. An error is credited to the matching sites with the
 * most literal text (a wildcard-heavy site also matches errors of more specific ones); pass-through
 * sites match anything and are never credited.
 */
export function matchErrors(sites: readonly ErrorSite[], errors: readonly RaisedError[]): Matching {
  const compiled = sites
    .filter((s) => !isPassThrough(s))
    .map((s) => ({ s, p: toRegex(s.problem), f: toRegex(s.fix), weight: literalLength(s.problem) + literalLength(s.fix) }));
  const raised = new Map<string, number>();
  const unmatched: RaisedError[] = [];
  const memo = new Map<string, string[]>();
  for (const e of errors) {
    const key = JSON.stringify([e.kind, e.problem, e.fix]);
    let ids = memo.get(key);
    if (!ids) {
      const hits = compiled.filter((c) => (c.s.kind === undefined || c.s.kind === e.kind) && c.p.test(e.problem) && c.f.test(e.fix));
      const best = Math.max(0, ...hits.map((h) => h.weight));
      ids = hits.filter((h) => h.weight === best).map((h) => h.s.id);
      memo.set(key, ids);
    }
    if (!ids.length) unmatched.push(e);
    for (const id of ids) raised.set(id, (raised.get(id) ?? 0) + 1);
  }
  return { raised, unmatched };
}
