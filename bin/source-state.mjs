// Which sources a compiled build (dist/) was made from: a hash of every file under src/ and of the
// manifests of the packages it bundles. The launcher runs dist/ only when it matches, so an edited
// checkout never runs stale code.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ownRoot = fileURLToPath(new URL('..', import.meta.url));
const stateFile = (root) => join(root, 'dist', '.source-state');

/**
 * Packages the build bundles into dist/vendor (scripts/bundle-knex.mjs): a new version installed
 * makes the build stale too, so `npm ci` after an upgrade is followed by a rebuild.
 */
const BUNDLED = ['knex', 'mysql2', 'pg'];

/** Every file under src/, in a stable order, then the bundled packages' package.json. */
function sourceFiles(root) {
  const src = join(root, 'src');
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(src);
  for (const name of BUNDLED) {
    const manifest = join(root, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) out.push(manifest);
  }
  // What npm installed, their dependencies included (pg-protocol, tarn, iconv-lite, ...), and the
  // script that bundles them: an `npm update` or an edited bundle makes the build stale too.
  for (const p of [join(root, 'node_modules', '.package-lock.json'), join(root, 'scripts', 'bundle-knex.mjs')]) if (existsSync(p)) out.push(p);
  return { src, files: out };
}

export function sourceState(root = ownRoot) {
  const { src, files } = sourceFiles(root);
  const h = createHash('sha1');
  for (const p of files) h.update(relative(src, p)).update('\0').update(readFileSync(p));
  return h.digest('hex');
}

/**
 * What each source file was on disk when the build was stamped: its inode, size and change time.
 * Any write to a file (or a rename onto it) gives it a new change time, which no user command can
 * set back, so a file whose three are as recorded still holds the bytes that were hashed.
 */
const fingerprint = (st) => `${st.ino}:${st.size}:${st.ctimeMs}`;

/**
 * The stamp's file list, or none when a file changed too recently: file times come from a coarse
 * clock (a few ms), so a write right after the stamp could keep the same change time.
 */
function statList(root) {
  const { src, files } = sourceFiles(root);
  const recent = Date.now() - 1000;
  const list = [];
  for (const p of files) {
    const st = statSync(p);
    if (st.ctimeMs > recent) return undefined;
    list.push([relative(src, p), fingerprint(st)]);
  }
  return list;
}

/**
 * Checked on every start, so it is made cheap: when every file under src/ is the one the stamp
 * recorded (same names, inodes, sizes, change times), nothing is read; otherwise (an edit, a
 * fresh checkout, a stamp without the list) the contents are hashed again, as before.
 */
export function buildIsFresh(root = ownRoot) {
  let lines;
  try {
    lines = readFileSync(stateFile(root), 'utf8').split('\n');
  } catch {
    return false;
  }
  try {
    if (lines[1]) {
      const recorded = JSON.parse(lines[1]);
      const { src, files } = sourceFiles(root);
      if (files.length === recorded.length && files.every((p, i) => recorded[i][0] === relative(src, p) && recorded[i][1] === fingerprint(statSync(p))))
        return true;
    }
    return lines[0].trim() === sourceState(root);
  } catch {
    return false;
  }
}

/** Stamps dist/ as built from the sources now in src/. The files are listed before they are hashed: one written in between then no longer matches its entry. */
export function writeState(root = ownRoot) {
  const list = statList(root);
  writeFileSync(stateFile(root), `${sourceState(root)}\n${list ? `${JSON.stringify(list)}\n` : ''}`);
}

// `node bin/source-state.mjs --write` after a build; `--check` exits 1 when dist/ is stale or absent.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === '--write') writeState();
  else if (process.argv[2] === '--check') process.exit(buildIsFresh() ? 0 : 1);
}
