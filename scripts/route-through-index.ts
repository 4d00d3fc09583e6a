/**
 * Codemod for the rule no-deep-import-across-stages (.dependency-cruiser.cjs): every import of a
 * file inside another stage (a top folder of src/) is pointed at that stage's index.ts, and the
 * names it uses are added to the index as re-exports (the index is created when missing). Imports
 * that run up the layers are listed, not routed: through two barrels they would become a runtime
 * cycle of whole stages. Best run once those are cut (`npm run lint:deps:summary`).
 *
 *   node --import tsx scripts/route-through-index.ts [--dry-run] [--even-if-heavier]
 *
 * An index re-exports its stage, so importing it loads what it re-exports. src/cli imports each
 * command's engine lazily (src/cli/main.ts) and statically only what registering a command needs;
 * import() elsewhere is lazy on purpose too. Such an import is listed, not routed, when the index
 * would load more src files than the file it replaces (--even-if-heavier routes it anyway): move
 * what it needs to a lighter stage, or make the index light, first.
 *
 * Names are read from the import (named imports, `const { a } = await import(...)`, `(await
 * import(...)).a`, Promise.all destructuring). Where they cannot be (a module object kept whole,
 * `typeof import(...)`), every export of the file is re-exported. Default and namespace imports,
 * and a name another file of the stage already exports, are left alone and listed for a person.
 * Afterwards: `npx tsc --noEmit -p .`, `npm run format`, and trim each index to what is used.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = process.cwd();
const SRC = resolve(ROOT, 'src');
const dryRun = process.argv.includes('--dry-run');
const evenIfHeavier = process.argv.includes('--even-if-heavier');

interface DeepImport {
  file: string;
  /** Loaded when the importing module is (not import(), not type-only). */
  eager: boolean;
  /** The string literal naming the module, to rewrite. */
  literal: ts.StringLiteralLike;
  target: string;
  /** Names used, with whether each is type-only; undefined = not readable, export everything. */
  names: Map<string, boolean> | undefined;
}

const rel = (p: string): string => relative(ROOT, p);
const stageOf = (p: string): string | undefined => {
  const r = relative(SRC, p);
  const parts = r.split('/');
  return !r.startsWith('..') && parts.length > 1 ? parts[0] : undefined;
};
const indexOf = (stage: string): string => resolve(SRC, stage, 'index.ts');
const specifier = (from: string, to: string): string => {
  const r = relative(dirname(from), to);
  return r.startsWith('.') ? r : `./${r}`;
};

function namesOfBinding(b: ts.BindingName | undefined): Map<string, boolean> | undefined {
  if (!b || !ts.isObjectBindingPattern(b)) return undefined;
  const names = new Map<string, boolean>();
  for (const e of b.elements) {
    const n = e.propertyName ?? e.name;
    if (!ts.isIdentifier(n) || e.dotDotDotToken) return undefined;
    names.set(n.text, false);
  }
  return names;
}

/** The names a dynamic import's result is destructured into or read by, when the shape says. */
function dynamicNames(call: ts.CallExpression): Map<string, boolean> | undefined {
  let p: ts.Node = call.parent;
  if (ts.isAwaitExpression(p)) {
    if (ts.isVariableDeclaration(p.parent)) return namesOfBinding(p.parent.name);
    if (ts.isParenthesizedExpression(p.parent) && ts.isPropertyAccessExpression(p.parent.parent)) return new Map([[p.parent.parent.name.text, false]]);
    return undefined;
  }
  // await Promise.all([import(a), import(b)]) destructured as [{ x }, { y }]
  if (ts.isArrayLiteralExpression(p)) {
    const i = p.elements.indexOf(call);
    p = p.parent;
    if (ts.isCallExpression(p) && ts.isAwaitExpression(p.parent) && ts.isVariableDeclaration(p.parent.parent)) {
      const b = p.parent.parent.name;
      if (ts.isArrayBindingPattern(b)) {
        const e = b.elements[i];
        return e && ts.isBindingElement(e) ? namesOfBinding(e.name) : undefined;
      }
    }
  }
  return undefined;
}

function staticNames(decl: ts.ImportDeclaration | ts.ExportDeclaration, problems: string[], where: string): Map<string, boolean> | undefined | 'skip' {
  const names = new Map<string, boolean>();
  if (ts.isExportDeclaration(decl)) {
    if (!decl.exportClause || !ts.isNamedExports(decl.exportClause)) return undefined;
    for (const e of decl.exportClause.elements) names.set((e.propertyName ?? e.name).text, decl.isTypeOnly || e.isTypeOnly);
    return names;
  }
  const clause = decl.importClause;
  if (!clause || clause.name || (clause.namedBindings && ts.isNamespaceImport(clause.namedBindings))) {
    problems.push(`${where}: side-effect, default or namespace import; route it by hand`);
    return 'skip';
  }
  if (clause.namedBindings) {
    for (const e of clause.namedBindings.elements) names.set((e.propertyName ?? e.name).text, clause.isTypeOnly || e.isTypeOnly);
  }
  return names;
}

function deepImportsOf(sf: ts.SourceFile, problems: string[]): DeepImport[] {
  const found: DeepImport[] = [];
  const own = stageOf(sf.fileName);
  const consider = (literal: ts.StringLiteralLike, names: () => Map<string, boolean> | undefined | 'skip', eager = false): void => {
    if (!literal.text.startsWith('.')) return;
    const target = resolve(dirname(sf.fileName), literal.text);
    const stage = stageOf(target);
    if (!stage || stage === own || target === indexOf(stage)) return;
    const n = names();
    if (n !== 'skip') found.push({ file: sf.fileName, eager: eager && [...(n ?? [])].some(([, t]) => !t), literal, target, names: n });
  };
  const where = (n: ts.Node): string => `${rel(sf.fileName)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      consider(node.moduleSpecifier, () => staticNames(node, problems, where(node)), !(ts.isImportDeclaration(node) && node.importClause?.isTypeOnly));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) consider(arg, () => dynamicNames(node));
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      consider(node.argument.literal, () => undefined);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Every export of a module: name -> type-only. */
function exportsOf(checker: ts.TypeChecker, sf: ts.SourceFile | undefined): Map<string, { typeOnly: boolean; origin: ts.Symbol }> {
  const out = new Map<string, { typeOnly: boolean; origin: ts.Symbol }>();
  const mod = sf && checker.getSymbolAtLocation(sf);
  if (!mod) return out;
  for (const s of checker.getExportsOfModule(mod)) {
    const origin = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    out.set(s.name, { typeOnly: (origin.flags & ts.SymbolFlags.Value) === 0, origin });
  }
  return out;
}

interface ForbiddenRule {
  name: string;
  from: { path?: string };
  to: { path?: string };
}

/** The layer rules of .dependency-cruiser.cjs, so an upward import is reported rather than routed. */
function upwardRules(): { from: RegExp; to: RegExp }[] {
  const config = createRequire(import.meta.url)(resolve(ROOT, '.dependency-cruiser.cjs')) as { forbidden: ForbiddenRule[] };
  return config.forbidden
    .filter((r) => r.name.startsWith('no-upward-import-from-') && r.from.path && r.to.path)
    .map((r) => ({ from: new RegExp(r.from.path as string), to: new RegExp(r.to.path as string) }));
}

type Additions = Map<string, Map<string, Map<string, boolean>>>;

/** The re-exports each stage index needs for these imports; imports that clash are reported and left out. */
function plan(program: ts.Program, imports: DeepImport[], problems: string[]): { additions: Additions; routable: DeepImport[] } {
  const checker = program.getTypeChecker();
  const additions: Additions = new Map();
  const routable: DeepImport[] = [];
  for (const imp of imports) {
    const index = indexOf(stageOf(imp.target) as string);
    const present = exportsOf(checker, program.getSourceFile(index));
    const available = exportsOf(checker, program.getSourceFile(imp.target));
    const wanted = imp.names ?? new Map([...available].map(([n, e]) => [n, e.typeOnly]));
    const byFile = additions.get(index) ?? new Map<string, Map<string, boolean>>();
    const clash = [...wanted.keys()].filter((n) => {
      const had = present.get(n);
      if (had && had.origin !== available.get(n)?.origin) return true;
      return [...byFile].some(([f, names]) => f !== imp.target && names.has(n));
    });
    if (clash.length) {
      problems.push(`${rel(imp.file)} -> ${rel(imp.target)}: ${clash.join(', ')} already exported by ${rel(index)} from another file; route by hand`);
      continue;
    }
    const mine = byFile.get(imp.target) ?? new Map<string, boolean>();
    // `export type` when the source exports only a type, whatever the importer wrote.
    for (const [n, typeOnly] of wanted) if (!present.has(n)) mine.set(n, available.get(n)?.typeOnly ?? typeOnly);
    byFile.set(imp.target, mine);
    additions.set(index, byFile);
    routable.push(imp);
  }
  return { additions, routable };
}

/** The src/ files a module loads when it is loaded: value imports and re-exports, followed. */
function loader(program: ts.Program): (file: string) => Set<string> {
  const memo = new Map<string, Set<string>>();
  const direct = (file: string): string[] => {
    const sf = program.getSourceFile(file);
    if (!sf) return [];
    return sf.statements.flatMap((st) => {
      if (!(ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) || !st.moduleSpecifier || !ts.isStringLiteral(st.moduleSpecifier)) return [];
      if (ts.isExportDeclaration(st) ? st.isTypeOnly : st.importClause?.isTypeOnly) return [];
      const named = ts.isImportDeclaration(st) ? st.importClause?.namedBindings : st.exportClause;
      const onlyTypes = named && (ts.isNamedImports(named) || ts.isNamedExports(named)) && !(ts.isImportDeclaration(st) && st.importClause?.name);
      if (onlyTypes && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)) return [];
      const spec = st.moduleSpecifier.text;
      return spec.startsWith('.') ? [resolve(dirname(file), spec)] : [];
    });
  };
  const loads = (file: string): Set<string> => {
    const known = memo.get(file);
    if (known) return known;
    const seen = new Set<string>([file]);
    memo.set(file, seen);
    for (const d of direct(file)) for (const f of loads(d)) seen.add(f);
    return seen;
  };
  return loads;
}

/**
 * Imports whose module is loaded lazily or at CLI start (src/cli's static imports, every import())
 * and would load more through the index than today. The index's load is an upper bound: as if
 * every planned re-export were in it.
 */
function heavier(program: ts.Program, candidates: DeepImport[], additions: Additions): Map<DeepImport, number> {
  const loads = loader(program);
  const indexLoads = (index: string): Set<string> => {
    const all = new Set(existsSync(index) ? loads(index) : []);
    for (const [file, names] of additions.get(index) ?? []) if ([...names.values()].some((t) => !t)) for (const f of loads(file)) all.add(f);
    return all;
  };
  const out = new Map<DeepImport, number>();
  for (const imp of candidates) {
    const sensitive = imp.eager ? stageOf(imp.file) === 'cli' : imp.literal.parent && ts.isCallExpression(imp.literal.parent);
    if (!sensitive) continue;
    const before = new Set([...loads(imp.target), ...(imp.eager ? loads(imp.file) : [])]);
    const extra = [...indexLoads(indexOf(stageOf(imp.target) as string))].filter((f) => !before.has(f)).length;
    if (extra > 0) out.set(imp, extra);
  }
  return out;
}

function main(): void {
  const config = ts.getParsedCommandLineOfConfigFile(resolve(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.json not readable');
  // Parent pointers: the import() shapes are read upwards from the call.
  const program = ts.createProgram(config.fileNames, config.options, ts.createCompilerHost(config.options, true));
  const problems: string[] = [];
  const upward = upwardRules();
  const candidates = program
    .getSourceFiles()
    .filter((sf) => sf.fileName.startsWith(`${SRC}/`))
    .flatMap((sf) => deepImportsOf(sf, problems))
    .filter((imp) => {
      const up = upward.some((r) => r.from.test(rel(imp.file)) && r.to.test(rel(imp.target)));
      if (up) problems.push(`${rel(imp.file)} -> ${rel(imp.target)}: runs up the layers; cut it instead of routing it`);
      return !up;
    });
  const heavy = evenIfHeavier ? new Map<DeepImport, number>() : heavier(program, candidates, plan(program, candidates, []).additions);
  for (const [imp, extra] of heavy) {
    const when = imp.eager ? 'at every CLI start' : 'when this import() runs';
    problems.push(`${rel(imp.file)} -> ${rel(imp.target)}: through the index it would load ${extra} more src files ${when}`);
  }
  const { additions, routable } = plan(
    program,
    candidates.filter((imp) => !heavy.has(imp)),
    problems,
  );
  writeIndexes(additions);
  rewriteImports(routable);
  process.stdout.write(`${routable.length} deep imports routed through ${additions.size} index files${dryRun ? ' (dry run, nothing written)' : ''}\n`);
  for (const p of problems) process.stdout.write(`  by hand: ${p}\n`);
}

function writeIndexes(additions: Map<string, Map<string, Map<string, boolean>>>): void {
  for (const [index, byFile] of additions) {
    const lines: string[] = [];
    for (const [file, names] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
      const values = [...names]
        .filter(([, t]) => !t)
        .map(([n]) => n)
        .sort();
      const types = [...names]
        .filter(([, t]) => t)
        .map(([n]) => n)
        .sort();
      const spec = specifier(index, file);
      if (values.length) lines.push(`export { ${values.join(', ')} } from '${spec}';`);
      if (types.length) lines.push(`export type { ${types.join(', ')} } from '${spec}';`);
    }
    if (!lines.length) continue;
    const stage = relative(SRC, dirname(index));
    const before = existsSync(index)
      ? readFileSync(index, 'utf8')
      : `// Public API of src/${stage}: other stages import from this file only (docs/architecture.md).\n`;
    process.stdout.write(`${rel(index)}: +${lines.length} export lines\n`);
    if (!dryRun) writeFileSync(index, `${before.trimEnd()}\n${lines.join('\n')}\n`);
  }
}

function rewriteImports(routable: DeepImport[]): void {
  const byFile = new Map<string, DeepImport[]>();
  for (const imp of routable) byFile.set(imp.file, [...(byFile.get(imp.file) ?? []), imp]);
  for (const [file, list] of byFile) {
    let text = readFileSync(file, 'utf8');
    // From the end so earlier positions stay valid.
    for (const imp of [...list].sort((a, b) => b.literal.getStart() - a.literal.getStart())) {
      const spec = specifier(file, indexOf(stageOf(imp.target) as string));
      const start = imp.literal.getStart() + 1;
      text = text.slice(0, start) + spec + text.slice(imp.literal.getEnd() - 1);
    }
    if (!dryRun) writeFileSync(file, text);
  }
}

main();
