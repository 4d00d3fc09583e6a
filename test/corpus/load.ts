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
 *   -- expect: blocking=true strategy=replica-first replicaFirstSafe=false ...
 *   -- expect-rules: MY101 RF104:warning     (must appear; optional :severity)
 *   -- expect-no-rules: BC102                (must not appear)
 *
 * Expectations were established by running each case on the real servers (MariaDB 10.11,
 * PostgreSQL 15) and checking the answer against the server's behaviour.
 */
export interface CorpusCase {
  name: string;
  dialect: Dialect;
  title: string;
  migrations: MigrationSource[];
  expect: Record<string, string | boolean | null>;
  rules: { rule: string; severity?: string }[];
  noRules: string[];
}

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
  const meta: { title: string; expect: string[]; rules: string[]; noRules: string[]; phase?: Phase; acks: { rule: string; reason: string }[] } = { title: '', expect: [], rules: [], noRules: [], acks: [] };
  for (const line of text.split('\n')) {
    const m = /^--\s*(case|setup|up|down|phase|ack|expect|expect-rules|expect-no-rules):\s*(.*)$/.exec(line);
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
      else if (key === 'expect-rules') meta.rules.push(...rest.trim().split(/\s+/).filter(Boolean));
      else meta.noRules.push(...rest.trim().split(/\s+/).filter(Boolean));
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
    expect[k] = v === 'true' ? true : v === 'false' ? false : v === 'null' ? null : v;
  }
  return {
    name,
    dialect,
    title: meta.title,
    migrations,
    expect,
    rules: meta.rules.map((r) => {
      const [rule = '', severity] = r.split(':');
      return severity ? { rule, severity } : { rule };
    }),
    noRules: meta.noRules,
  };
}
