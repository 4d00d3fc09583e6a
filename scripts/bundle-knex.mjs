// Part of `npm run build`: knex, mysql2 and pg as one CommonJS file, dist/vendor/knex.cjs, which the
// compiled build loads instead of node_modules/knex (src/db/connect.ts). Loaded from node_modules
// they are ~500 files, and resolving and reading them one by one took about as long as the rest
// of a cold `migrate check` start-up; one file loads in about half the time. The same code,
// bundled from the installed packages at build time. A module of the bundle runs only when first
// required (pg only for a PostgreSQL connection); the drivers of the other databases knex knows
// stay outside.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'vendor');
mkdirSync(out, { recursive: true });
await build({
  stdin: { contents: "module.exports = { knex: require('knex').knex };\n", resolveDir: root, loader: 'js', sourcefile: 'knex-entry.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outfile: join(out, 'knex.cjs'),
  external: ['pg-native', 'pg-cloudflare', 'pg-query-stream', 'sqlite3', 'better-sqlite3', 'oracledb', 'tedious', 'mysql', 'mariadb', 'mariadb/*'],
  logLevel: 'error',
});
