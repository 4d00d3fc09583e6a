import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Dialect } from '../../src/config/types.ts';
import type { MigrationSource, Phase } from '../../src/migrations/types.ts';
import { sqlMigration } from '../helpers/shadow.ts';

/**
 * A corpus case is one .sql file holding one idea:
 *
 *   -- case: what the case shows (one line)
 *   -- setup:            statements that build the schema the case starts from (migration 0)
 *   -- up:               the migration under test
 *   -- down:             its down (omit the section for "no down")
 *   -- phase: post-deploy            (optional: declared phase)
 *   -- ack: BC102 column unused since v42   (optional, repeatable)
 *   -- expect: phase=pre-deploy backwardCompatible=true reversible=true dataLoss=false blocking=false
 *              replicaFirstSafe=true replicaFirstReverseSafe=true strategy=in-place algorithm=INSTANT
 *              (every field of the verdict, on one or more expect lines)
 *   -- findings: MY202:info RF111:info BC102:info:ack   (the exact set of rule:severity[:ack])
 *   -- known-disagreement: dataLoss measured=false engine=true issue 16: why   (optional, repeatable)
 *
 * backwardCompatible, reversible, dataLoss, blocking, algorithm, replicaFirstSafe and
 * replicaFirstReverseSafe in `expect` are what the servers MEASURED, and phase and strategy are the
 * written policies applied to those measurements (test/corpus/measured.json, written by
 * `npm run corpus:measure`; method in test/corpus/README.md). Where the engine answers otherwise, a
 * known-disagreement line says what it answers and why. The findings are the engine's list, checked
 * against the measured fields by findings-check.ts (see README.md).
 */
export interface CorpusCase {
  name: string;
  dialect: Dialect;
  title: string;
  migrations: MigrationSource[];
  expect: Record<string, string | boolean | null>;
  /** The exact set of findings, as rule:severity or rule:severity:ack. */
  findings: string[];
  disagreements: KnownDisagreement[];
  /**
   * `-- queries:` lines: the running release's statements (runnable, with literal values). When a
   * case has them they ARE the old code, for the measurement (scripts/corpus-measure.ts runs them
   * instead of the statements it derives) and for the engine (passed as --queries).
   */
  queries: string[];
}

/** A field where the engine is known to answer otherwise than the servers measured. */
export interface KnownDisagreement {
  field: string;
  measured: string | boolean | null;
  engine: string | boolean | null;
  /** The issue that tracks it and why, e.g. "issue 16: a new UNIQUE rejects rows the old code writes". */
  note: string;
}

/** A digest of what a case runs (setup, up, down): measured.json records it, so an edited case must be measured again. */
export function caseSourceHash(c: CorpusCase): string {
  const h = createHash('sha256');
  for (const m of c.migrations) h.update(JSON.stringify([m.id, m.upSql ?? [], m.downSql ?? null]));
  // Only when present, so the digests of the cases without queries stay what was measured.
  if (c.queries.length) h.update(JSON.stringify(c.queries));
  return h.digest('hex').slice(0, 16);
}

const scalar = (v: string): string | boolean | null => (v === 'true' ? true : v === 'false' ? false : v === 'null' ? null : v);

export function loadCorpus(dir: string, dialect: Dialect): CorpusCase[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => parseCase(join(dir, f), dialect));
}

function parseCase(file: string, dialect: Dialect): CorpusCase {
  const text = readFileSync(file, 'utf8');
  const sections: Record<string, string[]> = {};
  let current: string | null = null;
  const meta: {
    title: string;
    expect: string[];
    findings: string[];
    disagreements: KnownDisagreement[];
    phase?: Phase;
    acks: { rule: string; reason: string }[];
    queries: string[];
  } = { title: '', expect: [], findings: [], disagreements: [], acks: [], queries: [] };
  for (const line of text.split('\n')) {
    // The old partial formats would otherwise be read as plain SQL comments and check nothing.
    if (/^--\s*(expect-rules|expect-no-rules):/.test(line))
      throw new Error(`${file}: "${line}" is no longer read; list every finding on one "-- findings:" line`);
    const m = /^--\s*(case|setup|up|down|phase|ack|expect|findings|queries|known-disagreement):\s*(.*)$/.exec(line);
    if (m) {
      const [, key, rest = ''] = m;
      if (key === 'setup' || key === 'up' || key === 'down') {
        current = key;
        sections[key] = [];
        if (rest.trim()) sections[key]!.push(rest);
      } else if (key === 'case') meta.title = rest.trim();
      else if (key === 'phase') meta.phase = rest.trim() as Phase;
      else if (key === 'ack') {
        const [rule = '', ...reason] = rest.trim().split(/\s+/);
        meta.acks.push({ rule, reason: reason.join(' ') });
      } else if (key === 'expect') meta.expect.push(rest);
      else if (key === 'queries') meta.queries.push(rest.trim());
      else if (key === 'findings') meta.findings.push(...rest.trim().split(/\s+/).filter(Boolean));
      else {
        const d = /^(\w+) measured=(\S+) engine=(\S+)\s*(.*)$/.exec(rest.trim());
        if (!d?.[4]) throw new Error(`${file}: "${line}" must read "-- known-disagreement: <field> measured=<value> engine=<value> <issue and why>"`);
        meta.disagreements.push({ field: d[1]!, measured: scalar(d[2]!), engine: scalar(d[3]!), note: d[4] });
      }
      continue;
    }
    if (current) sections[current]!.push(line);
  }
  const name = basename(file, '.sql');
  const migrations: MigrationSource[] = [];
  if (sections['setup']) migrations.push(sqlMigration(dialect, `${name}_setup`, sections['setup'].join('\n'), ''));
  migrations.push(
    sqlMigration(dialect, name, (sections['up'] ?? []).join('\n'), sections['down'] ? sections['down'].join('\n') : undefined, {
      phase: meta.phase,
      acknowledgements: meta.acks,
    }),
  );
  const expect: CorpusCase['expect'] = {};
  for (const kv of meta.expect.join(' ').split(/\s+/).filter(Boolean)) {
    const [k = '', v = ''] = kv.split('=');
    expect[k] = scalar(v);
  }
  return {
    name,
    dialect,
    title: meta.title,
    migrations,
    expect,
    findings: meta.findings,
    disagreements: meta.disagreements,
    queries: meta.queries,
  };
}
