/**
 * Lists the functions longer than a limit (80 lines by default, issue 14's measure) in the given
 * folders, longest first. Every function-like node counts on its own: a function nested in a long
 * one is listed too, and its lines also count toward the outer one, as a reader has to read them.
 * Lines run from the first line of the declaration to its closing brace, comments and blank lines
 * included.
 *
 *   node --import tsx scripts/count-long-functions.ts [--max 80] [--fail] [folder...]   (default: src)
 *
 * --fail exits 1 when any function is over the limit, for use as a check once the count is 0.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

interface LongFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
}

function sourceFiles(dir: string): string[] {
  if (statSync(dir).isFile()) return [dir];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(m|c)?tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

function propertyName(name: ts.PropertyName | ts.BindingName, sf: ts.SourceFile): string {
  return ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name) ? name.text : name.getText(sf);
}

/** What a reader would call the function: its own name, else the variable, property or call it sits in. */
function nameOf(node: ts.SignatureDeclaration, sf: ts.SourceFile): string {
  const owner = (n: ts.Node): string => {
    const cls = ts.findAncestor(n.parent, ts.isClassLike);
    return cls?.name ? `${cls.name.text}.` : '';
  };
  if (ts.isConstructorDeclaration(node)) return `${owner(node)}constructor`;
  if (node.name) return `${owner(node)}${propertyName(node.name, sf)}`;
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return `${owner(p)}${propertyName(p.name, sf)}`;
  if (ts.isCallExpression(p)) return `(callback of ${p.expression.getText(sf).slice(0, 40)})`;
  return '(anonymous)';
}

function longFunctionsIn(file: string, max: number): LongFunction[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) found.push({ file, line: first + 1, name: nameOf(node, sf), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function parseArgs(argv: string[]): { max: number; fail: boolean; dirs: string[] } {
  let max = 80;
  let fail = false;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--max') max = Number(argv[++i]);
    else if (a === '--fail') fail = true;
    else dirs.push(a);
  }
  if (!Number.isInteger(max) || max < 1) throw new Error('--max takes a whole number of lines');
  return { max, fail, dirs: dirs.length ? dirs : ['src'] };
}

const { max, fail, dirs } = parseArgs(process.argv.slice(2));
const all = dirs.flatMap(sourceFiles).flatMap((f) => longFunctionsIn(f, max));
all.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
for (const f of all) process.stdout.write(`${String(f.lines).padStart(5)}  ${relative(process.cwd(), f.file)}:${f.line}  ${f.name}\n`);
process.stdout.write(`${all.length} functions over ${max} lines in ${dirs.join(' ')}\n`);
if (fail && all.length > 0) process.exitCode = 1;
