// Demo helper: `seed DIR` fills the orders table; `run DIR` keeps a write probe (one INSERT every
// 10 ms through the writer endpoint) and a small update load going until DIR/stop-load appears,
// then prints what the application saw and checks no acknowledged write is missing.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { UpdateLoad, WriteProbe } from '../src/load/write-probe.ts';
import type { SandboxState } from '../src/sandbox/contract.ts';

const [cmd, dir] = process.argv.slice(2);
if (!dir || (cmd !== 'seed' && cmd !== 'run')) throw new Error('usage: demo-load seed|run <sandbox dir>');
const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as SandboxState;
const target = {
  host: state.writer.host,
  port: state.writer.port,
  user: state.app.user,
  password: readFileSync(state.app.passwordFile, 'utf8').trim(),
  database: state.app.database,
};
const ROWS = 100_000;

if (cmd === 'seed') {
  const c = await mysql.createConnection(target);
  await c.query("INSERT INTO users (name, email) VALUES ('demo', 'demo@example.com')");
  await c.query(`INSERT INTO orders (user_id, total_cents, status) SELECT 1, seq, 'new' FROM seq_1_to_${ROWS}`);
  await c.end();
  console.log(`seeded ${ROWS} orders`);
} else {
  await WriteProbe.prepare(target);
  const probe = new WriteProbe(target);
  const load = new UpdateLoad(target, 'orders', ROWS, 2, 20, 'total_cents');
  probe.begin();
  load.begin();
  while (!existsSync(join(dir, 'stop-load'))) await new Promise((r) => setTimeout(r, 100));
  const r = await probe.stop();
  const l = await load.stop();
  const c = await mysql.createConnection(target);
  const [rows] = await c.query('SELECT id FROM probe');
  await c.end();
  const have = new Set((rows as { id: number }[]).map((x) => Number(x.id)));
  const missing = r.acknowledged.filter((id) => !have.has(id)).length;
  console.log(
    `write probe: ${r.acknowledged.length} acknowledged inserts, longest gap between acknowledged writes ${r.longestGapMs} ms, ${r.failed} failed, ${missing} acknowledged writes missing`,
  );
  console.log(`update load: ${l.ok} updates, ${l.failed} failed`);
  if (missing) process.exit(1);
}
