/**
 * Issue 14's rule that only src/engines knows which database it talks to: lists every place
 * outside src/engines that branches on a dialect or flavor, by the TypeScript compiler API (a
 * grep misses `flavor.name === ...` and `switch (dialect)` forms):
 *   - an equality comparison with a database name literal ('mysql', 'mariadb', 'postgres', ...),
 *     or of a `dialect` / `flavor` expression with any string literal;
 *   - a `case` of such a literal in a switch on a `dialect` / `flavor` expression;
 *   - a condition (if, ?:, &&, ||, !) on a `mariadb` flag.
 *
 *   node --import tsx scripts/check-engine-branches.ts [--check]
 *
 * Prints one line per branch and the count; --check (npm test) exits 1 when there is any.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..');
const NAMES = new Set(['mysql', 'mariadb', 'postgres', 'postgresql', 'pg', 'mysql80', 'mysql84']);
const ABOUT_SERVER = /\b(dialect|flavor|flavour)\b/i;
const EQUALITY = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return filesUnder(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const isLiteral = (n: ts.Node): n is ts.StringLiteral | ts.NoSubstitutionTemplateLiteral => ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n);
const isMariadbFlag = (n: ts.Node): boolean => (ts.isIdentifier(n) && n.text === 'mariadb') || (ts.isPropertyAccessExpression(n) && n.name.text === 'mariadb');

function comparison(n: ts.BinaryExpression, sf: ts.SourceFile): boolean {
  if (!EQUALITY.has(n.operatorToken.kind)) return false;
  for (const [side, other] of [
    [n.left, n.right],
    [n.right, n.left],
  ] as const) {
    if (isLiteral(side) && (NAMES.has(side.text) || ABOUT_SERVER.test(other.getText(sf)))) return true;
  }
  return false;
}

function caseOnServer(n: ts.CaseClause, sf: ts.SourceFile): boolean {
  const sw = n.parent.parent;
  return isLiteral(n.expression) && NAMES.has(n.expression.text) && ts.isSwitchStatement(sw) && ABOUT_SERVER.test(sw.expression.getText(sf));
}

function conditionOnFlag(n: ts.Node): boolean {
  if (ts.isIfStatement(n) || ts.isConditionalExpression(n)) return isMariadbFlag(ts.isIfStatement(n) ? n.expression : n.condition);
  if (ts.isPrefixUnaryExpression(n) && n.operator === ts.SyntaxKind.ExclamationToken) return isMariadbFlag(n.operand);
  if (ts.isBinaryExpression(n) && (n.operatorToken.kind === ts.SyntaxKind.AmpersandAmpersandToken || n.operatorToken.kind === ts.SyntaxKind.BarBarToken)) {
    return isMariadbFlag(n.left) || isMariadbFlag(n.right);
  }
  return false;
}

export function branchesIn(path: string): string[] {
  const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    const hit = (ts.isBinaryExpression(n) && comparison(n, sf)) || (ts.isCaseClause(n) && caseOnServer(n, sf)) || conditionOnFlag(n);
    if (hit) {
      const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
      found.push(`${relative(ROOT, path)}:${line}  ${n.getText(sf).split('\n')[0]!.slice(0, 100)}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const engines = join(ROOT, 'src', 'engines');
const found = filesUnder(join(ROOT, 'src'))
  .filter((p) => !p.startsWith(engines))
  .flatMap(branchesIn);
for (const f of found) console.log(f);
console.log(`${found.length} dialect/flavor branches outside src/engines`);
if (process.argv.includes('--check') && found.length) process.exit(1);
