import { type CliProject, cliProject } from '../helpers/cli-project.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Dialect } from '../../src/config/types.ts';
import type { FreshDatabase } from '../helpers/databases.ts';
import { runMain } from '../helpers/in-process.ts';
import { serverUrl } from '../helpers/shadow.ts';

/**
 * Issue 16 point 2 for enums: `migrate plan` decides the removal of an enum value on the target's rows.
 * The target holds 100,000 orders; 7 have status 'void' (ids 13, 15013, 30013, ...), none has channel
 * 'fax'. 0002 removes 'void' from status, 0003 removes 'fax' from channel. On PostgreSQL a value is
 * removed by a new type: 0002 moves the column to a new type (ALTER COLUMN ... TYPE new USING
 * col::text::new), 0003 recreates the type under its name (rename, create, move, DROP TYPE old).
 */
const ROWS = 100_000;
const VOID = 7;

const SETUP: Record<Dialect, { create: string; drop: string; fill: string }> = {
  mysql: {
    create: "CREATE TABLE orders (id INT PRIMARY KEY, status ENUM('new','paid','void') NOT NULL, channel ENUM('web','shop','fax') NOT NULL);\n",
    drop: 'DROP TABLE orders;\n',
    fill: `INSERT INTO orders (id, status, channel) SELECT seq, IF(seq % 15000 = 13, 'void', 'paid'), IF(seq % 2 = 0, 'web', 'shop') FROM seq_1_to_${ROWS}`,
  },
  postgres: {
    create:
      "CREATE TYPE order_status AS ENUM ('new', 'paid', 'void');\nCREATE TYPE order_channel AS ENUM ('web', 'shop', 'fax');\n" +
      'CREATE TABLE orders (id int PRIMARY KEY, status order_status NOT NULL, channel order_channel NOT NULL);\n',
    drop: 'DROP TABLE orders;\nDROP TYPE order_channel;\nDROP TYPE order_status;\n',
    fill: `INSERT INTO orders (id, status, channel) SELECT g, (CASE WHEN g % 15000 = 13 THEN 'void' ELSE 'paid' END)::order_status,
             (CASE WHEN g % 2 = 0 THEN 'web' ELSE 'shop' END)::order_channel FROM generate_series(1, ${ROWS}) g`,
  },
};
const NARROW: Record<Dialect, { status: [string, string]; channel: [string, string] }> = {
  mysql: {
    status: ["ALTER TABLE orders MODIFY status ENUM('new','paid') NOT NULL;\n", "ALTER TABLE orders MODIFY status ENUM('new','paid','void') NOT NULL;\n"],
    channel: ["ALTER TABLE orders MODIFY channel ENUM('web','shop') NOT NULL;\n", "ALTER TABLE orders MODIFY channel ENUM('web','shop','fax') NOT NULL;\n"],
  },
  postgres: {
    status: [
      "CREATE TYPE order_status_v2 AS ENUM ('new', 'paid');\nALTER TABLE orders ALTER COLUMN status TYPE order_status_v2 USING status::text::order_status_v2;\n",
      'ALTER TABLE orders ALTER COLUMN status TYPE order_status USING status::text::order_status;\nDROP TYPE order_status_v2;\n',
    ],
    channel: [
      "ALTER TYPE order_channel RENAME TO order_channel_old;\nCREATE TYPE order_channel AS ENUM ('web', 'shop');\n" +
        'ALTER TABLE orders ALTER COLUMN channel TYPE order_channel USING channel::text::order_channel;\nDROP TYPE order_channel_old;\n',
      "ALTER TYPE order_channel RENAME TO order_channel_new;\nCREATE TYPE order_channel AS ENUM ('web', 'shop', 'fax');\n" +
        'ALTER TABLE orders ALTER COLUMN channel TYPE order_channel USING channel::text::order_channel;\nDROP TYPE order_channel_new;\n',
    ],
  },
};

interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
  column?: string;
}

for (const dialect of ['mysql', 'postgres'] as const) {
  describe(`plan decides an enum value's removal on the target's rows (${dialect})`, () => {
    let target: FreshDatabase;
    let project: CliProject | undefined;
    let config: string;

    beforeAll(async () => {
      const files: Record<string, string> = {
        '0001_create_orders.up.sql': SETUP[dialect].create,
        '0001_create_orders.down.sql': SETUP[dialect].drop,
        '0002_drop_void_status.up.sql': NARROW[dialect].status[0],
        '0002_drop_void_status.down.sql': NARROW[dialect].status[1],
        '0003_drop_fax_channel.up.sql': NARROW[dialect].channel[0],
        '0003_drop_fax_channel.down.sql': NARROW[dialect].channel[1],
      };
      project = await cliProject(dialect, files);
      target = project.db;
      config = project.config;
      const up = await runMain(['--config', config, 'up', '--to', '0001_create_orders']);
      expect(up.code, up.stderr).toBe(0);
      const db = target.knex();
      await db.raw(SETUP[dialect].fill);
      await db.raw(dialect === 'mysql' ? 'ANALYZE TABLE orders' : 'ANALYZE orders');
    }, 120_000);

    afterAll(async () => {
      await project?.remove();
    });

    it('counts the rows holding the removed value, with example keys, and says no row holds the other', async () => {
      const r = await runMain(['--config', config, 'plan', '--format', 'json', '--shadow', serverUrl(dialect), '--no-cache']);
      const data = JSON.parse(r.stdout) as { migrations: { id: string; dataLoss: boolean; findings: JsonFinding[] }[] };
      const status = data.migrations.find((m) => m.id === '0002_drop_void_status');
      const channel = data.migrations.find((m) => m.id === '0003_drop_fax_channel');
      const dl = (m: typeof status): JsonFinding[] => (m?.findings ?? []).filter((f) => f.rule.startsWith('DL'));
      expect(status?.dataLoss, JSON.stringify(dl(status))).toBe(true);
      const loss = dl(status).find((f) => f.rule === 'DL105' && f.column === 'status');
      expect(loss, JSON.stringify(dl(status))).toBeDefined();
      expect(loss!.message).toContain(`Removes 'void' from orders.status: ${VOID} of 100,000 rows hold 'void' (e.g. id 13, 15013, 30013, 45013, 60013, ...)`);
      expect(loss!.message).toMatch(/checked on \S+ at \d{4}-\d\d-\d\dT/);
      // The removal is decided once, on the column's rows: no second, type-only finding.
      expect(dl(status).map((f) => f.rule)).toEqual(['DL105']);
      expect(channel?.dataLoss, JSON.stringify(dl(channel))).toBe(false);
      expect(dl(channel).map((f) => `${f.rule}:${f.severity}`)).toEqual(['DL107:info']);
      expect(dl(channel)[0]!.message).toContain("Removes 'fax' from orders.channel: 0 of 100,000 rows hold 'fax'");
    }, 180_000);
  });
}
