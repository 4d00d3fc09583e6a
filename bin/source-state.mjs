// Which sources a compiled build (dist/) was made from: a hash of every file under src/. The
// launcher runs dist/ only when it matches, so an edited checkout never runs stale code.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ownRoot = fileURLToPath(new URL('..', import.meta.url));
const stateFile = (root) => join(root, 'dist', '.source-state');

export function sourceState(root = ownRoot) {
  const src = join(root, 'src');
  const h = createHash('sha1');
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(relative(src, p)).update('\0').update(readFileSync(p));
    }
  };
  walk(src);
  return h.digest('hex');
}

export function buildIsFresh(root = ownRoot) {
  try {
    return readFileSync(stateFile(root), 'utf8').trim() === sourceState(root);
  } catch {
    return false;
  }
}

// `node bin/source-state.mjs --write` after a build; `--check` exits 1 when dist/ is stale or absent.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === '--write') writeFileSync(stateFile(ownRoot), `${sourceState()}\n`);
  else if (process.argv[2] === '--check') process.exit(buildIsFresh() ? 0 : 1);
}
