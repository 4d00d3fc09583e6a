import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { analyse, type AnalyseStats } from '../../src/analysis/analyse.ts';
import { MemoryCache } from '../../src/analysis/cache.ts';
import { MigrateError } from '../../src/errors.ts';
import { parseWorkload } from '../../src/analysis/workload/parse.ts';
import type { MigrationSource } from '../../src/migrations/types.ts';
import type { MigrationVerdict } from '../../src/analysis/types.ts';
import { listShadowDatabases } from '../../src/analysis/shadow.ts';
import type { Dialect } from '../../src/config/types.ts';
import { checkCorpusFindings } from '../corpus/findings-check.ts';
import { caseSourceHash, loadCorpus } from '../corpus/load.ts';
import { shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * Runs every corpus case through analyse() on the local servers and compares the whole verdict (every
 * field and the exact set of findings) with the case, whose measured fields must agree with what
 * `npm run corpus:measure` recorded in test/corpus/measured.json; then
 * exercises the engine itself (TS migrations, the cache, bad input). One file, so the final check
 * that no shadow database is left behind cannot see another file's shadow in progress.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'corpus');
const timings: Record<Dialect, number[]> = { mysql: [], postgres: [] };

/** Every field of the verdict a case states. */
const VERDICT_FIELDS = [
  'phase',
  'backwardCompatible',
  'reversible',
  'dataLoss',
  'blocking',
  'replicaFirstSafe',
  'replicaFirstReverseSafe',
  'strategy',
  'algorithm',
] as const;
/**
 * Measured on the servers (measured.json); phase and strategy are the written policies applied to the
 * measurements (phase: to the old statements the up refuses or stores otherwise; strategy: to the
 * measured blocking and replicaFirstSafe; README.md).
 */
const MEASURED_FIELDS = [
  'phase',
  'backwardCompatible',
  'reversible',
  'dataLoss',
  'blocking',
  'algorithm',
  'replicaFirstSafe',
  'replicaFirstReverseSafe',
  'strategy',
] as const;

interface MeasuredFile {
  generatedAt: string;
  command: string;
  servers: Record<Dialect, string>;
  cases: Record<string, Record<(typeof MEASURED_FIELDS)[number], { value: boolean | string | null; evidence: string }> & { dialect: Dialect; source: string }>;
}
const measured = JSON.parse(readFileSync(join(root, 'measured.json'), 'utf8')) as MeasuredFile;

/** The verdict as a case states it: every field (a missing algorithm as null) and the sorted set of findings. */
function stated(v: MigrationVerdict): { fields: Record<string, unknown>; findings: string[] } {
  const fields: Record<string, unknown> = {};
  for (const k of VERDICT_FIELDS) fields[k] = (v as unknown as Record<string, unknown>)[k] ?? null;
  const findings = [...new Set(v.findings.map((f) => `${f.rule}:${f.severity}${f.acknowledged ? ':ack' : ''}`))].sort();
  return { fields, findings };
}

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`analysis corpus (${dialect})`, () => {
    const cases = loadCorpus(join(root, dialect), dialect);
    it('has cases', () => expect(cases.length).toBeGreaterThan(0));

    it('every case states the whole verdict, and its measured fields agree with measured.json', () => {
      expect(
        Object.keys(measured.cases)
          .filter((n) => measured.cases[n]!.dialect === dialect)
          .sort(),
        'measured.json covers exactly the corpus: rerun npm run corpus:measure',
      ).toEqual(cases.map((c) => c.name).sort());
      for (const c of cases) {
        expect(Object.keys(c.expect).sort(), `${c.name}: the -- expect: lines must name every verdict field`).toEqual([...VERDICT_FIELDS].sort());
        const m = measured.cases[c.name]!;
        expect(m.source, `${c.name}: its setup/up/down changed since it was measured: rerun npm run corpus:measure`).toBe(caseSourceHash(c));
        for (const field of MEASURED_FIELDS) {
          const { value, evidence } = m[field];
          // A property the servers could not show for this case (reason in measured.json) is the engine's answer (README.md).
          if (value === 'unmeasured') continue;
          expect(c.expect[field], `${c.name}: expect ${field} is what the servers measured (${evidence})`).toBe(value);
        }
        for (const d of c.disagreements) {
          expect(MEASURED_FIELDS as readonly string[], `${c.name}: a known disagreement is about a measured field`).toContain(d.field);
          expect(d.measured, `${c.name}: known-disagreement ${d.field} quotes the measurement`).toBe(m[d.field as (typeof MEASURED_FIELDS)[number]].value);
          expect(d.engine, `${c.name}: known-disagreement ${d.field} differs from the measurement`).not.toBe(d.measured);
        }
      }
    });

    it('every measured bad field is explained by a finding about it, and every error finding by a bad field (README.md)', () => {
      const { problems, counts: t, excused } = checkCorpusFindings(cases, measured.cases);
      console.log(
        `findings check ${dialect}: ${cases.length} cases, ${t.badFields} measured bad fields (${t.explained} explained by a warning/error/acknowledged finding, ${t.explainedByPolicy} by one the phase/strategy policy made info, ${t.byDisagreement} by a known disagreement), ${t.errorFindings} error findings about a measured field (${t.matched} measured bad, ${t.excused} excused: ${excused.join(', ') || 'none'})`,
      );
      expect(t.badFields + t.errorFindings, 'the check checked something').toBeGreaterThan(0);
      expect(problems).toEqual([]);
    });

    for (const c of cases) {
      it(`${c.name}: ${c.title}`, async () => {
        const t = performance.now();
        const queries = c.queries.length ? parseWorkload(c.queries.join('\n'), `${c.name}.queries`, dialect) : undefined;
        const verdicts = await analyse(c.migrations, {
          dialect,
          shadow: shadowServer(dialect),
          ...(queries ? { workload: { old: queries.queries, new: [], oldWindow: queries.window! } } : {}),
        });
        timings[dialect].push((performance.now() - t) / c.migrations.length);
        const v = verdicts[verdicts.length - 1]!;
        const got = stated(v);
        // Where the engine is known to answer otherwise than the servers, it must answer exactly that:
        // a fix (issue 16) makes this fail, and the case's known-disagreement line is then removed.
        const want: Record<string, unknown> = { ...c.expect };
        for (const d of c.disagreements) {
          if (got.fields[d.field] === d.measured)
            expect.fail(
              `${c.name}: the engine now agrees with the measurement on ${d.field} (${String(d.measured)}): remove the known-disagreement line (${d.note})`,
            );
          want[d.field] = d.engine;
        }
        expect(got.fields, `findings: ${got.findings.join(' ')}`).toEqual(want);
        expect(got.findings, 'the exact set of rule:severity findings').toEqual([...new Set(c.findings)].sort());
        for (const f of v.findings) {
          expect(f.message.length).toBeGreaterThan(20);
          if (f.severity !== 'info') expect(f.safeAlternative).toBeTruthy();
        }
      });
    }
    afterAll(() => {
      const ts = timings[dialect];
      if (ts.length)
        console.log(`analysis corpus ${dialect}: ${ts.length} cases, ${(ts.reduce((a, b) => a + b, 0) / ts.length).toFixed(1)} ms per migration on average`);
    });
  });
}

const newStats = (): AnalyseStats => ({ shadowMs: 0, applyMs: 0, snapshotMs: 0, reversalMs: 0, cachedMigrations: 0, analysedMigrations: 0 });

function tsMigration(id: string, up: (k: Knex) => Promise<void>, down?: (k: Knex) => Promise<void>): MigrationSource {
  const m: MigrationSource = { id, format: 'ts', upPath: `/virtual/${id}.ts`, checksum: id, acknowledgements: [], up };
  if (down) m.down = down;
  return m;
}

describe('analysis engine', () => {
  it('analyses TS migrations: captures the SQL knex ran and probes each ALTER', async () => {
    const ms = [
      tsMigration(
        '0001_users',
        (k) =>
          k.schema.createTable('users', (t) => {
            t.increments('id');
            t.string('name', 50).notNullable();
            t.integer('age');
          }),
        (k) => k.schema.dropTable('users'),
      ),
      tsMigration(
        '0002_age_bigint',
        (k) =>
          k.schema.alterTable('users', (t) => {
            t.bigInteger('age').alter();
          }),
        (k) =>
          k.schema.alterTable('users', (t) => {
            t.integer('age').alter();
          }),
      ),
      tsMigration(
        '0003_raw_multi',
        (k) => k.raw('ALTER TABLE users ADD COLUMN a INT; ALTER TABLE users ADD COLUMN b INT'),
        (k) => k.raw('ALTER TABLE users DROP COLUMN b; ALTER TABLE users DROP COLUMN a'),
      ),
    ];
    const [v1, v2, v3] = await analyse(ms, { dialect: 'mysql', shadow: shadowServer('mysql') });
    expect(v1!.sql.join('\n')).toMatch(/create table `users`/i);
    expect(v2).toMatchObject({ blocking: true, algorithm: 'COPY', strategy: 'replica-first', reversible: true });
    expect(v2!.sql.some((s) => /modify .*bigint/i.test(s))).toBe(true);
    expect(v3!.sql).toEqual(['ALTER TABLE users ADD COLUMN a INT', 'ALTER TABLE users ADD COLUMN b INT']);
    expect(v3).toMatchObject({ blocking: false, algorithm: 'INSTANT', reversible: true, replicaFirstSafe: true });
  });

  it('re-planning after adding one migration reuses the cache and analyses only the new one', async () => {
    const d = 'mysql' as const;
    const base = [
      sqlMigration(d, '0001_a', 'CREATE TABLE a (id INT PRIMARY KEY, x INT)', 'DROP TABLE a'),
      sqlMigration(d, '0002_b', 'CREATE TABLE b (id INT PRIMARY KEY, a_id INT, FOREIGN KEY (a_id) REFERENCES a (id))', 'DROP TABLE b'),
      sqlMigration(d, '0003_v', 'CREATE VIEW v AS SELECT id FROM a', 'DROP VIEW v'),
      sqlMigration(d, '0004_x', 'ALTER TABLE a ADD COLUMN y INT', 'ALTER TABLE a DROP COLUMN y'),
    ];
    const cache = new MemoryCache();
    const first = await analyse(base, { dialect: d, shadow: shadowServer(d), cache });
    const added = [...base, sqlMigration(d, '0005_bigint', 'ALTER TABLE a MODIFY x BIGINT', 'ALTER TABLE a MODIFY x INT')];
    const stats = newStats();
    const again = await analyse(added, { dialect: d, shadow: shadowServer(d), cache, stats });
    expect(stats.cachedMigrations).toBe(4);
    expect(stats.analysedMigrations).toBe(1);
    expect(again.slice(0, 4)).toEqual(first);
    const uncached = await analyse(added, { dialect: d, shadow: shadowServer(d) });
    expect(again).toEqual(uncached);
  });

  it('the cache restores a PostgreSQL prefix from a schema dump', async () => {
    const d = 'postgres' as const;
    const base = [
      sqlMigration(d, '0001_a', "CREATE TYPE mood AS ENUM ('a', 'b'); CREATE TABLE a (id int PRIMARY KEY, m mood, x int)", 'DROP TABLE a; DROP TYPE mood'),
      sqlMigration(d, '0002_i', 'CREATE INDEX CONCURRENTLY a_x ON a (x)', 'DROP INDEX CONCURRENTLY a_x'),
    ];
    const cache = new MemoryCache();
    await analyse(base, { dialect: d, shadow: shadowServer(d), cache });
    const added = [...base, sqlMigration(d, '0003_t', 'ALTER TABLE a ALTER COLUMN x TYPE bigint', 'ALTER TABLE a ALTER COLUMN x TYPE int')];
    const stats = newStats();
    const again = await analyse(added, { dialect: d, shadow: shadowServer(d), cache, stats });
    expect(stats.cachedMigrations).toBe(2);
    expect(again[2]).toMatchObject({ blocking: true, reversible: true });
    // relfilenodes differ between runs, so compare everything but the raw changes.
    const strip = (vs: { changes: unknown }[]) => vs.map(({ changes: _c, ...rest }) => rest);
    expect(strip(again)).toEqual(strip(await analyse(added, { dialect: d, shadow: shadowServer(d) })));
  });

  it('a down that does not restore the schema does not spoil the check of earlier migrations', async () => {
    const d = 'mysql' as const;
    const ms = [
      sqlMigration(d, '0001_a', 'CREATE TABLE a (id INT PRIMARY KEY)', 'DROP TABLE a'),
      sqlMigration(d, '0002_x', 'ALTER TABLE a ADD COLUMN x INT', 'ALTER TABLE a DROP COLUMN x'),
      sqlMigration(d, '0003_y', 'ALTER TABLE a ADD COLUMN y INT, ADD INDEX iy (y)', 'SELECT 1'),
      sqlMigration(d, '0004_bad_down', 'ALTER TABLE a ADD COLUMN z INT', 'ALTER TABLE a DROP COLUMN nope'),
    ];
    const vs = await analyse(ms, { dialect: d, shadow: shadowServer(d) });
    expect(vs.map((v) => v.reversible)).toEqual([true, true, false, false]);
    expect(vs[2]!.findings.map((f) => f.rule)).toContain('RV102');
    expect(vs[3]!.findings.find((f) => f.rule === 'RV103')!.message).toMatch(/nope/);
  });

  it('a migration the server refuses is a failed verdict; bad input fails clearly, with exit code 2; nothing is left behind', async () => {
    const d = 'mysql' as const;
    const [syntax] = await analyse([sqlMigration(d, '0001_bad', 'CREATE TABLE a (id INT PRIMARY KEY', 'DROP TABLE a')], {
      dialect: d,
      shadow: shadowServer(d),
    });
    expect(syntax).toMatchObject({ id: '0001_bad', outcome: 'failed', failure: { direction: 'up', statement: 'CREATE TABLE a (id INT PRIMARY KEY' } });
    expect(syntax!.failure!.error).toMatch(/You have an error in your SQL syntax/);
    const unreachable = analyse([sqlMigration(d, '0001', 'SELECT 1', '')], { dialect: d, shadow: { ...shadowServer(d), port: 1 } });
    await expect(unreachable).rejects.toSatisfy((e: unknown) => e instanceof MigrateError && e.kind === 'connection' && e.exitCode === 2);
    const dialect = analyse([], { dialect: 'oracle' as unknown as 'mysql', shadow: shadowServer(d) });
    await expect(dialect).rejects.toSatisfy((e: unknown) => e instanceof MigrateError && e.exitCode === 2 && /Unknown dialect/.test(e.problem));
    const pgBad = await analyse([sqlMigration('postgres', '0001_bad', 'CREATE TABLE a (id int PRIMARY KEY); ALTER TABLE a ADD COLUMN', '')], {
      dialect: 'postgres',
      shadow: shadowServer('postgres'),
    });
    expect(pgBad.map((v) => v.outcome)).toEqual(['failed']);
    expect(pgBad[0]!.failure!.statement).toBe('ALTER TABLE a ADD COLUMN');
  });
});

afterAll(async () => {
  for (const dialect of ['mysql', 'postgres'] as const) expect(await listShadowDatabases(dialect, shadowServer(dialect), [process.pid])).toEqual([]);
});
