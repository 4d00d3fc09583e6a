/**
 * Typed errors with a fix that no other test reaches, run through bin/migrate on one real
 * cluster (a MariaDB primary, 2 replicas, HAProxy, root clients writing through it):
 * a, two writable nodes when `migrate abort` recovers a dead run (the data may have forked);
 * b, a long-running statement on the primary when a replica-first apply reaches its switchover;
 * c, the command writer driver (writer.type "command"): a shell command that moves HAProxy's
 * writer, then one that exits 1 after the promotion (the switchover undone, and the resume its message asks for).
 * Each asserts the exit code, the message (problem and fix) and what the tool changed or left,
 * read from the servers and HAProxy's runtime API.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServersState, runtimeCommand } from '../../src/sandbox/haproxy.ts';
import { faultCluster, type FaultCluster } from './cluster.ts';
import { cli, lastJournal, runCount, show, sleep } from './harness.ts';
import { readInvariants, violations } from './invariants.ts';

async function rows<T>(c: mysql.Connection, sql: string): Promise<T[]> {
  const [r] = await c.query(sql);
  return r as T[];
}

describe('typed errors: forked writers at recovery, long statements before the block, the command writer', () => {
  let fc: FaultCluster;
  let work: string;
  beforeAll(async () => {
    fc = await faultCluster(2);
    work = mkdtempSync(join(tmpdir(), 'error-paths-'));
  });
  afterAll(async () => {
    await fc?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Servers HAProxy's runtime API shows taking traffic on the writer backend. */
  async function endpoint(): Promise<string[]> {
    if (fc.sb.writer.type !== 'haproxy') throw new Error('the fault cluster has HAProxy');
    const text = await runtimeCommand(fc.sb.writer.socket, `show servers state ${fc.sb.writer.backend}`);
    return parseServersState(text)
      .filter((s) => s.state === 'ready')
      .map((s) => s.name);
  }

  /** What an operator compares: read_only, the items schema and the ledger on every node, and the endpoint. */
  async function snapshot(): Promise<string> {
    const out: string[] = [];
    for (const n of fc.sb.nodes) {
      const c = await fc.sb.mysql(n.name);
      try {
        const [ro] = await rows<{ ro: number }>(c, 'SELECT @@GLOBAL.read_only AS ro');
        const [cr] = await rows<Record<string, string>>(c, 'SHOW CREATE TABLE app.items');
        const ledger = (await rows<{ id: string }>(c, 'SELECT id FROM app.migrate_ledger ORDER BY id')).map((r) => r.id);
        out.push(`${n.name}: ro=${ro?.ro} ${cr?.['Create Table']?.match(/`c` [^,]+/)?.[0]} ledger=${ledger.join(',')}`);
      } finally {
        await c.end();
      }
    }
    out.push(`endpoint: ${(await endpoint()).join(',')}`);
    return out.join('\n');
  }

  async function setReadOnly(node: string, on: boolean): Promise<void> {
    const c = await fc.sb.mysql(node);
    try {
      await c.query(`SET GLOBAL read_only=${on ? 1 : 0}`);
    } finally {
      await c.end();
    }
  }

  /** A copy of the sandbox's config in the same directory (same .migrate state), its writer a command. */
  function commandConfig(name: string, command: string): string {
    const config = JSON.parse(readFileSync(fc.sb.configPath, 'utf8')) as { clusters: { writer: unknown }[] };
    for (const c of config.clusters) c.writer = { type: 'command', command };
    const path = join(fc.sb.dir, `migrate.${name}.json`);
    writeFileSync(path, JSON.stringify(config, null, 2));
    return path;
  }

  it('a: a replica made writable by hand after a run died: abort exits 1 naming both writable nodes and the fix, changes nothing; once repaired it recovers', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    const other = replicas.at(-1)!;
    const { id } = fc.mig.next();
    const killed = await fc.start(['apply', '--strategy', 'replica-first'], { MIGRATE_FAULT_KILL_AFTER: `alter:${candidate}:end` }).done;
    expect(killed.signal, show(killed)).toBe('SIGKILL');
    // The operator's mistake: a replica opened for writes while the run is dead.
    await setReadOnly(other, false);
    const before = await snapshot();
    const journalBefore = lastJournal(fc.sb).length;
    const runsBefore = runCount(fc.sb);
    const r = await fc.migrate(['abort']);
    const after = await snapshot();
    expect(r.code, show(r)).toBe(1);
    const both = [primary, other].sort().join(', ');
    expect(r.error).toBe(`2 nodes are writable (${both}): the data may have forked.`);
    expect(r.fix).toBe("Compare the nodes' GTID positions and data, make one node read-only by hand, then run `migrate abort` again.");
    expect(after, 'read_only, schema, ledger and endpoint unchanged').toBe(before);
    expect(lastJournal(fc.sb).length, 'nothing journaled').toBe(journalBefore);
    expect(runCount(fc.sb)).toBe(runsBefore);

    // The repair the fix asks for (nothing was written on the replica: no data to compare), then abort again.
    await setReadOnly(other, true);
    const again = await fc.migrate(['abort']);
    expect(again.code, show(again)).toBe(0);
    fc.mig.withdraw(id);
    const inv = await readInvariants(fc.sb, { schema: `char(${fc.mig.width})` });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([primary]);
  });

  it('b: a statement running on the primary when the switchover begins: exit 1 naming it, the primary still the writable writer, no write block', async () => {
    const { primary, candidate } = await fc.roles();
    const { width } = fc.mig.next();
    // The application's user, on the primary directly: a report query that runs for a minute.
    const app = await fc.sb.mysql(primary, 'app');
    const [idRow] = await rows<{ id: number }>(app, 'SELECT CONNECTION_ID() AS id');
    const sleeping = app.query('SELECT SLEEP(60)').catch(() => undefined);
    await sleep(1500);
    let r;
    try {
      r = await fc.migrate(['apply', '--strategy', 'replica-first']);
    } finally {
      const root = await fc.sb.mysql(primary);
      await root.query(`KILL ${Number(idRow?.id)}`).catch(() => undefined);
      await root.end();
      await sleeping;
      await app.end().catch(() => undefined);
    }
    const journal = lastJournal(fc.sb);
    const inv = await readInvariants(fc.sb);
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(
      new RegExp(
        `^Long-running statements on the primary \\(connection ${idRow?.id} of ${fc.sb.app.user} running \\d+ s: SELECT SLEEP\\(60\\)\\); the write block would wait for them with every write queued\\.$`,
      ),
    );
    expect(r.fix).toBe(
      'Wait for them to finish (or kill them), then run `migrate resume` to finish the migration, or `migrate abort` to undo it on the replicas; nothing was blocked.',
    );
    // No switchover: the write block never began, the old primary is the only writer, the endpoint on it.
    expect(journal.some((e) => e.step === 'block-writes')).toBe(false);
    expect(journal.find((e) => e.step === 'switchover' && e.phase === 'fail')?.data?.['error']).toMatch(/Long-running statements/);
    expect(inv.writable).toEqual([primary]);
    expect(inv.haproxyReady).toEqual([primary]);
    expect(inv.writeThroughEndpoint).toBe(true);
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect((await fc.roles()).primary).toBe(primary);

    // What the fix says, with the statement gone: resume switches over to the candidate and finishes.
    const next = await fc.migrate(['resume', '--strategy', 'replica-first']);
    expect(next.code, show(next)).toBe(0);
    fc.mig.applied(width);
    const done = await readInvariants(fc.sb, { schema: `char(${width})` });
    expect(violations(done), JSON.stringify(done)).toEqual([]);
    expect(done.writable).toEqual([candidate]);
  });

  /**
   * An operator's writer command: it notes the old and new primary it was given, then moves
   * HAProxy's writer over the runtime API socket (a Node script: no socat on every machine).
   */
  function mover(): { config: string; log: string; command: string } {
    if (fc.sb.writer.type !== 'haproxy') throw new Error('the fault cluster has HAProxy');
    const { socket, backend } = fc.sb.writer;
    const log = join(work, 'moves.log');
    const script = join(work, 'move.mjs');
    writeFileSync(
      script,
      [
        "import { connect } from 'node:net';",
        'const { MIGRATE_NEW_PRIMARY: to, MIGRATE_OLD_PRIMARY: from } = process.env;',
        `const s = connect(${JSON.stringify(socket)});`,
        "let out = '';",
        `s.on('connect', () => s.write(\`set server ${backend}/\${to} state ready; set server ${backend}/\${from} state maint; shutdown sessions server ${backend}/\${from}\\n\`));`,
        "s.on('data', (d) => (out += d));",
        "s.on('end', () => { if (out.trim()) { console.error(out.trim()); process.exit(1); } });",
        "s.on('error', (err) => { console.error(err.message); process.exit(1); });",
        '',
      ].join('\n'),
    );
    const command = `echo "$MIGRATE_OLD_PRIMARY $MIGRATE_OLD_PRIMARY_HOST:$MIGRATE_OLD_PRIMARY_PORT -> $MIGRATE_NEW_PRIMARY $MIGRATE_NEW_PRIMARY_HOST:$MIGRATE_NEW_PRIMARY_PORT" >> '${log}' && '${process.execPath}' '${script}'`;
    // Without writer.host/port: the migrations run through `connection`, the endpoint the command moves.
    return { config: commandConfig('command', command), log, command };
  }
  const moved = (from: string, to: string): string => {
    const f = fc.sb.node(from);
    const t = fc.sb.node(to);
    return `${from} ${f.host}:${f.port} -> ${to} ${t.host}:${t.port}`;
  };
  // The command's Node start-up lands inside the write block (~0.5 s here, more under load): the
  // block's bound is not what these cases check.
  const block = ['--max-write-block', '10000'];

  it('c1: writer.type command: the command runs with the old and new primary in its environment, moves HAProxy, the switchover succeeds', async () => {
    const { primary, candidate } = await fc.roles();
    const { width } = fc.mig.next();
    const { config, log } = mover();
    const r = await cli(['--config', config, 'apply', '--strategy', 'replica-first', ...block]);
    expect(r.code, show(r)).toBe(0);
    fc.mig.applied(width);
    expect(readFileSync(log, 'utf8')).toBe(`${moved(primary, candidate)}\n`);
    const inv = await readInvariants(fc.sb, { schema: `char(${width})` });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([candidate]);
    expect(inv.haproxyReady).toEqual([candidate]);
    expect(inv.endpoint).toBe(candidate);
    expect((await fc.roles()).primary).toBe(candidate);
  });

  it('c2: a writer command that exits 1 after the promotion: exit 1 saying the switchover was undone (the candidate took no write) and what to run; resume with a working command finishes', async () => {
    const { primary, candidate, replicas } = await fc.roles();
    const { width } = fc.mig.next();
    const failing = commandConfig('failing', "echo 'endpoint API: 503 Service Unavailable' >&2; exit 1");
    const ledgerBefore = (await snapshot()).split('\n').map((l) => l.replace(/.*ledger=/, ''));
    const r = await cli(['--config', failing, 'apply', '--strategy', 'replica-first', ...block]);
    const left = await readInvariants(fc.sb);
    expect(r.code, show(r)).toBe(1);
    expect(r.error).toMatch(
      new RegExp(
        `^The writer command failed \\(exit 1\\): endpoint API: 503 Service Unavailable The switchover was undone: ${candidate} had taken no write of its own \\(still at ${primary}'s position [\\d,-]+\\), so it is read-only again and replicates from ${primary}; ${primary} is writable again, and the writer endpoint's state is unknown \\(moving it back to ${primary} failed too: The writer command failed \\(exit 1\\): endpoint API: 503 Service Unavailable\\)\\.$`,
      ),
    );
    expect(r.fix).toBe(
      `Fix the command in writer.command; it receives MIGRATE_NEW_PRIMARY_HOST/PORT and must exit 0. Then run \`migrate resume\` to finish the migration, or \`migrate abort\` to undo it on the replicas (check first that the endpoint sends writes to ${primary} only, and point it there if not: a move that failed midway may have changed part of it).`,
    );
    // What it leaves, as the message says: the old primary the only writable node, behind the
    // endpoint that never left it (writes through it commit), no ledger row. (Before the undo
    // existed the promoted candidate stayed writable here and root's writes forked.)
    expect(violations(left), JSON.stringify(left)).toEqual([]);
    expect(left.writable).toEqual([primary]);
    expect(left.haproxyReady).toEqual([primary]);
    expect(left.writeThroughEndpoint).toBe(true);
    expect((await snapshot()).split('\n').map((l) => l.replace(/.*ledger=/, ''))).toEqual(ledgerBefore);

    // The fix: a working command, then resume: it keeps the writer, then switches over again.
    const { config, log } = mover();
    const before = existsSync(log) ? readFileSync(log, 'utf8') : '';
    const res = await cli(['--config', config, 'resume', '--strategy', 'replica-first', ...block]);
    expect(res.code, show(res)).toBe(0);
    fc.mig.applied(width);
    const others = [candidate, ...replicas.filter((n) => n !== candidate)];
    expect(readFileSync(log, 'utf8').slice(before.length).trim().split('\n')).toEqual([...others.map((n) => moved(n, primary)), moved(primary, candidate)]);
    const inv = await readInvariants(fc.sb, { schema: `char(${width})` });
    expect(violations(inv), JSON.stringify(inv)).toEqual([]);
    expect(inv.writable).toEqual([candidate]);
    expect(inv.endpoint).toBe(candidate);
  });
});
