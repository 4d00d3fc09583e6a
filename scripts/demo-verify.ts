// Demo check: every node of the sandbox has the same tables and ledger as the primary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { SandboxState } from '../src/sandbox/contract.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: demo-verify <sandbox dir>');
const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as SandboxState;
async function check(print: boolean): Promise<boolean> {
  let reference: string | undefined;
  let ok = true;
  for (const n of state.nodes) {
    const c = await mysql.createConnection({
      host: n.host,
      port: n.port,
      user: n.user,
      password: readFileSync(n.passwordFile, 'utf8').trim(),
      database: state.app.database,
    });
    const [tables] = await c.query('SHOW TABLES');
    const [ledger] = await c.query('SELECT id FROM migrate_ledger ORDER BY id');
    await c.end();
    const summary = `${(tables as Record<string, string>[]).map((r) => Object.values(r)[0]).join(', ')} | ledger: ${(ledger as { id: string }[]).map((r) => r.id).join(', ')}`;
    reference ??= summary;
    const same = summary === reference;
    ok &&= same;
    if (print) console.log(`${n.name.padEnd(10)} ${n.role.padEnd(8)} ${same ? 'same schema' : 'DIFFERENT'}: ${summary}`);
  }
  return ok;
}
// Replicas apply asynchronously: give them a few seconds before calling it a difference.
for (let i = 0; i < 50 && !(await check(false)); i++) await new Promise((r) => setTimeout(r, 100));
if (!(await check(true))) process.exit(1);
