import type { Knex } from 'knex';
import { type CliProject, cliProject } from '../helpers/cli-project.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyse, decideOnTarget } from '../../src/analysis/index.ts';
import { runMain } from '../helpers/in-process.ts';
import type { Dialect } from '../../src/config/types.ts';
import type { FreshDatabase } from '../helpers/databases.ts';
import { serverUrl, shadowServer, sqlMigration } from '../helpers/shadow.ts';

/**
 * Issue 16 point 2: `migrate plan` decides a narrowing on the target's rows. The target holds 200,000
 * users; 40 of them have an email longer than the new VARCHAR(30) (ids 17, 5017, 10017, ...).
 */
const ROWS = 200_000;
const LONG = 40;

const run = runMain;

const CREATE = 'CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100), status VARCHAR(10) NOT NULL)';
const NARROW: Record<Dialect, { email: [string, string]; status: [string, string] }> = {
  mysql: {
    email: ['ALTER TABLE users MODIFY email VARCHAR(30)', 'ALTER TABLE users MODIFY email VARCHAR(100)'],
    status: ['ALTER TABLE users MODIFY status VARCHAR(8) NOT NULL', 'ALTER TABLE users MODIFY status VARCHAR(10) NOT NULL'],
  },
  postgres: {
    email: ['ALTER TABLE users ALTER COLUMN email TYPE varchar(30)', 'ALTER TABLE users ALTER COLUMN email TYPE varchar(100)'],
    status: ['ALTER TABLE users ALTER COLUMN status TYPE varchar(8)', 'ALTER TABLE users ALTER COLUMN status TYPE varchar(10)'],
  },
};
const FILL: Record<Dialect, string> = {
  mysql: `INSERT INTO users (id, email, status) SELECT seq, CONCAT('u', seq, '@example.org'), 'active' FROM seq_1_to_${ROWS}`,
  postgres: `INSERT INTO users (id, email, status) SELECT g, 'u' || g || '@example.org', 'active' FROM generate_series(1, ${ROWS}) g`,
};

interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
  column?: string;
}

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`plan decides narrowings on the target's rows (${dialect})`, () => {
    let target: FreshDatabase;
    let project: CliProject | undefined;
    let config: string;
    let db: Knex;

    beforeAll(async () => {
      const files: Record<string, string> = {
        '0001_create_users.up.sql': `${CREATE};\n`,
        '0001_create_users.down.sql': 'DROP TABLE users;\n',
        '0002_narrow_email.up.sql': `${NARROW[dialect].email[0]};\n`,
        '0002_narrow_email.down.sql': `${NARROW[dialect].email[1]};\n`,
        '0003_narrow_status.up.sql': `${NARROW[dialect].status[0]};\n`,
        '0003_narrow_status.down.sql': `${NARROW[dialect].status[1]};\n`,
      };
      project = await cliProject(dialect, files);
      target = project.db;
      config = project.config;
      const up = await run(['--config', config, 'up', '--to', '0001_create_users']);
      expect(up.code, up.stderr).toBe(0);
      db = target.knex();
      await db.raw(FILL[dialect]);
      await db.raw(`UPDATE users SET email = ${dialect === 'mysql' ? "REPEAT('x', 60)" : "repeat('x', 60)"} WHERE id % 5000 = 17`);
      await db.raw(dialect === 'mysql' ? 'ANALYZE TABLE users' : 'ANALYZE users');
    }, 120_000);

    afterAll(async () => {
      await project?.remove();
    });

    it('counts the rows that do not fit, with example keys, and the ones where every row fits', async () => {
      const r = await run(['--config', config, 'plan', '--format', 'json', '--shadow', serverUrl(dialect), '--no-cache']);
      const data = JSON.parse(r.stdout) as { migrations: { id: string; dataLoss: boolean; findings: JsonFinding[] }[] };
      const email = data.migrations.find((m) => m.id === '0002_narrow_email')!;
      const status = data.migrations.find((m) => m.id === '0003_narrow_status')!;
      expect(email.dataLoss).toBe(true);
      const loss = email.findings.find((f) => f.rule === 'DL103')!;
      expect(loss.message).toContain(`${LONG} of 200,000 rows exceed 30 characters (e.g. id 17, 5017`);
      expect(loss.message).toMatch(/checked on \S+ at \d{4}-\d\d-\d\dT/);
      expect(status.dataLoss).toBe(false);
      const fits = status.findings.find((f) => f.rule === 'DL107')!;
      expect(fits.severity).toBe('info');
      expect(fits.message).toContain('0 of 200,000 rows exceed 8 characters');
    }, 180_000);

    it('above the row budget it reads a sample and says so; past the time budget it measures nothing and keeps the warning', async () => {
      const migrations = [
        sqlMigration(dialect, '0001_create_users', CREATE, 'DROP TABLE users'),
        sqlMigration(dialect, '0002_narrow_email', NARROW[dialect].email[0], NARROW[dialect].email[1]),
      ];
      const verdicts = await analyse(migrations, { dialect, shadow: shadowServer(dialect), baseline: 1, checkReversibility: false });
      const sampled = structuredClone(verdicts);
      await decideOnTarget(db, dialect, sampled, { target: 'the target', budget: { statementMs: 5000, maxRows: 10_000 } });
      // Which rows the server returns first is its business (PostgreSQL moved the updated ones to the end).
      const dl = sampled[0]!.findings.find((f) => f.rule === 'DL103' || f.rule === 'DL107')!;
      expect(dl.message).toMatch(/: \d+ of 10,000 sampled rows exceed 30 characters/);
      const late = structuredClone(verdicts);
      await decideOnTarget(db, dialect, late, { target: 'the target', budget: { statementMs: 1, maxRows: 10_000_000 } });
      const f = late[0]!.findings.find((x) => x.rule === 'DL107')!;
      expect(f, JSON.stringify(late[0]!.findings.filter((x) => x.rule.startsWith('DL')))).toBeDefined();
      expect(f.severity).toBe('warning');
      expect(f.message).toContain('not checked on data (the query did not finish within its bound');
      expect(late[0]!.dataLoss).toBe(false);
    }, 120_000);

    it("the target's read-only queries never make a concurrent writer wait 100 ms", async () => {
      const migrations = [
        sqlMigration(dialect, '0001_create_users', CREATE, 'DROP TABLE users'),
        sqlMigration(dialect, '0002_narrow_email', NARROW[dialect].email[0], NARROW[dialect].email[1]),
      ];
      const verdicts = await analyse(migrations, { dialect, shadow: shadowServer(dialect), baseline: 1, checkReversibility: false });
      const writer = target.knex();
      let nextId = ROWS;
      // One round: the five target reads plan makes, with a writer timing each statement alone.
      const round = async (): Promise<{ longest: number; report: string }> => {
        let stop = false;
        const waits: { start: number; ms: number }[] = [];
        const writes = (async () => {
          for (let i = 1; !stop; i++) {
            // Each statement timed alone: a wait is one statement's time from send to answer.
            let t = performance.now();
            await writer.raw('INSERT INTO users (id, email, status) VALUES (?, ?, ?)', [++nextId, `w${nextId}@example.org`, 'new']);
            waits.push({ start: t, ms: performance.now() - t });
            t = performance.now();
            await writer.raw('UPDATE users SET status = ? WHERE id = ?', ['active', 1 + (i % 1000)]);
            waits.push({ start: t, ms: performance.now() - t });
          }
        })();
        const windows: [number, number][] = [];
        try {
          await new Promise((r) => setTimeout(r, 200));
          for (let k = 0; k < 5; k++) {
            const t = performance.now();
            const copy = structuredClone(verdicts);
            await decideOnTarget(db, dialect, copy, { target: 'the target' });
            windows.push([t, performance.now()]);
            expect(copy[0]!.findings.find((f) => f.rule === 'DL103')?.message).toContain(`${LONG} of`);
          }
        } finally {
          stop = true;
          await writes;
        }
        const during = waits.filter((w) => windows.some(([a, b]) => w.start >= a && w.start <= b));
        expect(during.length, 'writes ran while the queries did').toBeGreaterThan(10);
        const slowest = [...during].sort((a, b) => b.ms - a.ms).slice(0, 3);
        return {
          longest: Math.max(...during.map((w) => w.ms)),
          report: `slowest writes: ${JSON.stringify(slowest)} of ${during.length}; queries ${JSON.stringify(windows.map(([a, b]) => Math.round(b - a)))} ms`,
        };
      };
      // A lock the reads held would stall the writer in every round; the machine's own hiccups (a
      // slow fsync, other work on 2 cores) do not repeat: up to 3 rounds, as plan-violations-writers.
      const rounds: { longest: number; report: string }[] = [];
      for (let k = 0; k < 3 && !rounds.some((r) => r.longest < 100); k++) rounds.push(await round());
      expect(Math.min(...rounds.map((r) => r.longest)), rounds.map((r) => r.report).join('\n')).toBeLessThan(100);
    }, 180_000);
  });
}
