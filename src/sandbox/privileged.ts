/**
 * A sandbox login as root through the writer endpoint, the way cron jobs, admin tools and legacy
 * applications connect in real clusters: root bypasses read_only, so it is the client a switchover
 * must fence explicitly. The sandbox gives every node its own root password, so a client routed by
 * HAProxy to whichever node is the writer could not log in after a switchover; this gives every
 * node the first node's root password (sql_log_bin=0 on each, as each node's root was created
 * locally) and rewrites the password files so the sandbox config keeps working.
 * For tests and benchmarks only.
 */
import { writeFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { SandboxState } from './contract.ts';
import { readSecret } from './secrets.ts';

export interface RootLogin {
  user: string;
  password: string;
}

export async function shareRootPassword(state: Pick<SandboxState, 'nodes'>): Promise<RootLogin> {
  const first = state.nodes[0];
  if (!first) throw new Error('the sandbox has no nodes');
  const password = readSecret(first.passwordFile);
  for (const n of state.nodes) {
    const current = readSecret(n.passwordFile);
    if (current === password) continue;
    const c = await mysql.createConnection({ host: n.host, port: n.port, user: n.user, password: current });
    try {
      await c.query('SET SESSION sql_log_bin=0');
      // Both root accounts the sandbox creates: over TCP the coordinator is root@127.0.0.1.
      await c.query("ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY ?", [password]);
      await c.query("ALTER USER 'root'@'localhost' IDENTIFIED BY ?", [password]);
    } finally {
      await c.end();
    }
    writeFileSync(n.passwordFile, `${password}\n`, { mode: 0o600 });
  }
  return { user: first.user, password };
}
