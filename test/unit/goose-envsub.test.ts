// biome-ignore-all lint/suspicious/noTemplateCurlyInString: goose ENVSUB references are the data under test, not template placeholders
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { discoverMigrations } from '../../src/migrations/discover.ts';
import { maskSecretLiterals } from '../../src/migrations/index.ts';
import { expandLine } from '../../src/migrations/layouts/envsub.ts';
import type { MigrationSource } from '../../src/migrations/index.ts';
import { prefixKeys } from '../../src/analysis/cache.ts';
import { holdsSecret, redact } from '../../src/log/index.ts';

/**
 * goose `-- +goose ENVSUB ON/OFF`: the expansion follows goose's (mfridman/interpolate v0.0.2),
 * checked here against the forms its README and goose's own envsub test files use.
 */
const roots: string[] = [];
const saved: Record<string, string | undefined> = {};
afterEach(() => {
  roots.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    delete saved[k];
  }
});

function setEnv(vars: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (!(k in saved)) saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

function dirWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'migrate-envsub-'));
  roots.push(root);
  const dir = join(root, 'migrations');
  mkdirSync(dir);
  for (const [n, body] of Object.entries(files)) writeFileSync(join(dir, n), body);
  return dir;
}

describe('expandLine: the forms goose expands', () => {
  const env = { NAME: 'foo', EMPTY: '', LONG: 'abcdef' };
  const x = (line: string): string => expandLine(line, env).text;
  test('$NAME and ${NAME}; an unset variable is empty', () => {
    expect(x('$NAME text, ${NAME}title3, [$UNSET], [${UNSET}]')).toBe('foo text, footitle3, [], []');
  });
  test('defaults: ":-" for unset or empty, "-" for unset only, nested', () => {
    expect(x('${UNSET:-d1} ${EMPTY:-d2} ${UNSET-d3} ${EMPTY-d4}x ${NAME:-no}')).toBe('d1 d2 d3 x foo');
    expect(x('${UNSET:-${NAME}}-${UNSET:-${ALSO_UNSET:-deep}}')).toBe('foo-deep');
  });
  test('substrings, a negative offset written after a space', () => {
    expect(x('${LONG:2} ${LONG:1:3} ${LONG: -2} ${LONG:0:-2} ${LONG:10}|')).toBe('cdef bcd ef abcd |');
  });
  test('escapes: $$ and \\$ are a literal $; $( and a final $ are kept', () => {
    expect(x("RAISE NOTICE '\\$NAME $$NAME'")).toBe("RAISE NOTICE '$NAME $NAME'");
    expect(x('AS $$')).toBe('AS $');
    expect(x('$(date) costs 5$')).toBe('$(date) costs 5$');
  });
  test('what goose refuses: a $ before a non-letter, ${NAME?} unset, ${NAME:?}, an unclosed brace', () => {
    expect(() => x('WHERE id = $1')).toThrow(/followed by a variable name/);
    expect(() => x('${UNSET?tell me}')).toThrow('$UNSET: tell me');
    expect(x('${NAME?tell me}')).toBe('foo');
    expect(() => x('${NAME:?}')).toThrow(/not a number/);
    expect(() => x('${NAME')).toThrow(/expected an operator|not closed/);
  });
  test('it reports which variables it read and whether each was set', () => {
    expect(expandLine('${NAME} ${UNSET:-x} $NAME', env).used).toEqual([
      { name: 'NAME', set: true },
      { name: 'UNSET', set: false },
    ]);
  });
});

describe('goose files with ENVSUB sections', () => {
  test('up and down are expanded between ON and OFF only; the note names the variables, never the values', async () => {
    setEnv({ H5_ENVSUB_TABLE: 'accounts_h5', H5_ENVSUB_SECRET: 's3cr3t-value', H5_ENVSUB_UNSET: undefined });
    const dir = dirWith({
      '00001_envsub.sql': [
        '-- +goose Up',
        '-- +goose ENVSUB ON',
        'CREATE TABLE ${H5_ENVSUB_TABLE} (id int, note varchar(20) DEFAULT ${H5_ENVSUB_UNSET:-NULL});',
        "INSERT INTO ${H5_ENVSUB_TABLE} (id, note) VALUES (1, '${H5_ENVSUB_SECRET}');",
        '-- +goose ENVSUB OFF',
        "SELECT '${H5_ENVSUB_TABLE}';",
        '-- +goose Down',
        '-- +goose ENVSUB ON',
        '-- +goose StatementBegin',
        'DROP TABLE $H5_ENVSUB_TABLE;',
        '-- +goose StatementEnd',
      ].join('\n'),
    });
    const d = await discoverMigrations(dir, 'mysql', 'goose');
    expect(d.issues.filter((i) => i.blocks === 'all')).toEqual([]);
    const m = d.migrations[0]!;
    expect(m.upSql).toEqual([
      'CREATE TABLE accounts_h5 (id int, note varchar(20) DEFAULT NULL)',
      "INSERT INTO accounts_h5 (id, note) VALUES (1, 's3cr3t-value')",
      "SELECT '${H5_ENVSUB_TABLE}'",
    ]);
    expect(m.upStatements?.map((s) => s.line)).toEqual([3, 4, 6]);
    expect(m.downSql).toEqual(['DROP TABLE accounts_h5']);
    const notes = (m.notes ?? []).map((n) => `${n.severity}: ${n.problem}`);
    expect(notes).toEqual([
      expect.stringMatching(/^info: 00001_envsub\.sql: ENVSUB substituted \$H5_ENVSUB_TABLE \(line 3\), \$H5_ENVSUB_SECRET \(line 4\) from the environment/),
      expect.stringMatching(/^warning: 00001_envsub\.sql: ENVSUB found \$H5_ENVSUB_UNSET \(line 3\) not set: it expands to ''/),
    ]);
    for (const n of m.notes ?? []) expect(`${n.problem} ${n.fix}`).not.toContain('s3cr3t-value');
    // Printed statements (findings, JSON output, errors) show the reference, not the value.
    expect(maskSecretLiterals(m.upSql![1]!)).toBe("INSERT INTO ${H5_ENVSUB_TABLE} (id, note) VALUES (1, '${H5_ENVSUB_SECRET}')");
  });

  test('the checksum is the file as written: another value in the environment is not a modified migration', async () => {
    const body = '-- +goose Up\n-- +goose ENVSUB ON\nCREATE TABLE ${H5_ENVSUB_T2} (id int);\n';
    const dir = dirWith({ '00001_a.sql': body });
    setEnv({ H5_ENVSUB_T2: 'one_h5' });
    const first = (await discoverMigrations(dir, 'mysql', 'goose')).migrations[0]!;
    setEnv({ H5_ENVSUB_T2: 'two_h5' });
    const second = (await discoverMigrations(dir, 'mysql', 'goose')).migrations[0]!;
    expect([first.upSql, second.upSql]).toEqual([['CREATE TABLE one_h5 (id int)'], ['CREATE TABLE two_h5 (id int)']]);
    expect(second.checksum).toBe(first.checksum);
  });

  test('what goose refuses is refused, with the line: ${NAME?} unset, a $ it cannot expand; without ENVSUB nothing is expanded', async () => {
    setEnv({ H5_ENVSUB_REQUIRED: undefined });
    const dir = dirWith({
      '00001_required.sql': '-- +goose Up\n-- +goose envsub on\nCREATE TABLE ${H5_ENVSUB_REQUIRED?set it to the table name} (id int);\n',
      '00002_positional.sql': '-- +goose ENVSUB ON\n-- +goose Up\nSELECT $1;\n',
      '00003_plain.sql': "-- +goose Up\nSELECT '$1 ${H5_ENVSUB_REQUIRED}';\n",
    });
    const d = await discoverMigrations(dir, 'mysql', 'goose');
    expect(d.issues.filter((i) => i.blocks === 'all').map((i) => i.problem)).toEqual([
      '00001_required.sql line 3: ENVSUB cannot expand it: $H5_ENVSUB_REQUIRED: set it to the table name; goose refuses the file too.',
      expect.stringMatching(/^00002_positional\.sql line 3: ENVSUB cannot expand it: "\$" must be followed by a variable name/),
    ]);
    expect(d.migrations.find((m) => m.id === '00003_plain')?.upSql).toEqual(["SELECT '$1 ${H5_ENVSUB_REQUIRED}'"]);
  });
});

describe('ENVSUB values and the rest of the tool (review)', () => {
  test('a substituted value is a registered secret: logs and errors redact it, and the analysis cache does not store it', () => {
    const value = 'pw-7f3a9c2e-unique';
    expandLine("CREATE USER app IDENTIFIED BY '${APP_PW}';", { APP_PW: value });
    expect(redact(`failed: near '${value}'`)).toBe("failed: near '***'");
    expect(holdsSecret(`ALTER USER app IDENTIFIED BY '${value}'`)).toBe(true);
    expect(holdsSecret('ALTER USER app IDENTIFIED BY other')).toBe(false);
  });
  test('the cache key follows the statements as loaded: another environment, another key, for the same file', () => {
    const m = (table: string): MigrationSource => ({
      id: '1_t',
      format: 'sql',
      upPath: '/x/1_t.sql',
      checksum: 'same-file',
      acknowledgements: [],
      upSql: [`CREATE TABLE ${table} (id int)`],
      up: async () => undefined,
    });
    expect(prefixKeys([m('a')], 'mysql', 'v')).not.toEqual(prefixKeys([m('b')], 'mysql', 'v'));
    expect(prefixKeys([m('a')], 'mysql', 'v')).toEqual(prefixKeys([m('a')], 'mysql', 'v'));
  });
});
